//! Deterministic weights for the reference model, generated from a seed.
//!
//! The weights are not trained; they are random where it makes texture and
//! structured where a listener must hear something definite:
//! - knob `i` enters the generator's conditioning vector `c` on dimension
//!   `i` alone, passes the final adaLN shift onto feature `i`, and the final
//!   linear layer copies feature `i` into a *control latent channel*
//!   (`brightness` → 0, `noise` → 1, `density` → the eight voice channels
//!   4..12, `warmth` → 3), so moving a knob moves those latents by about ±1;
//! - the decoder's head maps the control channels to audible features: a
//!   spectral tilt, a noise floor, a low shelf, and eight harmonic voices on
//!   multiples of 93.75 Hz (bins that are multiples of 4, whose phase stays
//!   coherent at STFT hop 512) with fixed phases, so the voices are tones and
//!   the rest is breathy noise;
//! - everything else is Gaussian with variance-preserving scales, and block
//!   gates start at 0.3 instead of adaLN-zero's 0 so the random blocks act.

use super::config::{
    BINS, CHANNELS, DECODER_KERNEL, KNOB_COUNT, LATENT_CHANNELS, ModelConfig, ModelSize, N_FFT,
    SAMPLE_RATE, STFT_PER_LATENT, TEXT_EMBEDDING, head_row,
};
use super::tensors::{TensorSpec, manifest};
use super::weights::ModelWeights;
use earshot_engine::rng::NoiseKey;

/// Noise stream step reserved for weight init, apart from sampler noise.
const INIT_STEP: u32 = u32::MAX;
/// First voice control channel.
pub const VOICE_CHANNEL0: usize = 4;
/// Voice fundamentals as multiples of 93.75 Hz (bin 4 at 48 kHz, N = 2048).
pub const VOICE_MULTIPLES: [usize; 8] = [2, 3, 4, 5, 6, 8, 10, 12];
/// Latent channel that carries each knob; density has none of its own and
/// fans out to every voice channel instead.
pub const KNOB_CHANNELS: [Option<usize>; KNOB_COUNT] = [Some(0), Some(1), None, Some(3)];
/// The knob that sets how strongly the voices sound.
const DENSITY_KNOB: usize = 2;
/// How far the density feature moves every voice channel.
const DENSITY_GAIN: f32 = 0.2;

/// Generates the weights of `size` from `seed`: same seed, same bytes.
pub fn init_weights(size: ModelSize, seed: u64) -> ModelWeights {
    let config = size.config();
    let specs = manifest(&config);
    let data = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| init_tensor(&config, spec, seed, i as u64))
        .collect();
    ModelWeights::from_parts(config, Some(seed), data)
}

fn gaussian(spec: &TensorSpec, seed: u64, index: u64, std: f32) -> Vec<f32> {
    let mut v = vec![0.0; spec.numel()];
    NoiseKey {
        seed,
        slot: index,
        step: INIT_STEP,
    }
    .fill_normal(&mut v);
    v.iter_mut().for_each(|x| *x *= std);
    v
}

fn fan_in(spec: &TensorSpec) -> f32 {
    spec.shape[1..].iter().product::<usize>() as f32
}

/// `silu(silu(2))`: the final shift's input for a knob at its centre.
fn knob_centre() -> f32 {
    let silu = |x: f32| x / (1.0 + (-x).exp());
    silu(silu(2.0))
}

fn init_tensor(c: &ModelConfig, spec: &TensorSpec, seed: u64, index: u64) -> Vec<f32> {
    let d = c.width;
    let name = spec.name.as_str();
    let is_bias = name.ends_with(".bias");
    let zeros = || vec![0.0; spec.numel()];
    let ones = || vec![1.0; spec.numel()];
    let random = |scale: f32| gaussian(spec, seed, index, scale / fan_in(spec).sqrt());
    match name {
        "gen.knob_embed.0.weight" => {
            let mut w = random(0.5);
            for i in 0..KNOB_COUNT {
                w[i * KNOB_COUNT..(i + 1) * KNOB_COUNT].fill(0.0);
                w[i * KNOB_COUNT + i] = 1.0;
            }
            w
        }
        "gen.knob_embed.0.bias" => {
            let mut b = zeros();
            b[..KNOB_COUNT].fill(2.0);
            b
        }
        "gen.knob_embed.2.weight" => {
            // The knob hidden units reach their own dimension of `c` and no
            // other; the random hidden units give knobs a little texture.
            let mut w = random(0.5);
            for (row, r) in w.chunks_exact_mut(d).enumerate() {
                r[..KNOB_COUNT].fill(0.0);
                if row < KNOB_COUNT {
                    r.fill(0.0);
                    r[row] = 1.0;
                }
            }
            w
        }
        // Timestep and pooled conditioning stay off the knob dimensions.
        "gen.t_embed.2.weight" | "gen.pool_proj.weight" => {
            let mut w = random(1.0);
            w[..KNOB_COUNT * d].fill(0.0);
            w
        }
        "gen.final.adaln.weight" => {
            let mut w = random(0.5);
            for (row, r) in w.chunks_exact_mut(d).enumerate() {
                r[..KNOB_COUNT].fill(0.0);
                if row < KNOB_COUNT || (d..d + KNOB_COUNT).contains(&row) {
                    r.fill(0.0);
                }
                if row < KNOB_COUNT {
                    r[row] = 1.0;
                }
            }
            w
        }
        "gen.final.adaln.bias" => {
            let mut b = zeros();
            for i in 0..KNOB_COUNT {
                b[i] = -knob_centre();
                // Scale -1: the random features on knob dimensions vanish.
                b[d + i] = -1.0;
            }
            b
        }
        "gen.final.linear.weight" => final_linear(spec, seed, index, d),
        "gen.final.linear.bias" => {
            let mut b = zeros();
            b[VOICE_CHANNEL0..VOICE_CHANNEL0 + VOICE_MULTIPLES.len()].fill(-0.5);
            b
        }
        "dec.embed.weight" => decoder_embed(spec, seed, index),
        // A text embedding has unit length, not unit variance per element:
        // scale so each conditioning value comes out about unit variance.
        _ if name.starts_with("cond.") && !is_bias => random((TEXT_EMBEDDING as f32).sqrt()),
        "dec.head.weight" => decoder_head_weight(c, spec, seed, index),
        "dec.head.bias" => decoder_head_bias(c, seed, index),
        _ if name.ends_with("gamma") => vec![0.1; spec.numel()],
        _ if name.contains("norm.") && is_bias => zeros(),
        _ if name.contains("norm.") => ones(),
        _ if name.contains(".adaln.bias") => {
            // Order: shift1, scale1, gate1, shift2, scale2, gate2.
            let mut b = zeros();
            b[2 * d..3 * d].fill(0.3);
            b[5 * d..6 * d].fill(0.3);
            b
        }
        _ if is_bias => zeros(),
        // The knob dimensions of `c` steer only the final layer (above).
        _ if name.contains(".adaln.") => {
            let mut w = random(0.5);
            w.chunks_exact_mut(d)
                .for_each(|r| r[..KNOB_COUNT].fill(0.0));
            w
        }
        _ if name.starts_with("dec.blocks.") && name.contains("dwconv") => random(1.0),
        _ => random(1.0),
    }
}

fn final_linear(spec: &TensorSpec, seed: u64, index: u64, d: usize) -> Vec<f32> {
    let mut w = gaussian(spec, seed, index, 1.0 / (d as f32).sqrt());
    let row = |ch: usize| ch * d..(ch + 1) * d;
    for (knob, ch) in KNOB_CHANNELS.iter().enumerate() {
        if let Some(ch) = *ch {
            w[row(ch)].iter_mut().for_each(|x| *x *= 0.1);
            w[ch * d + knob] = 1.0;
        }
    }
    for v in 0..VOICE_MULTIPLES.len() {
        w[(VOICE_CHANNEL0 + v) * d + DENSITY_KNOB] = DENSITY_GAIN;
    }
    w
}

/// Log-magnitude tilt per octave (from 1 kHz) per unit of the brightness feature.
const TILT: f32 = 0.2;
/// Log-magnitude added to noise bins per unit of the noise feature.
const NOISE_GAIN: f32 = 0.7;
/// Log-magnitude added below ~300 Hz per unit of the warmth feature.
const WARMTH_GAIN: f32 = 1.0;
/// Log-magnitude added to a voice's partials per unit of its feature.
const VOICE_GAIN: f32 = 1.0;
/// Log-magnitude of the noise floor at 100 Hz.
const NOISE_FLOOR: f32 = -1.4;
/// Log-magnitude offset of a voice's partials (relative to `ln(20 / h^1.2)`).
const VOICE_LEVEL: f32 = -1.4;

/// Smooths the control channels over seven latent frames (~150 ms) so voices
/// and tilt glide rather than flicker; texture features stay random.
fn decoder_embed(spec: &TensorSpec, seed: u64, index: u64) -> Vec<f32> {
    let mut w = gaussian(spec, seed, index, 1.0 / fan_in(spec).sqrt());
    let k = DECODER_KERNEL;
    let hann: Vec<f32> = (0..k)
        .map(|i| {
            (std::f32::consts::PI * (i + 1) as f32 / (k + 1) as f32)
                .sin()
                .powi(2)
        })
        .collect();
    let sum: f32 = hann.iter().sum();
    for ch in 0..VOICE_CHANNEL0 + VOICE_MULTIPLES.len() {
        // A control feature reads its own latent channel and nothing else,
        // so random texture cannot shift a voice's level.
        w[ch * LATENT_CHANNELS * k..(ch + 1) * LATENT_CHANNELS * k].fill(0.0);
        for (tap, h) in hann.iter().enumerate() {
            w[(ch * LATENT_CHANNELS + ch) * k + tap] += h / sum;
        }
    }
    w
}

fn bin_hz(bin: usize) -> f32 {
    bin as f32 * SAMPLE_RATE as f32 / N_FFT as f32
}

/// Voices sounding at `bin`, with their harmonic number.
fn voices_at(bin: usize) -> impl Iterator<Item = (usize, usize)> {
    VOICE_MULTIPLES
        .iter()
        .enumerate()
        .filter_map(move |(v, &m)| {
            let f0_bin = 4 * m;
            (bin > 0 && bin.is_multiple_of(f0_bin) && bin_hz(bin) < 6_000.0)
                .then_some((v, bin / f0_bin))
        })
}

/// Pan of voice `v` on output channel `ch`, as a log gain.
fn voice_pan(v: usize, ch: usize) -> f32 {
    let p = (v as f32 / (VOICE_MULTIPLES.len() - 1) as f32) * 0.8 + 0.1;
    let g = if ch == 0 { (1.0 - p).sqrt() } else { p.sqrt() };
    (g * std::f32::consts::SQRT_2).ln()
}

fn decoder_head_weight(c: &ModelConfig, spec: &TensorSpec, seed: u64, index: u64) -> Vec<f32> {
    let w = c.decoder_width;
    let mut m = gaussian(spec, seed, index, 1.0 / (w as f32).sqrt());
    for r in 0..STFT_PER_LATENT {
        for ch in 0..CHANNELS {
            for bin in 0..BINS {
                let hz = bin_hz(bin).max(20.0);
                let tonal = bin % 4 == 0;
                let mag = head_row(r, ch, 0, bin) * w;
                let row = &mut m[mag..mag + w];
                row.iter_mut().for_each(|x| *x *= 0.3);
                row[0] += TILT * (hz / 1000.0).log2().clamp(-4.0, 4.0);
                if !tonal {
                    row[1] += NOISE_GAIN;
                }
                row[3] += WARMTH_GAIN / (1.0 + (hz / 300.0).powi(2));
                for (v, _) in voices_at(bin) {
                    row[VOICE_CHANNEL0 + v] += VOICE_GAIN;
                }
                let phase = head_row(r, ch, 1, bin) * w;
                let row = &mut m[phase..phase + w];
                let scale = if tonal { 0.0 } else { 3.0 };
                row.iter_mut().for_each(|x| *x *= scale);
            }
        }
    }
    m
}

fn decoder_head_bias(c: &ModelConfig, seed: u64, index: u64) -> Vec<f32> {
    let spec = TensorSpec {
        name: String::new(),
        shape: vec![c.head_outputs()],
    };
    let phases = gaussian(&spec, seed, index, 1.0);
    let mut b = vec![0.0; c.head_outputs()];
    for r in 0..STFT_PER_LATENT {
        for ch in 0..CHANNELS {
            for bin in 0..BINS {
                let hz = bin_hz(bin).max(20.0);
                let tonal = bin % 4 == 0;
                let mut level = if tonal {
                    -4.0
                } else {
                    // A pink-ish floor, -3 dB per octave above 100 Hz.
                    NOISE_FLOOR - 0.35 * (hz / 100.0).log2().max(0.0)
                };
                let mut amp = 0.0f32;
                for (v, h) in voices_at(bin) {
                    amp += voice_pan(v, ch).exp() * 20.0 / (h as f32).powf(1.2);
                }
                if amp > 0.0 {
                    level = amp.ln() + VOICE_LEVEL;
                }
                b[head_row(r, ch, 0, bin)] = level;
                // Tonal bins keep one phase for both STFT frames and both
                // channels (voices are panned by level, mono-compatible);
                // noise bins get their phase from the weights.
                let phase_source = head_row(0, if tonal { 0 } else { ch }, 1, bin);
                b[head_row(r, ch, 1, bin)] = std::f32::consts::PI * phases[phase_source].tanh();
            }
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let a = init_weights(ModelSize::Tiny, 7);
        let b = init_weights(ModelSize::Tiny, 7);
        let c = init_weights(ModelSize::Tiny, 8);
        for spec in manifest(a.config()) {
            let (ta, tb) = (a.get(&spec.name).unwrap(), b.get(&spec.name).unwrap());
            assert!(
                ta.iter().zip(tb).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{}",
                spec.name
            );
        }
        let qkv = "gen.blocks.0.attn.qkv.weight";
        assert_ne!(a.get(qkv), c.get(qkv));
    }

    #[test]
    fn voices_sit_on_coherent_bins() {
        for bin in 0..BINS {
            if voices_at(bin).next().is_some() {
                assert_eq!(bin % 4, 0, "bin {bin}");
            }
        }
        assert_eq!(voices_at(8).collect::<Vec<_>>(), vec![(0, 1)]);
    }
}
