//! A stand-in model whose sound says which knob value made it: every slot's
//! window ends up holding the value of knob 0 (normalized) it saw at its
//! last step, and decode plays a 375 Hz sine (a whole number of cycles per
//! 1024-frame hop) whose amplitude is `0.25 · (1 + value)` at the latent
//! frame being played. Cheap enough for thousands of virtual-clock ticks.

use crate::backend::{
    Backend, BackendCounters, BackendError, ConditioningHandle, DecodeRequest, LatentHandle,
    StepBatch,
};
use crate::conditioning::ConditioningInput;
use crate::model::config::{CHANNELS, HOP, KNOB_COUNT, LATENT_CHANNELS};
use crate::model::{ModelConfig, ModelSize};

/// The signal model.
#[derive(Debug)]
pub struct SignalBackend {
    config: ModelConfig,
    latents: Vec<Vec<f32>>,
    conditionings: u32,
    counters: BackendCounters,
}

impl Default for SignalBackend {
    fn default() -> Self {
        Self::new(ModelSize::Tiny.config())
    }
}

impl SignalBackend {
    /// A signal model with the geometry of `config`.
    pub fn new(config: ModelConfig) -> Self {
        Self {
            config,
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

impl Backend for SignalBackend {
    fn name(&self) -> &str {
        "signal"
    }
    fn config(&self) -> &ModelConfig {
        &self.config
    }
    fn reserve(&mut self, _max_slots: usize) -> Result<(), BackendError> {
        Ok(())
    }
    fn alloc_latents(&mut self) -> Result<LatentHandle, BackendError> {
        self.latents.push(vec![0.0; self.config.window_len()]);
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
            let value = batch.knob_rows[i * KNOB_COUNT];
            self.latents[slot.latents.index() as usize].fill(value);
        }
        self.counters.forwards += 1;
        Ok(())
    }
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        let window = self.window(request.latents)?;
        let start = request.anchor.start_sample(HOP).0;
        let end = start + self.config.window.0 * HOP.0;
        if request.range.start.0 < start || request.range.end.0 > end {
            return Err(BackendError::RangeOutsideWindow {
                start: request.range.start.0,
                end: request.range.end.0,
                window_start: start,
                window_end: end,
            });
        }
        for (i, frame) in out.chunks_exact_mut(CHANNELS).enumerate() {
            let pos = request.range.start.0 + i as u64;
            let latent = ((pos - start) / HOP.0) as usize;
            let amp = Self::amplitude(window[latent * LATENT_CHANNELS]);
            let phase = std::f32::consts::TAU * (pos % 128) as f32 / 128.0;
            frame.fill(amp * phase.sin());
        }
        self.counters.decodes += 1;
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
    fn counters(&self) -> BackendCounters {
        self.counters
    }
}
