//! The host's audio thread's end of an embedded engine: plays the playback
//! buffer into the host's channel buffers at the host's rate and block
//! size, and queues knob changes from inside the block. Nothing here
//! locks, allocates, frees, blocks or logs.

use crate::error::ProcessError;
use crate::resample::HostResampler;
use earshot_audio_model::config::{CHANNELS, SAMPLE_RATE};
use earshot_engine::clock::{Clock, RealClock};
use earshot_engine::frames::SampleFrames;
use earshot_engine::knobs::RtKnobError;
use earshot_engine::playback::{PlaybackOutput, PlaybackStats};
use earshot_engine::rt_knobs::RtKnobSender;
use std::sync::Arc;

/// Plays an embedded engine on the host's audio thread; from
/// [`crate::Engine::start`]. `Send`: it may move to the audio thread, which
/// then owns it.
#[derive(Debug)]
pub struct Processor {
    pub(crate) output: PlaybackOutput,
    pub(crate) knobs: RtKnobSender,
    pub(crate) clock: Arc<RealClock>,
    pub(crate) stats: PlaybackStats,
    pub(crate) sample_rate: u32,
    pub(crate) channels: usize,
    pub(crate) max_block: usize,
    /// One block of the model's stereo at the host's rate, interleaved.
    pub(crate) block: Box<[f32]>,
    /// `None` when the host runs at the model's rate.
    pub(crate) resampler: Option<HostResampler>,
}

impl Processor {
    /// Fills the host's channel buffers (all the same length, at most the
    /// configured block) with the next frames from the playhead, and
    /// advances it. A call that breaks the configured shape fills what it
    /// was given with silence, returns why, and leaves the playhead alone.
    pub fn process(&mut self, out: &mut [&mut [f32]]) -> Result<(), ProcessError> {
        let frames = out.first().map_or(0, |c| c.len());
        let problem = if out.len() != self.channels {
            Some(ProcessError::Channels {
                expected: self.channels,
                got: out.len(),
            })
        } else if out.iter().any(|c| c.len() != frames) {
            Some(ProcessError::RaggedChannels)
        } else if frames > self.max_block {
            Some(ProcessError::BlockTooLong {
                max: self.max_block,
                got: frames,
            })
        } else {
            None
        };
        if let Some(e) = problem {
            out.iter_mut().for_each(|c| c.fill(0.0));
            return Err(e);
        }
        let block = &mut self.block[..frames * CHANNELS];
        match &mut self.resampler {
            None => self.output.render(block),
            Some(resampler) => {
                let output = &mut self.output;
                resampler.fill(block, |input| output.render(input));
            }
        }
        match out {
            [mono] => {
                for (o, f) in mono.iter_mut().zip(block.chunks_exact(CHANNELS)) {
                    *o = 0.5 * (f[0] + f[1]);
                }
            }
            [left, right] => {
                for ((l, r), f) in left
                    .iter_mut()
                    .zip(right.iter_mut())
                    .zip(block.chunks_exact(CHANNELS))
                {
                    (*l, *r) = (f[0], f[1]);
                }
            }
            _ => unreachable!("channels are checked at config time to be 1 or 2"),
        }
        Ok(())
    }

    /// Queues a change of knob `knob` (its index in
    /// `earshot_audio_model::knobs::KNOBS`) to `value`, meant for the
    /// frame `offset` host frames into the block about to be processed:
    /// its Received ack carries that frame's clock time (so for a change
    /// late in a block it can read later than the Committed ack: the runner
    /// commits everything queued at its next tick, which may come first).
    /// Bad values and a full queue are refused; nothing changed.
    pub fn knob(&mut self, offset: usize, knob: usize, value: f32) -> Result<(), RtKnobError> {
        let into_block = offset as u64 * u64::from(SAMPLE_RATE) / u64::from(self.sample_rate);
        let at = SampleFrames(self.clock.now().0 + into_block);
        self.knobs.send(knob, value, at)
    }

    /// The fixed delay of the audio path, in host frames: the resampler's
    /// (0 at 48 kHz). What a host should compensate; the time a control
    /// change takes to be heard is not a fixed delay (see the README).
    pub fn latency(&self) -> usize {
        self.resampler.as_ref().map_or(0, HostResampler::delay)
    }

    /// The playback counters (playhead, underruns, what was heard).
    pub fn stats(&self) -> &PlaybackStats {
        &self.stats
    }

    /// The host's sample rate this processor plays at.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The host's channels this processor fills.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The longest block `process` takes.
    pub fn max_block(&self) -> usize {
        self.max_block
    }
}
