//! Simulation on the virtual clock: a backend wrapper that spends modelled
//! costs, a signal backend whose audio shows which knob value made it, and
//! an output driver that plays the playback buffer as time passes. The
//! golden harness and the runner's tests are built from these.

/// The whole [`DeviceServices`]($crate::backend::DeviceServices) role of a
/// wrapping backend, forwarded to its `inner` backend. For use inside an
/// `impl DeviceServices for ...` block.
#[macro_export]
macro_rules! pass_through_device {
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

/// The buffer calls of a wrapping backend's [`Generator`]
/// ($crate::backend::Generator) role, forwarded to its `inner` backend:
/// everything but `encode` and `step`, which the wrapper writes itself.
/// For use inside an `impl Generator for ...` block.
#[macro_export]
macro_rules! pass_through_latents {
    () => {
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
    };
}

pub mod costed;
pub mod faults;
pub mod output;
pub mod rig;
pub mod signal;

pub use costed::{CostModel, CostedBackend};
pub use faults::{Fault, FaultyBackend};
pub use output::{PlayedRun, VirtualOutput};
pub use rig::VirtualRig;
pub use signal::SignalBackend;
