//! The offline render: audible, finite, never clipped at any knob corner,
//! and every knob changes what is heard in the documented direction.

mod common;

use earshot::cpu::CpuBackend;
use earshot::engine::backend::prelude::*;
use earshot::engine::clock::VirtualClock;
use earshot::engine::conditioning::ConditioningInput;
use earshot::engine::knobs::KnobState;
use earshot::engine::offline::{OfflineConfig, RenderInputs, RenderOutput, render_offline};
use earshot::engine::stream::StreamConfig;
use earshot::engine::trace::{MemoryTrace, TraceEvent};
use earshot::engine::{LatentFrames, SampleFrames};

fn render(knobs: &[(&str, f32)], seconds: u64) -> (Vec<f32>, MemoryTrace) {
    let mut backend = CpuBackend::new(common::tiny_weights()).unwrap();
    let mut state = KnobState::new(earshot_audio_model::knobs::knobs(), 8);
    for (k, v) in knobs {
        state.set(k, *v).unwrap();
    }
    let config = OfflineConfig {
        stream: StreamConfig::default(),
        duration: SampleFrames(48_000 * seconds),
        produce_hop: LatentFrames(4),
        crossfade: SampleFrames(1024),
    };
    let conditioning = ConditioningInput::null(backend.description().conditioning);
    let mut samples = Vec::new();
    let mut trace = MemoryTrace::default();
    render_offline(
        &mut backend,
        &config,
        RenderInputs {
            knobs: &state,
            conditioning: &conditioning,
        },
        &VirtualClock::new(),
        RenderOutput {
            samples: &mut |s: &[f32]| {
                samples.extend_from_slice(s);
                Ok(())
            },
            trace: &mut trace,
            progress: &mut |_| {},
        },
    )
    .unwrap();
    (samples, trace)
}

fn rms_db(x: &[f32]) -> f64 {
    let ms = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * ms.max(1e-20).log10()
}

fn mono(x: &[f32]) -> Vec<f32> {
    x.chunks_exact(2).map(|f| 0.5 * (f[0] + f[1])).collect()
}

/// Energy of the first difference over energy: grows with brightness.
fn brightness(x: &[f32]) -> f64 {
    let m = mono(x);
    let diff: f64 = m.windows(2).map(|w| f64::from(w[1] - w[0]).powi(2)).sum();
    diff / m.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>()
}

/// Share of energy below roughly 300 Hz (one-pole low-pass).
fn low_share(x: &[f32]) -> f64 {
    let m = mono(x);
    let a = (-std::f64::consts::TAU * 300.0 / 48_000.0).exp();
    let mut y = 0.0f64;
    let mut low = 0.0;
    for &v in &m {
        y = a * y + (1.0 - a) * f64::from(v);
        low += y * y;
    }
    low / m.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>()
}

#[test]
fn default_render_is_audible_finite_and_not_clipped() {
    let (x, trace) = render(&[], 3);
    assert_eq!(x.len(), 3 * 48_000 * 2);
    assert!(x.iter().all(|v| v.is_finite()));
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(peak < 1.0, "clipped: peak {peak}");
    assert!(rms_db(&x) > -45.0, "too quiet: {} dBFS", rms_db(&x));
    let produces = trace
        .events
        .iter()
        .filter(|e| matches!(e, TraceEvent::Produce { .. }))
        .count();
    let patches = trace
        .events
        .iter()
        .filter(|e| matches!(e, TraceEvent::Patch { .. }))
        .count();
    assert_eq!(produces, 36, "one produce per 4-frame segment");
    assert_eq!(patches, produces);
}

#[test]
fn no_knob_corner_clips() {
    for corner in 0..16u32 {
        let v = |bit: u32| if corner & (1 << bit) != 0 { 1.0 } else { 0.0 };
        let knobs = [
            ("brightness", v(0)),
            ("noise", v(1)),
            ("density", v(2)),
            ("warmth", v(3)),
        ];
        let (x, _) = render(&knobs, 1);
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(x.iter().all(|v| v.is_finite()), "{knobs:?}");
        assert!(peak < 1.0, "{knobs:?} clips: peak {peak}");
        assert!(rms_db(&x) > -60.0, "{knobs:?} silent: {} dBFS", rms_db(&x));
    }
}

#[test]
fn knobs_change_the_sound_audibly() {
    let b0 = render(&[("brightness", 0.0)], 2).0;
    let b1 = render(&[("brightness", 1.0)], 2).0;
    assert!(
        brightness(&b1) > 1.5 * brightness(&b0),
        "brightness {} vs {}",
        brightness(&b1),
        brightness(&b0)
    );

    let d0 = render(&[("density", 0.0)], 2).0;
    let d1 = render(&[("density", 1.0)], 2).0;
    assert!(
        rms_db(&d1) - rms_db(&d0) > 6.0,
        "density {} vs {} dB",
        rms_db(&d1),
        rms_db(&d0)
    );

    let n0 = render(&[("noise", 0.0)], 2).0;
    let n1 = render(&[("noise", 1.0)], 2).0;
    assert!(
        rms_db(&n1) - rms_db(&n0) > 3.0,
        "noise {} vs {} dB",
        rms_db(&n1),
        rms_db(&n0)
    );

    let w0 = render(&[("warmth", 0.0)], 2).0;
    let w1 = render(&[("warmth", 1.0)], 2).0;
    assert!(
        low_share(&w1) > 1.6 * low_share(&w0),
        "warmth {} vs {}",
        low_share(&w1),
        low_share(&w0)
    );
}
