//! # earshot-cpu
//!
//! The CPU reference backend: exact, deterministic, always available. Every
//! other backend is tested against it. It keeps all tensors in its own
//! buffers, packs the weights once at construction, and allocates nothing
//! in a steady-state `step` or `decode` (buffers grow only when a larger
//! batch or range than ever before arrives).
//!
//! ```
//! use earshot_cpu::CpuBackend;
//! use earshot_engine::backend::prelude::*;
//! use earshot_audio_model::{ModelSize, init_weights};
//! let backend = CpuBackend::new(&init_weights(ModelSize::Tiny, 7)).unwrap();
//! assert_eq!(backend.name(), "cpu");
//! ```

pub mod calibrate;
pub mod decoder;
pub mod gemm;
pub mod generator;
pub mod istft;
pub mod ops;
pub mod weights;

use decoder::Decoder;
use earshot_audio_model::{ModelConfig, ModelWeights};
use earshot_engine::backend::{ConditioningHandle, LatentHandle};
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::sampler::{SamplerKind, ode_update, sde_update};
use earshot_engine::{BackendCounters, BackendError, DecodeRequest, ModelDescription, StepBatch};
use generator::{EncodedConditioning, Generator, SlotInputs};
use ops::ensure_len;
use weights::WeightSource;

/// The reference backend.
#[derive(Debug)]
pub struct CpuBackend {
    config: ModelConfig,
    description: ModelDescription,
    generator: Generator,
    decoder: Decoder,
    latents: Vec<Vec<f32>>,
    conditionings: Vec<Option<EncodedConditioning>>,
    gathered: Vec<f32>,
    timesteps: Vec<f32>,
    noise: Vec<f32>,
    counters: BackendCounters,
}

impl CpuBackend {
    /// Packs validated weights for the CPU.
    pub fn new(weights: &ModelWeights) -> Result<Self, BackendError> {
        let source = WeightSource(weights);
        Ok(Self {
            config: *weights.config(),
            description: weights.config().description(),
            generator: Generator::new(&source)?,
            decoder: Decoder::new(&source)?,
            latents: Vec::new(),
            conditionings: Vec::new(),
            gathered: Vec::new(),
            timesteps: Vec::new(),
            noise: Vec::new(),
            counters: BackendCounters::default(),
        })
    }

    /// The reference model's geometry this backend was built for.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn latents(&self, h: LatentHandle) -> Result<&Vec<f32>, BackendError> {
        self.latents
            .get(h.index() as usize)
            .ok_or(BackendError::UnknownHandle {
                kind: "latent",
                index: h.index(),
            })
    }

    fn conditioning(&self, h: ConditioningHandle) -> Result<&EncodedConditioning, BackendError> {
        self.conditionings
            .get(h.index() as usize)
            .and_then(Option::as_ref)
            .ok_or(BackendError::UnknownHandle {
                kind: "conditioning",
                index: h.index(),
            })
    }
}

impl earshot_engine::DeviceServices for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn description(&self) -> &ModelDescription {
        &self.description
    }

    fn reserve(&mut self, max_slots: usize) -> Result<(), BackendError> {
        let n = self.config.window_len();
        self.generator.reserve(max_slots);
        self.decoder.reserve_window();
        ensure_len(&mut self.gathered, max_slots * n);
        ensure_len(&mut self.noise, n);
        self.timesteps
            .reserve(max_slots.saturating_sub(self.timesteps.len()));
        Ok(())
    }

    fn counters(&self) -> BackendCounters {
        self.counters
    }
}

impl earshot_engine::Generator for CpuBackend {
    fn alloc_latents(&mut self) -> Result<LatentHandle, BackendError> {
        self.latents.push(vec![0.0; self.config.window_len()]);
        self.counters.device_allocs += 1;
        Ok(LatentHandle::from_index(self.latents.len() as u32 - 1))
    }

    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
        earshot_engine::backend::check_conditioning(&self.description, input)?;
        let slot = match self.conditionings.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.conditionings.push(None);
                self.conditionings.len() - 1
            }
        };
        let mut encoded = EncodedConditioning::default();
        self.generator
            .encode(&input.tokens, &input.pooled, &mut encoded);
        self.conditionings[slot] = Some(encoded);
        self.counters.device_allocs += 1;
        Ok(ConditioningHandle::from_index(slot as u32))
    }

    fn release_conditioning(&mut self, handle: ConditioningHandle) -> Result<(), BackendError> {
        self.conditioning(handle)?;
        self.conditionings[handle.index() as usize] = None;
        Ok(())
    }

    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
        let s = batch.slots.len();
        earshot_engine::backend::check_knob_rows(&self.description, batch)?;
        for slot in &batch.slots {
            self.latents(slot.latents)?;
            self.conditioning(slot.conditioning)?;
        }
        let n = self.config.window_len();
        ensure_len(&mut self.gathered, s * n);
        ensure_len(&mut self.noise, n);
        self.timesteps.clear();
        for (i, slot) in batch.slots.iter().enumerate() {
            let x = &mut self.latents[slot.latents.index() as usize];
            if slot.step == 0 {
                let mut key = slot.noise;
                key.step = 0;
                key.fill_normal(x);
            }
            self.gathered[i * n..][..n].copy_from_slice(x);
            self.timesteps.push(slot.t);
        }
        let conditionings = &self.conditionings;
        let inputs = SlotInputs {
            t: &self.timesteps,
            knobs: &batch.knob_rows,
            conditioning: |i: usize| {
                let h = batch.slots[i].conditioning.index() as usize;
                conditionings[h].as_ref().expect("checked above")
            },
        };
        let x0 = self.generator.forward(&self.gathered[..s * n], &inputs);
        for (i, slot) in batch.slots.iter().enumerate() {
            let x = &mut self.latents[slot.latents.index() as usize];
            let pred = &x0[i * n..][..n];
            match batch.sampler {
                SamplerKind::Ode => {
                    for (v, &p) in x.iter_mut().zip(pred) {
                        *v = ode_update(*v, p, slot.t, slot.t_next);
                    }
                }
                SamplerKind::Sde { churn } => {
                    if slot.t_next > 0.0 {
                        let mut key = slot.noise;
                        key.step = slot.step + 1;
                        key.fill_normal(&mut self.noise[..n]);
                    } else {
                        self.noise[..n].fill(0.0);
                    }
                    for ((v, &p), &z) in x.iter_mut().zip(pred).zip(&self.noise) {
                        *v = sde_update(*v, p, slot.t, slot.t_next, churn, z);
                    }
                }
            }
        }
        self.counters.forwards += 1;
        Ok(())
    }

    fn read_latents(&mut self, handle: LatentHandle, out: &mut [f32]) -> Result<(), BackendError> {
        let x = self.latents(handle)?;
        earshot_engine::backend::check_window_len(
            &self.description,
            "latent read-back",
            out.len(),
        )?;
        out.copy_from_slice(x);
        Ok(())
    }

    fn write_latents(&mut self, handle: LatentHandle, values: &[f32]) -> Result<(), BackendError> {
        self.latents(handle)?;
        earshot_engine::backend::check_window_len(&self.description, "latent write", values.len())?;
        self.latents[handle.index() as usize].copy_from_slice(values);
        Ok(())
    }
}

impl earshot_engine::Renderer for CpuBackend {
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        let local = earshot_engine::backend::check_decode(&self.description, request, out.len())?;
        let index = request.latents.index() as usize;
        self.latents(request.latents)?;
        let local = local.start as i64..local.end as i64;
        self.decoder.decode(&self.latents[index], local, out);
        self.counters.decodes += 1;
        Ok(())
    }
}
