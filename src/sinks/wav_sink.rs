//! [`WavSink`]: real-time pace into a WAV file, the fallback without a
//! sound card.

use super::paced::{BLOCK, BlockSink, Pacer};
use super::{OutputSink, SinkError, SinkInfo};
use crate::wav::WavOut;
use earshot_audio_model::config::{CHANNELS, SAMPLE_RATE};
use earshot_engine::playback::PlaybackOutput;
use std::path::{Path, PathBuf};

/// Plays the output at the pace of the real clock into a 48 kHz stereo
/// float WAV file, so what is written is what a listener would have heard,
/// underruns included.
#[derive(Debug)]
pub struct WavSink {
    path: PathBuf,
    file: Option<WavFile>,
    pacer: Option<Pacer>,
}

impl WavSink {
    /// Creates (or truncates) `path` now, so a bad path fails before
    /// anything plays.
    pub fn create(path: &Path) -> Result<Self, SinkError> {
        let wav = WavOut::create(path).map_err(|source| SinkError::Create {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            path: path.to_owned(),
            file: Some(WavFile {
                wav,
                path: path.to_owned(),
            }),
            pacer: None,
        })
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

struct WavFile {
    wav: WavOut,
    path: PathBuf,
}

impl std::fmt::Debug for WavFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl BlockSink for WavFile {
    fn write(&mut self, block: &[f32]) -> Result<(), SinkError> {
        self.wav.write(block).map_err(|source| SinkError::Write {
            path: self.path.clone(),
            source,
        })
    }

    fn finish(self) -> Result<(), SinkError> {
        self.wav.finish().map_err(|source| SinkError::Write {
            path: self.path,
            source,
        })
    }
}

impl OutputSink for WavSink {
    fn start(&mut self, output: PlaybackOutput) -> Result<(), SinkError> {
        if output.channels() != CHANNELS {
            return Err(SinkError::Channels {
                expected: CHANNELS,
                got: output.channels(),
            });
        }
        let file = self.file.take().ok_or(SinkError::AlreadyStarted)?;
        self.pacer = Some(Pacer::spawn("earshot-wav-out", output, file)?);
        Ok(())
    }

    fn info(&self) -> SinkInfo {
        SinkInfo {
            device: format!("wav file {}", self.path.display()),
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
