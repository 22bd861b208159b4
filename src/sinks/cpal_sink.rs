//! [`CpalSink`]: a sound card through cpal.

use super::{OutputSink, SinkError, SinkInfo};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{BufferSize, SampleFormat, SupportedBufferSize, SupportedStreamConfigRange};
use earshot_audio_model::config::{CHANNELS, SAMPLE_RATE};
use earshot_engine::playback::PlaybackOutput;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A cpal output device playing 48 kHz stereo f32. Its data callback only
/// calls [`PlaybackOutput::render`]; its error callback only counts.
pub struct CpalSink {
    device: cpal::Device,
    name: String,
    config: cpal::StreamConfig,
    stream: Option<cpal::Stream>,
    started: bool,
    errors: Arc<AtomicU64>,
}

impl std::fmt::Debug for CpalSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpalSink")
            .field("device", &self.name)
            .field("config", &self.config)
            .field("playing", &self.stream.is_some())
            .finish_non_exhaustive()
    }
}

impl CpalSink {
    /// Opens the default output device, or the one named `device`, and
    /// checks that it plays 48 kHz stereo f32 with `buffer` frames per
    /// block (`None`: the device's default). Nothing plays until
    /// [`start`](OutputSink::start).
    pub fn open(device: Option<&str>, buffer: Option<u32>) -> Result<Self, SinkError> {
        let host = cpal::default_host();
        let device = match device {
            None => host
                .default_output_device()
                .ok_or(SinkError::NoDefaultDevice)?,
            Some(want) => find(&host, want)?,
        };
        let name = device.name().unwrap_or_else(|_| "unnamed device".into());
        let ranges: Vec<SupportedStreamConfigRange> = device
            .supported_output_configs()
            .map_err(|e| SinkError::Unavailable {
                device: name.clone(),
                reason: e.to_string(),
            })?
            .collect();
        let Some(range) = ranges.iter().find(|r| plays_ours(r)) else {
            return Err(SinkError::UnsupportedConfig {
                reason: format!(
                    "earshot plays {SAMPLE_RATE} Hz {CHANNELS}-channel f32; the device offers {}",
                    describe(&ranges)
                ),
                device: name,
            });
        };
        let buffer_size = match buffer {
            None => BufferSize::Default,
            Some(0) => {
                return Err(SinkError::UnsupportedConfig {
                    device: name,
                    reason: "a buffer of 0 frames".into(),
                });
            }
            Some(frames) => match *range.buffer_size() {
                SupportedBufferSize::Range { min, max } if !(min..=max).contains(&frames) => {
                    return Err(SinkError::UnsupportedConfig {
                        device: name,
                        reason: format!("a buffer of {frames} frames (it takes {min}..={max})"),
                    });
                }
                _ => BufferSize::Fixed(frames),
            },
        };
        Ok(Self {
            device,
            name,
            config: cpal::StreamConfig {
                channels: CHANNELS as cpal::ChannelCount,
                sample_rate: cpal::SampleRate(SAMPLE_RATE),
                buffer_size,
            },
            stream: None,
            started: false,
            errors: Arc::new(AtomicU64::new(0)),
        })
    }
}

/// The output device named `want`, or the names there are.
fn find(host: &cpal::Host, want: &str) -> Result<cpal::Device, SinkError> {
    let mut available = Vec::new();
    for device in host.output_devices()? {
        let Ok(name) = device.name() else { continue };
        if name == want {
            return Ok(device);
        }
        available.push(name);
    }
    Err(SinkError::DeviceNotFound {
        name: want.into(),
        available,
    })
}

fn plays_ours(range: &SupportedStreamConfigRange) -> bool {
    usize::from(range.channels()) == CHANNELS
        && range.sample_format() == SampleFormat::F32
        && (range.min_sample_rate().0..=range.max_sample_rate().0).contains(&SAMPLE_RATE)
}

fn describe(ranges: &[SupportedStreamConfigRange]) -> String {
    if ranges.is_empty() {
        return "no output configuration".into();
    }
    ranges
        .iter()
        .map(|r| {
            format!(
                "{} ch {} {}..={} Hz",
                r.channels(),
                r.sample_format(),
                r.min_sample_rate().0,
                r.max_sample_rate().0
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl OutputSink for CpalSink {
    fn start(&mut self, mut output: PlaybackOutput) -> Result<(), SinkError> {
        if self.started {
            return Err(SinkError::AlreadyStarted);
        }
        if output.channels() != CHANNELS {
            return Err(SinkError::Channels {
                expected: CHANNELS,
                got: output.channels(),
            });
        }
        self.started = true;
        let errors = Arc::clone(&self.errors);
        let stream = self.device.build_output_stream(
            &self.config,
            move |data: &mut [f32], _: &cpal::OutputCallbackInfo| output.render(data),
            move |_: cpal::StreamError| {
                errors.fetch_add(1, Ordering::Relaxed);
            },
            None,
        )?;
        stream.play()?;
        self.stream = Some(stream);
        Ok(())
    }

    fn info(&self) -> SinkInfo {
        SinkInfo {
            device: self.name.clone(),
            sample_rate: self.config.sample_rate.0,
            buffer: match self.config.buffer_size {
                BufferSize::Fixed(frames) => Some(frames),
                BufferSize::Default => None,
            },
        }
    }

    fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn is_finished(&self) -> bool {
        false
    }

    fn stop(&mut self) -> Result<(), SinkError> {
        // Dropping the stream ends its callback thread.
        drop(self.stream.take());
        Ok(())
    }
}
