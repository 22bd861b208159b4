//! # earshot-ffi
//!
//! earshot's C ABI: a thin layer over `earshot-embed` that a plugin host,
//! a game or any C or C++ program links as `libearshot_c.so` or
//! `libearshot_c.a`, with the header `ffi/include/earshot.h` that
//! `cbindgen` generates from this crate (a test fails when it is stale).
//! `docs/ffi.md` is the user's guide; this page is the contract.
//!
//! ## Calls and threads
//!
//! - **Audio thread** (real-time safe: no lock, allocation, free, block or
//!   log, on success or failure; one caveat: in a library loaded with
//!   `dlopen`, glibc makes a thread's thread-local block on its first touch,
//!   which the first *failing* audio call does — call `earshot_last_error`
//!   once on the audio thread at setup to make that happen there):
//!   `earshot_process`, `earshot_knob_rt`.
//!   One thread at a time per engine; a second gets `EARSHOT_ERR_BUSY`
//!   and silence rather than waiting.
//! - **Control calls** (any thread but the audio thread, concurrently):
//!   `earshot_create`, `earshot_start`, `earshot_stop`, `earshot_destroy`,
//!   `earshot_set_knob`, `earshot_set_curve`, `earshot_set_prompt`,
//!   `earshot_arm_band`, `earshot_disarm_band`, `earshot_poll_ack`,
//!   `earshot_stats`. They may lock, allocate and wait (`start`, `stop`
//!   and `destroy` wait for an audio call in flight to finish its block).
//! - **Anywhere**: `earshot_config_default`, `earshot_knob_count`,
//!   `earshot_knob_info`, `earshot_knob_index`, `earshot_version`,
//!   `earshot_last_error`.
//!
//! ## Errors
//!
//! Every call that can fail returns an [`EarshotStatus`]: `EARSHOT_OK`
//! (0), `EARSHOT_NO_ACK` (1, nothing pending), or a negative code with
//! stable values. A failed call changes nothing (contract 7: a bad knob,
//! name, config or pointer gets a clear error and the engine keeps
//! playing), leaves its message for `earshot_last_error` (per thread), and
//! a failed `earshot_process` fills the host's buffers with silence. Every
//! entry point runs inside `catch_unwind`: a panic is a bug, reported as
//! `EARSHOT_ERR_PANIC`, never unwound into C. NULL pointers, wrong channel
//! or frame counts, process before start and calls after destroy all get
//! their own codes.
//!
//! ## Handles
//!
//! An [`EarshotEngine`] is a 64-bit value, not a pointer: a slot in a
//! fixed table and the slot's generation. A destroyed engine's slot gets a
//! new generation, so its old handle is refused without touching freed
//! memory, from any thread. The audio side of a slot is claimed with one
//! CAS that also checks the handle, so `earshot_process` never locks, and
//! `earshot_destroy` waits for a claim in flight before it frees anything.
//! The `handle` module spells the protocol out.
//!
//! ## Sample rates and blocks
//!
//! Any host rate from 8 kHz to 384 kHz is accepted at create time and
//! resampled inside `earshot_process` (the model runs at 48 kHz; the
//! resampler's delay is `EarshotStats.latency`); any block from 0 to the
//! config's `max_block` frames. Positions (playhead, loop band, ack times)
//! are in the model's 48 kHz sample frames.

// The header lists the API in the order of these modules.
mod status;

mod config;

mod lifecycle;

mod process;

mod control;

mod acks;

mod stats;

mod knobs;

mod version;

// Inside the boundary.
mod cstr;
mod entry;
mod error;
mod handle;
mod last_error;
mod live;

pub use acks::{EarshotAck, EarshotAckKind, EarshotAckStage, earshot_poll_ack};
pub use config::{EarshotConfig, earshot_config_default};
pub use control::{
    earshot_arm_band, earshot_disarm_band, earshot_set_curve, earshot_set_knob, earshot_set_prompt,
};
pub use error::FfiError;
pub use handle::{EARSHOT_MAX_ENGINES, EarshotEngine};
pub use knobs::{
    EARSHOT_KNOB_NAME_MAX, EarshotKnobInfo, earshot_knob_count, earshot_knob_index,
    earshot_knob_info,
};
pub use lifecycle::{earshot_create, earshot_destroy, earshot_start, earshot_stop};
pub use process::{earshot_knob_rt, earshot_process};
pub use stats::{EarshotStats, earshot_stats};
pub use status::EarshotStatus;
pub use version::{earshot_last_error, earshot_version};
