//! `earshot_process` and `earshot_knob_rt`, the `extern "C"` functions
//! themselves, never touch the allocator: not on success, not on any
//! refusal, not before start.
//!
//! The allocator below serves this whole test binary but checks only
//! inside `assert_no_alloc`, where an allocation or free aborts.

use assert_no_alloc::assert_no_alloc;
use earshot_c::*;
use std::time::{Duration, Instant};

#[global_allocator]
static A: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

const OK: EarshotStatus = EarshotStatus::EarshotOk;

/// One block through the C ABI, inside the allocation check.
fn process(engine: EarshotEngine, channels: &[*mut f32], frames: u32) -> EarshotStatus {
    let count = channels.len() as u32;
    // SAFETY: every pointer is a buffer of `MAX_BLOCK` floats, at least
    // `frames`, that nothing else touches during the call.
    assert_no_alloc(|| unsafe { earshot_process(engine, channels.as_ptr(), count, frames) })
}

const MAX_BLOCK: usize = 512;

#[test]
fn process_and_knob_rt_never_touch_the_allocator() {
    let mut config = std::mem::MaybeUninit::<EarshotConfig>::uninit();
    // SAFETY: memory for one config; written in full on success.
    let config = unsafe {
        assert_eq!(earshot_config_default(config.as_mut_ptr()), OK);
        let mut config = config.assume_init();
        config.max_block = MAX_BLOCK as u32;
        config
    };
    let mut engine = EarshotEngine::default();
    // SAFETY: valid pointers; the config's strings are NULL.
    assert_eq!(unsafe { earshot_create(&config, &mut engine) }, OK);
    let (mut left, mut right, mut third) = (
        vec![0.0f32; MAX_BLOCK],
        vec![0.0f32; MAX_BLOCK],
        vec![0.0f32; MAX_BLOCK],
    );
    let stereo = [left.as_mut_ptr(), right.as_mut_ptr()];

    // Refusals, each with its message written on this thread.
    assert_eq!(
        process(engine, &stereo, 256),
        EarshotStatus::EarshotErrNotStarted
    );
    assert_eq!(
        assert_no_alloc(|| earshot_knob_rt(engine, 0, 0, 0.5)),
        EarshotStatus::EarshotErrNotStarted
    );
    assert_eq!(earshot_start(engine), OK);
    let three = [left.as_mut_ptr(), right.as_mut_ptr(), third.as_mut_ptr()];
    assert_eq!(
        process(engine, &three, 64),
        EarshotStatus::EarshotErrChannels
    );
    assert_eq!(
        process(engine, &stereo, MAX_BLOCK as u32 + 1),
        EarshotStatus::EarshotErrFrames
    );
    assert_eq!(
        process(engine, &[stereo[0], stereo[0]], 64),
        EarshotStatus::EarshotErrInvalidArgument
    );
    assert_eq!(
        process(EarshotEngine(0), &stereo, 64),
        EarshotStatus::EarshotErrInvalidHandle
    );
    assert_eq!(
        assert_no_alloc(|| earshot_knob_rt(engine, 0, 99, 0.5)),
        EarshotStatus::EarshotErrKnob
    );

    // One second at the host's pace, odd block sizes, a knob change from
    // inside a block.
    let sizes = [256u32, 480, 1, 512, 63];
    let mut heard = Vec::with_capacity(48_000 + MAX_BLOCK);
    let start = Instant::now();
    for (i, &n) in sizes.iter().cycle().enumerate() {
        if heard.len() >= 48_000 {
            break;
        }
        let due = Duration::from_secs_f64(heard.len() as f64 / 48_000.0);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        if i == 40 {
            let knob = assert_no_alloc(|| earshot_knob_rt(engine, 17, 0, 0.95));
            assert_eq!(knob, OK);
        }
        assert_eq!(process(engine, &stereo, n), OK);
        heard.extend_from_slice(&left[..n as usize]);
    }
    assert!(heard.iter().all(|v| v.is_finite()));
    assert!(heard.iter().any(|&v| v != 0.0), "the engine was heard");
    assert_eq!(earshot_destroy(engine), OK);
}
