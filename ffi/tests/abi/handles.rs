//! Handles of destroyed, never-made or reused engines are refused by
//! every call, from any thread, without touching freed memory.

use crate::common::{config, create, last_error, process};
use earshot_c::*;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const OK: EarshotStatus = EarshotStatus::EarshotOk;
const INVALID: EarshotStatus = EarshotStatus::EarshotErrInvalidHandle;

/// Every call that takes a handle, with `engine`; all must be refused.
fn assert_every_call_refuses(engine: EarshotEngine) {
    let (mut left, mut right) = (vec![1.0f32; 64], vec![1.0f32; 64]);
    assert_eq!(process(engine, &mut [&mut left, &mut right], 64), INVALID);
    assert!(left.iter().chain(&right).all(|&v| v == 0.0), "silence");
    assert!(
        last_error().contains("invalid engine handle"),
        "{}",
        last_error()
    );
    let mut ack = std::mem::MaybeUninit::<EarshotAck>::uninit();
    let mut stats = EarshotStats::default();
    let curve = [0.5f32; 8];
    // SAFETY: valid pointers and C literals; the handle is what is tested.
    let statuses = unsafe {
        [
            earshot_start(engine),
            earshot_stop(engine, 10),
            earshot_set_knob(engine, c"noise".as_ptr(), 0.5, null_mut()),
            earshot_set_curve(engine, c"noise".as_ptr(), curve.as_ptr(), 8, null_mut()),
            earshot_set_prompt(engine, c"rain".as_ptr(), null_mut()),
            earshot_arm_band(engine, 0, 4800),
            earshot_disarm_band(engine),
            earshot_poll_ack(engine, ack.as_mut_ptr()),
            earshot_stats(engine, &mut stats),
            earshot_knob_rt(engine, 0, 0, 0.5),
            earshot_destroy(engine),
        ]
    };
    assert_eq!(statuses, [INVALID; 11]);
}

#[test]
fn zero_made_up_and_destroyed_handles_are_refused_by_every_call() {
    assert_every_call_refuses(EarshotEngine(0));
    assert_every_call_refuses(EarshotEngine(u64::MAX));
    assert_every_call_refuses(EarshotEngine((77 << 32) | 3));
    let engine = create(&config());
    assert_eq!(earshot_start(engine), OK);
    assert_eq!(earshot_destroy(engine), OK);
    assert_every_call_refuses(engine);
}

#[test]
fn a_new_engine_in_a_reused_slot_does_not_revive_an_old_handle() {
    let old = create(&config());
    assert_eq!(earshot_destroy(old), OK);
    let new = create(&config());
    assert_ne!(old, new, "a new generation or another slot");
    assert_eq!(set_density(new), OK);
    assert_eq!(set_density(old), INVALID);
    assert_eq!(earshot_destroy(new), OK);
}

fn set_density(engine: EarshotEngine) -> EarshotStatus {
    // SAFETY: a C literal.
    unsafe { earshot_set_knob(engine, c"density".as_ptr(), 0.7, null_mut()) }
}

#[test]
fn destroy_waits_for_the_audio_thread_and_kills_the_handle_for_every_thread() {
    let engine = create(&config());
    assert_eq!(earshot_start(engine), OK);
    let audio_running = AtomicBool::new(false);
    std::thread::scope(|s| {
        let audio = s.spawn(|| {
            let (mut left, mut right) = (vec![0.0f32; 128], vec![0.0f32; 128]);
            let mut blocks = 0u32;
            loop {
                match process(engine, &mut [&mut left, &mut right], 128) {
                    OK => blocks += 1,
                    // Destroy holds the audio side for an instant before
                    // the handle dies.
                    EarshotStatus::EarshotErrBusy => {}
                    refused => return (refused, blocks),
                }
                audio_running.store(true, Ordering::Release);
                std::thread::sleep(Duration::from_micros(500));
            }
        });
        let control = s.spawn(|| {
            loop {
                let status = set_density(engine);
                if status != OK {
                    return status;
                }
                std::thread::sleep(Duration::from_micros(500));
            }
        });
        while !audio_running.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(earshot_destroy(engine), OK);
        let (last, blocks) = audio.join().unwrap();
        assert_eq!(last, INVALID, "the audio thread's first refusal");
        assert!(blocks > 0);
        assert_eq!(control.join().unwrap(), INVALID);
    });
}
