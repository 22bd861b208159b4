//! Why a call failed, on the Rust side of the boundary: each variant maps
//! to one status code, its text becomes the last-error message.
//!
//! The variants `earshot_process` and `earshot_knob_rt` can return carry
//! no heap data, so making one and writing its message allocates nothing.

use crate::status::EarshotStatus;
use earshot_embed::{EmbedError, ProcessError};
use earshot_engine::knobs::RtKnobError;

/// Why an entry point failed.
#[derive(Debug, thiserror::Error)]
pub enum FfiError {
    /// A pointer argument was NULL.
    #[error("{0} is NULL")]
    Null(&'static str),
    /// The handle names no live engine.
    #[error("invalid engine handle: 0, never created, or destroyed")]
    InvalidHandle,
    /// A string argument is not UTF-8.
    #[error("{0} is not UTF-8")]
    NotUtf8(&'static str),
    /// The two channel buffers given to `earshot_process` overlap.
    #[error("the channel buffers overlap")]
    Overlap,
    /// A config field out of range, or a name that means nothing.
    #[error("bad config: {0}")]
    Config(String),
    /// The embedded engine refused the call.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The processor refused the block's shape.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// A knob index that names no knob.
    #[error("no knob #{0}")]
    KnobIndex(u32),
    /// A knob name that names no knob.
    #[error("unknown knob {0:?}")]
    KnobName(String),
    /// The processor refused a real-time knob change.
    #[error(transparent)]
    RtKnob(#[from] RtKnobError),
    /// The processor does not exist yet.
    #[error("the engine has not been started: silence")]
    NotStarted,
    /// Another thread holds the audio side.
    #[error("another thread is using the engine's audio side: silence")]
    Busy,
    /// Every slot of the engine table is taken.
    #[error("all {0} engine slots are in use; destroy one first")]
    TooManyEngines(usize),
    /// Acks were turned off at create time.
    #[error("acks are off: the engine was created with keep_acks = 0")]
    AcksOff,
    /// A panic inside the call, caught at the boundary.
    #[error("earshot panicked (a bug): {0}")]
    Panic(String),
}

impl FfiError {
    /// The code the caller sees.
    pub fn status(&self) -> EarshotStatus {
        use EarshotStatus as S;
        match self {
            FfiError::Null(_) => S::EarshotErrNull,
            FfiError::InvalidHandle => S::EarshotErrInvalidHandle,
            FfiError::NotUtf8(_) | FfiError::Overlap => S::EarshotErrInvalidArgument,
            FfiError::Config(_) => S::EarshotErrConfig,
            FfiError::Embed(e) => embed_status(e),
            FfiError::Process(ProcessError::BlockTooLong { .. }) => S::EarshotErrFrames,
            FfiError::Process(ProcessError::Channels { .. } | ProcessError::RaggedChannels) => {
                S::EarshotErrChannels
            }
            FfiError::KnobIndex(_) | FfiError::KnobName(_) => S::EarshotErrKnob,
            FfiError::RtKnob(RtKnobError::Full) => S::EarshotErrQueueFull,
            FfiError::RtKnob(_) => S::EarshotErrKnob,
            FfiError::NotStarted => S::EarshotErrNotStarted,
            FfiError::Busy => S::EarshotErrBusy,
            FfiError::TooManyEngines(_) => S::EarshotErrTooManyEngines,
            FfiError::AcksOff => S::EarshotErrAcksOff,
            FfiError::Panic(_) => S::EarshotErrPanic,
        }
    }
}

/// The code of an engine error.
fn embed_status(e: &EmbedError) -> EarshotStatus {
    use EarshotStatus as S;
    match e {
        EmbedError::Config(_) => S::EarshotErrConfig,
        EmbedError::Model(_) => S::EarshotErrModel,
        EmbedError::Backend(_) => S::EarshotErrBackend,
        EmbedError::Knob(_) => S::EarshotErrKnob,
        EmbedError::Prompt(_) => S::EarshotErrPrompt,
        EmbedError::NoPrompts(_) => S::EarshotErrNoPrompts,
        EmbedError::Band(_) => S::EarshotErrBand,
        EmbedError::AlreadyRunning => S::EarshotErrAlreadyRunning,
        EmbedError::NotRunning => S::EarshotErrNotRunning,
        EmbedError::Stop(_) => S::EarshotErrStop,
        EmbedError::Playback(_)
        | EmbedError::Runner(_)
        | EmbedError::Spawn(_)
        | EmbedError::Resampler { .. } => S::EarshotErrRuntime,
    }
}
