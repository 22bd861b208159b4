//! The BERT encoder of all-MiniLM-L6-v2 on the CPU: embeddings, six
//! transformer layers (post-norm, 12 heads, exact GELU), in f32 with the
//! packed GEMM of the CPU backend.

use crate::TextEncoderError;
use earshot_cpu::gemm::PackedMatrix;
use earshot_cpu::ops::{Linear, ensure_len};
use safetensors::{Dtype, SafeTensors};

/// Hidden width.
pub const HIDDEN: usize = 384;
/// Attention heads.
pub const HEADS: usize = 12;
/// Transformer layers.
pub const LAYERS: usize = 6;
/// MLP width.
pub const INTERMEDIATE: usize = 1536;
/// Positions the model knows.
pub const MAX_POSITIONS: usize = 512;
/// Vocabulary size.
pub const VOCAB: usize = 30522;
/// BERT's layer-norm epsilon.
const LN_EPS: f32 = 1e-12;

/// A layer norm with its affine parameters.
#[derive(Debug)]
struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Norm {
    fn apply(&self, x: &mut [f32]) {
        let n = x.len() as f32;
        let mean = x.iter().sum::<f32>() / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + LN_EPS).sqrt();
        for ((v, w), b) in x.iter_mut().zip(&self.weight).zip(&self.bias) {
            *v = (*v - mean) * inv * w + b;
        }
    }
}

#[derive(Debug)]
struct Layer {
    qkv: Linear,
    out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

/// Reused activations.
#[derive(Debug, Default)]
struct Workspace {
    h: Vec<f32>,
    qkv: Vec<f32>,
    context: Vec<f32>,
    projected: Vec<f32>,
    mlp: Vec<f32>,
    scores: Vec<f32>,
}

/// The encoder's weights, packed.
#[derive(Debug)]
pub struct Bert {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    ws: Workspace,
}

struct Source<'a>(SafeTensors<'a>);

impl Source<'_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, TextEncoderError> {
        let bad = |message: String| TextEncoderError::Weights {
            name: name.to_owned(),
            message,
        };
        let view = self
            .0
            .tensor(name)
            .map_err(|_| bad(format!("missing (expected F32 {shape:?})")))?;
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("dtype {:?}, expected F32", view.dtype())));
        }
        if view.shape() != shape {
            return Err(bad(format!("shape {:?}, expected {shape:?}", view.shape())));
        }
        Ok(view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    fn linear(&self, name: &str, out: usize, inp: usize) -> Result<Linear, TextEncoderError> {
        let weight = self.tensor(&format!("{name}.weight"), &[out, inp])?;
        Ok(Linear {
            weight: PackedMatrix::new(&weight, out, inp),
            bias: self.tensor(&format!("{name}.bias"), &[out])?,
        })
    }

    fn norm(&self, name: &str) -> Result<Norm, TextEncoderError> {
        Ok(Norm {
            weight: self.tensor(&format!("{name}.weight"), &[HIDDEN])?,
            bias: self.tensor(&format!("{name}.bias"), &[HIDDEN])?,
        })
    }
}

fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
}

impl Bert {
    /// Validates and packs the weights of a `model.safetensors` file.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, TextEncoderError> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| TextEncoderError::Weights {
            name: "model.safetensors".into(),
            message: format!("truncated or corrupt: {e}"),
        })?;
        let src = Source(st);
        let layers = (0..LAYERS)
            .map(|i| {
                let p = |rest: &str| format!("encoder.layer.{i}.{rest}");
                let q = src.tensor(&p("attention.self.query.weight"), &[HIDDEN, HIDDEN])?;
                let k = src.tensor(&p("attention.self.key.weight"), &[HIDDEN, HIDDEN])?;
                let v = src.tensor(&p("attention.self.value.weight"), &[HIDDEN, HIDDEN])?;
                let mut bias = src.tensor(&p("attention.self.query.bias"), &[HIDDEN])?;
                bias.extend(src.tensor(&p("attention.self.key.bias"), &[HIDDEN])?);
                bias.extend(src.tensor(&p("attention.self.value.bias"), &[HIDDEN])?);
                let qkv: Vec<f32> = q.into_iter().chain(k).chain(v).collect();
                Ok(Layer {
                    qkv: Linear {
                        weight: PackedMatrix::new(&qkv, 3 * HIDDEN, HIDDEN),
                        bias,
                    },
                    out: src.linear(&p("attention.output.dense"), HIDDEN, HIDDEN)?,
                    attention_norm: src.norm(&p("attention.output.LayerNorm"))?,
                    intermediate: src.linear(&p("intermediate.dense"), INTERMEDIATE, HIDDEN)?,
                    output: src.linear(&p("output.dense"), HIDDEN, INTERMEDIATE)?,
                    output_norm: src.norm(&p("output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>, TextEncoderError>>()?;
        Ok(Self {
            word: src.tensor("embeddings.word_embeddings.weight", &[VOCAB, HIDDEN])?,
            position: src.tensor(
                "embeddings.position_embeddings.weight",
                &[MAX_POSITIONS, HIDDEN],
            )?,
            token_type: src.tensor("embeddings.token_type_embeddings.weight", &[2, HIDDEN])?,
            embedding_norm: src.norm("embeddings.LayerNorm")?,
            layers,
            ws: Workspace::default(),
        })
    }

    /// The last hidden state `[ids.len(), HIDDEN]` of one sequence (every
    /// token attended, segment 0). Ids must be below [`VOCAB`] and at most
    /// [`MAX_POSITIONS`] long.
    pub fn forward(&mut self, ids: &[u32]) -> &[f32] {
        let n = ids.len();
        let d = HIDDEN;
        let dh = d / HEADS;
        let ws = &mut self.ws;
        for (v, len) in [
            (&mut ws.h, n * d),
            (&mut ws.qkv, n * 3 * d),
            (&mut ws.context, n * d),
            (&mut ws.projected, n * d),
            (&mut ws.mlp, n * INTERMEDIATE),
            (&mut ws.scores, n),
        ] {
            ensure_len(v, len);
        }
        for (t, &id) in ids.iter().enumerate() {
            let row = &mut ws.h[t * d..(t + 1) * d];
            let word = &self.word[id as usize * d..][..d];
            let pos = &self.position[t * d..][..d];
            for (j, r) in row.iter_mut().enumerate() {
                *r = word[j] + pos[j] + self.token_type[j];
            }
            self.embedding_norm.apply(row);
        }
        let scale = 1.0 / (dh as f32).sqrt();
        for layer in &self.layers {
            layer.qkv.forward(&ws.h, n, &mut ws.qkv);
            for head in 0..HEADS {
                for i in 0..n {
                    let q = &ws.qkv[i * 3 * d + head * dh..][..dh];
                    let mut max = f32::NEG_INFINITY;
                    for (j, s) in ws.scores[..n].iter_mut().enumerate() {
                        let k = &ws.qkv[j * 3 * d + d + head * dh..][..dh];
                        *s = q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() * scale;
                        max = max.max(*s);
                    }
                    let mut sum = 0.0;
                    for s in &mut ws.scores[..n] {
                        *s = (*s - max).exp();
                        sum += *s;
                    }
                    let out = &mut ws.context[i * d + head * dh..][..dh];
                    out.fill(0.0);
                    for (j, &p) in ws.scores[..n].iter().enumerate() {
                        let v = &ws.qkv[j * 3 * d + 2 * d + head * dh..][..dh];
                        for (o, x) in out.iter_mut().zip(v) {
                            *o += p / sum * x;
                        }
                    }
                }
            }
            layer.out.forward(&ws.context, n, &mut ws.projected);
            for (t, row) in ws.h[..n * d].chunks_exact_mut(d).enumerate() {
                for (h, p) in row.iter_mut().zip(&ws.projected[t * d..(t + 1) * d]) {
                    *h += p;
                }
                layer.attention_norm.apply(row);
            }
            layer.intermediate.forward(&ws.h, n, &mut ws.mlp);
            ws.mlp[..n * INTERMEDIATE]
                .iter_mut()
                .for_each(|v| *v = gelu(*v));
            layer.output.forward(&ws.mlp, n, &mut ws.projected);
            for (t, row) in ws.h[..n * d].chunks_exact_mut(d).enumerate() {
                for (h, p) in row.iter_mut().zip(&ws.projected[t * d..(t + 1) * d]) {
                    *h += p;
                }
                layer.output_norm.apply(row);
            }
        }
        &ws.h[..n * d]
    }
}
