//! The Vocos-style decoder on the CPU: embedding convolution, ConvNeXt
//! blocks over latent frames, a head predicting STFT log-magnitude and
//! phase, and the inverse STFT. A decode computes only the frames its range
//! needs; every per-frame computation is independent of which other frames
//! are computed, so a windowed decode equals the same range of a full one.

use crate::istft::{FRAME_OFFSET, Istft};
use crate::ops::{LN_EPS, Linear, ensure_len, gelu, layer_norm};
use crate::weights::{WeightSource, linear};
use earshot_audio_model::config::{
    BINS, CHANNELS, DECODER_KERNEL, DECODER_MLP_RATIO, LATENT_CHANNELS, ModelConfig, N_FFT,
    STFT_HOP, STFT_PER_LATENT, head_row,
};
use earshot_audio_model::decode_plan::{DecodePlan, HALF_KERNEL as HALF};
use earshot_audio_model::tensors::decoder_block;
use earshot_engine::BackendError;
use std::ops::Range;

/// A layer norm's affine parameters.
#[derive(Debug, Clone)]
struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Norm {
    fn load(w: &WeightSource<'_>, name: &str) -> Result<Self, BackendError> {
        Ok(Self {
            weight: w.tensor(&format!("{name}.weight"))?.to_vec(),
            bias: w.tensor(&format!("{name}.bias"))?.to_vec(),
        })
    }

    fn apply(&self, x: &[f32], out: &mut [f32]) {
        layer_norm(x, out);
        for ((o, w), b) in out.iter_mut().zip(&self.weight).zip(&self.bias) {
            *o = *o * w + b;
        }
    }
}

#[derive(Debug, Clone)]
struct ConvNext {
    dw_weight: Vec<f32>,
    dw_bias: Vec<f32>,
    norm: Norm,
    pw1: Linear,
    pw2: Linear,
    gamma: Vec<f32>,
}

#[derive(Debug, Default)]
struct Workspace {
    im2col: Vec<f32>,
    x: Vec<f32>,
    dw: Vec<f32>,
    normed: Vec<f32>,
    hidden: Vec<f32>,
    y: Vec<f32>,
    head: Vec<f32>,
}

/// The decoder's weights and buffers.
#[derive(Debug)]
pub struct Decoder {
    config: ModelConfig,
    embed: Linear,
    embed_norm: Norm,
    blocks: Vec<ConvNext>,
    final_norm: Norm,
    head: Linear,
    istft: Istft,
    ws: Workspace,
}

impl Decoder {
    /// Packs the decoder's tensors.
    pub fn new(w: &WeightSource<'_>) -> Result<Self, BackendError> {
        let config = *w.config();
        let blocks = (0..config.decoder_blocks)
            .map(|i| {
                Ok(ConvNext {
                    dw_weight: w.tensor(&decoder_block(i, "dwconv.weight"))?.to_vec(),
                    dw_bias: w.tensor(&decoder_block(i, "dwconv.bias"))?.to_vec(),
                    norm: Norm::load(w, &decoder_block(i, "norm"))?,
                    pw1: linear(w, &decoder_block(i, "pwconv1"))?,
                    pw2: linear(w, &decoder_block(i, "pwconv2"))?,
                    gamma: w.tensor(&decoder_block(i, "gamma"))?.to_vec(),
                })
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        Ok(Self {
            config,
            embed: linear(w, "dec.embed")?,
            embed_norm: Norm::load(w, "dec.embed_norm")?,
            blocks,
            final_norm: Norm::load(w, "dec.final_norm")?,
            head: linear(w, "dec.head")?,
            istft: Istft::new(),
            ws: Workspace::default(),
        })
    }

    /// Sizes the buffers for `rows` latent frames of context and
    /// `head_rows` frames through the head; a whole window is the most any
    /// decode needs.
    pub fn reserve(&mut self, rows: usize, head_rows: usize) {
        let cfg = self.config;
        let w = cfg.decoder_width;
        let ws = &mut self.ws;
        let k = LATENT_CHANNELS * DECODER_KERNEL;
        for (v, len) in [
            (&mut ws.im2col, rows * k),
            (&mut ws.x, rows * w),
            (&mut ws.dw, w),
            (&mut ws.normed, rows * w),
            (&mut ws.hidden, rows * DECODER_MLP_RATIO * w),
            (&mut ws.y, rows * w),
            (&mut ws.head, head_rows * cfg.head_outputs()),
        ] {
            ensure_len(v, len);
        }
    }

    /// Sizes the buffers for a decode of a whole window.
    pub fn reserve_window(&mut self) {
        let frames = self.config.window.0 as usize;
        self.reserve(frames, frames);
    }

    /// Renders local samples `range` (relative to the window's first sample)
    /// of the latent `window` (`[frames, C]`) as interleaved stereo.
    pub fn decode(&mut self, window: &[f32], range: Range<i64>, out: &mut [f32]) {
        let cfg = self.config;
        let (w, t_len) = (cfg.decoder_width, cfg.window.0 as i64);
        let hop = STFT_HOP as i64;
        let stft_frames = t_len * STFT_PER_LATENT as i64;
        let per = STFT_PER_LATENT as i64;
        let plan = DecodePlan::new(&range, t_len, self.blocks.len());
        let DecodePlan {
            j_lo,
            j_hi,
            f_lo,
            f_hi,
            g0,
            g1,
        } = plan;
        let rows = plan.rows();
        self.reserve(rows, plan.head_rows());
        let ws = &mut self.ws;
        let k = LATENT_CHANNELS * DECODER_KERNEL;

        // Embedding convolution as one product; taps outside the window are zero.
        for (r, col) in ws.im2col[..rows * k].chunks_exact_mut(k).enumerate() {
            let f = g0 + r as i64;
            for c in 0..LATENT_CHANNELS {
                for tap in 0..DECODER_KERNEL {
                    let src = f + tap as i64 - HALF as i64;
                    col[c * DECODER_KERNEL + tap] = if (0..t_len).contains(&src) {
                        window[src as usize * LATENT_CHANNELS + c]
                    } else {
                        0.0
                    };
                }
            }
        }
        self.embed.forward(&ws.im2col, rows, &mut ws.normed);
        for r in 0..rows {
            self.embed_norm
                .apply(&ws.normed[r * w..][..w], &mut ws.x[r * w..][..w]);
        }

        // Each block's valid frames shrink by the kernel's half width, except
        // at the window's own edges where zero padding is the truth.
        let (mut lo, mut hi) = (g0, g1);
        for blk in &self.blocks {
            let nlo = if lo == 0 { 0 } else { lo + HALF as i64 };
            let nhi = if hi == t_len { t_len } else { hi - HALF as i64 };
            for f in nlo..nhi {
                let r = (f - g0) as usize;
                ws.dw[..w].copy_from_slice(&blk.dw_bias);
                for tap in 0..DECODER_KERNEL {
                    let src = f + tap as i64 - HALF as i64;
                    if !(0..t_len).contains(&src) {
                        continue;
                    }
                    let xs = &ws.x[(src - g0) as usize * w..][..w];
                    let taps = blk.dw_weight.chunks_exact(DECODER_KERNEL);
                    for ((acc, wt), x) in ws.dw[..w].iter_mut().zip(taps).zip(xs) {
                        *acc += wt[tap] * x;
                    }
                }
                blk.norm.apply(&ws.dw[..w], &mut ws.normed[r * w..][..w]);
            }
            // The residual update waits until every frame's convolution has
            // read the block's input.
            let (first, m) = ((nlo - g0) as usize, (nhi - nlo) as usize);
            blk.pw1.forward(&ws.normed[first * w..], m, &mut ws.hidden);
            ws.hidden[..m * DECODER_MLP_RATIO * w]
                .iter_mut()
                .for_each(|v| *v = gelu(*v));
            blk.pw2.forward(&ws.hidden, m, &mut ws.y);
            for (xr, yr) in ws.x[first * w..][..m * w]
                .chunks_exact_mut(w)
                .zip(ws.y.chunks_exact(w))
            {
                for ((x, y), g) in xr.iter_mut().zip(yr).zip(&blk.gamma) {
                    *x += g * y;
                }
            }
            (lo, hi) = (nlo, nhi);
        }
        debug_assert!(lo <= f_lo && f_hi < hi);

        let head_rows = plan.head_rows();
        for i in 0..head_rows {
            let r = (f_lo - g0) as usize + i;
            self.final_norm
                .apply(&ws.x[r * w..][..w], &mut ws.normed[i * w..][..w]);
        }
        self.head.forward(&ws.normed, head_rows, &mut ws.head);

        let len = (range.end - range.start) as usize;
        out[..len * CHANNELS].fill(0.0);
        let per_frame = cfg.head_outputs();
        for j in j_lo..=j_hi {
            let (f, r) = ((j / per - f_lo) as usize, (j % per) as usize);
            let row = &ws.head[f * per_frame..][..per_frame];
            let start = j * hop - FRAME_OFFSET;
            let n0 = (range.start - start).max(0);
            let n1 = (range.end - start).min(N_FFT as i64);
            for ch in 0..CHANNELS {
                let lm = &row[head_row(r, ch, 0, 0)..][..BINS];
                let ph = &row[head_row(r, ch, 1, 0)..][..BINS];
                let frame = self.istft.frame(lm, ph);
                for n in n0..n1 {
                    let s = (start + n - range.start) as usize;
                    out[s * CHANNELS + ch] += frame[n as usize];
                }
            }
        }
        for (i, frame) in out[..len * CHANNELS].chunks_exact_mut(CHANNELS).enumerate() {
            let env = self
                .istft
                .envelope(range.start + i as i64, stft_frames)
                .max(LN_EPS);
            frame.iter_mut().for_each(|v| *v /= env);
        }
    }
}
