//! The reference model family: geometry, knobs, tensor manifest, weights
//! loading and deterministic init. Every backend runs this model; the
//! architecture is documented in `docs/reference-model.md`.

pub mod config;
pub mod init;
pub mod knobs;
pub mod stft;
pub mod tensors;
pub mod weights;

pub use config::{ModelConfig, ModelSize};
pub use init::init_weights;
pub use weights::{ModelWeights, WeightsError};
