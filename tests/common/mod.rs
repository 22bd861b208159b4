//! Helpers shared by the integration tests.

#![allow(dead_code)]

use earshot::audio_model::{ModelSize, ModelWeights, init_weights};
use earshot::cpu::CpuBackend;
use earshot::engine::backend::prelude::*;
use earshot::engine::conditioning::ConditioningInput;
use earshot::engine::knobs::KnobState;
use earshot::engine::sampler::SamplerKind;
use earshot::engine::stream::{Produce, Stream, StreamConfig, TickInputs};
use earshot::engine::{Epochs, LatentFrames};
use std::sync::OnceLock;

/// The embedded default tiny weights (init + calibration), built once.
pub fn tiny_weights() -> &'static ModelWeights {
    static W: OnceLock<ModelWeights> = OnceLock::new();
    W.get_or_init(|| {
        earshot::model::reference_weights(ModelSize::Tiny, 7).expect("reference weights")
    })
}

/// Raw (uncalibrated) tiny weights, for loader tests.
pub fn raw_tiny() -> ModelWeights {
    init_weights(ModelSize::Tiny, 7)
}

/// A stream on a fresh CPU backend with null conditioning.
pub struct Rig {
    /// The backend.
    pub backend: CpuBackend,
    /// The stream.
    pub stream: Stream,
    /// Null conditioning on the backend.
    pub conditioning: earshot::engine::backend::ConditioningHandle,
    /// Knobs at their defaults.
    pub knobs: KnobState,
}

impl Rig {
    /// Builds a rig for `sampler` and `seed`.
    pub fn new(sampler: SamplerKind, seed: u64) -> Self {
        let mut backend = CpuBackend::new(tiny_weights()).unwrap();
        let config = StreamConfig {
            sampler,
            seed,
            ..StreamConfig::default()
        };
        let stream = Stream::new(config, &mut backend).unwrap();
        let conditioning = backend
            .encode(&ConditioningInput::null(backend.description().conditioning))
            .unwrap();
        Self {
            backend,
            stream,
            conditioning,
            knobs: KnobState::new(earshot_audio_model::knobs::knobs(), 8),
        }
    }

    /// One tick, admitting a slot anchored at its serial number.
    pub fn tick(&mut self) -> Option<Produce> {
        let admit = Some(LatentFrames(self.stream.next_serial()));
        let inputs = TickInputs {
            knobs: &self.knobs,
            conditioning: self.conditioning,
            epochs: Epochs::default(),
            admit,
        };
        self.stream.tick(&mut self.backend, &inputs).unwrap();
        self.stream.take_produce()
    }

    /// Ticks until the first produce comes out.
    pub fn first_produce(&mut self) -> Produce {
        loop {
            if let Some(p) = self.tick() {
                return p;
            }
        }
    }

    /// Runs until `n` produces came out; returns their latents in order.
    pub fn produce_latents(&mut self, n: usize) -> Vec<Vec<f32>> {
        let len = self.backend.config().window_len();
        let mut out = Vec::new();
        while out.len() < n {
            if let Some(p) = self.tick() {
                let mut x = vec![0.0; len];
                self.backend.read_latents(p.latents, &mut x).unwrap();
                self.stream.release(p.latents).unwrap();
                out.push(x);
            }
        }
        out
    }
}
