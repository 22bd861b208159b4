//! Scheduling as a trait: what decides which slots the generator steps each
//! tick and when a produce is ready. [`Stream`](crate::stream::Stream) —
//! independent full-window slots at staggered denoise steps, whose produce
//! replaces the timeline — is one implementation; the chunked
//! autoregressive scheduler of the video pipeline (a KV-cache handle,
//! context recompute, hard cuts) is meant to be the second.

use crate::backend::{Backend, LatentHandle};
use crate::stream::{Produce, StreamError, TickInputs, TickOutcome};

/// Steps slots on a backend tick by tick and hands out their produces.
/// Every call is on the runner thread, and none allocates once running.
pub trait Scheduler: Send {
    /// Admits a slot when `inputs` asks and there is room, steps the slots
    /// once (one batched forward) and queues what finished.
    fn tick(
        &mut self,
        backend: &mut dyn Backend,
        inputs: &TickInputs<'_>,
    ) -> Result<TickOutcome, StreamError>;

    /// Steps only the slot that finishes at this step, ahead of the rest,
    /// so its produce is ready a one-slot forward early; whether it
    /// queued one. A scheduler without such a slot returns `false` (the
    /// default).
    fn tick_finishing_first(
        &mut self,
        backend: &mut dyn Backend,
        inputs: &TickInputs<'_>,
    ) -> Result<bool, StreamError> {
        let _ = (backend, inputs);
        Ok(false)
    }

    /// The oldest produce waiting to be rendered.
    fn take_produce(&mut self) -> Option<Produce>;

    /// Gives a produce's latent buffer back once nothing renders from it.
    fn release(&mut self, latents: LatentHandle) -> Result<(), StreamError>;

    /// Slots being denoised now.
    fn in_flight(&self) -> usize;

    /// Ticks that stepped so far (the step clock).
    fn ticks(&self) -> u64;

    /// Seeds the noise of slots admitted from now on.
    fn set_seed(&mut self, seed: u64);
}

impl Scheduler for crate::stream::Stream {
    fn tick(
        &mut self,
        backend: &mut dyn Backend,
        inputs: &TickInputs<'_>,
    ) -> Result<TickOutcome, StreamError> {
        crate::stream::Stream::tick(self, backend, inputs)
    }

    fn tick_finishing_first(
        &mut self,
        backend: &mut dyn Backend,
        inputs: &TickInputs<'_>,
    ) -> Result<bool, StreamError> {
        crate::stream::Stream::tick_finishing_first(self, backend, inputs)
    }

    fn take_produce(&mut self) -> Option<Produce> {
        crate::stream::Stream::take_produce(self)
    }

    fn release(&mut self, latents: LatentHandle) -> Result<(), StreamError> {
        crate::stream::Stream::release(self, latents)
    }

    fn in_flight(&self) -> usize {
        crate::stream::Stream::in_flight(self)
    }

    fn ticks(&self) -> u64 {
        crate::stream::Stream::ticks(self)
    }

    fn set_seed(&mut self, seed: u64) {
        crate::stream::Stream::set_seed(self, seed);
    }
}
