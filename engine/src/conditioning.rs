//! The conditioning input of the generator: a few tokens plus a pooled
//! vector, both in the model's conditioning width.

use crate::description::ConditioningShape;

/// Conditioning tokens `[tokens, width]` and a pooled vector `[width]`,
/// row-major f32 on the host, in the model's [`ConditioningShape`].
#[derive(Debug, Clone, PartialEq)]
pub struct ConditioningInput {
    /// `tokens * width` values.
    pub tokens: Vec<f32>,
    /// `width` values.
    pub pooled: Vec<f32>,
}

impl ConditioningInput {
    /// The null conditioning: all tokens and the pooled vector zero. Every
    /// cross-token key and value is then the bias alone, and the pooled
    /// path adds nothing to the adaLN input.
    pub fn null(shape: ConditioningShape) -> Self {
        Self {
            tokens: vec![0.0; shape.tokens * shape.width],
            pooled: vec![0.0; shape.width],
        }
    }
}

/// Why a prompt encoder made no conditioning for a prompt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncoderError {
    /// This prompt was refused (empty, too long, not tokenizable): another
    /// prompt may still encode.
    #[error("the prompt was refused: {detail}")]
    Prompt {
        /// Why.
        detail: String,
    },
    /// The encoder's model failed (weights, inference): every prompt fails
    /// until the encoder is replaced.
    #[error("the encoder failed: {detail}")]
    Failed {
        /// The encoder's own words.
        detail: String,
    },
    /// The encoder is gone (its worker, or what it talks to, stopped).
    #[error("the encoder is unavailable: {detail}")]
    Unavailable {
        /// The encoder's own words.
        detail: String,
    },
}

/// Turns a prompt into conditioning; runs off the state lock, one encode at
/// a time (contract 3).
pub trait PromptEncoder: Send {
    /// The conditioning for `prompt`, or why it cannot be made.
    fn encode(&mut self, prompt: &str) -> Result<ConditioningInput, EncoderError>;
}

/// The conditioning in force and its epoch; the runner notices a new epoch
/// at its next tick and places the input on its backend.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedConditioning {
    /// Bumped by every committed conditioning change.
    pub epoch: u64,
    /// The prompt it was made from (`None`: the starting conditioning);
    /// shared, so the runner's snapshot copies a pointer, not the text.
    pub prompt: Option<std::sync::Arc<str>>,
    /// The input itself; shared, never copied under the lock.
    pub input: std::sync::Arc<ConditioningInput>,
}
