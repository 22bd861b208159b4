//! # earshot-embed
//!
//! earshot inside a host that owns the audio thread: a plugin host, a game,
//! any C or C++ program (through `earshot-ffi`) or a CLAP host (through
//! `earshot-clap`). The host's block callback drives the playhead.
//!
//! - [`Engine`] is built from an [`EngineConfig`] (weights, backend, the
//!   host's sample rate, block size and channels) on any non-real-time
//!   thread; [`Engine::start`] spawns the runner thread and hands back a
//!   [`Processor`]; control calls (knobs, curves, prompts, loop band) go
//!   through the engine from any thread.
//! - [`Processor`] belongs to the host's audio thread: [`Processor::process`]
//!   fills the host's channel buffers from the playback buffer and advances
//!   the playhead; [`Processor::knob`] queues a knob change from inside the
//!   block with its sample offset. Neither locks, allocates, frees, blocks
//!   or logs.
//! - The model runs at 48 kHz; a host at another rate gets the audio
//!   resampled in the processor (a band-limited sinc resampler, its delay
//!   reported by [`Processor::latency`]).
//!
//! ```no_run
//! use earshot_embed::{Engine, EngineConfig};
//! let mut engine = Engine::new(EngineConfig { sample_rate: 44_100, ..Default::default() })?;
//! let mut processor = engine.start()?;
//! let (mut left, mut right) = (vec![0.0f32; 512], vec![0.0f32; 512]);
//! processor.process(&mut [&mut left[..], &mut right[..]])?;
//! engine.set_knob("brightness", 0.8)?;
//! engine.stop(std::time::Duration::from_secs(1))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod backend_choice;
mod config;
mod controller;
mod engine;
mod error;
pub mod model;
mod processor;
pub mod prompt;
mod resample;

pub use config::{EngineConfig, MAX_BLOCK, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
pub use controller::Controller;
pub use engine::Engine;
pub use error::{EmbedError, ProcessError};
pub use processor::Processor;
