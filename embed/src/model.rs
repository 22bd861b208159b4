//! Choosing the weights a command runs: a file, or the embedded default
//! generated from a seed and calibrated.

use earshot_audio_model::{ModelSize, ModelWeights, init_weights};
use earshot_cpu::calibrate::calibrate;
use std::path::Path;

/// The seed of the embedded default weights.
pub const DEFAULT_WEIGHTS_SEED: u64 = 7;

/// Why weights could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file was refused.
    #[error(transparent)]
    Weights(#[from] earshot_audio_model::WeightsError),
    /// Calibration failed.
    #[error("calibrating generated weights: {0}")]
    Calibration(#[from] earshot_engine::BackendError),
}

/// The reference weights of `size` from `seed`: deterministic init, then
/// calibration of the output layer on the CPU backend (see
/// `earshot_cpu::calibrate`).
pub fn reference_weights(size: ModelSize, seed: u64) -> Result<ModelWeights, ModelError> {
    let mut weights = init_weights(size, seed);
    calibrate(&mut weights)?;
    Ok(weights)
}

/// Loads `path` when given (its size comes from the file), else generates
/// the reference weights of `size` from `seed`.
pub fn load_or_init(
    path: Option<&Path>,
    size: ModelSize,
    seed: u64,
) -> Result<ModelWeights, ModelError> {
    match path {
        Some(p) => Ok(ModelWeights::load(p)?),
        None => reference_weights(size, seed),
    }
}
