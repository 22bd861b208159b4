//! What can go wrong loading a state or activating the plugin; each
//! leaves the plugin as it was.

use std::path::PathBuf;

/// Why a saved state was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading the host's stream failed.
    #[error("reading the state: {0}")]
    Read(#[from] std::io::Error),
    /// More bytes than any state this plugin writes.
    #[error("the state is over {limit} bytes")]
    TooLarge {
        /// The most bytes read.
        limit: usize,
    },
    /// Not JSON, or JSON without the format header.
    #[error("not an earshot state: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON of some other format.
    #[error("not an earshot state: format {0:?}")]
    Format(String),
    /// A version this plugin cannot read.
    #[error("state version {found} (this plugin reads version {supported})")]
    Version {
        /// The state's version.
        found: u32,
        /// The version this plugin reads.
        supported: u32,
    },
    /// The right format and version, but a field is missing, misspelled or
    /// of the wrong type.
    #[error("malformed earshot state: {0}")]
    Malformed(#[source] serde_json::Error),
    /// A knob the model does not have.
    #[error("unknown knob {0:?}")]
    UnknownKnob(String),
    /// A knob value outside the knob's range (or not a number).
    #[error("knob {name} = {value} is outside {min}..={max}")]
    KnobValue {
        /// The knob.
        name: &'static str,
        /// The value in the state.
        value: f64,
        /// The knob's lowest value.
        min: f32,
        /// The knob's highest value.
        max: f32,
    },
    /// A backend name that is not one of the engine's.
    #[error(transparent)]
    Backend(#[from] earshot_embed::backend_choice::UnknownBackend),
    /// Denoise steps outside 1..=64.
    #[error("{0} denoise steps outside 1..=64")]
    Steps(u32),
    /// A lead floor over 10 s.
    #[error("lead floor of {0} frames is over 10 s")]
    LeadFloor(u64),
    /// The weights file named by the state is not there.
    #[error("weights file {0} not found")]
    WeightsMissing(PathBuf),
}

/// Why the plugin could not be activated; it stays inactive.
#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    /// A sample rate that is not a positive number of Hz.
    #[error("sample rate {0} Hz")]
    SampleRate(f64),
    /// The engine could not be built or started.
    #[error(transparent)]
    Engine(#[from] earshot_embed::EmbedError),
}
