//! Calibration of generated weights: the random part of the generator's
//! output layer gives each latent channel a seed-dependent offset and
//! spread, which the decoder turns into tens of decibels of level
//! difference between seeds. One short run of the reference backend
//! measures every non-control channel of a produce and rescales its row of
//! `gen.final.linear` (leaving the structured knob entries alone) so its
//! mean and spread over the window take their designed values. Same seed,
//! same result: the run is deterministic.

use crate::CpuBackend;
use earshot_audio_model::ModelWeights;
use earshot_audio_model::config::{KNOB_COUNT, LATENT_CHANNELS};
use earshot_audio_model::init::{KNOB_CHANNELS, VOICE_CHANNEL0, VOICE_MULTIPLES};
use earshot_engine::backend::prelude::*;
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::knobs::KnobState;
use earshot_engine::stream::{Stream, StreamConfig, StreamError, TickInputs};
use earshot_engine::{BackendError, Epochs, LatentFrames};

/// Noise seed of the calibration runs.
const CALIBRATION_SEED: u64 = 0x00ca_11b0;
/// Passes of measure-and-correct (the output feeds back through the steps).
const PASSES: usize = 12;
/// Share of the measured error corrected per pass; less than one because a
/// bias change moves the trajectory it is measured on.
const DAMPING: f32 = 0.5;
/// Designed mean and spread of a voice channel at default knobs.
pub const VOICE_TARGET: (f32, f32) = (-0.5, 0.8);
/// Designed mean and spread of every other non-control channel.
pub const TEXTURE_TARGET: (f32, f32) = (0.0, 1.0);

fn target(channel: usize) -> Option<(f32, f32)> {
    if KNOB_CHANNELS.contains(&Some(channel)) {
        None
    } else if (VOICE_CHANNEL0..VOICE_CHANNEL0 + VOICE_MULTIPLES.len()).contains(&channel) {
        Some(VOICE_TARGET)
    } else {
        Some(TEXTURE_TARGET)
    }
}

/// Per-channel mean and standard deviation over the frames of one produce
/// at default knobs and null conditioning.
pub fn measure(weights: &ModelWeights) -> Result<Vec<(f32, f32)>, BackendError> {
    let mut backend = CpuBackend::new(weights)?;
    let config = StreamConfig {
        seed: CALIBRATION_SEED,
        ..StreamConfig::default()
    };
    let mut stream = Stream::new(config, &mut backend).map_err(backend_error)?;
    let conditioning =
        backend.encode(&ConditioningInput::null(backend.description().conditioning))?;
    let knobs = KnobState::new(earshot_audio_model::knobs::knobs(), config.steps as usize);
    let produce = loop {
        let inputs = TickInputs {
            knobs: &knobs,
            conditioning,
            epochs: Epochs::default(),
            admit: (stream.next_serial() == 0).then_some(LatentFrames(0)),
        };
        stream.tick(&mut backend, &inputs).map_err(backend_error)?;
        if let Some(p) = stream.take_produce() {
            break p;
        }
    };
    let mut x = vec![0.0; weights.config().window_len()];
    backend.read_latents(produce.latents, &mut x)?;
    let frames = x.len() / LATENT_CHANNELS;
    Ok((0..LATENT_CHANNELS)
        .map(|c| {
            let mean = (0..frames).map(|f| x[f * LATENT_CHANNELS + c]).sum::<f32>() / frames as f32;
            let var = (0..frames)
                .map(|f| (x[f * LATENT_CHANNELS + c] - mean).powi(2))
                .sum::<f32>()
                / frames as f32;
            (mean, var.sqrt())
        })
        .collect())
}

/// Rescales the output rows of freshly generated weights (see the module
/// docs). Returns the measured statistics of the last pass.
pub fn calibrate(weights: &mut ModelWeights) -> Result<Vec<(f32, f32)>, BackendError> {
    let d = weights.config().width;
    for _ in 0..PASSES {
        let stats = measure(weights)?;
        let lookup = |name: &str| {
            weights
                .get(name)
                .map(<[f32]>::to_vec)
                .ok_or_else(|| BackendError::Weights {
                    detail: format!("no tensor `{name}`"),
                })
        };
        let mut w = lookup("gen.final.linear.weight")?;
        let mut b = lookup("gen.final.linear.bias")?;
        for (c, &(mean, std)) in stats.iter().enumerate() {
            let Some((want_mean, want_std)) = target(c) else {
                continue;
            };
            let gain = (want_std / std.max(1e-3)).clamp(0.5, 2.0).powf(DAMPING);
            let row = &mut w[c * d..(c + 1) * d];
            // The knob entries are structure, not noise: keep them as they are.
            for (j, v) in row.iter_mut().enumerate() {
                if j >= KNOB_COUNT {
                    *v *= gain;
                }
            }
            b[c] += DAMPING * (want_mean - mean);
        }
        weights.set("gen.final.linear.weight", w);
        weights.set("gen.final.linear.bias", b);
    }
    measure(weights)
}

/// A stream error of the calibration run as the backend's: the backend's
/// own, or the calibration's request the stream refused.
fn backend_error(e: StreamError) -> BackendError {
    match e {
        StreamError::Backend(e) => e,
        other => BackendError::InvalidRequest {
            detail: format!("calibration run: {other}"),
        },
    }
}
