//! The code every entry point returns. The values are part of the ABI:
//! a code keeps its number forever, new ones take new numbers.

/// What a call did. `EARSHOT_OK` and `EARSHOT_NO_ACK` are not failures;
/// every negative code is, and sets the message `earshot_last_error`
/// returns. A failed call changed nothing, except that a failed
/// `earshot_process` filled the host's buffers with silence.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// The header's names (`EARSHOT_OK`, `EARSHOT_ERR_NULL`) are the variants'
// names in SCREAMING_SNAKE_CASE, so the shared prefix is the point.
#[allow(clippy::enum_variant_names)]
pub enum EarshotStatus {
    /// The call did what it says.
    EarshotOk = 0,
    /// `earshot_poll_ack`: no ack event is pending (not a failure).
    EarshotNoAck = 1,
    /// A pointer argument that must not be NULL was NULL.
    EarshotErrNull = -1,
    /// The handle is 0, was never returned by `earshot_create`, or its
    /// engine was destroyed.
    EarshotErrInvalidHandle = -2,
    /// A malformed argument: a string that is not UTF-8, channel buffers
    /// that overlap.
    EarshotErrInvalidArgument = -3,
    /// The config cannot run (a rate, block size, channel count, step count
    /// or name out of range); the message names the field.
    EarshotErrConfig = -4,
    /// The weights file could not be loaded (missing, wrong shape or dtype,
    /// truncated), or generated weights could not be calibrated.
    EarshotErrModel = -5,
    /// The backend could not be made (for `cuda`: no GPU or driver).
    EarshotErrBackend = -6,
    /// A knob or curve was refused: unknown name or index, NaN or infinite,
    /// out of range, a curve of the wrong length.
    EarshotErrKnob = -7,
    /// A prompt was refused.
    EarshotErrPrompt = -8,
    /// Prompts are off: the text encoder is not installed (the message says
    /// why); the engine plays with the null conditioning.
    EarshotErrNoPrompts = -9,
    /// A loop band was refused (empty or reversed).
    EarshotErrBand = -10,
    /// `earshot_start` on a running engine.
    EarshotErrAlreadyRunning = -11,
    /// `earshot_stop` on an engine that is not running.
    EarshotErrNotRunning = -12,
    /// `earshot_process` or `earshot_knob_rt` before the first
    /// `earshot_start`: the block was filled with silence.
    EarshotErrNotStarted = -13,
    /// `earshot_process`: not the channel count the engine was created with.
    EarshotErrChannels = -14,
    /// `earshot_process`: more frames than the config's `max_block`.
    EarshotErrFrames = -15,
    /// The audio side of the engine is in use by another thread right now
    /// (two threads calling `earshot_process` at once, or `earshot_start`
    /// or `earshot_destroy` swapping the processor); the block was filled
    /// with silence.
    EarshotErrBusy = -16,
    /// `earshot_knob_rt`: the queue to the runner is full; the change was
    /// not sent.
    EarshotErrQueueFull = -17,
    /// `earshot_create`: every engine slot is taken (see
    /// `EARSHOT_MAX_ENGINES`).
    EarshotErrTooManyEngines = -18,
    /// The runner did not stop in time, failed, or panicked.
    EarshotErrStop = -19,
    /// `earshot_poll_ack` on an engine created with `keep_acks = 0`.
    EarshotErrAcksOff = -20,
    /// The engine could not start or run for another reason (the runner
    /// thread could not be spawned, the playback buffer or resampler
    /// refused its config); the message says which.
    EarshotErrRuntime = -21,
    /// A bug: earshot panicked inside the call. The panic was caught at the
    /// boundary; the message carries it.
    EarshotErrPanic = -22,
}

impl EarshotStatus {
    /// Whether the code reports a failure.
    pub fn is_error(self) -> bool {
        (self as i32) < 0
    }
}

#[cfg(test)]
mod tests {
    use super::EarshotStatus;

    #[test]
    fn only_negative_codes_are_failures() {
        assert!(!EarshotStatus::EarshotOk.is_error());
        assert!(!EarshotStatus::EarshotNoAck.is_error());
        assert!(EarshotStatus::EarshotErrNull.is_error());
        assert!(EarshotStatus::EarshotErrPanic.is_error());
    }
}
