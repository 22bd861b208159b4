//! The render configuration file `earshot render --config` reads (model,
//! stream, render length and knob values). Only the `render` command uses
//! it, so it lives with the command line rather than in the golden harness.

use earshot::audio_model::ModelSize;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a render configuration file was refused: the same two causes as
/// any of the project's TOML files (unreadable, or malformed with its line
/// and field named).
pub type RenderConfigError = earshot::golden::ConfigError;

/// Which model to run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Model size when no weights file is given.
    pub size: Option<ModelSize>,
    /// A weights file (its size wins over `size`).
    pub weights: Option<PathBuf>,
    /// Seed of generated weights.
    pub weights_seed: Option<u64>,
}

/// The sampler's name in configuration files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplerName {
    /// Euler ODE.
    Ode,
    /// Noise re-injecting SDE.
    Sde,
}

/// How the stream runs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSection {
    /// Denoise steps.
    pub steps: Option<u32>,
    /// ODE or SDE.
    pub sampler: Option<SamplerName>,
    /// SDE churn in [0, 1].
    pub churn: Option<f32>,
    /// Noise seed.
    pub seed: Option<u64>,
    /// Produces waiting to be rendered.
    pub queue_cap: Option<usize>,
}

/// What to render.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderSection {
    /// Output length in seconds.
    pub seconds: Option<f64>,
    /// Latent frames per produce.
    pub produce_hop: Option<u64>,
    /// Crossfade between produces, in sample frames.
    pub crossfade: Option<u64>,
}

/// A render configuration file; every field is optional and the command's
/// flags override it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderConfig {
    /// Model choice.
    #[serde(default)]
    pub model: ModelSection,
    /// Stream settings.
    #[serde(default)]
    pub stream: StreamSection,
    /// Render settings.
    #[serde(default)]
    pub render: RenderSection,
    /// Knob values by name.
    #[serde(default)]
    pub knobs: BTreeMap<String, f32>,
}

impl RenderConfig {
    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<Self, RenderConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| RenderConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses TOML `text`; errors name `path`.
    fn parse(text: &str, path: &str) -> Result<Self, RenderConfigError> {
        toml::from_str(text).map_err(|e| RenderConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line_and_field() {
        let err = RenderConfig::parse("[stream]\nsteps = 8\nsampler = \"euler\"\n", "<string>")
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("sampler"), "{msg}");
        let err = RenderConfig::parse("[render]\nsecs = 3\n", "<string>")
            .unwrap_err()
            .to_string();
        assert!(err.contains("secs"), "{err}");
    }

    #[test]
    fn full_file_parses() {
        let cfg = RenderConfig::parse(
            "[model]\nsize = \"small\"\nweights_seed = 3\n[stream]\nsampler = \"sde\"\nchurn = 0.25\n[render]\nseconds = 2.5\n[knobs]\nnoise = 0.1\n",
            "<string>",
        )
        .unwrap();
        assert_eq!(cfg.model.size, Some(ModelSize::Small));
        assert_eq!(cfg.stream.sampler, Some(SamplerName::Sde));
        assert_eq!(cfg.render.seconds, Some(2.5));
        assert_eq!(cfg.knobs["noise"], 0.1);
    }
}
