//! # earshot-engine
//!
//! The engine of earshot, free of any device or sound card: the clock
//! (real and virtual), the stream of slots with its sampler and noise
//! contract, the backend trait every model runtime implements, knob and
//! conditioning state with epochs, the trace, the playback buffer with its
//! patch channel, and the reference model family's specification
//! (geometry, tensor manifest, weights loading and deterministic init).
//!
//! Promises: every position is an integer count of sample frames; the same
//! seed and inputs give bit-identical latents on the reference backend; bad
//! input (a knob out of range, a malformed weights file) is a typed error
//! that changes nothing.
//!
//! ```
//! use earshot_engine::model::{ModelSize, init_weights};
//! let weights = init_weights(ModelSize::Tiny, 7);
//! assert_eq!(weights.config().width, 128);
//! ```

pub mod ack;
pub mod backend;
pub mod clock;
pub mod conditioning;
pub mod control;
pub mod epoch;
pub mod frames;
pub mod knobs;
pub mod lead;
pub mod model;
pub mod offline;
pub mod patch;
pub mod playback;
pub mod rng;
pub mod rt_knobs;
pub mod runner;
pub mod sampler;
pub mod sim;
pub mod stream;
pub mod trace;

pub use backend::{Backend, BackendCounters, BackendError, DecodeRequest, StepBatch};
pub use clock::{Clock, RealClock, VirtualClock};
pub use epoch::Epochs;
pub use frames::{LatentFrames, SampleFrames};
