//! A fixed input and the CPU reference backend's answer, written as JSON for
//! the PyTorch peer (`benches/peers/torch_tick.py --check`) to reproduce.
//!
//! ```text
//! cargo run --release --example peer_reference -- WEIGHTS.safetensors OUT.json [DECODE_FRAMES]
//! ```
//!
//! The input, for two slots of the model's window `T` (`T × 64` latents each):
//!
//! - latents `x_t[slot][i] = sin(0.37 i + slot)`, `i = frame · 64 + channel`,
//!   written with `Backend::write_latents`;
//! - slot 0 at denoise step 3 of 8 (`t = 0.625 → t_next = 0.5`), knob row
//!   `[0.2, -0.5, 0.0, 0.9]`; slot 1 at step 6 of 8 (`t = 0.25 → 0.125`),
//!   knob row zeros;
//! - the null conditioning for both.
//!
//! One `Backend::step` with the ODE sampler runs on them. Both steps are past
//! step 0, so the backend uses the written latents as `x_t` (at step 0 it
//! would first fill the window with the slot's initial noise). The updated
//! latents `x_next = x + (t_next − t)(x − x̂0)/t` come back with
//! `read_latents`; the peer recovers `x̂0 = x − (x_next − x) t / (t_next − t)`
//! from them. Then three ranges of slot 0's updated window (anchored at
//! latent frame 0) are decoded: `DECODE_FRAMES` (default 4096) sample frames
//! starting at the decoder margin (inside the exact span), 2000 frames
//! around the window's middle (not aligned to a hop, with convolution
//! context cut on both sides), and 2500 frames at each of the window's two
//! edges (where the decoder's zero padding and the overlap-add
//! normalization over the existing frames matter).
//!
//! Every float is written as its `f32` value (exact in JSON).

use earshot::audio_model::ModelWeights;
use earshot::audio_model::config::{CHANNELS, HOP, KNOB_COUNT};
use earshot::cpu::CpuBackend;
use earshot::engine::backend::SlotStep;
use earshot::engine::backend::prelude::*;
use earshot::engine::conditioning::ConditioningInput;
use earshot::engine::rng::NoiseKey;
use earshot::engine::sampler::{SamplerKind, timestep};
use earshot::engine::{DecodeRequest, LatentFrames, SampleFrames, StepBatch};
use serde_json::json;
use std::path::PathBuf;

/// Denoise steps of the schedule the two slots are taken from.
const STEPS: u32 = 8;
/// Each slot's denoise step.
const SLOT_STEPS: [u32; 2] = [3, 6];
/// Each slot's normalized knob row.
const KNOB_ROWS: [[f32; KNOB_COUNT]; 2] = [[0.2, -0.5, 0.0, 0.9], [0.0; KNOB_COUNT]];
/// Sample frames decoded at each window edge.
const EDGE_FRAMES: u64 = 2500;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(2..=3).contains(&args.len()) {
        anyhow::bail!("usage: peer_reference WEIGHTS.safetensors OUT.json [DECODE_FRAMES]");
    }
    let weights_path = PathBuf::from(&args[0]);
    let out_path = PathBuf::from(&args[1]);
    let decode_frames: u64 = match args.get(2) {
        Some(s) => s.parse()?,
        None => 4096,
    };

    let weights = ModelWeights::load(&weights_path)?;
    let config = *weights.config();
    let mut backend = CpuBackend::new(&weights)?;
    let slots = SLOT_STEPS.len();
    backend.reserve(slots)?;
    let conditioning = backend.encode(&ConditioningInput::null(config.conditioning()))?;
    let n = config.window_len();

    let mut batch = StepBatch::with_capacity(slots, KNOB_COUNT);
    batch.sampler = SamplerKind::Ode;
    let mut inputs = Vec::new();
    for (slot, (&step, knobs)) in SLOT_STEPS.iter().zip(&KNOB_ROWS).enumerate() {
        let latents = backend.alloc_latents()?;
        let x: Vec<f32> = (0..n)
            .map(|i| (i as f32 * 0.37 + slot as f32).sin())
            .collect();
        backend.write_latents(latents, &x)?;
        let (t, t_next) = (timestep(step, STEPS), timestep(step + 1, STEPS));
        batch.slots.push(SlotStep {
            latents,
            conditioning,
            step,
            t,
            t_next,
            noise: NoiseKey {
                seed: 0,
                slot: slot as u64,
                step: 0,
            },
        });
        batch.knob_rows.extend_from_slice(knobs);
        inputs.push(x);
    }
    backend.step(&batch)?;

    let mut slot_json = Vec::new();
    for ((slot, x), knobs) in batch.slots.iter().zip(&inputs).zip(&KNOB_ROWS) {
        let mut x_next = vec![0.0f32; n];
        backend.read_latents(slot.latents, &mut x_next)?;
        slot_json.push(json!({
            "step": slot.step,
            "t": slot.t,
            "t_next": slot.t_next,
            "knobs": knobs,
            "x_t": x,
            "x_next": x_next,
        }));
    }

    // Decodes of slot 0's updated window, anchored at latent frame 0.
    let anchor = LatentFrames(0);
    let window_samples = config.window.0 * HOP.0;
    let margin = config.decoder_margin().0 * HOP.0;
    if margin + decode_frames > window_samples - margin {
        anyhow::bail!(
            "{decode_frames} sample frames do not fit in the exact span {margin}..{} of a {} window",
            window_samples - margin,
            config.size
        );
    }
    let ranges = [
        ("interior", margin, margin + decode_frames),
        (
            "centre",
            window_samples / 2 - 1000,
            window_samples / 2 + 1000,
        ),
        ("start_edge", 0, EDGE_FRAMES),
        ("end_edge", window_samples - EDGE_FRAMES, window_samples),
    ];
    let mut decodes = Vec::new();
    for (what, start, end) in ranges {
        let request = DecodeRequest {
            latents: batch.slots[0].latents,
            anchor,
            range: SampleFrames(start)..SampleFrames(end),
        };
        let mut audio = vec![0.0f32; (end - start) as usize * CHANNELS];
        backend.decode(&request, &mut audio)?;
        decodes.push(json!({
            "what": what,
            "slot": 0,
            "start": start,
            "end": end,
            "audio": audio,
        }));
    }

    let doc = json!({
        "format": "earshot-peer-reference-v1",
        "backend": backend.name(),
        "weights": weights_path.display().to_string(),
        "size": config.size.name(),
        "config": config,
        "sampler": "ode",
        "conditioning": "null",
        "x_t_formula": "x_t[slot][i] = sin(0.37 i + slot), i = frame * 64 + channel (f32)",
        "latent_layout": "[frame, channel] row-major, T x 64 per slot",
        "audio_layout": "interleaved stereo, local sample frames [start, end) of the window",
        "slots": slot_json,
        "decodes": decodes,
    });
    std::fs::write(&out_path, serde_json::to_vec(&doc)?)?;
    println!(
        "wrote {} ({} backend, {} weights, {} slots, {} decodes)",
        out_path.display(),
        backend.name(),
        config.size,
        slots,
        ranges.len()
    );
    Ok(())
}
