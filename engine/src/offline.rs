//! Offline render: the engine's stream on a virtual clock, written to a
//! sink as fast as the backend allows.
//!
//! The output is cut into segments of `produce_hop` latent frames; segment
//! `j` is rendered from produce `j` (slot serial `j`), whose window starts at
//! latent frame `j · produce_hop`. The output's first sample is the
//! timeline's latent frame `margin` (the decoder margin), so every rendered
//! sample lies at least a margin inside its window and windowed decoding is
//! exact. Each segment is rendered `crossfade` frames longer than its share
//! and the next one crossfades into that tail (equal power). The virtual
//! clock advances one segment per tick: real-time pacing, modelled.

use crate::backend::{Backend, BackendError, DecodeRequest};
use crate::clock::{Clock, VirtualClock};
use crate::conditioning::ConditioningInput;
use crate::epoch::Epochs;
use crate::frames::{LatentFrames, SampleFrames};
use crate::knobs::KnobState;
use crate::patch::crossfade_into;
use crate::stream::{Stream, StreamConfig, StreamError, TickInputs};
use crate::trace::{PatchKind, TraceEvent, TraceSink};
use std::time::{Duration, Instant};

/// What to render.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OfflineConfig {
    /// The stream's steps, sampler, queue and seed.
    pub stream: StreamConfig,
    /// Length of the output.
    pub duration: SampleFrames,
    /// Latent frames each produce contributes.
    pub produce_hop: LatentFrames,
    /// Crossfade between consecutive segments.
    pub crossfade: SampleFrames,
}

/// Why an offline render stopped.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The configuration cannot be rendered with this model.
    #[error("invalid render config: {0}")]
    InvalidConfig(String),
    /// The stream failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The sink refused the samples.
    #[error("output failed: {0}")]
    Sink(String),
}

/// What a render did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderStats {
    /// Ticks run (batched forwards).
    pub ticks: u64,
    /// Produces rendered.
    pub produces: u64,
    /// Sample frames written.
    pub audio: SampleFrames,
    /// Wall time spent.
    pub wall: Duration,
}

impl RenderStats {
    /// Seconds of audio per second of wall time at `sample_rate`.
    pub fn realtime_factor(&self, sample_rate: u32) -> f64 {
        self.audio.as_seconds(sample_rate) / self.wall.as_secs_f64().max(1e-9)
    }
}

/// The inputs held fixed for a whole render.
#[derive(Debug, Clone, Copy)]
pub struct RenderInputs<'a> {
    /// Knob values.
    pub knobs: &'a KnobState,
    /// The conditioning.
    pub conditioning: &'a ConditioningInput,
}

/// Where a render's samples and events go.
pub struct RenderOutput<'a> {
    /// Receives the interleaved stereo output in order.
    pub samples: &'a mut dyn FnMut(&[f32]) -> Result<(), String>,
    /// Receives trace events.
    pub trace: &'a mut dyn TraceSink,
    /// Called after each segment with the frames written so far.
    pub progress: &'a mut dyn FnMut(SampleFrames),
}

impl OfflineConfig {
    fn check(&self, backend: &dyn Backend) -> Result<(), RenderError> {
        let c = backend.description();
        if self.produce_hop.0 == 0 || self.produce_hop > c.window {
            return Err(RenderError::InvalidConfig(format!(
                "produce hop must lie in 1..={} latent frames for the {} model, got {}",
                c.window.0, c.name, self.produce_hop.0
            )));
        }
        let segment = self.produce_hop.start_sample(c.hop);
        if self.crossfade > segment {
            return Err(RenderError::InvalidConfig(format!(
                "crossfade {} is longer than a segment ({} sample frames)",
                self.crossfade.0, segment.0
            )));
        }
        let fade_frames = self.crossfade.0.div_ceil(c.hop.0);
        let needed = 2 * c.decoder_margin.0 + self.produce_hop.0 + fade_frames;
        if needed > c.window.0 {
            return Err(RenderError::InvalidConfig(format!(
                "produce hop {} needs a window of {needed} latent frames; the {} model has {}",
                self.produce_hop.0, c.name, c.window.0
            )));
        }
        Ok(())
    }
}

/// Renders `config.duration` sample frames on the virtual `clock`.
pub fn render_offline(
    backend: &mut dyn Backend,
    config: &OfflineConfig,
    inputs: RenderInputs<'_>,
    clock: &VirtualClock,
    out: RenderOutput<'_>,
) -> Result<RenderStats, RenderError> {
    config.check(backend)?;
    let started = Instant::now();
    let mut stream = Stream::new(config.stream, backend)?;
    let conditioning = backend.encode(inputs.conditioning)?;
    let epochs = Epochs {
        knob: inputs.knobs.epoch(),
        conditioning: 0,
    };
    let (hop, channels) = (backend.description().hop, backend.description().channels);
    let segment = config.produce_hop.start_sample(hop);
    let fade = config.crossfade.as_usize();
    let origin = backend.description().decoder_margin.start_sample(hop);
    let segments = config.duration.0.div_ceil(segment.0);
    let mut rendered = vec![0.0f32; (segment.as_usize() + fade) * channels];
    let mut tail = vec![0.0f32; fade * channels];
    let mut written = SampleFrames::ZERO;
    let mut produces = 0u64;

    while produces < segments {
        let tick = stream.ticks();
        out.trace.emit(&TraceEvent::TickStart {
            tick,
            at: clock.now(),
        });
        let admit = (stream.next_serial() < segments)
            .then(|| LatentFrames(stream.next_serial() * config.produce_hop.0));
        let outcome = stream.tick(
            backend,
            &TickInputs {
                knobs: inputs.knobs,
                conditioning,
                epochs,
                admit,
            },
        )?;
        clock.spend(segment);
        let slots = stream.in_flight();
        out.trace.emit(&TraceEvent::TickEnd {
            tick,
            at: clock.now(),
            slots,
        });
        if outcome == crate::stream::TickOutcome::Idle {
            return Err(RenderError::InvalidConfig(
                "stream went idle before the end".into(),
            ));
        }
        while let Some(p) = stream.take_produce() {
            out.trace.emit(&TraceEvent::produced(&p, clock.now()));
            let position = SampleFrames(p.slot * segment.0);
            let start = origin + position;
            let request = DecodeRequest {
                latents: p.latents,
                anchor: p.anchor,
                range: start..start + segment + config.crossfade,
            };
            backend.decode(&request, &mut rendered)?;
            stream.release(p.latents)?;
            if p.slot > 0 {
                crossfade_into(&mut tail, &rendered[..fade * channels], channels, fade);
                rendered[..fade * channels].copy_from_slice(&tail);
            }
            let keep = (config.duration - written).min(segment).as_usize();
            (out.samples)(&rendered[..keep * channels]).map_err(RenderError::Sink)?;
            tail.copy_from_slice(&rendered[segment.as_usize() * channels..]);
            out.trace.emit(&TraceEvent::Patch {
                kind: PatchKind::Offline,
                at: clock.now(),
                position,
                length: segment + config.crossfade,
                epochs: p.epochs,
                source: p.slot,
                late: false,
                trimmed: SampleFrames::ZERO,
                lead: SampleFrames::ZERO,
            });
            written += SampleFrames(keep as u64);
            produces += 1;
            (out.progress)(written);
        }
    }
    backend.release_conditioning(conditioning)?;
    Ok(RenderStats {
        ticks: stream.ticks(),
        produces,
        audio: written,
        wall: started.elapsed(),
    })
}
