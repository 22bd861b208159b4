//! What can go wrong building, running or driving an embedded engine.

use crate::backend_choice::BackendChoiceError;
use crate::model::ModelError;

/// Why an engine call failed; the engine is as it was before the call.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The config cannot run.
    #[error("bad config: {0}")]
    Config(String),
    /// The weights could not be had.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The backend could not be made.
    #[error("backend {0}")]
    Backend(#[from] BackendChoiceError),
    /// The playback buffer refused its config.
    #[error(transparent)]
    Playback(#[from] earshot_engine::playback::PlaybackError),
    /// The runner refused its config.
    #[error(transparent)]
    Runner(#[from] earshot_engine::runner::RunnerError),
    /// The runner thread could not be started.
    #[error("starting the runner thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// Stopping the runner failed (it timed out, failed or panicked).
    #[error(transparent)]
    Stop(#[from] earshot_engine::runner::thread::StopError),
    /// A knob change was refused.
    #[error(transparent)]
    Knob(#[from] earshot_engine::knobs::KnobError),
    /// A prompt was refused.
    #[error(transparent)]
    Prompt(#[from] earshot_engine::control::PromptError),
    /// Prompts are off: the text encoder could not be loaded.
    #[error("prompts are off: {0}")]
    NoPrompts(String),
    /// A loop band was refused.
    #[error(transparent)]
    Band(#[from] earshot_engine::control::BandRequestError),
    /// `start` on a running engine.
    #[error("the engine is already running")]
    AlreadyRunning,
    /// A call that needs the runner on an engine that is stopped.
    #[error("the engine is not running")]
    NotRunning,
    /// The resampler to the host's rate could not be built.
    #[error("resampler to {rate} Hz: {reason}")]
    Resampler {
        /// The host's rate.
        rate: u32,
        /// What rubato said.
        reason: String,
    },
}

/// Why a block could not be processed; the block was filled with silence
/// wherever it could be, and nothing else changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// Not the configured number of channels.
    #[error("{got} channels given, the engine was configured for {expected}")]
    Channels {
        /// Configured.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// Channels of different lengths.
    #[error("channel buffers of different lengths")]
    RaggedChannels,
    /// More frames than the configured most.
    #[error("block of {got} frames, the engine was configured for at most {max}")]
    BlockTooLong {
        /// Configured.
        max: usize,
        /// Given.
        got: usize,
    },
}
