//! # earshot-audio-model
//!
//! The reference audio model family, outside the engine: its geometry and
//! per-size dimensions, the knob table, the tensor manifest, the
//! safetensors loader, the deterministic init and the decode plan every
//! backend follows. The engine knows none of this; it is given the model's
//! [`ModelDescription`](earshot_engine::description::ModelDescription)
//! ([`ModelConfig::description`]) when it starts. The architecture is
//! documented in `docs/reference-model.md`.
//!
//! ```
//! use earshot_audio_model::{ModelSize, init_weights};
//! let weights = init_weights(ModelSize::Tiny, 7);
//! assert_eq!(weights.config().width, 128);
//! assert_eq!(weights.config().description().channels, 2);
//! ```

pub mod config;
pub mod decode_plan;
pub mod init;
pub mod knobs;
pub mod stft;
pub mod tensors;
pub mod weights;

pub use config::{ModelConfig, ModelSize};
pub use decode_plan::DecodePlan;
pub use init::init_weights;
pub use weights::{ModelWeights, WeightsError};
