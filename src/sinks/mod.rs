//! Output sinks: where the playback buffer's audio goes. A sink owns the
//! [`PlaybackOutput`] once started and calls its `render` from its own
//! output thread, the only thing that thread does with it:
//!
//! - [`CpalSink`]: a sound card through cpal (48 kHz stereo f32);
//! - [`WavSink`]: a thread paced by the real clock writing a WAV file, the
//!   fallback on a machine without a sound card;
//! - [`NullSink`]: paced the same way, discarding the audio (for tests).
//!
//! ```
//! use earshot::engine::playback::{PlaybackConfig, playback};
//! use earshot::sinks::{NullSink, OutputSink};
//!
//! let (_writer, output, stats) = playback(PlaybackConfig::default(), 2)?;
//! let mut sink = NullSink::new();
//! sink.start(output)?;
//! std::thread::sleep(std::time::Duration::from_millis(50));
//! sink.stop()?;
//! assert!(stats.playhead().0 >= 512, "the first block plays at once");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cpal_sink;
mod null_sink;
mod paced;
mod wav_sink;

pub use cpal_sink::CpalSink;
pub use null_sink::NullSink;
pub use wav_sink::WavSink;

use earshot_engine::playback::PlaybackOutput;
use std::fmt;
use std::path::PathBuf;

/// Somewhere the output plays: started once, stopped once.
pub trait OutputSink {
    /// Starts playing `output`, which the sink's output thread owns from
    /// now on. A sink starts once; a second start is refused.
    fn start(&mut self, output: PlaybackOutput) -> Result<(), SinkError>;

    /// The device, sample rate and block size the sink plays with.
    fn info(&self) -> SinkInfo;

    /// Errors the output reported while playing (a cpal stream error, for
    /// one); counted, never logged from the output thread.
    fn errors(&self) -> u64;

    /// Whether the output ended on its own (a paced thread whose file
    /// write failed); [`stop`](Self::stop) then says why.
    fn is_finished(&self) -> bool;

    /// Stops playing and finishes what the sink writes. Bounded in time;
    /// stopping a sink that never started does nothing.
    fn stop(&mut self) -> Result<(), SinkError>;
}

/// What a sink plays on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkInfo {
    /// The device's name (or the file written).
    pub device: String,
    /// Sample frames per second.
    pub sample_rate: u32,
    /// Sample frames per block, when fixed; `None` when the device picks
    /// its default.
    pub buffer: Option<u32>,
}

impl fmt::Display for SinkInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} Hz, ", self.device, self.sample_rate)?;
        match self.buffer {
            Some(frames) => write!(f, "buffer {frames} frames)"),
            None => write!(f, "device default buffer)"),
        }
    }
}

/// Why a sink could not open, start or finish; each variant is something a
/// caller can act on (pick another device or sink, change the config, fix
/// the path).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The audio host has no default output device.
    #[error("the audio host has no default output device")]
    NoDefaultDevice,
    /// No output device has the name asked for.
    #[error(
        "no audio output device named {name:?} (available: {})",
        list(available)
    )]
    DeviceNotFound {
        /// The name asked for.
        name: String,
        /// The output devices there are.
        available: Vec<String>,
    },
    /// The output devices could not be listed.
    #[error("listing audio output devices: {0}")]
    Devices(#[from] cpal::DevicesError),
    /// The device exists but cannot be opened (no sound card behind it,
    /// busy, unplugged).
    #[error("audio output device {device:?} is unavailable: {reason}")]
    Unavailable {
        /// The device.
        device: String,
        /// What the host said.
        reason: String,
    },
    /// The device cannot play the stream earshot makes (48 kHz stereo
    /// f32) or the buffer size asked for.
    #[error("audio output device {device:?} cannot play this stream: {reason}")]
    UnsupportedConfig {
        /// The device.
        device: String,
        /// What is missing.
        reason: String,
    },
    /// The playback buffer has a channel count the sink cannot play.
    #[error("the sink plays {expected} channels, the playback buffer has {got}")]
    Channels {
        /// Channels the sink plays.
        expected: usize,
        /// Channels of the playback buffer.
        got: usize,
    },
    /// Building the output stream failed.
    #[error("building the audio output stream: {}", build_reason(.0))]
    BuildStream(#[from] cpal::BuildStreamError),
    /// Starting the output stream failed.
    #[error("starting the audio output stream: {}", play_reason(.0))]
    PlayStream(#[from] cpal::PlayStreamError),
    /// The sink was already started.
    #[error("the sink was already started")]
    AlreadyStarted,
    /// The output file could not be created.
    #[error("creating {}: {source}", path.display())]
    Create {
        /// The file.
        path: PathBuf,
        /// Why.
        source: hound::Error,
    },
    /// Writing or finishing the output file failed.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: hound::Error,
    },
    /// The output thread could not be started.
    #[error("starting the output thread: {0}")]
    Thread(std::io::Error),
    /// The output thread did not finish in time; it was left behind.
    #[error("the output thread did not stop within {0:?}")]
    StopTimeout(std::time::Duration),
    /// The output thread panicked.
    #[error("the output thread panicked")]
    Panicked,
}

/// cpal's message without its doubled "a backend-specific error has
/// occurred" preamble.
fn build_reason(e: &cpal::BuildStreamError) -> String {
    match e {
        cpal::BuildStreamError::BackendSpecific { err } => err.description.clone(),
        other => other.to_string(),
    }
}

fn play_reason(e: &cpal::PlayStreamError) -> String {
    match e {
        cpal::PlayStreamError::BackendSpecific { err } => err.description.clone(),
        other => other.to_string(),
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
