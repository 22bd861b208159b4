//! The GPU tests' gate decides right without needing a GPU: a usable GPU
//! runs the test, a missing one skips it, and a missing one on a machine
//! that says it has one (`EARSHOT_EXPECT_GPU=1`) fails it with the reason.

mod common;

use common::{EXPECT_GPU_ENV, gate};

#[test]
fn a_usable_gpu_runs_the_test_whatever_is_expected() {
    assert!(gate(false, Ok(())));
    assert!(gate(true, Ok(())));
}

#[test]
fn no_gpu_skips_when_none_is_expected() {
    assert!(!gate(false, Err("CUDA driver library not found".into())));
}

#[test]
#[should_panic(expected = "EARSHOT_EXPECT_GPU=1 but no usable CUDA driver/GPU: no device 0")]
fn no_gpu_fails_when_one_is_expected() {
    gate(true, Err("no device 0".into()));
}

/// On this machine, whatever it has: the real probe and the variable agree
/// with the gate (it runs exactly when the probe found a GPU, and a probe
/// that failed under `EARSHOT_EXPECT_GPU=1` panics).
#[test]
fn the_gate_follows_the_probe_on_this_machine() {
    let probe = common::probe();
    let expected = common::expect_gpu();
    let decided = std::panic::catch_unwind(|| gate(expected, probe.clone()));
    match (&probe, decided) {
        (Ok(()), Ok(run)) => assert!(run, "a usable GPU runs"),
        (Err(_), Ok(run)) => {
            assert!(!run, "no GPU skips");
            assert!(!expected, "{EXPECT_GPU_ENV}=1 never skips");
        }
        (Err(_), Err(_)) => assert!(expected, "only {EXPECT_GPU_ENV}=1 fails"),
        (Ok(()), Err(_)) => panic!("a usable GPU never fails the gate"),
    }
}
