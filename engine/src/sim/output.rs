//! The output side on the virtual clock: a modelled sound card that plays
//! the playback buffer in fixed blocks as virtual time passes.
//!
//! Timing model: the callback of the block of frames `[kB, (k+1)B)` runs at
//! time `(k-1)B`, one block before it plays (double buffering, the least a
//! real card does), and takes no time; frame `n` of the output's own count
//! is heard at time `n`. A patch that arrives after a block's callback ran
//! reaches a later block, so the playhead the runner reads is one to two
//! blocks ahead of the clock, as with a real card. A card that buffers more
//! adds a constant this model leaves out.

use crate::frames::SampleFrames;
use crate::playback::{FrameMark, PlaybackOutput};
use crate::runner::OutputSync;

/// A stretch of played frames from one source at consecutive positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayedRun {
    /// The output's frame count (= virtual time) of its first frame.
    pub at: SampleFrames,
    /// Timeline position of its first frame.
    pub position: SampleFrames,
    /// Frames in the run.
    pub len: u64,
    /// The produce serial, or [`crate::playback::NO_SOURCE`].
    pub source: u64,
}

/// Plays `block` frames whenever a whole block of virtual time has passed,
/// and can keep everything it played.
pub struct VirtualOutput {
    output: PlaybackOutput,
    block: usize,
    buffer: Vec<f32>,
    marks: Vec<FrameMark>,
    played: SampleFrames,
    recording: Option<Vec<f32>>,
    runs: Option<Vec<PlayedRun>>,
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
        let channels = output.channels();
        Self {
            output,
            block,
            buffer: vec![0.0; block * channels],
            marks: Vec::new(),
            played: SampleFrames::ZERO,
            recording: record.then(Vec::new),
            runs: None,
        }
    }

    /// Also keeps what every played frame was, as [`PlayedRun`]s.
    pub fn observe(mut self) -> Self {
        self.marks = vec![FrameMark::default(); self.block];
        self.runs = Some(Vec::new());
        self
    }

    /// What was played, when observing.
    pub fn runs(&self) -> &[PlayedRun] {
        self.runs.as_deref().unwrap_or(&[])
    }

    /// Runs every block callback due at or before `now`: those of the
    /// blocks that start up to one block after `now`.
    pub fn catch_up(&mut self, now: SampleFrames) {
        while self.played.0 <= now.0 + self.block as u64 {
            match &mut self.runs {
                Some(runs) => {
                    self.output
                        .render_observed(&mut self.buffer, &mut self.marks);
                    for (i, mark) in self.marks.iter().enumerate() {
                        let at = self.played + SampleFrames(i as u64);
                        match runs.last_mut() {
                            Some(run)
                                if run.source == mark.source
                                    && run.position.0 + run.len == mark.position.0
                                    && run.at.0 + run.len == at.0 =>
                            {
                                run.len += 1;
                            }
                            _ => runs.push(PlayedRun {
                                at,
                                position: mark.position,
                                len: 1,
                                source: mark.source,
                            }),
                        }
                    }
                }
                None => self.output.render(&mut self.buffer),
            }
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
