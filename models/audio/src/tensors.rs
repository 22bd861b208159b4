//! The tensor manifest of a reference model: every tensor's name and shape.
//! Names and layouts follow PyTorch conventions (a linear layer's weight is
//! `[out, in]`, a 1-D convolution's `[out, in / groups, kernel]`) so the
//! peer implementation can load the same file unchanged.

use super::config::{
    COND_TOKENS, DECODER_KERNEL, DECODER_MLP_RATIO, KNOB_COUNT, LATENT_CHANNELS, MLP_RATIO,
    ModelConfig, TEXT_EMBEDDING, TIME_FREQ_DIM,
};

/// One expected tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// The tensor's name in the safetensors file.
    pub name: String,
    /// Its shape; every tensor is `F32`.
    pub shape: Vec<usize>,
}

impl TensorSpec {
    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The name of a tensor of transformer block `i`, e.g. `gen.blocks.3.attn.qkv.weight`.
pub fn block(i: usize, rest: &str) -> String {
    format!("gen.blocks.{i}.{rest}")
}

/// The name of a tensor of decoder ConvNeXt block `i`, e.g. `dec.blocks.1.gamma`.
pub fn decoder_block(i: usize, rest: &str) -> String {
    format!("dec.blocks.{i}.{rest}")
}

struct Manifest(Vec<TensorSpec>);

impl Manifest {
    fn tensor(&mut self, name: String, shape: &[usize]) {
        self.0.push(TensorSpec {
            name,
            shape: shape.to_vec(),
        });
    }

    fn linear(&mut self, name: &str, out: usize, inp: usize) {
        self.tensor(format!("{name}.weight"), &[out, inp]);
        self.tensor(format!("{name}.bias"), &[out]);
    }

    fn norm(&mut self, name: &str, width: usize) {
        self.tensor(format!("{name}.weight"), &[width]);
        self.tensor(format!("{name}.bias"), &[width]);
    }

    fn conv(&mut self, name: &str, out: usize, in_per_group: usize) {
        self.tensor(
            format!("{name}.weight"),
            &[out, in_per_group, DECODER_KERNEL],
        );
        self.tensor(format!("{name}.bias"), &[out]);
    }
}

/// Every tensor of a model of this configuration, in file order.
pub fn manifest(c: &ModelConfig) -> Vec<TensorSpec> {
    let d = c.width;
    let w = c.decoder_width;
    let mut m = Manifest(Vec::new());
    m.linear("gen.x_embed", d, LATENT_CHANNELS);
    m.linear("gen.t_embed.0", d, TIME_FREQ_DIM);
    m.linear("gen.t_embed.2", d, d);
    m.linear("gen.pool_proj", d, d);
    m.linear("gen.knob_embed.0", d, KNOB_COUNT);
    m.linear("gen.knob_embed.2", d, d);
    for i in 0..c.depth {
        m.linear(&block(i, "adaln"), 6 * d, d);
        m.linear(&block(i, "attn.qkv"), 3 * d, d);
        m.linear(&block(i, "attn.out"), d, d);
        m.linear(&block(i, "mlp.fc1"), MLP_RATIO * d, d);
        m.linear(&block(i, "mlp.fc2"), d, MLP_RATIO * d);
    }
    m.linear("gen.final.adaln", 2 * d, d);
    m.linear("gen.final.linear", LATENT_CHANNELS, d);

    m.conv("dec.embed", w, LATENT_CHANNELS);
    m.norm("dec.embed_norm", w);
    for i in 0..c.decoder_blocks {
        m.conv(&decoder_block(i, "dwconv"), w, 1);
        m.norm(&decoder_block(i, "norm"), w);
        m.linear(&decoder_block(i, "pwconv1"), DECODER_MLP_RATIO * w, w);
        m.linear(&decoder_block(i, "pwconv2"), w, DECODER_MLP_RATIO * w);
        m.tensor(decoder_block(i, "gamma"), &[w]);
    }
    m.norm("dec.final_norm", w);
    m.linear("dec.head", c.head_outputs(), w);
    // Last, so adding them moved no other tensor's init stream.
    m.linear("cond.tokens", COND_TOKENS * d, TEXT_EMBEDDING);
    m.linear("cond.pooled", d, TEXT_EMBEDDING);
    m.0
}

/// Total parameters of a model of this configuration.
pub fn parameter_count(c: &ModelConfig) -> usize {
    manifest(c).iter().map(TensorSpec::numel).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelSize;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_shapes_nonempty() {
        for size in ModelSize::ALL {
            let m = manifest(&size.config());
            let names: HashSet<_> = m.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names.len(), m.len());
            assert!(m.iter().all(|t| t.numel() > 0), "{size}");
        }
    }

    #[test]
    fn base_is_hundreds_of_millions_of_parameters() {
        let tiny = parameter_count(&ModelSize::Tiny.config());
        let base = parameter_count(&ModelSize::Base.config());
        assert!((1_000_000..5_000_000).contains(&tiny), "tiny {tiny}");
        assert!((400_000_000..600_000_000).contains(&base), "base {base}");
    }
}
