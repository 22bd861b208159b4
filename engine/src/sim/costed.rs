//! A backend whose every call costs modelled time on a virtual clock.

use crate::backend::{
    Backend, BackendError, ConditioningHandle, DecodeRequest, DeviceServices, Generator, Renderer,
    StepBatch,
};
use crate::clock::{Clock, VirtualClock};
use crate::conditioning::ConditioningInput;
use crate::frames::SampleFrames;
use serde::{Deserialize, Serialize};

/// Durations of the stages, in sample frames of virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostModel {
    /// Fixed cost of one batched step.
    pub step_base: SampleFrames,
    /// Added per slot in the batch.
    pub step_per_slot: SampleFrames,
    /// Fixed cost of one decode.
    pub decode_base: SampleFrames,
    /// Added per 1024 sample frames decoded (rounded up).
    pub decode_per_1024: SampleFrames,
    /// Cost of an encode.
    pub encode: SampleFrames,
}

impl CostModel {
    /// The cost of a step over `slots` slots.
    pub fn step(&self, slots: usize) -> SampleFrames {
        self.step_base + SampleFrames(self.step_per_slot.0 * slots as u64)
    }

    /// The cost of decoding `frames` sample frames.
    pub fn decode(&self, frames: SampleFrames) -> SampleFrames {
        self.decode_base + SampleFrames(self.decode_per_1024.0 * frames.0.div_ceil(1024))
    }
}

/// Wraps a backend; each call first lets its modelled cost pass on the clock.
pub struct CostedBackend<B> {
    inner: B,
    clock: VirtualClock,
    costs: CostModel,
}

impl<B: Backend> CostedBackend<B> {
    /// Wraps `inner`, spending `costs` on `clock`.
    pub fn new(inner: B, clock: VirtualClock, costs: CostModel) -> Self {
        Self {
            inner,
            clock,
            costs,
        }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

impl<B: Backend> DeviceServices for CostedBackend<B> {
    crate::pass_through_device!();
}

impl<B: Backend> Generator for CostedBackend<B> {
    crate::pass_through_latents!();

    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
        self.clock.spend(self.costs.encode);
        self.inner.encode(input)
    }

    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
        self.clock.spend(self.costs.step(batch.slots.len()));
        self.inner.step(batch)
    }
}

impl<B: Backend> Renderer for CostedBackend<B> {
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        self.clock
            .spend(self.costs.decode(request.range.end - request.range.start));
        self.inner.decode(request, out)
    }
}
