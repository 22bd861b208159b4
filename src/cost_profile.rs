//! Measures a cost profile for the golden harness's virtual clock on the
//! CPU backend: the batched step at every batch size, decodes of several
//! lengths (fitted to a fixed cost plus a cost per 1024 frames), placing a
//! conditioning, and the prompt's text encode when the text model is
//! installed. Medians of repeated calls after a warm-up.

use crate::prompt::TextPrompt;
use earshot_audio_model::ModelWeights;
use earshot_audio_model::config::{CHANNELS, HOP, KNOB_COUNT};
use earshot_cpu::CpuBackend;
use earshot_engine::backend::prelude::*;
use earshot_engine::backend::{DecodeRequest, SlotStep, StepBatch};
use earshot_engine::conditioning::{ConditioningInput, PromptEncoder};
use earshot_engine::rng::NoiseKey;
use earshot_engine::sampler::{SamplerKind, timestep};
use earshot_engine::{BackendError, LatentFrames, SampleFrames};
use earshot_golden::costs::CostProfile;
use std::path::Path;
use std::time::Instant;

fn median_us(samples: &mut [u128]) -> u64 {
    samples.sort_unstable();
    (samples[samples.len() / 2] / 1000) as u64
}

fn time_ns(f: &mut impl FnMut() -> Result<(), BackendError>) -> Result<u128, BackendError> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_nanos())
}

/// Measures `weights` on the CPU backend, `repeats` calls per figure.
/// The prompt encode is measured when the text model can be found
/// (`text_model` or its default location); else it is left at 0 and the
/// source says so.
pub fn measure_cpu(
    weights: &ModelWeights,
    steps: u32,
    repeats: usize,
    text_model: Option<&Path>,
    device: &str,
) -> Result<CostProfile, BackendError> {
    let mut backend = CpuBackend::new(weights)?;
    let config = *backend.config();
    backend.reserve(steps as usize)?;
    let null = ConditioningInput::null(config.conditioning());
    let conditioning = backend.encode(&null)?;
    let latents = (0..steps)
        .map(|_| backend.alloc_latents())
        .collect::<Result<Vec<_>, _>>()?;
    let repeats = repeats.max(3);
    let mut step_us = Vec::new();
    for n in 1..=steps as usize {
        let mut batch = StepBatch::with_capacity(n, KNOB_COUNT);
        batch.sampler = SamplerKind::Ode;
        for (i, &l) in latents.iter().take(n).enumerate() {
            let step = (i as u32 + 1) % steps;
            batch.slots.push(SlotStep {
                latents: l,
                conditioning,
                step,
                t: timestep(step, steps),
                t_next: timestep(step + 1, steps),
                noise: NoiseKey {
                    seed: 0,
                    slot: i as u64,
                    step: 0,
                },
            });
            batch.knob_rows.extend_from_slice(&[0.0; KNOB_COUNT]);
        }
        let mut samples = Vec::new();
        for k in 0..repeats + 2 {
            let ns = time_ns(&mut || backend.step(&batch))?;
            if k >= 2 {
                samples.push(ns);
            }
        }
        step_us.push(median_us(&mut samples));
    }
    // Decodes of a short and a long range, fitted to base + per 1024.
    let margin = config.decoder_margin().start_sample(HOP);
    let exact = (config.window - config.decoder_margin() - config.decoder_margin())
        .start_sample(HOP)
        .0;
    let (short, long) = (1024u64, exact - exact % 1024);
    let mut decode = |frames: u64| -> Result<u64, BackendError> {
        let mut out = vec![0.0; frames as usize * CHANNELS];
        let request = DecodeRequest {
            latents: latents[0],
            anchor: LatentFrames(0),
            range: margin..margin + SampleFrames(frames),
        };
        let mut samples = Vec::new();
        for k in 0..repeats + 2 {
            let ns = time_ns(&mut || backend.decode(&request, &mut out))?;
            if k >= 2 {
                samples.push(ns);
            }
        }
        Ok(median_us(&mut samples))
    };
    let (t_short, t_long) = (decode(short)?, decode(long)?);
    let per_1024 = t_long.saturating_sub(t_short) * 1024 / (long - short).max(1);
    let base = t_short.saturating_sub(per_1024);
    let mut samples = Vec::new();
    for _ in 0..repeats {
        let t = Instant::now();
        let h = backend.encode(&null)?;
        samples.push(t.elapsed().as_nanos());
        backend.release_conditioning(h)?;
    }
    let conditioning_us = median_us(&mut samples);
    let (prompt_us, prompt_note) = match TextPrompt::new(weights, text_model) {
        Ok(mut encoder) => {
            let mut samples = Vec::new();
            for k in 0..repeats + 2 {
                let t = Instant::now();
                let _ = encoder.encode("a warm pad with slow bells, far away");
                if k >= 2 {
                    samples.push(t.elapsed().as_nanos());
                }
            }
            (
                median_us(&mut samples),
                "all-MiniLM-L6-v2 + projection".to_owned(),
            )
        }
        Err(e) => (0, format!("prompt encode not measured: {e}")),
    };
    let size = config.size;
    Ok(CostProfile {
        name: format!("cpu-{size}"),
        source: format!(
            "measured by `earshot golden profile` on the CPU backend ({} steps, medians of {repeats} calls; decode fitted from {short} and {long} frames; {prompt_note})",
            steps
        ),
        device: device.to_owned(),
        model: size,
        step_us,
        decode_base_us: base,
        decode_per_1024_us: per_1024,
        conditioning_us,
        prompt_encode_us: prompt_us,
        encode_contention_permille: 0,
    })
}

/// A one-line description of this machine's CPU, for the profile.
pub fn cpu_name() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cores} cores, one thread")
}
