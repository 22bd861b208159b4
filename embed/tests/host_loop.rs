//! An embedded engine driven like a host drives it: blocks of odd sizes at
//! the host's pace and rate, knob changes from inside the block; the
//! block never touches the allocator.
//!
//! The allocator below serves this whole test binary but checks only
//! inside `assert_no_alloc`, where an allocation or free aborts.

use earshot_audio_model::knobs::knob_index;
use earshot_embed::{Engine, EngineConfig, ProcessError};
use earshot_engine::ack::{AckKind, AckStage};
use std::time::{Duration, Instant};

#[global_allocator]
static A: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

/// Plays `seconds` at the host's pace in blocks cycling through `sizes`,
/// calling `each` before every block with the block's index.
fn play(
    processor: &mut earshot_embed::Processor,
    seconds: f64,
    sizes: &[usize],
    mut each: impl FnMut(usize, &mut earshot_embed::Processor),
) -> Vec<f32> {
    let rate = f64::from(processor.sample_rate());
    let (mut left, mut right) = (vec![0.0f32; 4096], vec![0.0f32; 4096]);
    let mut heard = Vec::new();
    let start = Instant::now();
    let mut played = 0usize;
    for (i, &n) in sizes.iter().cycle().enumerate() {
        if played as f64 >= seconds * rate {
            break;
        }
        // Keep to real time: a host's callback comes when the card needs it.
        let due = Duration::from_secs_f64(played as f64 / rate);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        each(i, processor);
        let (l, r) = (&mut left[..n], &mut right[..n]);
        assert_no_alloc::assert_no_alloc(|| processor.process(&mut [l, r])).unwrap();
        heard.extend_from_slice(&left[..n]);
        played += n;
    }
    heard
}

#[test]
fn a_host_at_44_1_khz_hears_the_model_and_its_knob_changes() {
    let mut engine = Engine::new(EngineConfig {
        sample_rate: 44_100,
        max_block: 4096,
        ..EngineConfig::default()
    })
    .unwrap();
    let acks = engine.subscribe_acks();
    let mut processor = engine.start().unwrap();
    assert!(processor.latency() > 0, "the resampler's delay is reported");
    let brightness = knob_index("brightness").unwrap();
    let heard = play(&mut processor, 2.0, &[256, 441, 1, 4096, 63], |i, p| {
        if i == 30 {
            let (knob, value) = (brightness, 0.95);
            assert_no_alloc::assert_no_alloc(|| p.knob(17, knob, value)).unwrap();
        }
    });
    let report = engine.stop(Duration::from_secs(2)).unwrap();
    assert!(report.counters.produces > 10);
    assert!(heard.iter().all(|v| v.is_finite()));
    let rms = (heard.iter().map(|v| v * v).sum::<f32>() / heard.len() as f32).sqrt();
    assert!(rms > 1e-4, "audible: rms {rms}");
    let stages: Vec<_> = acks
        .try_iter()
        .filter(|a| a.kind == AckKind::Knob)
        .map(|a| a.stage)
        .collect();
    for stage in [
        AckStage::Received,
        AckStage::Committed,
        AckStage::FirstProduce,
    ] {
        assert!(stages.contains(&stage), "{stage:?} in {stages:?}");
    }
}

#[test]
fn a_block_of_the_wrong_shape_is_refused_with_silence() {
    let mut engine = Engine::new(EngineConfig {
        max_block: 256,
        channels: 1,
        ..EngineConfig::default()
    })
    .unwrap();
    let mut processor = engine.start().unwrap();
    assert_eq!(processor.latency(), 0, "no resampler at 48 kHz");
    let mut a = vec![1.0f32; 512];
    let mut b = vec![1.0f32; 128];
    assert_eq!(
        processor.process(&mut [&mut a[..]]),
        Err(ProcessError::BlockTooLong { max: 256, got: 512 })
    );
    assert!(a.iter().all(|&v| v == 0.0));
    assert_eq!(
        processor.process(&mut [&mut a[..128], &mut b[..]]),
        Err(ProcessError::Channels {
            expected: 1,
            got: 2
        })
    );
    assert_eq!(processor.stats().playhead().0, 0, "nothing played");
    assert!(processor.process(&mut [&mut b[..]]).is_ok());
    assert_eq!(processor.stats().playhead().0, 128);
    assert!(processor.knob(0, 0, f32::NAN).is_err());
    engine.stop(Duration::from_secs(2)).unwrap();
    assert!(engine.stop(Duration::from_secs(2)).is_err(), "not running");
}

#[test]
fn knobs_carry_over_a_stop_and_start() {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let first = engine.start().unwrap();
    engine.set_knob("warmth", 0.9).unwrap();
    assert!(engine.start().is_err(), "already running");
    engine.stop(Duration::from_secs(2)).unwrap();
    drop(first);
    let _second = engine.start().unwrap();
    let mut snap =
        earshot_engine::control::ControlState::new(earshot_audio_model::knobs::knobs(), 8);
    engine.control().snapshot(&mut snap);
    assert_eq!(snap.knobs.epoch(), 1);
    assert!(engine.set_knob("nope", 0.5).is_err());
    assert!(engine.set_knob("warmth", f32::INFINITY).is_err());
}

#[test]
fn a_second_engine_shares_the_first_ones_weights() {
    let first = Engine::new(EngineConfig::default()).unwrap();
    let weights = std::sync::Arc::clone(first.weights());
    let second = Engine::with_weights(
        EngineConfig {
            sample_rate: 96_000,
            ..EngineConfig::default()
        },
        std::sync::Arc::clone(&weights),
    )
    .unwrap();
    assert!(std::sync::Arc::ptr_eq(second.weights(), &weights));
    assert!(
        Engine::with_weights(
            EngineConfig {
                channels: 3,
                ..EngineConfig::default()
            },
            weights
        )
        .is_err(),
        "the config is still checked"
    );
}
