//! Prompts to conditioning: the text encoder's embedding through the
//! projection of the weights file (`cond.tokens`, `cond.pooled`).

use earshot_audio_model::ModelWeights;
use earshot_audio_model::config::{COND_TOKENS, TEXT_EMBEDDING};
use earshot_cpu::gemm::PackedMatrix;
use earshot_engine::conditioning::{ConditioningInput, EncoderError, PromptEncoder};
use earshot_text::{TextEncoder, TextEncoderError};
use std::path::Path;

/// The text encoder plus the model's conditioning projection.
#[derive(Debug)]
pub struct TextPrompt {
    encoder: TextEncoder,
    tokens: (PackedMatrix, Vec<f32>),
    pooled: (PackedMatrix, Vec<f32>),
}

/// Why the prompt encoder could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PromptSetupError {
    /// The text encoder's files are missing or bad.
    #[error(transparent)]
    Text(#[from] TextEncoderError),
    /// The weights lack the projection (a file from before it existed).
    #[error("the weights have no conditioning projection tensor `{0}`")]
    NoProjection(&'static str),
}

impl TextPrompt {
    /// Loads the text encoder (see `earshot_text::locate`) and packs the
    /// projection of `weights`.
    pub fn new(
        weights: &ModelWeights,
        text_model: Option<&Path>,
    ) -> Result<Self, PromptSetupError> {
        let d = weights.config().width;
        let get = |name: &'static str| {
            weights
                .get(name)
                .ok_or(PromptSetupError::NoProjection(name))
        };
        Ok(Self {
            encoder: TextEncoder::from_default_location(text_model)?,
            tokens: (
                PackedMatrix::new(get("cond.tokens.weight")?, COND_TOKENS * d, TEXT_EMBEDDING),
                get("cond.tokens.bias")?.to_vec(),
            ),
            pooled: (
                PackedMatrix::new(get("cond.pooled.weight")?, d, TEXT_EMBEDDING),
                get("cond.pooled.bias")?.to_vec(),
            ),
        })
    }
}

impl PromptEncoder for TextPrompt {
    fn encode(&mut self, prompt: &str) -> Result<ConditioningInput, EncoderError> {
        let embedding = self.encoder.embed(prompt).map_err(encoder_error)?;
        let project = |(w, b): &(PackedMatrix, Vec<f32>)| {
            let mut out = vec![0.0; b.len()];
            w.linear(&embedding, 1, b, &mut out);
            out
        };
        Ok(ConditioningInput {
            tokens: project(&self.tokens),
            pooled: project(&self.pooled),
        })
    }
}

/// The text encoder's error as what the control side can act on: a
/// tokenization refuses this prompt; anything else breaks the encoder.
fn encoder_error(e: TextEncoderError) -> EncoderError {
    match e {
        TextEncoderError::Tokenizer(detail) => EncoderError::Prompt { detail },
        other => EncoderError::Failed {
            detail: other.to_string(),
        },
    }
}
