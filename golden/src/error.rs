//! The harness's one error type: why a scenario, cost profile or
//! baselines file was refused.

use std::path::PathBuf;

/// Why a configuration file (scenario, cost profile, baselines) was
/// refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TOML is malformed or a field is wrong; the message names the
    /// line, column and field.
    #[error("{path}: {message}")]
    Parse {
        /// The file ("<string>" for text).
        path: String,
        /// The parser's message, with line and field.
        message: String,
    },
}
