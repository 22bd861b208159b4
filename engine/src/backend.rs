//! The one coarse trait every backend implements: model stages (encode the
//! conditioning, step a batch of slots, decode a window of latents) plus the
//! counters tests assert. Tensors stay in backend-owned buffers; the engine
//! holds opaque handles, never device pointers, so a CUDA backend keeps a
//! whole tick on the device and a TensorRT engine can stand behind `step`.

use crate::conditioning::ConditioningInput;
use crate::description::ModelDescription;
use crate::frames::{LatentFrames, SampleFrames};
use crate::playback::Arrivals;
use crate::rng::NoiseKey;
use crate::sampler::SamplerKind;
use std::ops::Range;
use std::sync::Arc;

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
    /// device work ([`Backend::settle`]).
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
    /// The device failed.
    #[error("device error: {0}")]
    Device(String),
}

/// A backend runs a model's stages on its device.
pub trait Backend: Send {
    /// A short name for reports ("cpu", "cuda").
    fn name(&self) -> &str;

    /// What the engine is told about the model this backend runs; the
    /// engine sizes every buffer from it when it starts.
    fn description(&self) -> &ModelDescription;

    /// Sizes every working buffer for batches of up to `max_slots` slots
    /// and decodes of up to a whole window, so steady-state calls allocate
    /// nothing. Call at start-up (the stream does).
    fn reserve(&mut self, max_slots: usize) -> Result<(), BackendError>;

    /// Allocates one latent window buffer. Call at start-up only.
    fn alloc_latents(&mut self) -> Result<LatentHandle, BackendError>;

    /// Places an encoded conditioning on the device (and precomputes what
    /// every step reuses from it).
    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError>;

    /// Frees a conditioning no slot uses any more.
    fn release_conditioning(&mut self, handle: ConditioningHandle) -> Result<(), BackendError>;

    /// One batched forward and sampler update over every slot in `batch`.
    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError>;

    /// Renders `request.range` as interleaved samples into `out`
    /// (`channels * range length` values). Reads only the latent frames the
    /// range needs plus the description's `decoder_margin` on each side. A device
    /// backend's copy of the slice to the host is its one read-back.
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError>;

    /// Starts rendering `request` into `out` (`len` values) and, when the
    /// backend can, returns before the samples are there: `Ok(ticket)`
    /// with a ticket from `arrivals` that the device side marks arrived
    /// once the samples are in `out`, or `Ok(0)` when they are there
    /// already. The default renders with [`decode`](Self::decode) and
    /// returns 0. The runner sends the patch at once; the output applies
    /// it once it has arrived, so the read-back is waited on by the
    /// output side, not the runner.
    ///
    /// # Safety
    /// `out` must point to `len` writable `f32` values that stay allocated,
    /// and that nobody else reads or writes, until `arrivals` has the
    /// returned ticket.
    unsafe fn decode_async(
        &mut self,
        request: &DecodeRequest,
        out: *mut f32,
        len: usize,
        arrivals: &Arc<Arrivals>,
    ) -> Result<u64, BackendError> {
        let _ = arrivals;
        // SAFETY: the caller's contract: `out` holds `len` values nobody
        // else touches during this call.
        let out = unsafe { std::slice::from_raw_parts_mut(out, len) };
        self.decode(request, out)?;
        Ok(0)
    }

    /// Waits until the device has finished the previous tick's work: the
    /// runner's pace at a tick boundary once nothing inside a tick waits
    /// for the device. A synchronous backend has nothing to wait for (the
    /// default).
    fn settle(&mut self) -> Result<(), BackendError> {
        Ok(())
    }

    /// Copies a latent window to the host, for tests and inspection (a sync
    /// on a device backend; never called by the runner).
    fn read_latents(&mut self, handle: LatentHandle, out: &mut [f32]) -> Result<(), BackendError>;

    /// Overwrites a latent window from the host, for tests and parity
    /// checks (a copy to the device on a device backend; never called by
    /// the runner).
    fn write_latents(&mut self, handle: LatentHandle, values: &[f32]) -> Result<(), BackendError>;

    /// The counters so far.
    fn counters(&self) -> BackendCounters;

    /// How the last steps' cost can be known: a synchronous backend's is
    /// the host's clock around the call (the default); a device backend
    /// times its steps with events and reports each finished step once,
    /// read without waiting, a step or so late.
    fn step_device_time(&mut self) -> StepTiming {
        StepTiming::Host
    }
}

/// How a step's cost is known (see [`Backend::step_device_time`]).
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

/// Checks a conditioning input against the model's shape (every backend's
/// `encode` calls this first).
pub fn check_conditioning(
    model: &ModelDescription,
    input: &ConditioningInput,
) -> Result<(), BackendError> {
    for (what, expected, found) in [
        (
            "conditioning tokens",
            model.conditioning_tokens_len(),
            input.tokens.len(),
        ),
        (
            "pooled conditioning",
            model.conditioning.width,
            input.pooled.len(),
        ),
    ] {
        if expected != found {
            return Err(BackendError::WrongLength {
                what,
                expected,
                found,
            });
        }
    }
    Ok(())
}

/// Checks that a host buffer for a whole latent window (`what`: read-back
/// or write) holds `model.window_len()` values.
pub fn check_window_len(
    model: &ModelDescription,
    what: &'static str,
    found: usize,
) -> Result<(), BackendError> {
    let expected = model.window_len();
    if found != expected {
        return Err(BackendError::WrongLength {
            what,
            expected,
            found,
        });
    }
    Ok(())
}

/// Checks a batch's knob rows: one row of the model's knobs per slot.
pub fn check_knob_rows(model: &ModelDescription, batch: &StepBatch) -> Result<(), BackendError> {
    let expected = batch.slots.len() * model.knob_count();
    if batch.knob_rows.len() != expected {
        return Err(BackendError::WrongLength {
            what: "knob rows",
            expected,
            found: batch.knob_rows.len(),
        });
    }
    Ok(())
}

/// Checks a decode request and its output length; returns the range in
/// sample frames from the window's first one.
pub fn check_decode(
    model: &ModelDescription,
    request: &DecodeRequest,
    out_len: usize,
) -> Result<std::ops::Range<usize>, BackendError> {
    let window_start = request.anchor.start_sample(model.hop).0;
    let window_end = window_start + model.window_frames().0;
    let (start, end) = (request.range.start.0, request.range.end.0);
    if start >= end || start < window_start || end > window_end {
        return Err(BackendError::RangeOutsideWindow {
            start,
            end,
            window_start,
            window_end,
        });
    }
    let expected = ((end - start) as usize) * model.channels;
    if out_len != expected {
        return Err(BackendError::WrongLength {
            what: "decode output",
            expected,
            found: out_len,
        });
    }
    Ok((start - window_start) as usize..(end - window_start) as usize)
}
