//! Simulation on the virtual clock: a backend wrapper that spends modelled
//! costs, a signal backend whose audio shows which knob value made it, and
//! an output driver that plays the playback buffer as time passes. The
//! golden harness and the runner's tests are built from these.

/// The calls a wrapping backend passes straight to its `inner` backend
/// (a field implementing [`Backend`]($crate::backend::Backend)): everything
/// but `encode`, `step` and `decode`, which the wrapper writes itself, and
/// `decode_async`, whose default renders through the wrapper's `decode`
/// (synchronously: a wrapper that wants the inner backend's asynchronous
/// read-back forwards `decode_async` itself, as golden's live run does).
/// `settle` is forwarded. For use inside an `impl Backend for ...` block.
#[macro_export]
macro_rules! pass_through_backend {
    () => {
        fn name(&self) -> &str {
            self.inner.name()
        }
        fn description(&self) -> &$crate::description::ModelDescription {
            self.inner.description()
        }
        fn reserve(&mut self, max_slots: usize) -> Result<(), $crate::backend::BackendError> {
            self.inner.reserve(max_slots)
        }
        fn alloc_latents(
            &mut self,
        ) -> Result<$crate::backend::LatentHandle, $crate::backend::BackendError> {
            self.inner.alloc_latents()
        }
        fn release_conditioning(
            &mut self,
            handle: $crate::backend::ConditioningHandle,
        ) -> Result<(), $crate::backend::BackendError> {
            self.inner.release_conditioning(handle)
        }
        fn read_latents(
            &mut self,
            handle: $crate::backend::LatentHandle,
            out: &mut [f32],
        ) -> Result<(), $crate::backend::BackendError> {
            self.inner.read_latents(handle, out)
        }
        fn write_latents(
            &mut self,
            handle: $crate::backend::LatentHandle,
            values: &[f32],
        ) -> Result<(), $crate::backend::BackendError> {
            self.inner.write_latents(handle, values)
        }
        fn counters(&self) -> $crate::backend::BackendCounters {
            self.inner.counters()
        }
        fn step_device_time(&mut self) -> $crate::backend::StepTiming {
            self.inner.step_device_time()
        }
        fn settle(&mut self) -> Result<(), $crate::backend::BackendError> {
            self.inner.settle()
        }
    };
}

pub mod costed;
pub mod faults;
pub mod output;
pub mod signal;

pub use costed::{CostModel, CostedBackend};
pub use faults::{Fault, FaultyBackend};
pub use output::{PlayedRun, VirtualOutput};
pub use signal::SignalBackend;
