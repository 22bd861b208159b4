//! # earshot-clap
//!
//! earshot as a CLAP instrument plugin (`earshot.clap`): the host's
//! `process()` drives the engine's playhead, every knob of the model is an
//! automatable, modulatable parameter whose events keep their order and
//! their frame in the block (committed at the runner's next tick), the
//! prompt and the model live in the plugin state, and the host's loop arms
//! the engine's loop band. See `docs/clap.md` for parameters, state format,
//! threads, latency, and how to build and load the bundle.
//!
//! - [`plugin`]: the plugin type, its descriptor and extensions.
//! - [`main_thread`]: engine lifecycle (built and started in `activate`,
//!   stopped with a bounded wait in `deactivate`), state, band requests.
//! - [`audio`] and [`player`]: the audio thread, which never locks,
//!   allocates, frees, blocks or logs.
//! - [`params`], [`state`], [`settings`], [`band`]: the parameter model,
//!   the saved state, the engine settings, the loop-band mapping.

pub mod audio;
pub mod band;
pub mod error;
pub mod latency;
pub mod main_thread;
pub mod params;
pub mod params_ext;
pub mod player;
pub mod plugin;
pub mod ports;
pub mod settings;
pub mod state;
pub mod state_ext;

pub use plugin::{EarshotPlugin, PLUGIN_ID};

/// The entry a CLAP host looks up in the library (`clap_entry`).
pub type EarshotEntry = clack_plugin::entry::SinglePluginEntry<EarshotPlugin>;

clack_plugin::clack_export_entry!(EarshotEntry);

// The unit tests check that the audio thread's code never allocates.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;
