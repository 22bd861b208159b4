//! What an embedded engine is built from, and the checks it passes before
//! anything is built.

use crate::backend_choice::BackendKind;
use crate::error::EmbedError;
use earshot_audio_model::ModelSize;
use earshot_audio_model::config::{CHANNELS, SAMPLE_RATE};
use earshot_engine::frames::SampleFrames;
use earshot_engine::sampler::SamplerKind;
use std::path::PathBuf;

/// The lowest host sample rate accepted (Hz).
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// The highest host sample rate accepted (Hz).
pub const MAX_SAMPLE_RATE: u32 = 384_000;
/// The longest host block accepted, in host sample frames.
pub const MAX_BLOCK: usize = 1 << 16;

/// How to build an embedded engine. `Default` is the README's main job
/// in a host: the generated `tiny` weights on the CPU, stereo at 48 kHz.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// A weights file (its size comes from the file); `None`: the
    /// reference weights of `size` generated from `weights_seed`.
    pub weights: Option<PathBuf>,
    /// Model size of generated weights.
    pub size: ModelSize,
    /// Seed of generated weights.
    pub weights_seed: u64,
    /// Which backend runs the model.
    pub backend: BackendKind,
    /// The host's sample rate (Hz); the model's 48 kHz is resampled to it.
    pub sample_rate: u32,
    /// The most frames the host asks for in one block.
    pub max_block: usize,
    /// The host's output channels: 2 (the model's stereo) or 1 (a mix of
    /// both).
    pub channels: usize,
    /// Denoise steps (1..=64).
    pub steps: u32,
    /// The sampler.
    pub sampler: SamplerKind,
    /// Noise seed of the stream.
    pub seed: u64,
    /// Smallest lead of the frontier write, in the model's sample frames.
    pub lead_floor: SampleFrames,
    /// The text encoder's model directory (`None`: `$EARSHOT_TEXT_MODEL`
    /// or the default cache). Without it prompts are refused with the
    /// reason, and the engine plays with the null conditioning.
    pub text_model: Option<PathBuf>,
    /// Knob changes the processor can queue between two runner ticks.
    pub rt_knob_capacity: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            weights: None,
            size: ModelSize::Tiny,
            weights_seed: crate::model::DEFAULT_WEIGHTS_SEED,
            backend: BackendKind::Cpu,
            sample_rate: SAMPLE_RATE,
            max_block: 4096,
            channels: CHANNELS,
            steps: 8,
            sampler: SamplerKind::Ode,
            seed: 0,
            lead_floor: earshot_engine::lead::LeadConfig::default().floor,
            text_model: None,
            rt_knob_capacity: 1024,
        }
    }
}

impl EngineConfig {
    /// Refuses what cannot run, before anything is built.
    pub fn check(&self) -> Result<(), EmbedError> {
        let bad = |what: String| Err(EmbedError::Config(what));
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&self.sample_rate) {
            return bad(format!(
                "sample rate {} Hz outside {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE}",
                self.sample_rate
            ));
        }
        if !(1..=MAX_BLOCK).contains(&self.max_block) {
            return bad(format!(
                "max block {} frames outside 1..={MAX_BLOCK}",
                self.max_block
            ));
        }
        if !(1..=CHANNELS).contains(&self.channels) {
            return bad(format!(
                "{} output channels: the model is stereo, so 1 or 2",
                self.channels
            ));
        }
        if !(1..=64).contains(&self.steps) {
            return bad(format!("{} steps outside 1..=64", self.steps));
        }
        if let SamplerKind::Sde { churn } = self.sampler
            && !(0.0..=1.0).contains(&churn)
        {
            return bad(format!("SDE churn {churn} outside [0, 1]"));
        }
        if !(1..=1 << 16).contains(&self.rt_knob_capacity) {
            return bad(format!(
                "real-time knob capacity {} outside 1..=65536",
                self.rt_knob_capacity
            ));
        }
        if self.lead_floor.0 > u64::from(SAMPLE_RATE) * 10 {
            return bad(format!(
                "lead floor {} frames is over 10 s",
                self.lead_floor.0
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_passes_and_each_bad_field_is_named() {
        assert!(EngineConfig::default().check().is_ok());
        let cases: [(EngineConfig, &str); 6] = [
            (
                EngineConfig {
                    sample_rate: 1000,
                    ..Default::default()
                },
                "sample rate",
            ),
            (
                EngineConfig {
                    max_block: 0,
                    ..Default::default()
                },
                "max block",
            ),
            (
                EngineConfig {
                    channels: 6,
                    ..Default::default()
                },
                "channels",
            ),
            (
                EngineConfig {
                    steps: 0,
                    ..Default::default()
                },
                "steps",
            ),
            (
                EngineConfig {
                    sampler: SamplerKind::Sde { churn: f32::NAN },
                    ..Default::default()
                },
                "churn",
            ),
            (
                EngineConfig {
                    rt_knob_capacity: 0,
                    ..Default::default()
                },
                "capacity",
            ),
        ];
        for (config, word) in cases {
            let e = config.check().unwrap_err().to_string();
            assert!(e.contains(word), "{e:?} should name {word}");
        }
    }
}
