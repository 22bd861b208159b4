//! Looking up validated tensors by name and packing them for the CPU.

use crate::gemm::PackedMatrix;
use crate::ops::Linear;
use earshot_audio_model::{ModelConfig, ModelWeights};
use earshot_engine::BackendError;

/// Validated weights, read by name.
#[derive(Debug, Clone, Copy)]
pub struct WeightSource<'a>(pub &'a ModelWeights);

impl WeightSource<'_> {
    /// The model's dimensions.
    pub fn config(&self) -> &ModelConfig {
        self.0.config()
    }

    /// The tensor called `name`.
    pub fn tensor(&self, name: &str) -> Result<&[f32], BackendError> {
        self.0.get(name).ok_or_else(|| BackendError::Weights {
            detail: format!("no tensor `{name}`"),
        })
    }
}

/// The linear layer `name` (`name.weight [out, in]`, `name.bias [out]`), packed.
pub fn linear(w: &WeightSource<'_>, name: &str) -> Result<Linear, BackendError> {
    let bias = w.tensor(&format!("{name}.bias"))?.to_vec();
    let weight = w.tensor(&format!("{name}.weight"))?;
    let out = bias.len();
    Ok(Linear {
        weight: PackedMatrix::new(weight, out, weight.len() / out),
        bias,
    })
}
