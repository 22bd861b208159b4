//! The decoder's inverse STFT as the model defines it, shared by every
//! backend: where each frame lies, the window, the magnitude clamp and the
//! overlap-add normalization (see `docs/reference-model.md`).

use super::config::{N_FFT, STFT_HOP};

/// Offset of a frame's first sample before its hop cell.
pub const FRAME_OFFSET: i64 = (N_FFT as i64 - STFT_HOP as i64) / 2;
/// Largest magnitude a bin may take (as in Vocos).
pub const MAX_MAGNITUDE: f32 = 100.0;

/// The periodic Hann window of `N_FFT` samples.
pub fn hann_window() -> Vec<f32> {
    (0..N_FFT)
        .map(|n| 0.5 - 0.5 * (std::f32::consts::TAU * n as f32 / N_FFT as f32).cos())
        .collect()
}

/// The sum of squared `window` values at local sample `s` over the STFT
/// frames `0..frames` of a latent window: what overlap-add divides by.
pub fn envelope(window: &[f32], s: i64, frames: i64) -> f32 {
    let hop = STFT_HOP as i64;
    let first = (s + FRAME_OFFSET - N_FFT as i64 + 1).div_euclid(hop).max(0);
    let last = (s + FRAME_OFFSET).div_euclid(hop).min(frames - 1);
    (first..=last)
        .map(|j| {
            let n = s - (j * hop - FRAME_OFFSET);
            if (0..N_FFT as i64).contains(&n) {
                window[n as usize].powi(2)
            } else {
                0.0
            }
        })
        .sum()
}
