//! What the plugin keeps besides its parameters: the prompt and the
//! settings the engine is built from, and the engine config they make
//! together with the host's audio configuration.

use crate::error::ActivateError;
use earshot_audio_model::ModelSize;
use earshot_audio_model::config::CHANNELS;
use earshot_embed::backend_choice::BackendKind;
use earshot_embed::{EngineConfig, MAX_BLOCK};
use earshot_engine::frames::SampleFrames;
use std::path::PathBuf;

/// The smallest lead of a `tiny` engine: 0.15 s. With the engine's default
/// 0.25 s, tiny's window cannot fit the near repatch and a knob change is
/// heard after ~109 ms instead of ~14 ms (golden ablation, see
/// `docs/realtime.md`); larger sizes fit the default.
pub const TINY_LEAD_FLOOR: SampleFrames = SampleFrames(7_200);

/// The longest lead floor a state may ask for: 10 s, the engine's limit.
pub const MAX_LEAD_FLOOR: SampleFrames = SampleFrames(480_000);

/// The lead floor a new instance of `size` starts with.
pub fn default_lead_floor(size: ModelSize) -> SampleFrames {
    match size {
        ModelSize::Tiny => TINY_LEAD_FLOOR,
        _ => EngineConfig::default().lead_floor,
    }
}

/// What an engine is built from besides the host's audio configuration. A
/// change needs a new engine, so the plugin asks the host to restart it
/// (deactivate, activate) when one arrives while it is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// A weights file; `None`: the reference weights of `size` generated
    /// from `weights_seed`.
    pub weights: Option<PathBuf>,
    /// Size of generated weights.
    pub size: ModelSize,
    /// Seed of generated weights.
    pub weights_seed: u64,
    /// Which backend runs the model.
    pub backend: BackendKind,
    /// Denoise steps (1..=64).
    pub steps: u32,
    /// Noise seed of the stream.
    pub seed: u64,
    /// Smallest lead of the frontier write, in the model's sample frames.
    pub lead_floor: SampleFrames,
}

impl Default for EngineSettings {
    fn default() -> Self {
        let engine = EngineConfig::default();
        Self {
            weights: engine.weights,
            size: engine.size,
            weights_seed: engine.weights_seed,
            backend: engine.backend,
            steps: engine.steps,
            seed: engine.seed,
            lead_floor: default_lead_floor(engine.size),
        }
    }
}

impl EngineSettings {
    /// The engine config for these settings at the host's sample rate and
    /// largest block. Blocks longer than `MAX_BLOCK` are played in pieces,
    /// so the config asks for at most that.
    pub fn engine_config(
        &self,
        sample_rate: f64,
        max_frames: u32,
    ) -> Result<EngineConfig, ActivateError> {
        let rate = sample_rate.round();
        // The engine checks the range; this only keeps the cast honest.
        if !(1.0..=f64::from(u32::MAX)).contains(&rate) {
            return Err(ActivateError::SampleRate(sample_rate));
        }
        Ok(EngineConfig {
            weights: self.weights.clone(),
            size: self.size,
            weights_seed: self.weights_seed,
            backend: self.backend,
            sample_rate: rate as u32,
            max_block: usize::try_from(max_frames)
                .unwrap_or(MAX_BLOCK)
                .clamp(1, MAX_BLOCK),
            channels: CHANNELS,
            steps: self.steps,
            seed: self.seed,
            lead_floor: self.lead_floor,
            ..EngineConfig::default()
        })
    }
}

/// The plugin's settings besides its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// The prompt; empty: none (the engine plays the null conditioning).
    pub prompt: String,
    /// The engine.
    pub engine: EngineSettings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_configuration_lands_in_the_engine_config() {
        let settings = EngineSettings {
            steps: 12,
            seed: 99,
            ..EngineSettings::default()
        };
        let config = settings.engine_config(44_100.0, 1 << 20).unwrap();
        assert_eq!(config.sample_rate, 44_100);
        assert_eq!(config.max_block, MAX_BLOCK, "longer blocks are split");
        assert_eq!((config.steps, config.seed, config.channels), (12, 99, 2));
        assert_eq!(config.lead_floor, TINY_LEAD_FLOOR, "tiny by default");
        assert!(config.check().is_ok());
        assert!(settings.engine_config(f64::NAN, 512).is_err());
        assert!(settings.engine_config(-48_000.0, 512).is_err());
    }
}
