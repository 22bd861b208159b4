//! [`NullSink`]: real-time pace, no sound.

use super::paced::{BLOCK, BlockSink, Pacer};
use super::{OutputSink, SinkError, SinkInfo};
use earshot_audio_model::config::SAMPLE_RATE;
use earshot_engine::playback::PlaybackOutput;

/// Plays the output at the pace of the real clock and discards the audio:
/// a sound card that nobody hears.
#[derive(Debug, Default)]
pub struct NullSink {
    pacer: Option<Pacer>,
    started: bool,
}

impl NullSink {
    /// A sink not yet started.
    pub fn new() -> Self {
        Self::default()
    }
}

struct Discard;

impl BlockSink for Discard {
    fn write(&mut self, _block: &[f32]) -> Result<(), SinkError> {
        Ok(())
    }

    fn finish(self) -> Result<(), SinkError> {
        Ok(())
    }
}

impl OutputSink for NullSink {
    fn start(&mut self, output: PlaybackOutput) -> Result<(), SinkError> {
        if self.started {
            return Err(SinkError::AlreadyStarted);
        }
        self.pacer = Some(Pacer::spawn("earshot-null-out", output, Discard)?);
        self.started = true;
        Ok(())
    }

    fn info(&self) -> SinkInfo {
        SinkInfo {
            device: "null".into(),
            sample_rate: SAMPLE_RATE,
            buffer: Some(BLOCK as u32),
        }
    }

    fn errors(&self) -> u64 {
        0
    }

    fn is_finished(&self) -> bool {
        self.pacer.as_ref().is_some_and(Pacer::is_finished)
    }

    fn stop(&mut self) -> Result<(), SinkError> {
        self.pacer.take().map_or(Ok(()), Pacer::stop)
    }
}
