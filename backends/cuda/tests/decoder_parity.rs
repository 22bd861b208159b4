//! CUDA decoder vs the CPU reference: a fixed latent window of the tiny
//! model rendered over ranges in the middle, at the window's start and at
//! its end, by `GpuDecoder` and by `CpuBackend::decode`. Skipped, with the
//! reason printed, on a machine without a GPU; failed there instead when
//! `EARSHOT_EXPECT_GPU=1` (see `common`).

mod common;

use common::gpu_or_skip;
use earshot_audio_model::config::{CHANNELS, HOP};
use earshot_audio_model::{ModelSize, init_weights};
use earshot_cpu::CpuBackend;
use earshot_cuda::Device;
use earshot_cuda::decoder::GpuDecoder;
use earshot_engine::backend::prelude::*;
use earshot_engine::{DecodeRequest, LatentFrames, SampleFrames};
use std::ops::Range;

/// Largest allowed max-abs difference, relative to the CPU signal's peak
/// over the range: 1e-4. fp32 throughout; the differences come from cuBLAS's
/// summation order (embedding, pointwise convolutions, head) and the FFT
/// algorithm, and are expected around 1e-6 of the peak.
const TOLERANCE: f64 = 1e-4;

/// A random-but-fixed latent window (a small LCG, values in about ±2, plus
/// a slow swell so the decoder sees structure).
fn latent_window(len: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 40) as f32 / (1u64 << 24) as f32;
            let frame = (i / 64) as f32;
            (u * 2.0 - 1.0) * 1.5 + 0.5 * (frame * 0.3).sin()
        })
        .collect()
}

#[test]
fn gpu_decoder_matches_the_cpu() {
    if !gpu_or_skip() {
        return;
    }
    let weights = init_weights(ModelSize::Tiny, 7);
    let cfg = *weights.config();
    let window = cfg.window.0 as usize;
    let samples = window * HOP.0 as usize;
    let latents = latent_window(cfg.window_len());

    let mut cpu = CpuBackend::new(&weights).expect("cpu backend");
    cpu.reserve(1).expect("reserve");
    let handle = cpu.alloc_latents().expect("alloc latents");
    cpu.write_latents(handle, &latents).expect("write latents");

    let mut dev = Device::new(0).expect("open CUDA device 0");
    eprintln!("device: {}", dev.name());
    let mut gpu = GpuDecoder::new(&mut dev, &weights).expect("GpuDecoder::new");
    let lat_dev = dev.upload(&latents).expect("upload latents");

    let margin = cfg.decoder_margin().0 as usize * HOP.0 as usize;
    let ranges: [(&str, Range<usize>); 5] = [
        // Inside the exact span: no window edge within the margin.
        ("middle", margin + 1000..margin + 1000 + 3000),
        ("start", 0..2500),
        ("end", samples - 2100..samples),
        ("one sample", 17_000..17_001),
        ("whole window", 0..samples),
    ];

    let mut failures = Vec::new();
    for (what, local) in ranges {
        let len = local.len();
        let request = DecodeRequest {
            latents: handle,
            // Anchored at latent frame 0: window-local == absolute samples.
            anchor: LatentFrames(0),
            range: SampleFrames(local.start as u64)..SampleFrames(local.end as u64),
        };
        let mut want = vec![0.0f32; len * CHANNELS];
        cpu.decode(&request, &mut want).expect("cpu decode");

        let mut out = dev.zeros::<f32>(len * CHANNELS).expect("alloc out");
        {
            let mut view = out.slice_mut(..);
            gpu.decode(&mut dev, &lat_dev.as_view(), local.clone(), &mut view)
                .expect("gpu decode");
        }
        let got = dev.stream.clone_dtoh(&out).expect("copy back");
        dev.sync().expect("sync");

        let peak = want.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
        let (mut max_err, mut at) = (0.0f64, 0usize);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let d = (f64::from(*g) - f64::from(*w)).abs();
            if d > max_err || d.is_nan() {
                (max_err, at) = (d, i);
            }
        }
        let finite = got.iter().all(|v| v.is_finite());
        let rel = max_err / peak.max(1e-30);
        eprintln!(
            "{what:>12} {local:?}: peak {peak:.4e}, max |gpu - cpu| {max_err:.3e} \
             (sample {}, ch {}: gpu {} cpu {}), relative {rel:.3e}",
            at / CHANNELS,
            at % CHANNELS,
            got.get(at).copied().unwrap_or(f32::NAN),
            want.get(at).copied().unwrap_or(f32::NAN),
        );
        if !finite || rel.is_nan() || rel > TOLERANCE || peak == 0.0 {
            failures.push(format!(
                "{what} {local:?}: relative max error {rel:.3e} (finite: {finite}, peak {peak:.3e})"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "GPU decoder differs from the CPU by more than {TOLERANCE:e} of the peak: {failures:#?}"
    );
}

#[test]
fn bad_ranges_are_errors_not_panics() {
    if !gpu_or_skip() {
        return;
    }
    let weights = init_weights(ModelSize::Tiny, 7);
    let cfg = *weights.config();
    let samples = cfg.window.0 as usize * HOP.0 as usize;
    let mut dev = Device::new(0).expect("open CUDA device 0");
    let mut gpu = GpuDecoder::new(&mut dev, &weights).expect("GpuDecoder::new");
    let lat = dev.zeros::<f32>(cfg.window_len()).expect("alloc");
    let mut out = dev.zeros::<f32>(2 * 16).expect("alloc");
    let mut view = out.slice_mut(..);
    assert!(
        gpu.decode(
            &mut dev,
            &lat.as_view(),
            samples - 8..samples + 8,
            &mut view
        )
        .is_err()
    );
    assert!(
        gpu.decode(&mut dev, &lat.as_view(), 0..15, &mut view)
            .is_err()
    );
    assert!(
        gpu.decode(&mut dev, &lat.as_view(), 100..116, &mut view)
            .is_ok()
    );
    dev.sync().expect("sync");
}
