//! OSC control surface: a UDP server (loopback by default) that turns OSC
//! messages into control changes and answers every sender with the ack
//! events of its changes, or an error. Addresses:
//!
//! | address | arguments | does |
//! | --- | --- | --- |
//! | `/earshot/knob/<name>` | one number | `set_knob` |
//! | `/earshot/curve/<name>` | one number per denoise step | `set_curve` |
//! | `/earshot/band/arm` | two integers `a b` (sample frames) | arms the loop band |
//! | `/earshot/band/disarm` | — | disarms it |
//! | `/earshot/prompt` | one string | `set_prompt` (encoded off the state lock) |
//! | `/earshot/seed` | one non-negative integer | noise seed of slots admitted from now on |
//! | `/earshot/ping` | — | replies `/earshot/pong` |
//!
//! Replies go to the sender's address: `/earshot/ack` with `kind` (s),
//! `stage` (s), `epoch` (h) and `at` (h, sample frames on the engine's
//! clock); `/earshot/error` with the offending address (s) and a message
//! (s). A malformed packet or an unknown address gets an error reply and a
//! counter, never a crash.

pub mod dispatch;
pub mod server;

pub use dispatch::{Dispatched, OscError, dispatch};
pub use server::{OscCounters, OscServer};
