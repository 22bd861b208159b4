//! Inverse STFT with overlap-add: the decoder's last stage.
//!
//! STFT frame `j` of a window (two per latent frame) spans local samples
//! `[512 j − 768, 512 j + 1280)`, so it is centred on its own 512-sample hop
//! cell. Each frame is `irfft` of `mag · e^{i·phase}` (the DC and Nyquist bins
//! keep only their real part), scaled by `1 / N`, multiplied by a periodic
//! Hann window and added in; every sample is then divided by the sum of the
//! squared windows of the frames that exist in the window, so the gain is
//! the same at the window's edges as in its middle.

use earshot_audio_model::config::{BINS, N_FFT};
use earshot_audio_model::stft;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner};
use std::sync::Arc;

pub use stft::{FRAME_OFFSET, MAX_MAGNITUDE};

/// A reusable inverse FFT with its buffers.
pub struct Istft {
    fft: Arc<dyn ComplexToReal<f32>>,
    spectrum: Vec<Complex<f32>>,
    frame: Vec<f32>,
    scratch: Vec<Complex<f32>>,
    window: Vec<f32>,
}

impl std::fmt::Debug for Istft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Istft").field("n_fft", &N_FFT).finish()
    }
}

impl Default for Istft {
    fn default() -> Self {
        Self::new()
    }
}

impl Istft {
    /// Plans the transform and allocates every buffer it will use.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_inverse(N_FFT);
        let scratch = fft.make_scratch_vec();
        let window = stft::hann_window();
        Self {
            fft,
            spectrum: vec![Complex::default(); BINS],
            frame: vec![0.0; N_FFT],
            scratch,
            window,
        }
    }

    /// The windowed time signal of one frame from its log-magnitudes and
    /// phases; valid until the next call.
    pub fn frame(&mut self, log_mag: &[f32], phase: &[f32]) -> &[f32] {
        for ((s, &lm), &p) in self.spectrum.iter_mut().zip(log_mag).zip(phase) {
            let mag = lm.exp().min(MAX_MAGNITUDE);
            let (sin, cos) = p.sin_cos();
            *s = Complex::new(mag * cos, mag * sin);
        }
        self.spectrum[0].im = 0.0;
        self.spectrum[BINS - 1].im = 0.0;
        // The imaginary parts that must be zero were just zeroed, so the
        // transform cannot fail; a failure would only mean a planning bug.
        let ok = self
            .fft
            .process_with_scratch(&mut self.spectrum, &mut self.frame, &mut self.scratch)
            .is_ok();
        debug_assert!(ok);
        let scale = 1.0 / N_FFT as f32;
        for (x, w) in self.frame.iter_mut().zip(&self.window) {
            *x *= w * scale;
        }
        &self.frame
    }

    /// The sum of squared windows at local sample `s` over the frames
    /// `0..frames` of a window.
    pub fn envelope(&self, s: i64, frames: i64) -> f32 {
        stft::envelope(&self.window, s, frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interior_envelope_is_constant() {
        let istft = Istft::new();
        for s in 4096..4096 + 1024 {
            assert!((istft.envelope(s, 64) - 1.5).abs() < 1e-4, "at {s}");
        }
        assert!(istft.envelope(0, 64) > 0.1, "edges stay covered");
    }

    #[test]
    fn a_coherent_bin_becomes_a_sinusoid() {
        let mut istft = Istft::new();
        let mut lm = vec![-30.0; BINS];
        lm[40] = 3.0;
        let ph = vec![0.0; BINS];
        let frame = istft.frame(&lm, &ph).to_vec();
        let peak = frame.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let expected = 2.0 * 3f32.exp() / N_FFT as f32;
        assert!(
            (peak - expected).abs() / expected < 0.05,
            "{peak} vs {expected}"
        );
    }
}
