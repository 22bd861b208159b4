//! The three roles a backend plays. The runner and the stream need all
//! three ([`Backend`]); each role is its own trait so that a model author
//! implements what a role needs, a wrapper (cost model, fault injection)
//! overrides one role and forwards the rest, and the stages of the video
//! pipeline can stand behind the role they run.

use super::{
    BackendCounters, BackendError, ConditioningHandle, DecodeRequest, LatentHandle, StepBatch,
    StepTiming,
};
use crate::conditioning::ConditioningInput;
use crate::description::ModelDescription;
use crate::playback::{Arrivals, Landing, PatchBuffer};
use std::sync::Arc;

/// What every role stands on: the model's description, working buffers,
/// pacing at tick boundaries, step timing and the counters tests assert.
pub trait DeviceServices: Send {
    /// A short name for reports ("cpu", "cuda").
    fn name(&self) -> &str;

    /// What the engine is told about the model this backend runs; the
    /// engine sizes every buffer from it when it starts.
    fn description(&self) -> &ModelDescription;

    /// Sizes every working buffer for batches of up to `max_slots` slots
    /// and decodes of up to a whole window, so steady-state calls allocate
    /// nothing. Call at start-up (the stream does).
    fn reserve(&mut self, max_slots: usize) -> Result<(), BackendError>;

    /// Waits until the device has finished the previous tick's work: the
    /// runner's pace at a tick boundary once nothing inside a tick waits
    /// for the device. A synchronous backend has nothing to wait for (the
    /// default).
    fn settle(&mut self) -> Result<(), BackendError> {
        Ok(())
    }

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

/// The generator: conditioning in, latent windows denoised step by step.
pub trait Generator: DeviceServices {
    /// Allocates one latent window buffer. Call at start-up only.
    fn alloc_latents(&mut self) -> Result<LatentHandle, BackendError>;

    /// Places an encoded conditioning on the device (and precomputes what
    /// every step reuses from it).
    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError>;

    /// Frees a conditioning no slot uses any more.
    fn release_conditioning(&mut self, handle: ConditioningHandle) -> Result<(), BackendError>;

    /// One batched forward and sampler update over every slot in `batch`.
    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError>;

    /// Copies a latent window to the host, for tests and inspection (a sync
    /// on a device backend; never called by the runner).
    fn read_latents(&mut self, handle: LatentHandle, out: &mut [f32]) -> Result<(), BackendError>;

    /// Overwrites a latent window from the host, for tests and parity
    /// checks (a copy to the device on a device backend; never called by
    /// the runner).
    fn write_latents(&mut self, handle: LatentHandle, values: &[f32]) -> Result<(), BackendError>;
}

/// A render that did not start, or failed part-way: the error, and the
/// buffer as a [`Landing`] (in flight if a copy into it may still land, so
/// it is never reused under one).
#[derive(Debug)]
pub struct LandingFailed {
    /// Why it failed.
    pub error: BackendError,
    /// The buffer, back.
    pub landing: Landing,
}

impl LandingFailed {
    /// A failure before anything could write `buffer`: it comes back
    /// ready, for the pool.
    pub fn untouched(error: BackendError, buffer: PatchBuffer) -> Self {
        Self {
            error,
            landing: Landing::ready(buffer),
        }
    }
}

/// The renderer: a range of a latent window to the medium's output
/// (interleaved audio samples: `channels` values per sample frame).
pub trait Renderer: DeviceServices {
    /// Renders `request.range` as interleaved samples into `out`
    /// (`channels * range length` values). Reads only the latent frames the
    /// range needs plus the description's `decoder_margin` on each side. A
    /// device backend's copy of the slice to the host is its one read-back.
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError>;

    /// Renders `request` into the front of `buffer` and hands the buffer
    /// back as a [`Landing`]: ready when the samples are there, or in
    /// flight under a ticket of `arrivals` when a device copy is still
    /// landing (the output applies the patch only once it has arrived; the
    /// runner never waits). The default renders with
    /// [`decode`](Self::decode) and returns a ready landing.
    fn decode_landing(
        &mut self,
        request: &DecodeRequest,
        mut buffer: PatchBuffer,
        arrivals: &Arc<Arrivals>,
    ) -> Result<Landing, LandingFailed> {
        let _ = arrivals;
        let rendered = landing_len(self.description(), request, &buffer)
            .and_then(|len| self.decode(request, &mut buffer.as_mut_slice()[..len]));
        match rendered {
            Ok(()) => Ok(Landing::ready(buffer)),
            Err(error) => Err(LandingFailed::untouched(error, buffer)),
        }
    }
}

/// How many values of `buffer` a render of `request` fills; an error when
/// the buffer is too small for it.
pub fn landing_len(
    model: &ModelDescription,
    request: &DecodeRequest,
    buffer: &PatchBuffer,
) -> Result<usize, BackendError> {
    let frames = request.range.end.0.saturating_sub(request.range.start.0);
    let len = usize::try_from(frames)
        .ok()
        .and_then(|f| f.checked_mul(model.channels))
        .unwrap_or(usize::MAX);
    if len > buffer.capacity() {
        return Err(BackendError::WrongLength {
            what: "landing buffer",
            expected: len,
            found: buffer.capacity(),
        });
    }
    Ok(len)
}

/// A backend runs every role of a model on its device; anything that does
/// is one.
pub trait Backend: Generator + Renderer {}

impl<T: Generator + Renderer + ?Sized> Backend for T {}
