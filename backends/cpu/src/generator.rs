//! The DiT generator on the CPU: one batched forward over every slot of a
//! tick, then the sampler update, all in reused buffers.

use crate::ops::{Linear, ensure_len, gelu, layer_norm, silu};
use crate::weights::{WeightSource, linear};
use earshot_audio_model::config::{
    COND_TOKENS, KNOB_COUNT, LATENT_CHANNELS, ModelConfig, TIME_FREQ_DIM,
};
use earshot_audio_model::tensors::block;

/// One transformer block's layers.
#[derive(Debug, Clone)]
struct Block {
    adaln: Linear,
    qkv: Linear,
    out: Linear,
    fc1: Linear,
    fc2: Linear,
}

/// What `encode` precomputes from a conditioning: per-block keys and values
/// of the conditioning tokens, and the pooled projection.
#[derive(Debug, Clone, Default)]
pub struct EncodedConditioning {
    /// Per block, `[COND_TOKENS, 2 * width]`: each token's key then its value.
    pub kv: Vec<Vec<f32>>,
    /// `[width]`: `pool_proj(pooled)`.
    pub pooled: Vec<f32>,
}

/// Reused activations of one forward.
#[derive(Debug, Default)]
struct Workspace {
    h: Vec<f32>,
    a: Vec<f32>,
    qkv: Vec<f32>,
    attn: Vec<f32>,
    proj: Vec<f32>,
    hidden: Vec<f32>,
    x0: Vec<f32>,
    c: Vec<f32>,
    c_tmp: Vec<f32>,
    c_tmp2: Vec<f32>,
    mods: Vec<f32>,
    scores: Vec<f32>,
    norm: Vec<f32>,
}

/// Per-slot inputs of a forward, gathered by the backend into reused buffers.
pub struct SlotInputs<'a, F: Fn(usize) -> &'a EncodedConditioning> {
    /// The timestep of every slot.
    pub t: &'a [f32],
    /// Normalized knob rows, `KNOB_COUNT` per slot.
    pub knobs: &'a [f32],
    /// The encoded conditioning of slot `i`.
    pub conditioning: F,
}

/// The generator's weights, packed for the CPU.
#[derive(Debug)]
pub struct Generator {
    config: ModelConfig,
    x_embed: Linear,
    t_embed0: Linear,
    t_embed2: Linear,
    pool_proj: Linear,
    knob0: Linear,
    knob2: Linear,
    blocks: Vec<Block>,
    final_adaln: Linear,
    final_linear: Linear,
    pos: Vec<f32>,
    ws: Workspace,
}

/// Fixed sinusoidal features: `[cos(x f_i), sin(x f_i)]`, `f_i = 10000^(-i / half)`.
fn sinusoid(x: f32, dim: usize, out: &mut [f32]) {
    let half = dim / 2;
    for i in 0..half {
        let freq = (-(10_000f32.ln()) * i as f32 / half as f32).exp();
        let arg = x * freq;
        out[i] = arg.cos();
        out[half + i] = arg.sin();
    }
}

impl Generator {
    /// Packs the generator's tensors.
    pub fn new(w: &WeightSource<'_>) -> Result<Self, earshot_engine::BackendError> {
        let config = *w.config();
        let blocks = (0..config.depth)
            .map(|i| {
                Ok(Block {
                    adaln: linear(w, &block(i, "adaln"))?,
                    qkv: linear(w, &block(i, "attn.qkv"))?,
                    out: linear(w, &block(i, "attn.out"))?,
                    fc1: linear(w, &block(i, "mlp.fc1"))?,
                    fc2: linear(w, &block(i, "mlp.fc2"))?,
                })
            })
            .collect::<Result<Vec<_>, earshot_engine::BackendError>>()?;
        let d = config.width;
        let frames = config.window.0 as usize;
        let mut pos = vec![0.0; frames * d];
        for (f, row) in pos.chunks_exact_mut(d).enumerate() {
            sinusoid(f as f32, d, row);
        }
        Ok(Self {
            config,
            x_embed: linear(w, "gen.x_embed")?,
            t_embed0: linear(w, "gen.t_embed.0")?,
            t_embed2: linear(w, "gen.t_embed.2")?,
            pool_proj: linear(w, "gen.pool_proj")?,
            knob0: linear(w, "gen.knob_embed.0")?,
            knob2: linear(w, "gen.knob_embed.2")?,
            blocks,
            final_adaln: linear(w, "gen.final.adaln")?,
            final_linear: linear(w, "gen.final.linear")?,
            pos,
            ws: Workspace::default(),
        })
    }

    /// Precomputes the per-block keys and values of the conditioning tokens
    /// and the pooled projection.
    pub fn encode(&self, tokens: &[f32], pooled: &[f32], out: &mut EncodedConditioning) {
        let d = self.config.width;
        out.kv.resize_with(self.blocks.len(), Vec::new);
        let mut qkv = vec![0.0; COND_TOKENS * 3 * d];
        for (blk, kv) in self.blocks.iter().zip(&mut out.kv) {
            blk.qkv.forward(tokens, COND_TOKENS, &mut qkv);
            kv.clear();
            for row in qkv.chunks_exact(3 * d) {
                kv.extend_from_slice(&row[d..]);
            }
        }
        out.pooled.resize(d, 0.0);
        self.pool_proj.forward(pooled, 1, &mut out.pooled);
    }

    /// Sizes the activations for batches of up to `s` slots.
    pub fn reserve(&mut self, s: usize) {
        let (d, t_len) = (self.config.width, self.config.window.0 as usize);
        let rows = s * t_len;
        let ws = &mut self.ws;
        for (v, len) in [
            (&mut ws.h, rows * d),
            (&mut ws.a, rows * d),
            (&mut ws.qkv, rows * 3 * d),
            (&mut ws.attn, rows * d),
            (&mut ws.proj, rows * d),
            (&mut ws.hidden, rows * 4 * d),
            (&mut ws.x0, rows * LATENT_CHANNELS),
            (&mut ws.c, s * d),
            (&mut ws.c_tmp, s * TIME_FREQ_DIM.max(d)),
            (&mut ws.c_tmp2, s * d),
            (&mut ws.mods, s * 6 * d),
            (&mut ws.scores, COND_TOKENS + t_len),
            (&mut ws.norm, d),
        ] {
            ensure_len(v, len);
        }
    }

    /// Predicts the clean latents `x̂0 [slots × window × C]` for the noisy
    /// `x` of every slot; returns the prediction (valid until the next call).
    pub fn forward<'a, F>(&mut self, x: &[f32], slots: &SlotInputs<'a, F>) -> &[f32]
    where
        F: Fn(usize) -> &'a EncodedConditioning,
    {
        let cfg = self.config;
        let (d, t_len, s) = (cfg.width, cfg.window.0 as usize, slots.t.len());
        let rows = s * t_len;
        let dims = Dims {
            d,
            frames: t_len,
            slots: s,
        };
        self.reserve(s);
        let ws = &mut self.ws;

        // c = t_mlp(t) + pool_proj(pooled) + knob_mlp(k), then silu(c) once.
        for (i, &t) in slots.t.iter().enumerate() {
            sinusoid(
                t * 1000.0,
                TIME_FREQ_DIM,
                &mut ws.c_tmp[i * TIME_FREQ_DIM..][..TIME_FREQ_DIM],
            );
        }
        self.t_embed0.forward(&ws.c_tmp, s, &mut ws.c_tmp2);
        ws.c_tmp2[..s * d].iter_mut().for_each(|v| *v = silu(*v));
        self.t_embed2.forward(&ws.c_tmp2, s, &mut ws.c);
        ws.c_tmp[..s * KNOB_COUNT].copy_from_slice(&slots.knobs[..s * KNOB_COUNT]);
        self.knob0.forward(&ws.c_tmp, s, &mut ws.c_tmp2);
        ws.c_tmp2[..s * d].iter_mut().for_each(|v| *v = silu(*v));
        self.knob2.weight.matmul_acc(&ws.c_tmp2, s, &mut ws.c);
        for i in 0..s {
            let c = &mut ws.c[i * d..][..d];
            let pooled = &(slots.conditioning)(i).pooled;
            for ((cv, kb), pv) in c.iter_mut().zip(&self.knob2.bias).zip(pooled) {
                *cv = silu(*cv + kb + pv);
            }
        }

        self.x_embed.forward(x, rows, &mut ws.h);
        for (r, row) in ws.h[..rows * d].chunks_exact_mut(d).enumerate() {
            let p = &self.pos[(r % t_len) * d..][..d];
            row.iter_mut().zip(p).for_each(|(h, p)| *h += p);
        }

        for (bi, blk) in self.blocks.iter().enumerate() {
            blk.adaln.forward(&ws.c, s, &mut ws.mods);
            modulate(&ws.h, &ws.mods, 6, 0, dims, &mut ws.a, &mut ws.norm);
            blk.qkv.forward(&ws.a, rows, &mut ws.qkv);
            for si in 0..s {
                attention(
                    &cfg,
                    &ws.qkv[si * t_len * 3 * d..][..t_len * 3 * d],
                    &(slots.conditioning)(si).kv[bi],
                    &mut ws.attn[si * t_len * d..][..t_len * d],
                    &mut ws.scores,
                );
            }
            blk.out.forward(&ws.attn, rows, &mut ws.proj);
            gated_residual(&mut ws.h, &ws.proj, &ws.mods, dims, 2);
            modulate(&ws.h, &ws.mods, 6, 3, dims, &mut ws.a, &mut ws.norm);
            blk.fc1.forward(&ws.a, rows, &mut ws.hidden);
            ws.hidden[..rows * 4 * d]
                .iter_mut()
                .for_each(|v| *v = gelu(*v));
            blk.fc2.forward(&ws.hidden, rows, &mut ws.proj);
            gated_residual(&mut ws.h, &ws.proj, &ws.mods, dims, 5);
        }

        // Final layer: shift, scale from silu(c); the mods buffer is reused.
        self.final_adaln.forward(&ws.c, s, &mut ws.mods);
        modulate(&ws.h, &ws.mods, 2, 0, dims, &mut ws.a, &mut ws.norm);
        self.final_linear.forward(&ws.a, rows, &mut ws.x0);
        &ws.x0[..rows * LATENT_CHANNELS]
    }
}

/// Rows of a batched forward: `slots` slots of `frames` tokens of width `d`.
#[derive(Debug, Clone, Copy)]
struct Dims {
    d: usize,
    frames: usize,
    slots: usize,
}

/// `a = LN(h) * (1 + scale) + shift` per slot, with shift and scale at
/// chunks `first` and `first + 1` of each slot's modulation row of
/// `row_chunks * d` values.
fn modulate(
    h: &[f32],
    mods: &[f32],
    row_chunks: usize,
    first: usize,
    dims: Dims,
    a: &mut [f32],
    norm: &mut [f32],
) {
    let d = dims.d;
    for si in 0..dims.slots {
        let m = &mods[si * row_chunks * d..][..row_chunks * d];
        let shift = &m[first * d..][..d];
        let scale = &m[(first + 1) * d..][..d];
        for r in si * dims.frames..(si + 1) * dims.frames {
            layer_norm(&h[r * d..][..d], &mut norm[..d]);
            for (((o, n), sc), sh) in a[r * d..][..d]
                .iter_mut()
                .zip(&norm[..d])
                .zip(scale)
                .zip(shift)
            {
                *o = n * (1.0 + sc) + sh;
            }
        }
    }
}

/// `h += gate * y` with the gate at chunk `chunk` of each slot's `[6 * d]`
/// modulation row.
fn gated_residual(h: &mut [f32], y: &[f32], mods: &[f32], dims: Dims, chunk: usize) {
    let d = dims.d;
    for si in 0..dims.slots {
        let gate = &mods[si * 6 * d + chunk * d..][..d];
        for r in si * dims.frames..(si + 1) * dims.frames {
            for ((hv, yv), g) in h[r * d..][..d].iter_mut().zip(&y[r * d..][..d]).zip(gate) {
                *hv += g * yv;
            }
        }
    }
}

/// Multi-head attention of one slot: queries from its latent tokens, keys
/// and values from the conditioning tokens followed by its latent tokens.
fn attention(cfg: &ModelConfig, qkv: &[f32], cond_kv: &[f32], out: &mut [f32], scores: &mut [f32]) {
    let d = cfg.width;
    let dh = cfg.head_dim();
    let t_len = cfg.window.0 as usize;
    let keys = COND_TOKENS + t_len;
    let scale = 1.0 / (dh as f32).sqrt();
    let key = |j: usize, h: usize| -> &[f32] {
        if j < COND_TOKENS {
            &cond_kv[j * 2 * d + h * dh..][..dh]
        } else {
            &qkv[(j - COND_TOKENS) * 3 * d + d + h * dh..][..dh]
        }
    };
    let value = |j: usize, h: usize| -> &[f32] {
        if j < COND_TOKENS {
            &cond_kv[j * 2 * d + d + h * dh..][..dh]
        } else {
            &qkv[(j - COND_TOKENS) * 3 * d + 2 * d + h * dh..][..dh]
        }
    };
    for h in 0..cfg.heads {
        for i in 0..t_len {
            let q = &qkv[i * 3 * d + h * dh..][..dh];
            let mut max = f32::NEG_INFINITY;
            for (j, sc) in scores[..keys].iter_mut().enumerate() {
                *sc = dot(q, key(j, h)) * scale;
                max = max.max(*sc);
            }
            let mut sum = 0.0;
            for sc in &mut scores[..keys] {
                *sc = (*sc - max).exp();
                sum += *sc;
            }
            let o = &mut out[i * d + h * dh..][..dh];
            o.fill(0.0);
            for (j, &p) in scores[..keys].iter().enumerate() {
                let w = p / sum;
                for (ov, vv) in o.iter_mut().zip(value(j, h)) {
                    *ov += w * vv;
                }
            }
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = a.len() / 8;
    for c in 0..chunks {
        for l in 0..8 {
            acc[l] += a[c * 8 + l] * b[c * 8 + l];
        }
    }
    let mut sum = acc.iter().sum::<f32>();
    for i in chunks * 8..a.len() {
        sum += a[i] * b[i];
    }
    sum
}
