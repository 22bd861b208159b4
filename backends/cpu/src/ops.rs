//! Elementwise and row-wise operations shared by the generator and decoder.

pub use earshot_audio_model::config::LN_EPS;

/// A linear layer: packed weight plus bias.
#[derive(Debug, Clone)]
pub struct Linear {
    /// The packed `[out, in]` weight.
    pub weight: crate::gemm::PackedMatrix,
    /// `[out]`.
    pub bias: Vec<f32>,
}

impl Linear {
    /// `y[m, out] = x[m, in] Wᵀ + b`.
    pub fn forward(&self, x: &[f32], m: usize, y: &mut [f32]) {
        self.weight.linear(x, m, &self.bias, y);
    }

    /// Output width.
    pub fn out(&self) -> usize {
        self.weight.n()
    }
}

/// Normalizes `x` to zero mean and unit variance into `out`.
pub fn layer_norm(x: &[f32], out: &mut [f32]) {
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + LN_EPS).sqrt();
    for (o, v) in out.iter_mut().zip(x) {
        *o = (v - mean) * inv;
    }
}

/// `x / (1 + e^-x)`.
#[inline]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// GELU, tanh approximation (the reference model's only GELU):
/// `0.5 x (1 + tanh(z))`, `z = sqrt(2/π) (x + 0.044715 x³)`, computed as the
/// identical `x / (1 + e^(-2z))` because `exp` costs a fraction of `tanh`.
#[inline]
pub fn gelu(x: f32) -> f32 {
    const C2: f32 = 2.0 * 0.797_884_6; // 2 sqrt(2 / π)
    x / (1.0 + (-C2 * (x + 0.044_715 * x * x * x)).exp())
}

/// Grows `v` to at least `len` values; never shrinks, so a steady state
/// reuses the same memory.
pub fn ensure_len(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_norm_centres_and_scales() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let mut y = [0.0; 4];
        layer_norm(&x, &mut y);
        assert!(y.iter().sum::<f32>().abs() < 1e-6);
        assert!((y.iter().map(|v| v * v).sum::<f32>() / 4.0 - 1.0).abs() < 1e-4);
    }

    #[test]
    fn activations_match_known_values() {
        assert!((silu(1.0) - 0.731_058_6).abs() < 1e-6);
        assert!((gelu(1.0) - 0.841_192).abs() < 1e-5);
        assert_eq!(gelu(0.0), 0.0);
    }
}
