//! An engine's life through the C ABI: start, a knob change acknowledged
//! stage by stage while the host plays, stop (the tail still plays),
//! start again.

use crate::common::{config, create, last_error, play, rms, stats};
use earshot_c::*;
use std::ptr::null_mut;

const OK: EarshotStatus = EarshotStatus::EarshotOk;

fn acks(engine: EarshotEngine) -> Vec<EarshotAck> {
    let mut all = Vec::new();
    loop {
        let mut ack = std::mem::MaybeUninit::<EarshotAck>::uninit();
        // SAFETY: memory for one ack.
        match unsafe { earshot_poll_ack(engine, ack.as_mut_ptr()) } {
            // SAFETY: written on `EARSHOT_OK`.
            EarshotStatus::EarshotOk => all.push(unsafe { ack.assume_init() }),
            EarshotStatus::EarshotNoAck => return all,
            other => panic!("{other:?}: {}", last_error()),
        }
    }
}

#[test]
fn a_knob_change_is_acknowledged_stage_by_stage_while_the_host_plays() {
    let engine = create(&config());
    assert_eq!(earshot_start(engine), OK);
    assert_eq!(stats(engine).running, 1);
    let mut epoch = 0;
    let heard = play(engine, 48_000, 1.5, 480, |i| {
        if i == 40 {
            // SAFETY: a C literal and a pointer to one u64.
            let status =
                unsafe { earshot_set_knob(engine, c"brightness".as_ptr(), 0.9, &mut epoch) };
            assert_eq!(status, OK, "{}", last_error());
        }
    });
    assert!(heard.iter().all(|v| v.is_finite()));
    assert!(rms(&heard) > 1e-4, "audible: rms {}", rms(&heard));
    assert_eq!(epoch, 1);
    let knob: Vec<_> = acks(engine)
        .into_iter()
        .filter(|a| a.kind == EarshotAckKind::EarshotAckKnob)
        .collect();
    let stages: Vec<_> = knob.iter().map(|a| a.stage).collect();
    for stage in [
        EarshotAckStage::EarshotAckReceived,
        EarshotAckStage::EarshotAckCommitted,
        EarshotAckStage::EarshotAckFirstProduce,
    ] {
        assert!(stages.contains(&stage), "{stage:?} in {stages:?}");
    }
    assert!(knob.iter().all(|a| a.epoch >= 1));
    assert!(
        knob.windows(2).all(|w| w[0].at <= w[1].at),
        "in time order: {knob:?}"
    );
    let s = stats(engine);
    assert!(s.playhead >= 72_000, "1.5 s played: {s:?}");
    assert_eq!(s.latency, 0, "no resampler at 48 kHz");
    assert_eq!(earshot_destroy(engine), OK);
}

#[test]
fn after_a_stop_the_tail_plays_and_a_restart_keeps_the_knobs() {
    let engine = create(&config());
    assert_eq!(earshot_start(engine), OK);
    play(engine, 48_000, 0.3, 480, |_| {});
    assert_eq!(earshot_stop(engine, 2000), OK);
    assert_eq!(stats(engine).running, 0);
    // The processor outlives the runner: what was written still plays.
    let tail = play(engine, 48_000, 0.1, 480, |_| {});
    assert!(rms(&tail) > 0.0, "the tail is heard, no cut to silence");
    let mut epoch = 0;
    // SAFETY: a C literal and a pointer to one u64.
    let status = unsafe { earshot_set_knob(engine, c"warmth".as_ptr(), 0.8, &mut epoch) };
    assert_eq!(status, OK, "control calls work while stopped");
    assert_eq!(earshot_start(engine), OK);
    assert_eq!(stats(engine).running, 1);
    assert_eq!(stats(engine).playhead, 0, "a fresh playback buffer");
    // SAFETY: a C literal; the epoch is not wanted.
    let again = unsafe { earshot_set_knob(engine, c"warmth".as_ptr(), 0.8, null_mut()) };
    assert_eq!(again, OK);
    let later = acks(engine);
    let last = later
        .iter()
        .rev()
        .find(|a| a.stage == EarshotAckStage::EarshotAckCommitted);
    assert_eq!(
        last.map(|a| a.epoch),
        Some(epoch),
        "same value: no new epoch, {later:?}"
    );
    assert_eq!(earshot_destroy(engine), OK);
}
