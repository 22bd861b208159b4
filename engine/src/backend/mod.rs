//! What a backend is, by role: [`DeviceServices`] (buffers, pacing,
//! timing, counters), a [`Generator`] (encode the conditioning, step a batch
//! of slots) and a [`Renderer`] (a latent window to the medium's output:
//! interleaved audio samples now). A [`Backend`] is all three. Tensors stay
//! in backend-owned buffers; the engine holds opaque handles, never device
//! pointers, so a CUDA backend keeps a whole tick on the device and a
//! TensorRT engine can stand behind `step`.

mod checks;
mod roles;

/// The role traits in scope for calling a backend's methods on a concrete
/// type (`use earshot_engine::backend::prelude::*;`), without their names.
pub mod prelude {
    pub use super::roles::{Backend, DeviceServices as _, Generator as _, Renderer as _};
}

pub use checks::{check_conditioning, check_decode, check_knob_rows, check_window_len};
pub use roles::{Backend, DeviceServices, Generator, LandingFailed, Renderer, landing_len};

use crate::frames::{LatentFrames, SampleFrames};
use crate::rng::NoiseKey;
use crate::sampler::SamplerKind;
use std::ops::Range;

/// A backend-owned buffer holding one slot's latent window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LatentHandle(u32);

/// A backend-owned copy of one encoded conditioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConditioningHandle(u32);

macro_rules! handle {
    ($t:ident) => {
        impl $t {
            /// Wraps a backend's own buffer index. Only backends make handles.
            pub fn from_index(index: u32) -> Self {
                Self(index)
            }

            /// The backend's buffer index.
            pub fn index(self) -> u32 {
                self.0
            }
        }
    };
}
handle!(LatentHandle);
handle!(ConditioningHandle);

/// One slot's share of a batched forward.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotStep {
    /// The slot's latent window; at step 0 the backend first fills it with
    /// the slot's initial noise (`noise` with `step = 0`).
    pub latents: LatentHandle,
    /// The conditioning this slot is steered by at this step.
    pub conditioning: ConditioningHandle,
    /// The 0-based denoise step this forward performs.
    pub step: u32,
    /// The timestep of this step (the model input).
    pub t: f32,
    /// The timestep the update moves to.
    pub t_next: f32,
    /// The slot's noise stream; the backend sets `step` itself (0 for the
    /// initial noise, `step + 1` for SDE re-injection).
    pub noise: NoiseKey,
}

/// Everything one batched forward needs, pre-allocated by the stream and
/// refilled each tick.
#[derive(Debug, Clone, PartialEq)]
pub struct StepBatch {
    /// The update rule.
    pub sampler: SamplerKind,
    /// Active slots, oldest first.
    pub slots: Vec<SlotStep>,
    /// Normalized knob values, `knob_count` per slot, in slot order.
    pub knob_rows: Vec<f32>,
}

impl StepBatch {
    /// An empty batch with room for `max_slots` slots of `knob_count` knobs.
    pub fn with_capacity(max_slots: usize, knob_count: usize) -> Self {
        Self {
            sampler: SamplerKind::Ode,
            slots: Vec::with_capacity(max_slots),
            knob_rows: Vec::with_capacity(max_slots * knob_count),
        }
    }

    /// Empties the batch, keeping its capacity.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.knob_rows.clear();
    }
}

/// Render a range of sample frames from one latent window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeRequest {
    /// The latent timeline to render from (a produce's window).
    pub latents: LatentHandle,
    /// The absolute latent frame of the window's first frame.
    pub anchor: LatentFrames,
    /// Absolute sample frames to render; must lie inside the window.
    pub range: Range<SampleFrames>,
}

/// Counters of the device work a backend did; tests assert them per tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendCounters {
    /// Times the host waited for the device inside a tick.
    pub host_syncs: u64,
    /// Times the runner waited at a tick boundary for the previous tick's
    /// device work ([`DeviceServices::settle`]).
    pub boundary_waits: u64,
    /// Host-to-device copies issued.
    pub h2d_copies: u64,
    /// Device-to-host copies issued.
    pub d2h_copies: u64,
    /// Device (or backend buffer) allocations made.
    pub device_allocs: u64,
    /// Batched forwards run.
    pub forwards: u64,
    /// Decodes run.
    pub decodes: u64,
    /// Replays of a captured graph.
    pub graph_replays: u64,
}

/// Why a backend refused or failed a call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// A handle that this backend never made, or released.
    #[error("unknown {kind} handle {index}")]
    UnknownHandle {
        /// "latent" or "conditioning".
        kind: &'static str,
        /// The handle's index.
        index: u32,
    },
    /// An input of the wrong length.
    #[error("{what} has {found} values, expected {expected}")]
    WrongLength {
        /// Which input.
        what: &'static str,
        /// Its expected length.
        expected: usize,
        /// Its actual length.
        found: usize,
    },
    /// A decode range outside the latent window, or empty.
    #[error("decode range {start}..{end} is not inside the window {window_start}..{window_end}")]
    RangeOutsideWindow {
        /// Requested start.
        start: u64,
        /// Requested end.
        end: u64,
        /// First sample frame of the window.
        window_start: u64,
        /// End of the window.
        window_end: u64,
    },
    /// The forward did not run (a transient device hiccup, or an injected
    /// fault): nothing changed, and the stream tries again next tick.
    #[error("the forward was dropped")]
    Dropped,
    /// Any other request the backend cannot serve as asked (a call out of
    /// order, such as a step before `reserve`): nothing changed.
    #[error("invalid request: {detail}")]
    InvalidRequest {
        /// What was wrong with it.
        detail: String,
    },
    /// The device ran out of memory; a smaller batch or model may fit.
    #[error("the device is out of memory: {detail}")]
    OutOfMemory {
        /// The device's own words.
        detail: String,
    },
    /// The device is gone or its context is corrupted (a lost GPU, an
    /// uncorrectable memory error, a kernel fault): nothing more runs on
    /// this backend; start a new one, on another device if need be.
    #[error("the device was lost: {detail}")]
    DeviceLost {
        /// The device's own words.
        detail: String,
    },
    /// The model's weights are missing a tensor or have a wrong shape.
    #[error("weights: {detail}")]
    Weights {
        /// Which tensor, and what is wrong with it.
        detail: String,
    },
    /// Any other device failure; the call may succeed if tried again.
    #[error("device error: {detail}")]
    Device {
        /// The device's own words.
        detail: String,
    },
}

impl BackendError {
    /// Whether this backend can still run after the error (the request was
    /// refused, or the device hiccuped); `false` after a lost device, when
    /// only a new backend helps.
    pub fn is_recoverable(&self) -> bool {
        !matches!(self, Self::DeviceLost { .. })
    }

    /// Whether the caller's request was refused as invalid (a handle,
    /// length, range or order it got wrong): the same call fails again.
    pub fn is_invalid_request(&self) -> bool {
        matches!(
            self,
            Self::UnknownHandle { .. }
                | Self::WrongLength { .. }
                | Self::RangeOutsideWindow { .. }
                | Self::InvalidRequest { .. }
        )
    }
}

/// How a step's cost is known (see [`DeviceServices::step_device_time`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepTiming {
    /// The host's clock around the call measures it.
    Host,
    /// A device step finished since the last report: its batch size and
    /// device time.
    Device {
        /// Slots in that step.
        slots: usize,
        /// Its device time.
        took: SampleFrames,
    },
    /// Device-timed, and nothing new has finished.
    Pending,
}
