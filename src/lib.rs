//! # earshot
//!
//! An embeddable real-time engine for generative audio. This crate is the
//! facade: it re-exports the engine and the CPU reference backend and adds
//! what the command line needs (model loading, WAV output, output sinks:
//! a sound card, a real-time-paced WAV file, nothing). See the
//! `earshot-engine` crate for the contracts.
//!
//! ```
//! let weights = earshot::model::load_or_init(None, earshot::audio_model::ModelSize::Tiny, 7).unwrap();
//! assert_eq!(weights.config().window.0, 32);
//! ```

pub use earshot_audio_model as audio_model;
pub use earshot_cpu as cpu;
#[cfg(feature = "cuda")]
pub use earshot_cuda as cuda;
pub use earshot_embed as embed;
pub use earshot_embed::{backend_choice, model, prompt};
pub use earshot_engine as engine;
pub use earshot_golden as golden;

pub mod cost_profile;
pub mod midi;
pub mod osc;
pub mod sinks;
pub mod wav;
