//! A stand-in model whose sound says which knob value made it: every slot's
//! window ends up holding the value of knob 0 (normalized) it saw at its
//! last step, and decode plays a sine of period 128 sample frames (375 Hz
//! at 48 kHz) on every channel whose amplitude is `0.25 · (1 + value)` at
//! the latent frame being played. It runs any geometry a
//! [`ModelDescription`] gives it — two are provided, [`stereo`] and
//! [`mono`] — and is cheap enough for thousands of virtual-clock ticks.

use crate::backend::{
    BackendCounters, BackendError, ConditioningHandle, DecodeRequest, DeviceServices, Generator,
    LatentHandle, Renderer, StepBatch,
};
use crate::conditioning::ConditioningInput;
use crate::description::{ConditioningShape, KnobSpec, ModelDescription};
use crate::frames::{LatentFrames, SampleFrames};

/// A stereo 48 kHz geometry: hop 1024, 64 latent channels, a window of 32
/// latent frames with a margin of 10, four knobs (`brightness`, `noise`,
/// `density`, `warmth`; only the first is voiced), eight conditioning
/// tokens of width 128.
pub fn stereo() -> ModelDescription {
    ModelDescription {
        name: "signal-stereo".into(),
        sample_rate: 48_000,
        channels: 2,
        hop: SampleFrames(1024),
        latent_channels: 64,
        window: LatentFrames(32),
        decoder_margin: LatentFrames(10),
        knobs: ["brightness", "noise", "density", "warmth"]
            .map(|name| KnobSpec::unit(name, if name == "noise" { 0.3 } else { 0.5 }, ""))
            .into(),
        conditioning: ConditioningShape {
            tokens: 8,
            width: 128,
        },
    }
}

/// Another geometry altogether: mono 24 kHz, hop 512, 8 latent channels, a
/// window of 48 latent frames with a margin of 4, two knobs (`level`,
/// voiced, and `pitch`), two conditioning tokens of width 32.
pub fn mono() -> ModelDescription {
    ModelDescription {
        name: "signal-mono".into(),
        sample_rate: 24_000,
        channels: 1,
        hop: SampleFrames(512),
        latent_channels: 8,
        window: LatentFrames(48),
        decoder_margin: LatentFrames(4),
        knobs: vec![
            KnobSpec::unit("level", 0.5, "loudness of the tone"),
            KnobSpec::unit("pitch", 0.5, "unvoiced by the signal model"),
        ]
        .into(),
        conditioning: ConditioningShape {
            tokens: 2,
            width: 32,
        },
    }
}

/// The signal model.
#[derive(Debug)]
pub struct SignalBackend {
    description: ModelDescription,
    latents: Vec<Vec<f32>>,
    conditionings: u32,
    counters: BackendCounters,
}

impl Default for SignalBackend {
    fn default() -> Self {
        Self::new(stereo())
    }
}

impl SignalBackend {
    /// A signal model with the geometry of `description` (validated by
    /// whoever starts an engine with it).
    pub fn new(description: ModelDescription) -> Self {
        Self {
            description,
            latents: Vec::new(),
            conditionings: 0,
            counters: BackendCounters::default(),
        }
    }

    /// The amplitude a knob-0 value (normalized) is played at.
    pub fn amplitude(value: f32) -> f32 {
        0.25 * (1.0 + value)
    }

    fn window(&self, h: LatentHandle) -> Result<&Vec<f32>, BackendError> {
        self.latents
            .get(h.index() as usize)
            .ok_or(BackendError::UnknownHandle {
                kind: "latent",
                index: h.index(),
            })
    }
}

impl DeviceServices for SignalBackend {
    fn name(&self) -> &str {
        "signal"
    }

    fn description(&self) -> &ModelDescription {
        &self.description
    }

    fn reserve(&mut self, _max_slots: usize) -> Result<(), BackendError> {
        Ok(())
    }

    fn counters(&self) -> BackendCounters {
        self.counters
    }
}

impl Generator for SignalBackend {
    fn alloc_latents(&mut self) -> Result<LatentHandle, BackendError> {
        self.latents.push(vec![0.0; self.description.window_len()]);
        self.counters.device_allocs += 1;
        Ok(LatentHandle::from_index(self.latents.len() as u32 - 1))
    }

    fn encode(&mut self, _input: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
        self.conditionings += 1;
        Ok(ConditioningHandle::from_index(self.conditionings - 1))
    }

    fn release_conditioning(&mut self, _handle: ConditioningHandle) -> Result<(), BackendError> {
        Ok(())
    }

    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
        for (i, slot) in batch.slots.iter().enumerate() {
            self.window(slot.latents)?;
            let knobs = self.description.knob_count();
            let value = if knobs == 0 {
                0.0
            } else {
                batch.knob_rows[i * knobs]
            };
            self.latents[slot.latents.index() as usize].fill(value);
        }
        self.counters.forwards += 1;
        Ok(())
    }

    fn read_latents(&mut self, handle: LatentHandle, out: &mut [f32]) -> Result<(), BackendError> {
        out.copy_from_slice(self.window(handle)?);
        Ok(())
    }

    fn write_latents(&mut self, handle: LatentHandle, values: &[f32]) -> Result<(), BackendError> {
        self.window(handle)?;
        self.latents[handle.index() as usize].copy_from_slice(values);
        Ok(())
    }
}

impl Renderer for SignalBackend {
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        crate::backend::check_decode(&self.description, request, out.len())?;
        let d = &self.description;
        let window = self.window(request.latents)?;
        let start = request.anchor.start_sample(d.hop).0;
        for (i, frame) in out.chunks_exact_mut(d.channels).enumerate() {
            let pos = request.range.start.0 + i as u64;
            let latent = ((pos - start) / d.hop.0) as usize;
            let amp = Self::amplitude(window[latent * d.latent_channels]);
            let phase = std::f32::consts::TAU * (pos % 128) as f32 / 128.0;
            frame.fill(amp * phase.sin());
        }
        self.counters.decodes += 1;
        Ok(())
    }
}
