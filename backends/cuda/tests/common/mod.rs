//! What every GPU test shares: whether this machine has a usable GPU, and
//! an honest answer when it has none. Without a GPU a test prints why and
//! returns (a skip); with `EARSHOT_EXPECT_GPU=1` (set by the GPU machine's
//! `run.sh`) a missing GPU is a failure, so a broken GPU run cannot pass
//! by skipping everything.

// Each test binary includes this module and uses part of it.
#![allow(dead_code)]

use earshot_cuda::Device;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

/// The variable that turns a missing GPU from a skip into a failure.
pub const EXPECT_GPU_ENV: &str = "EARSHOT_EXPECT_GPU";

/// Whether a GPU test may run here: true when CUDA device 0 opens. When it
/// does not, prints the reason and returns false (the test then returns),
/// or panics with the reason when `EARSHOT_EXPECT_GPU=1`.
pub fn gpu_or_skip() -> bool {
    gate(expect_gpu(), probe())
}

/// Whether `EARSHOT_EXPECT_GPU=1` is set.
pub fn expect_gpu() -> bool {
    std::env::var(EXPECT_GPU_ENV).is_ok_and(|v| v == "1")
}

/// Opens CUDA device 0 (driver, NVRTC, a context, cuBLAS), once per test
/// binary; the reason it could not. A panic inside the driver bindings (a
/// driver too old for a symbol) is a reason too, not a crash.
pub fn probe() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE
        .get_or_init(
            || match std::panic::catch_unwind(AssertUnwindSafe(|| Device::new(0))) {
                Ok(Ok(_device)) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(panic) => Err(panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "the CUDA bindings panicked".into())),
            },
        )
        .clone()
}

/// The decision, given whether a GPU is expected and what the probe found:
/// run (true), skip with the reason printed (false), or panic.
pub fn gate(expect_gpu: bool, probe: Result<(), String>) -> bool {
    match probe {
        Ok(()) => true,
        Err(reason) if expect_gpu => {
            panic!("{EXPECT_GPU_ENV}=1 but no usable CUDA driver/GPU: {reason}")
        }
        Err(reason) => {
            eprintln!(
                "skipped: no usable CUDA driver/GPU: {reason} \
                 (set {EXPECT_GPU_ENV}=1 to make this a failure)"
            );
            false
        }
    }
}
