//! CPU tick benchmarks: a full steady-state tick (one batched step over all
//! slots plus the frontier decode of one produce's segment) per model size,
//! reported as time and as a real-time factor (audio produced per tick over
//! the tick's time); and the packed GEMM against `matrixmultiply` (the
//! peer) on the shapes a tick runs, in the same run.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use earshot::audio_model::ModelSize;
use earshot::audio_model::config::{CHANNELS, HOP, SAMPLE_RATE};
use earshot::cpu::CpuBackend;
use earshot::cpu::gemm::PackedMatrix;
use earshot::engine::backend::DecodeRequest;
use earshot::engine::backend::prelude::*;
use earshot::engine::conditioning::ConditioningInput;
use earshot::engine::knobs::KnobState;
use earshot::engine::stream::{Stream, StreamConfig, TickInputs};
use earshot::engine::{Epochs, LatentFrames, SampleFrames};
use std::hint::black_box;
use std::time::Instant;

/// A warmed-up stream that yields one produce per tick.
struct TickRig {
    backend: CpuBackend,
    stream: Stream,
    conditioning: earshot::engine::backend::ConditioningHandle,
    knobs: KnobState,
    segment: SampleFrames,
    out: Vec<f32>,
}

impl TickRig {
    fn new(size: ModelSize) -> Self {
        let weights = earshot::audio_model::init_weights(size, 7);
        let mut backend = CpuBackend::new(&weights).unwrap();
        let stream = Stream::new(StreamConfig::default(), &mut backend).unwrap();
        let conditioning = backend
            .encode(&ConditioningInput::null(backend.description().conditioning))
            .unwrap();
        let hop = if size == ModelSize::Tiny { 4 } else { 8 };
        let segment = LatentFrames(hop).start_sample(HOP);
        let mut rig = Self {
            backend,
            stream,
            conditioning,
            knobs: KnobState::new(earshot_audio_model::knobs::knobs(), 8),
            segment,
            out: vec![0.0; segment.as_usize() * CHANNELS],
        };
        for _ in 0..10 {
            rig.tick();
        }
        rig
    }

    fn tick(&mut self) {
        let admit = Some(LatentFrames(self.stream.next_serial()));
        let inputs = TickInputs {
            knobs: &self.knobs,
            conditioning: self.conditioning,
            epochs: Epochs::default(),
            admit,
        };
        self.stream.tick(&mut self.backend, &inputs).unwrap();
        if let Some(p) = self.stream.take_produce() {
            let margin = self.backend.config().decoder_margin().start_sample(HOP);
            let start = p.anchor.start_sample(HOP) + margin;
            let request = DecodeRequest {
                latents: p.latents,
                anchor: p.anchor,
                range: start..start + self.segment,
            };
            self.backend.decode(&request, &mut self.out).unwrap();
            self.stream.release(p.latents).unwrap();
        }
    }
}

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    group.sample_size(10);
    for size in [ModelSize::Tiny, ModelSize::Small] {
        let mut rig = TickRig::new(size);
        // The factor the issue asks for, over a fixed number of ticks.
        let ticks = if size == ModelSize::Tiny { 50 } else { 4 };
        let started = Instant::now();
        for _ in 0..ticks {
            rig.tick();
        }
        let per_tick = started.elapsed().as_secs_f64() / f64::from(ticks);
        let audio = rig.segment.as_seconds(SAMPLE_RATE);
        println!(
            "tick {size}: {:.2} ms per tick (8 slots, step + frontier decode), {:.1} ms of audio per tick, real-time factor {:.1}x",
            per_tick * 1e3,
            audio * 1e3,
            audio / per_tick
        );
        group.bench_function(BenchmarkId::from_parameter(size), |b| b.iter(|| rig.tick()));
    }
    group.finish();
}

fn gemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    // (rows, out, in): tiny qkv, tiny fc2, small fc1, a square peer shape.
    for (m, n, k) in [
        (256, 384, 128),
        (256, 128, 512),
        (512, 1536, 384),
        (512, 512, 512),
    ] {
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i % 97) as f32 - 48.0) / 97.0)
            .collect();
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i % 89) as f32 - 44.0) / 89.0)
            .collect();
        let packed = PackedMatrix::new(&w, n, k);
        let mut out = vec![0.0f32; m * n];
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
        let id = format!("{m}x{n}x{k}");
        group.bench_function(BenchmarkId::new("earshot_packed", &id), |b| {
            b.iter(|| {
                out.fill(0.0);
                packed.matmul_acc(black_box(&a), m, &mut out);
            })
        });
        group.bench_function(BenchmarkId::new("matrixmultiply", &id), |b| {
            b.iter(|| {
                // Safety: `a` is m×k row-major, `w` is n×k row-major read as
                // its transpose (k×n with strides 1, k), `out` is m×n.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        black_box(a.as_ptr()),
                        k as isize,
                        1,
                        w.as_ptr(),
                        1,
                        k as isize,
                        0.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    );
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, tick, gemm);
criterion_main!(benches);
