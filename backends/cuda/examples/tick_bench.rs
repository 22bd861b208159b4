//! Times the CUDA backend's tick on a GPU: one batched step per batch size
//! (1, 2, 4, 8 slots) and decodes, for a weights file, with host timing
//! around many enqueued steps and one sync (the device's throughput per
//! step). Prints one JSON object. Usage:
//! `tick_bench WEIGHTS [ITERS] [fp32|bf16]`, where WEIGHTS is a safetensors file or
//! `init:SIZE:SAVE` to generate uncalibrated weights of SIZE (seed 7) and
//! save them to SAVE first (for a peer to load the same file). With
//! `ATTENTION_LANES=4` or `8` in the environment, the CUDA-core attention
//! kernel is forced (in bf16 the tensor-core kernel is the default), to
//! time both; with `BENCH_SLOTS=8` (a comma-separated list) only those
//! batch sizes are timed (for a profiler).

use earshot_audio_model::ModelWeights;
use earshot_audio_model::config::{CHANNELS, HOP, KNOB_COUNT};
use earshot_cuda::CudaBackend;
use earshot_engine::backend::prelude::*;
use earshot_engine::backend::{DecodeRequest, SlotStep, StepBatch};
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::rng::NoiseKey;
use earshot_engine::sampler::{SamplerKind, timestep};
use earshot_engine::{LatentFrames, SampleFrames};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: tick_bench WEIGHTS [ITERS]")?;
    let iters: usize = args.get(2).map_or(Ok(50), |s| s.parse())?;
    let weights = match path.strip_prefix("init:") {
        Some(spec) => {
            let (size, save) = spec.split_once(':').ok_or("init:SIZE:SAVE")?;
            let size: earshot_audio_model::ModelSize = size.parse()?;
            let w = earshot_audio_model::init_weights(size, 7);
            w.save(std::path::Path::new(save))?;
            w
        }
        None => ModelWeights::load(std::path::Path::new(path))?,
    };
    let precision = match args.get(3).map(String::as_str) {
        Some("bf16") => earshot_cuda::Precision::Bf16,
        _ => earshot_cuda::Precision::Fp32,
    };
    // Device memory the backend takes: free memory with the context made
    // (the backend shares the device's primary context) against the end.
    let context = cudarc::driver::CudaContext::new(0)?;
    context.bind_to_thread()?;
    let (free_before, _) = cudarc::driver::result::mem_get_info()?;
    let mut b = CudaBackend::with_precision(&weights, 0, precision)?;
    let lanes = match std::env::var("ATTENTION_LANES") {
        Ok(v) => Some(v.parse::<u32>()?),
        Err(_) => None,
    };
    b.set_attention_lanes(lanes);
    let cfg = *b.config();
    b.reserve(8)?;
    let cond = b.encode(&ConditioningInput::null(cfg.conditioning()))?;
    let latents: Vec<_> = (0..8)
        .map(|_| b.alloc_latents())
        .collect::<Result<_, _>>()?;
    let sizes: Vec<usize> = match std::env::var("BENCH_SLOTS") {
        Ok(v) => v.split(',').map(str::parse).collect::<Result<_, _>>()?,
        Err(_) => (1..=8).collect(),
    };
    let mut steps_ms = Vec::new();
    for (graphs, slots) in [false, true]
        .into_iter()
        .flat_map(|g| sizes.iter().map(move |&s| (g, s.clamp(1, 8))))
    {
        b.set_graphs(graphs);
        let mut batch = StepBatch::with_capacity(slots, KNOB_COUNT);
        batch.sampler = SamplerKind::Ode;
        for (i, &l) in latents.iter().take(slots).enumerate() {
            let step = 1 + i as u32 % 7;
            batch.slots.push(SlotStep {
                latents: l,
                conditioning: cond,
                step,
                t: timestep(step, 8),
                t_next: timestep(step + 1, 8),
                noise: NoiseKey {
                    seed: 1,
                    slot: i as u64,
                    step: 0,
                },
            });
            batch.knob_rows.extend_from_slice(&[0.0; KNOB_COUNT]);
        }
        for _ in 0..5 {
            b.step(&batch)?;
        }
        b.synchronize()?;
        let t = Instant::now();
        for _ in 0..iters {
            b.step(&batch)?;
        }
        b.synchronize()?;
        let ms = t.elapsed().as_secs_f64() * 1e3 / iters as f64;
        let mode = if graphs { "graph" } else { "plain" };
        steps_ms.push(format!("\"{mode}_{slots}\": {ms:.4}"));
    }
    let margin = cfg.decoder_margin().start_sample(HOP);
    let exact = (cfg.window.0 - 2 * cfg.decoder_margin().0) * HOP.0;
    let mut decode_ms = |frames: u64| -> Result<f64, Box<dyn std::error::Error>> {
        let mut out = vec![0.0f32; frames as usize * CHANNELS];
        let request = DecodeRequest {
            latents: latents[0],
            anchor: LatentFrames(0),
            range: margin..margin + SampleFrames(frames),
        };
        for _ in 0..3 {
            b.decode(&request, &mut out)?;
        }
        let t = Instant::now();
        for _ in 0..iters {
            b.decode(&request, &mut out)?;
        }
        Ok(t.elapsed().as_secs_f64() * 1e3 / iters as f64)
    };
    let (short, long) = (1024u64, exact - exact % 1024);
    let (d_short, d_long) = (decode_ms(short)?, decode_ms(long)?);
    let decode_4096_ms = decode_ms(4096)?;
    let per_1024 = (d_long - d_short) * 1024.0 / (long - short) as f64;
    let t = Instant::now();
    for _ in 0..iters {
        let h = b.encode(&ConditioningInput::null(cfg.conditioning()))?;
        b.synchronize()?;
        b.release_conditioning(h)?;
    }
    let encode_ms = t.elapsed().as_secs_f64() * 1e3 / iters as f64;
    // The graphed steps per batch size, as a golden cost profile.
    let graph_us: Vec<String> = steps_ms
        .iter()
        .filter_map(|s| s.strip_prefix("\"graph_"))
        .filter_map(|s| s.split_once("\": "))
        .map(|(_, ms)| format!("{:.0}", ms.parse::<f64>().unwrap_or(0.0) * 1000.0))
        .collect();
    eprintln!(
        "# golden profile lines (graphed steps, {precision:?}):\nstep_us = [{}]\ndecode_base_us = {:.0}\ndecode_per_1024_us = {:.0}\nconditioning_us = {:.0}",
        graph_us.join(", "),
        ((d_short - per_1024) * 1000.0).max(0.0),
        per_1024 * 1000.0,
        encode_ms * 1000.0
    );
    context.bind_to_thread()?;
    let (free_after, _) = cudarc::driver::result::mem_get_info()?;
    let vram_mib = free_before.saturating_sub(free_after) as f64 / f64::from(1u32 << 20);
    println!(
        "{{\"device\": \"{}\", \"model\": \"{}\", \"precision\": \"{precision:?}\", \"attention_lanes\": {}, \"iters\": {iters}, \"step_ms\": {{{}}}, \"decode_4096_ms\": {decode_4096_ms:.4}, \"vram_mib\": {vram_mib:.1}, \"graph_fallback\": {:?}, \"counters\": \"{:?}\"}}",
        b.device_name(),
        cfg.size,
        lanes.map_or("null".to_string(), |l| l.to_string()),
        steps_ms.join(", "),
        b.graph_fallback(),
        b.counters()
    );
    Ok(())
}
