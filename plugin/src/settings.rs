//! What the plugin keeps besides its parameters: the prompt and the model
//! the engine is built from, and the engine config they make together with
//! the host's audio configuration.

use crate::error::ActivateError;
use earshot_embed::backend_choice::BackendKind;
use earshot_embed::{EngineConfig, MAX_BLOCK};
use earshot_engine::model::ModelSize;
use earshot_engine::model::config::CHANNELS;
use std::path::PathBuf;

/// The model an engine is built from. A change needs a new engine, so the
/// plugin asks the host to restart it (deactivate, activate) when one
/// arrives while it is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSettings {
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
}

impl Default for ModelSettings {
    fn default() -> Self {
        let engine = EngineConfig::default();
        Self {
            weights: engine.weights,
            size: engine.size,
            weights_seed: engine.weights_seed,
            backend: engine.backend,
            steps: engine.steps,
            seed: engine.seed,
        }
    }
}

impl ModelSettings {
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
            ..EngineConfig::default()
        })
    }
}

/// The plugin's settings besides its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// The prompt; empty: none (the engine plays the null conditioning).
    pub prompt: String,
    /// The model.
    pub model: ModelSettings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_configuration_lands_in_the_engine_config() {
        let settings = ModelSettings {
            steps: 12,
            seed: 99,
            ..ModelSettings::default()
        };
        let config = settings.engine_config(44_100.0, 1 << 20).unwrap();
        assert_eq!(config.sample_rate, 44_100);
        assert_eq!(config.max_block, MAX_BLOCK, "longer blocks are split");
        assert_eq!((config.steps, config.seed, config.channels), (12, 99, 2));
        assert!(config.check().is_ok());
        assert!(settings.engine_config(f64::NAN, 512).is_err());
        assert!(settings.engine_config(-48_000.0, 512).is_err());
    }
}
