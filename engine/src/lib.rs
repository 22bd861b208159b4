//! # earshot-engine
//!
//! The engine of earshot, free of any model, device or sound card: the
//! clock (real and virtual), the stream of slots with its sampler and noise
//! contract, the backend trait every model runtime implements, knob and
//! conditioning state with epochs, the trace, and the playback buffer with
//! its patch channel. A model is data: the engine is given a
//! [`ModelDescription`] when it starts and sizes every buffer from it.
//!
//! Promises: every position is an integer count of sample frames; the same
//! seed and inputs give bit-identical latents on the reference backend; bad
//! input (a knob out of range, a malformed weights file) is a typed error
//! that changes nothing.
//!
//! ```
//! use earshot_engine::sim::signal::{SignalBackend, mono};
//! use earshot_engine::DeviceServices;
//! let backend = SignalBackend::new(mono());
//! assert_eq!(backend.description().channels, 1);
//! assert_eq!(backend.description().validate(), Ok(()));
//! ```

pub mod ack;
pub mod backend;
pub mod clock;
pub mod conditioning;
pub mod control;
pub mod description;
pub mod epoch;
pub mod frames;
pub mod knobs;
pub mod lead;
pub mod offline;
pub mod patch;
pub mod playback;
pub mod rng;
pub mod rt_knobs;
pub mod runner;
pub mod sampler;
pub mod schedule;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod stream;
pub mod trace;

pub use backend::{
    Backend, BackendCounters, BackendError, DecodeRequest, DeviceServices, Generator, Renderer,
    StepBatch,
};
pub use clock::{Clock, RealClock, VirtualClock};
pub use description::{KnobSpec, KnobTable, ModelDescription};
pub use epoch::Epochs;
pub use frames::{LatentFrames, SampleFrames};
