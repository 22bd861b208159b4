//! Windowed decode: rendering samples [a, b) reads only the latents the
//! range needs (plus the decoder margin) and equals the same range of a
//! full-window decode within 1e-5.

mod common;

use common::Rig;
use earshot::audio_model::config::{CHANNELS, HOP};
use earshot::engine::backend::DecodeRequest;
use earshot::engine::backend::prelude::*;
use earshot::engine::sampler::SamplerKind;
use earshot::engine::{LatentFrames, SampleFrames};

#[test]
fn windowed_ranges_equal_the_full_decode() {
    let mut rig = Rig::new(SamplerKind::Ode, 3);
    let produce = rig.first_produce();
    let cfg = *rig.backend.config();
    let start = produce.anchor.start_sample(HOP);
    let len = cfg.window.0 * HOP.0;
    let mut full = vec![0.0; len as usize * CHANNELS];
    let request = |a: u64, b: u64| DecodeRequest {
        latents: produce.latents,
        anchor: produce.anchor,
        range: start + SampleFrames(a)..start + SampleFrames(b),
    };
    rig.backend.decode(&request(0, len), &mut full).unwrap();
    assert!(full.iter().all(|v| v.is_finite()));
    assert!(
        full.iter().any(|v| v.abs() > 1e-4),
        "the full decode is not silent"
    );
    let ranges = [
        (0, 700),
        (5_000, 9_096),
        (12_345, 12_346),
        (len - 3_000, len),
        (1_024, 2_048),
        (10_000, 25_000),
    ];
    for (a, b) in ranges {
        let mut part = vec![0.0; (b - a) as usize * CHANNELS];
        rig.backend.decode(&request(a, b), &mut part).unwrap();
        let worst = part
            .iter()
            .zip(&full[a as usize * CHANNELS..b as usize * CHANNELS])
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        // The contract is 1e-5; the CPU decode is exact because every
        // per-frame computation is independent of the range.
        assert!(worst <= 1e-5, "range {a}..{b}: max difference {worst}");
        assert_eq!(worst, 0.0, "range {a}..{b}");
    }
}

#[test]
fn a_window_never_reads_latents_beyond_its_margin() {
    // Poisoning every latent outside the needed frames + margin must not
    // change the rendered range.
    let mut rig = Rig::new(SamplerKind::Ode, 4);
    let produce = rig.first_produce();
    let cfg = *rig.backend.config();
    let c = earshot::audio_model::config::LATENT_CHANNELS;
    let start = produce.anchor.start_sample(HOP);
    let (a, b) = (14 * HOP.0, 18 * HOP.0);
    let req = DecodeRequest {
        latents: produce.latents,
        anchor: produce.anchor,
        range: start + SampleFrames(a)..start + SampleFrames(b),
    };
    let mut clean = vec![0.0; (b - a) as usize * CHANNELS];
    rig.backend.decode(&req, &mut clean).unwrap();

    let margin = cfg.decoder_margin().0;
    let needed = (14 - margin)..(18 + margin);
    let mut x = vec![0.0; cfg.window_len()];
    rig.backend.read_latents(produce.latents, &mut x).unwrap();
    let mut poisoned_backend = earshot::cpu::CpuBackend::new(common::tiny_weights()).unwrap();
    let h = poisoned_backend.alloc_latents().unwrap();
    for f in 0..cfg.window.0 {
        if !needed.contains(&f) {
            x[f as usize * c..(f as usize + 1) * c].fill(1e6);
        }
    }
    poisoned_backend.write_latents(h, &x).unwrap();
    let mut poisoned = vec![0.0; clean.len()];
    poisoned_backend
        .decode(
            &DecodeRequest {
                latents: h,
                anchor: LatentFrames(produce.anchor.0),
                range: req.range.clone(),
            },
            &mut poisoned,
        )
        .unwrap();
    assert_eq!(clean, poisoned);
}

#[test]
fn ranges_outside_the_window_are_refused() {
    let mut rig = Rig::new(SamplerKind::Ode, 3);
    let produce = rig.first_produce();
    let end =
        produce.anchor.start_sample(HOP) + SampleFrames(rig.backend.config().window.0 * HOP.0);
    let mut out = vec![0.0; 200];
    let bad = DecodeRequest {
        latents: produce.latents,
        anchor: produce.anchor,
        range: end - SampleFrames(50)..end + SampleFrames(50),
    };
    assert!(matches!(
        rig.backend.decode(&bad, &mut out),
        Err(earshot::engine::BackendError::RangeOutsideWindow { .. })
    ));
}
