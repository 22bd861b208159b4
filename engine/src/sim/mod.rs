//! Simulation on the virtual clock: a backend wrapper that spends modelled
//! costs, a signal backend whose audio shows which knob value made it, and
//! an output driver that plays the playback buffer as time passes. The
//! golden harness and the runner's tests are built from these.

pub mod costed;
pub mod faults;
pub mod output;
pub mod signal;

pub use costed::{CostModel, CostedBackend};
pub use faults::{Fault, FaultyBackend};
pub use output::VirtualOutput;
pub use signal::SignalBackend;
