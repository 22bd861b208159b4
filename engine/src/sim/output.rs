//! The output side on the virtual clock: a modelled sound card that plays
//! the playback buffer in fixed blocks as virtual time passes.
//!
//! Timing model: the callback of the block of frames `[kB, (k+1)B)` runs at
//! time `kB` and takes no time, and frame `n` of the output's own count is
//! heard at time `n`. A patch that arrives after a block's callback ran
//! reaches the next block at the earliest, so the playhead the runner reads
//! is up to one block ahead of the clock, as with a real card. A real card
//! adds its own buffering latency on top, a constant this model leaves out.

use crate::frames::SampleFrames;
use crate::model::config::CHANNELS;
use crate::playback::PlaybackOutput;
use crate::runner::OutputSync;

/// Plays `block` frames whenever a whole block of virtual time has passed,
/// and can keep everything it played.
pub struct VirtualOutput {
    output: PlaybackOutput,
    block: usize,
    buffer: Vec<f32>,
    played: SampleFrames,
    recording: Option<Vec<f32>>,
}

impl std::fmt::Debug for VirtualOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualOutput")
            .field("played", &self.played)
            .finish_non_exhaustive()
    }
}

impl VirtualOutput {
    /// A card of `block` frames per callback; `record` keeps the audio.
    pub fn new(output: PlaybackOutput, block: usize, record: bool) -> Self {
        Self {
            output,
            block,
            buffer: vec![0.0; block * CHANNELS],
            played: SampleFrames::ZERO,
            recording: record.then(Vec::new),
        }
    }

    /// Runs every block callback due at or before `now`.
    pub fn catch_up(&mut self, now: SampleFrames) {
        while self.played.0 <= now.0 {
            self.output.render(&mut self.buffer);
            if let Some(r) = &mut self.recording {
                r.extend_from_slice(&self.buffer);
            }
            self.played += SampleFrames(self.block as u64);
        }
    }

    /// Frames played so far (virtual time covered).
    pub fn played(&self) -> SampleFrames {
        self.played
    }

    /// Everything played, interleaved, when recording.
    pub fn recording(&self) -> &[f32] {
        self.recording.as_deref().unwrap_or(&[])
    }
}

impl OutputSync for VirtualOutput {
    fn sync(&mut self, now: SampleFrames) {
        self.catch_up(now);
    }
}
