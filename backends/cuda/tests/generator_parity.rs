//! CUDA generator vs the CPU reference: one batched step (ODE and SDE,
//! slots at different steps, one starting from its initial noise, a
//! non-null conditioning), a whole stream of ticks, graphs vs plain
//! launches, and the steady-state counters of a tick (one host-to-device
//! copy, one read-back of the rendered slice and its wait, no allocation,
//! the step a graph replay). In bf16 both attention kernels: the
//! tensor-core one (the default) and the CUDA-core one (forced). Skipped,
//! with the reason printed, on a machine without a GPU; failed there
//! instead when `EARSHOT_EXPECT_GPU=1` (see `common`).

mod common;

use common::gpu_or_skip;
use earshot_audio_model::config::{CHANNELS, COND_TOKENS, HOP, KNOB_COUNT};
use earshot_audio_model::{ModelSize, ModelWeights, init_weights};
use earshot_cpu::CpuBackend;
use earshot_cuda::{CudaBackend, Precision};
use earshot_engine::backend::DecodeRequest;
use earshot_engine::backend::prelude::*;
use earshot_engine::backend::{SlotStep, StepBatch, StepTiming};
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::description::ConditioningShape;
use earshot_engine::knobs::KnobState;
use earshot_engine::rng::NoiseKey;
use earshot_engine::sampler::{SamplerKind, timestep};
use earshot_engine::stream::{Stream, StreamConfig, TickInputs};
use earshot_engine::{Epochs, LatentFrames, SampleFrames};

fn weights() -> ModelWeights {
    init_weights(ModelSize::Tiny, 7)
}

/// Relative L2 error and max abs difference of `a` against `b`.
fn errors(a: &[f32], b: &[f32]) -> (f64, f64) {
    let (mut num, mut den, mut max) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let d = f64::from(*x) - f64::from(*y);
        num += d * d;
        den += f64::from(*y) * f64::from(*y);
        max = max.max(d.abs());
    }
    ((num / den.max(1e-30)).sqrt(), max)
}

fn conditioning(shape: ConditioningShape) -> ConditioningInput {
    let mut c = ConditioningInput::null(shape);
    for (i, v) in c.tokens.iter_mut().enumerate() {
        *v = ((i as f32) * 0.013).sin() * 0.5;
    }
    for (i, v) in c.pooled.iter_mut().enumerate() {
        *v = ((i as f32) * 0.07).cos() * 0.3;
    }
    assert_eq!(c.tokens.len(), COND_TOKENS * shape.width);
    c
}

fn one_step(backend: &mut dyn Backend, sampler: SamplerKind) -> Vec<Vec<f32>> {
    one_step_at(backend, sampler, &[0, 1, 4, 7])
}

/// One batched step of slots at `slot_steps` (of 8) from fixed latents.
fn one_step_at(
    backend: &mut dyn Backend,
    sampler: SamplerKind,
    slot_steps: &[u32],
) -> Vec<Vec<f32>> {
    let description = backend.description().clone();
    let n = description.window_len();
    backend.reserve(8).unwrap();
    let cond = backend
        .encode(&conditioning(description.conditioning))
        .unwrap();
    let steps = 8;
    let mut batch = StepBatch::with_capacity(slot_steps.len(), KNOB_COUNT);
    batch.sampler = sampler;
    let mut handles = Vec::new();
    for (i, &step) in slot_steps.iter().enumerate() {
        let h = backend.alloc_latents().unwrap();
        let values: Vec<f32> = (0..n)
            .map(|e| ((e as f32) * 0.37 + i as f32).sin())
            .collect();
        backend.write_latents(h, &values).unwrap();
        batch.slots.push(SlotStep {
            latents: h,
            conditioning: cond,
            step,
            t: timestep(step, steps),
            t_next: timestep(step + 1, steps),
            noise: NoiseKey {
                seed: 42,
                slot: 1000 + i as u64,
                step: 0,
            },
        });
        batch
            .knob_rows
            .extend_from_slice(&[0.2 * i as f32, -0.5, 0.0, 0.9]);
        handles.push(h);
    }
    backend.step(&batch).unwrap();
    handles
        .iter()
        .map(|&h| {
            let mut out = vec![0.0; n];
            backend.read_latents(h, &mut out).unwrap();
            out
        })
        .collect()
}

#[test]
fn one_batched_step_matches_the_cpu_in_fp32() {
    if !gpu_or_skip() {
        return;
    }
    let w = weights();
    for sampler in [SamplerKind::Ode, SamplerKind::SDE] {
        let cpu = one_step(&mut CpuBackend::new(&w).unwrap(), sampler);
        // Both attention variants: eight threads per query (what small
        // batches get) and four (full batches of large models).
        for lanes in [8, 4] {
            let mut cuda = CudaBackend::new(&w, 0).unwrap();
            cuda.set_attention_lanes(Some(lanes));
            let gpu = one_step(&mut cuda, sampler);
            for (i, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
                let (rel, max) = errors(g, c);
                println!(
                    "{sampler:?} {lanes} lanes slot {i}: relative L2 {rel:.3e}, max abs {max:.3e}"
                );
                assert!(
                    rel <= 1e-5,
                    "{sampler:?} {lanes} lanes slot {i}: relative L2 {rel}"
                );
            }
        }
    }
}

/// The attention kernels a bf16 step can run: the tensor-core one (the
/// default) and the CUDA-core one with eight threads per query (forced).
const BF16_ATTENTION: [(&str, Option<u32>); 2] = [("tensor-core", None), ("cuda-core", Some(8))];

/// bf16 products (fp32 accumulation) and either attention kernel: within a
/// relative L2 bound of the fp32 CPU reference, after one step and over a
/// stream. Tiny: head dimension 32, 40 keys per query (conditioning tokens
/// and frames), so the last 16-key product of every query is masked.
#[test]
fn bf16_stays_within_its_bound_of_the_cpu() {
    if !gpu_or_skip() {
        return;
    }
    let w = weights();
    for sampler in [SamplerKind::Ode, SamplerKind::SDE] {
        let cpu = one_step(&mut CpuBackend::new(&w).unwrap(), sampler);
        let stream_cpu = run_stream(&mut CpuBackend::new(&w).unwrap(), sampler, 20);
        for (kernel, lanes) in BF16_ATTENTION {
            let mut cuda = CudaBackend::with_precision(&w, 0, Precision::Bf16).unwrap();
            cuda.set_attention_lanes(lanes);
            let gpu = one_step(&mut cuda, sampler);
            for (i, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
                let (rel, max) = errors(g, c);
                println!(
                    "bf16 {kernel} {sampler:?} slot {i}: relative L2 {rel:.3e}, max abs {max:.3e}"
                );
                assert!(
                    rel <= BF16_STEP_BOUND,
                    "bf16 {kernel} {sampler:?} slot {i}: relative L2 {rel}"
                );
            }
            let mut cuda = CudaBackend::with_precision(&w, 0, Precision::Bf16).unwrap();
            cuda.set_attention_lanes(lanes);
            let gpu = run_stream(&mut cuda, sampler, 20);
            let worst = gpu
                .iter()
                .zip(&stream_cpu)
                .map(|(g, c)| errors(g, c).0)
                .fold(0.0, f64::max);
            println!("bf16 {kernel} {sampler:?} stream: worst relative L2 {worst:.3e}");
            assert!(
                worst <= BF16_STREAM_BOUND,
                "bf16 {kernel} {sampler:?} stream: {worst}"
            );
        }
    }
}

/// Relative L2 bounds of a bf16 step and of a 20-tick bf16 stream against
/// the fp32 CPU reference (measured on an H200, either kernel: a step at
/// most 4.3e-3 on small, 3.6e-3 on tiny, 2.8e-3 on base; a stream 5.0e-3).
const BF16_STEP_BOUND: f64 = 5e-3;
const BF16_STREAM_BOUND: f64 = 6e-3;

/// The head dimension of small and base (64) on the tensor-core kernel:
/// small has 72 keys per query (the last 16-key product masked), several
/// warps per block sharing the staged keys; three slots and eight.
#[test]
fn bf16_attention_at_head_dim_64_matches_the_cpu() {
    if !gpu_or_skip() {
        return;
    }
    let w = init_weights(ModelSize::Small, 7);
    assert_eq!(w.config().head_dim(), 64);
    for (sampler, slot_steps) in [
        (SamplerKind::Ode, &[0u32, 3, 6][..]),
        (SamplerKind::SDE, &[0u32, 1, 2, 3, 4, 5, 6, 7][..]),
    ] {
        let cpu = one_step_at(&mut CpuBackend::new(&w).unwrap(), sampler, slot_steps);
        for (kernel, lanes) in BF16_ATTENTION {
            let mut cuda = CudaBackend::with_precision(&w, 0, Precision::Bf16).unwrap();
            cuda.set_attention_lanes(lanes);
            let gpu = one_step_at(&mut cuda, sampler, slot_steps);
            for (i, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
                let (rel, max) = errors(g, c);
                println!(
                    "small bf16 {kernel} {sampler:?} slot {i}: relative L2 {rel:.3e}, max abs {max:.3e}"
                );
                assert!(
                    rel <= BF16_STEP_BOUND,
                    "small bf16 {kernel} {sampler:?} slot {i}: relative L2 {rel}"
                );
            }
        }
    }
}

/// Base on the tensor-core kernel: 136 keys per query, staged in two
/// rounds (128, then 8 padded to 16), eight warps per block. Two slots (the
/// CPU reference of base takes seconds).
#[test]
fn bf16_attention_on_base_matches_the_cpu() {
    if !gpu_or_skip() {
        return;
    }
    let w = init_weights(ModelSize::Base, 7);
    let slot_steps = [0u32, 5];
    let cpu = one_step_at(
        &mut CpuBackend::new(&w).unwrap(),
        SamplerKind::Ode,
        &slot_steps,
    );
    for (kernel, lanes) in BF16_ATTENTION {
        let mut cuda = CudaBackend::with_precision(&w, 0, Precision::Bf16).unwrap();
        cuda.set_attention_lanes(lanes);
        let gpu = one_step_at(&mut cuda, SamplerKind::Ode, &slot_steps);
        for (i, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
            let (rel, max) = errors(g, c);
            println!("base bf16 {kernel} Ode slot {i}: relative L2 {rel:.3e}, max abs {max:.3e}");
            assert!(
                rel <= BF16_STEP_BOUND,
                "base bf16 {kernel} slot {i}: relative L2 {rel}"
            );
        }
    }
}

/// Runs `ticks` ticks of a stream and returns every produce's latents.
fn run_stream(backend: &mut dyn Backend, sampler: SamplerKind, ticks: u64) -> Vec<Vec<f32>> {
    let shape = backend.description().conditioning;
    let window_len = backend.description().window_len();
    let config = StreamConfig {
        sampler,
        seed: 3,
        ..StreamConfig::default()
    };
    let mut stream = Stream::new(config, backend).unwrap();
    let cond = backend.encode(&conditioning(shape)).unwrap();
    let mut knobs = KnobState::new(earshot_audio_model::knobs::knobs(), 8);
    let mut out = Vec::new();
    for tick in 0..ticks {
        if tick == 9 {
            knobs.set("brightness", 0.9).unwrap();
        }
        let inputs = TickInputs {
            knobs: &knobs,
            conditioning: cond,
            epochs: Epochs::default(),
            admit: Some(LatentFrames(tick)),
        };
        stream.tick(backend, &inputs).unwrap();
        if let Some(p) = stream.take_produce() {
            let mut x = vec![0.0; window_len];
            backend.read_latents(p.latents, &mut x).unwrap();
            out.push(x);
            stream.release(p.latents).unwrap();
        }
    }
    out
}

#[test]
fn a_stream_of_ticks_matches_the_cpu() {
    if !gpu_or_skip() {
        return;
    }
    let w = weights();
    for sampler in [SamplerKind::Ode, SamplerKind::SDE] {
        let cpu = run_stream(&mut CpuBackend::new(&w).unwrap(), sampler, 20);
        let gpu = run_stream(&mut CudaBackend::new(&w, 0).unwrap(), sampler, 20);
        assert_eq!(cpu.len(), gpu.len());
        let worst = gpu
            .iter()
            .zip(&cpu)
            .map(|(g, c)| errors(g, c).0)
            .fold(0.0, f64::max);
        println!(
            "{sampler:?}: {} produces, worst relative L2 {worst:.3e}",
            gpu.len()
        );
        assert!(worst <= 1e-4, "{sampler:?}: {worst}");
    }
}

/// A steady-state tick as the runner makes it: one step, and a decode of
/// the produce it completes (the tick's one device-to-host read).
#[test]
fn a_steady_tick_makes_one_copy_one_read_and_no_allocation() {
    if !gpu_or_skip() {
        return;
    }
    let w = weights();
    let mut b = CudaBackend::new(&w, 0).unwrap();
    let mut stream = Stream::new(StreamConfig::default(), &mut b).unwrap();
    let cond = b
        .encode(&ConditioningInput::null(w.config().conditioning()))
        .unwrap();
    let knobs = KnobState::new(earshot_audio_model::knobs::knobs(), 8);
    let margin = w.config().decoder_margin().start_sample(HOP);
    let mut out = vec![0.0f32; 1024 * CHANNELS];
    let mut tick = |b: &mut CudaBackend, stream: &mut Stream, t: u64| {
        let inputs = TickInputs {
            knobs: &knobs,
            conditioning: cond,
            epochs: Epochs::default(),
            admit: Some(LatentFrames(0)),
        };
        stream.tick(b, &inputs).unwrap();
        if let Some(p) = stream.take_produce() {
            let request = DecodeRequest {
                latents: p.latents,
                anchor: p.anchor,
                range: margin..margin + SampleFrames(1024),
            };
            b.decode(&request, &mut out).unwrap();
            stream.release(p.latents).unwrap();
        }
        let _ = t;
    };
    for t in 0..12 {
        tick(&mut b, &mut stream, t);
    }
    let before = b.counters();
    for t in 12..28 {
        tick(&mut b, &mut stream, t);
    }
    let after = b.counters();
    let forwards = after.forwards - before.forwards;
    let decodes = after.decodes - before.decodes;
    println!("16 steady ticks: {before:?} -> {after:?}");
    assert_eq!((forwards, decodes), (16, 16));
    assert_eq!(
        after.h2d_copies - before.h2d_copies,
        forwards,
        "one copy per forward"
    );
    assert_eq!(
        after.host_syncs - before.host_syncs,
        decodes,
        "the only wait is the rendered slice's read-back"
    );
    assert_eq!(after.d2h_copies - before.d2h_copies, decodes);
    assert_eq!(after.device_allocs, before.device_allocs, "no allocation");
    assert_eq!(b.graph_fallback(), None, "graphs were captured");
    assert_eq!(
        after.graph_replays - before.graph_replays,
        forwards,
        "every steady step is a graph replay"
    );
    // Device timing: every finished step reported once, without a wait.
    let mut timed = Vec::new();
    while let StepTiming::Device { slots, took } = b.step_device_time() {
        timed.push((slots, took));
    }
    println!("device-timed steps: {timed:?}");
    assert!(!timed.is_empty() && timed.len() <= 4);
    assert!(timed.iter().all(|&(slots, took)| slots == 8 && took.0 > 0));
    assert_eq!(b.step_device_time(), StepTiming::Pending);
    assert_eq!(
        b.counters().host_syncs,
        after.host_syncs,
        "polling waits for nothing"
    );
}

#[test]
fn plain_launches_give_the_same_latents_as_graphs() {
    if !gpu_or_skip() {
        return;
    }
    let w = weights();
    for precision in [Precision::Fp32, Precision::Bf16] {
        let mut graphed = CudaBackend::with_precision(&w, 0, precision).unwrap();
        let graphs = run_stream(&mut graphed, SamplerKind::SDE, 14);
        assert!(graphed.counters().graph_replays > 0);
        let mut plain_backend = CudaBackend::with_precision(&w, 0, precision).unwrap();
        plain_backend.set_graphs(false);
        let plain = run_stream(&mut plain_backend, SamplerKind::SDE, 14);
        assert_eq!(plain_backend.counters().graph_replays, 0);
        assert_eq!(
            graphs, plain,
            "{precision:?}: bit-identical, the same kernels replayed"
        );
    }
}
