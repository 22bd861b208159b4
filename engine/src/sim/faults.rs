//! Fault injection: a backend wrapper that makes chosen steps or decodes
//! slow, or drops a forward, on a schedule. On the virtual clock a stall
//! advances time; on the real clock it sleeps.

use crate::backend::{
    Backend, BackendError, ConditioningHandle, DecodeRequest, DeviceServices, Generator, Renderer,
    StepBatch,
};
use crate::clock::Clock;
use crate::conditioning::ConditioningInput;
use crate::frames::SampleFrames;
use std::sync::Arc;

/// One injected fault; calls are counted from 0 by this wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Step call `call` takes `extra` longer.
    SlowStep {
        /// Which step call.
        call: u64,
        /// The stall.
        extra: SampleFrames,
    },
    /// Decode call `call` takes `extra` longer.
    SlowDecode {
        /// Which decode call.
        call: u64,
        /// The stall.
        extra: SampleFrames,
    },
    /// Step call `call` does not run: no slot advances, so the produce
    /// due that tick is skipped (it comes a tick later).
    DropStep {
        /// Which step call.
        call: u64,
    },
}

/// Wraps a backend and injects [`Fault`]s.
pub struct FaultyBackend<B> {
    inner: B,
    clock: Arc<dyn Clock>,
    faults: Vec<Fault>,
    steps: u64,
    decodes: u64,
    injected: u64,
}

impl<B: Backend> FaultyBackend<B> {
    /// Wraps `inner`; stalls pass on `clock`.
    pub fn new(inner: B, clock: Arc<dyn Clock>, faults: Vec<Fault>) -> Self {
        Self {
            inner,
            clock,
            faults,
            steps: 0,
            decodes: 0,
            injected: 0,
        }
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.injected
    }
}

impl<B: Backend> DeviceServices for FaultyBackend<B> {
    crate::pass_through_device!();
}

impl<B: Backend> Generator for FaultyBackend<B> {
    crate::pass_through_latents!();

    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
        self.inner.encode(input)
    }

    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
        let call = self.steps;
        self.steps += 1;
        for fault in &self.faults {
            match *fault {
                Fault::SlowStep { call: c, extra } if c == call => {
                    self.injected += 1;
                    self.clock.sleep(extra);
                }
                Fault::DropStep { call: c } if c == call => {
                    self.injected += 1;
                    return Err(BackendError::Dropped);
                }
                _ => {}
            }
        }
        self.inner.step(batch)
    }
}

impl<B: Backend> Renderer for FaultyBackend<B> {
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        let call = self.decodes;
        self.decodes += 1;
        for fault in &self.faults {
            if let Fault::SlowDecode { call: c, extra } = *fault
                && c == call
            {
                self.injected += 1;
                self.clock.sleep(extra);
            }
        }
        self.inner.decode(request, out)
    }
}
