//! The conditioning input of the generator: a few tokens plus a pooled
//! vector, both in the generator's width.

use crate::model::config::COND_TOKENS;

/// Conditioning tokens `[COND_TOKENS, width]` and a pooled vector `[width]`,
/// row-major f32 on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditioningInput {
    /// `COND_TOKENS * width` values.
    pub tokens: Vec<f32>,
    /// `width` values.
    pub pooled: Vec<f32>,
}

impl ConditioningInput {
    /// The null conditioning: all tokens and the pooled vector zero. Every
    /// cross-token key and value is then the bias alone, and the pooled
    /// path adds nothing to the adaLN input.
    pub fn null(width: usize) -> Self {
        Self {
            tokens: vec![0.0; COND_TOKENS * width],
            pooled: vec![0.0; width],
        }
    }
}
