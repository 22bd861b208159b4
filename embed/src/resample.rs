//! The model's 48 kHz to the host's rate, on the audio thread: a
//! band-limited sinc resampler (rubato) that produces fixed chunks into a
//! small FIFO, so any host block size is served without allocating.

use crate::error::EmbedError;
use earshot_audio_model::config::{CHANNELS, SAMPLE_RATE};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler, SincInterpolationParameters, WindowFunction};

/// Host frames the resampler makes per call: small, so the FIFO adds
/// little delay, large enough that each call's overhead is amortized.
const CHUNK: usize = 64;
/// Taps of the sinc: ~-100 dB stop band with the window below.
const SINC_LEN: usize = 128;

/// Resamples the model's stereo output to the host's rate.
pub(crate) struct HostResampler {
    resampler: Async<f32>,
    /// Model-rate input of one call, interleaved.
    input: Box<[f32]>,
    /// Host-rate output of the last call, interleaved.
    chunk: Box<[f32]>,
    /// Frames of `chunk` already handed out.
    read: usize,
    /// Frames in `chunk`.
    filled: usize,
}

impl std::fmt::Debug for HostResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostResampler")
            .field("ratio", &self.resampler.resample_ratio())
            .finish_non_exhaustive()
    }
}

impl HostResampler {
    /// A resampler from the model's rate to `host_rate`.
    pub(crate) fn new(host_rate: u32) -> Result<Self, EmbedError> {
        let params = SincInterpolationParameters::new(SINC_LEN, WindowFunction::BlackmanHarris2);
        let ratio = f64::from(host_rate) / f64::from(SAMPLE_RATE);
        let resampler =
            Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK, CHANNELS, FixedAsync::Output)
                .map_err(|e| EmbedError::Resampler {
                    rate: host_rate,
                    reason: e.to_string(),
                })?;
        let input = vec![0.0; resampler.input_frames_max() * CHANNELS].into_boxed_slice();
        Ok(Self {
            resampler,
            input,
            chunk: vec![0.0; CHUNK * CHANNELS].into_boxed_slice(),
            read: 0,
            filled: 0,
        })
    }

    /// The resampler's delay in host frames: how much later a sound comes
    /// out than it would without resampling.
    pub(crate) fn delay(&self) -> usize {
        self.resampler.output_delay()
    }

    /// Fills `out` (interleaved stereo at the host's rate), pulling
    /// model-rate frames from `source` (which fills an interleaved stereo
    /// slice) whenever the FIFO runs dry.
    pub(crate) fn fill(&mut self, out: &mut [f32], mut source: impl FnMut(&mut [f32])) {
        let mut done = 0;
        let frames = out.len() / CHANNELS;
        while done < frames {
            if self.read == self.filled {
                self.refill(&mut source);
            }
            let n = (self.filled - self.read).min(frames - done);
            out[done * CHANNELS..(done + n) * CHANNELS]
                .copy_from_slice(&self.chunk[self.read * CHANNELS..(self.read + n) * CHANNELS]);
            self.read += n;
            done += n;
        }
    }

    fn refill(&mut self, source: &mut impl FnMut(&mut [f32])) {
        let need = self.resampler.input_frames_next();
        let input = &mut self.input[..need * CHANNELS];
        source(input);
        let made = match (
            InterleavedSlice::new(&*input, CHANNELS, need),
            InterleavedSlice::new_mut(&mut self.chunk[..], CHANNELS, CHUNK),
        ) {
            (Ok(i), Ok(mut o)) => self
                .resampler
                .process_into_buffer(&i, &mut o, None)
                .map_or(0, |(_, made)| made),
            _ => 0,
        };
        // Sizes are fixed at construction, so neither fails; if one did,
        // a chunk of silence keeps the block's timing.
        if made == 0 {
            self.chunk.fill(0.0);
        }
        self.filled = if made == 0 { CHUNK } else { made };
        self.read = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 kHz sine at 48 kHz through the resampler to 44.1 kHz is a
    /// 1 kHz sine at 44.1 kHz (after the delay), whatever the block sizes.
    #[test]
    fn a_sine_keeps_its_pitch_and_level_at_any_block_size() {
        let mut r = HostResampler::new(44_100).unwrap();
        let mut phase = 0u64;
        let mut out = Vec::new();
        for block in [1usize, 7, 64, 512, 333, 4096, 2].iter().cycle().take(40) {
            let mut buf = vec![0.0f32; block * CHANNELS];
            r.fill(&mut buf, |input| {
                for frame in input.chunks_exact_mut(CHANNELS) {
                    let t = phase as f64 / 48_000.0;
                    let v = (2.0 * std::f64::consts::PI * 1000.0 * t).sin() as f32 * 0.5;
                    frame.fill(v);
                    phase += 1;
                }
            });
            out.extend(buf.chunks_exact(CHANNELS).map(|f| f[0]));
        }
        let skip = r.delay() + 256;
        let body = &out[skip..];
        assert!(body.len() > 10_000);
        // Least-squares fit of a 1 kHz sine at the host rate: its
        // amplitude is the input's, and it explains all but a trace.
        let w = 2.0 * std::f64::consts::PI * 1000.0 / 44_100.0;
        let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, &v) in body.iter().enumerate() {
            let (s, c) = (w * i as f64).sin_cos();
            let v = f64::from(v);
            (ss, sc, cc, ys, yc) = (ss + s * s, sc + s * c, cc + c * c, ys + v * s, yc + v * c);
        }
        let det = ss * cc - sc * sc;
        let a = (ys * cc - yc * sc) / det;
        let b = (yc * ss - ys * sc) / det;
        let amplitude = (a * a + b * b).sqrt();
        let residual = body
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let (s, c) = (w * i as f64).sin_cos();
                (f64::from(v) - a * s - b * c).powi(2)
            })
            .sum::<f64>()
            / body.len() as f64;
        assert!((amplitude - 0.5).abs() < 0.005, "amplitude {amplitude}");
        assert!(residual.sqrt() < 1e-3, "rms residual {}", residual.sqrt());
    }
}
