//! Loading and saving reference model weights as safetensors files. The
//! loader validates everything against the manifest before a backend sees a
//! single float: a bad file gives a typed error naming the tensor and what
//! was expected, and nothing panics.

use super::config::{ModelConfig, ModelSize};
use super::tensors::{TensorSpec, manifest};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Metadata key naming the file format.
pub const FORMAT_KEY: &str = "earshot.format";
/// The only format this loader reads.
pub const FORMAT: &str = "earshot-reference-v1";
/// Metadata key naming the model size.
pub const SIZE_KEY: &str = "earshot.size";
/// Metadata key recording the init seed (informational).
pub const SEED_KEY: &str = "earshot.seed";

/// Why a weights file was refused.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file could not be read or written.
    #[error("cannot access weights file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The safetensors container is truncated or corrupt.
    #[error("weights file is truncated or corrupt: {0}")]
    Corrupt(String),
    /// A required metadata entry is absent.
    #[error("weights file has no `{key}` metadata entry (expected {expected})")]
    MissingMetadata {
        /// The metadata key.
        key: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// A metadata entry holds a value this loader does not accept.
    #[error("weights metadata `{key}` is {found:?}, expected {expected}")]
    BadMetadata {
        /// The metadata key.
        key: &'static str,
        /// What the file holds.
        found: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// A tensor of the manifest is absent.
    #[error("tensor `{name}` is missing (expected F32 {shape:?})")]
    MissingTensor {
        /// The tensor's name.
        name: String,
        /// Its expected shape.
        shape: Vec<usize>,
    },
    /// A tensor has another shape than the manifest's.
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    WrongShape {
        /// The tensor's name.
        name: String,
        /// The manifest's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// A tensor is not stored as F32.
    #[error("tensor `{name}` has dtype {found}, expected F32")]
    WrongDtype {
        /// The tensor's name.
        name: String,
        /// The file's dtype.
        found: String,
    },
    /// The file holds a tensor the manifest does not name.
    #[error("tensor `{name}` is not part of the {size} reference model")]
    UnexpectedTensor {
        /// The tensor's name.
        name: String,
        /// The model size the file claims.
        size: ModelSize,
    },
    /// A tensor holds NaN or an infinity.
    #[error("tensor `{name}` holds a non-finite value at element {index}")]
    NonFinite {
        /// The tensor's name.
        name: String,
        /// The first bad element.
        index: usize,
    },
}

/// A validated set of reference model weights on the host, in f32.
#[derive(Debug, Clone)]
pub struct ModelWeights {
    config: ModelConfig,
    seed: Option<u64>,
    tensors: HashMap<String, Vec<f32>>,
}

impl ModelWeights {
    /// Builds weights from tensors in manifest order; `init` uses it.
    pub(crate) fn from_parts(config: ModelConfig, seed: Option<u64>, data: Vec<Vec<f32>>) -> Self {
        let specs = manifest(&config);
        debug_assert_eq!(specs.len(), data.len());
        let tensors = specs.into_iter().map(|s| s.name).zip(data).collect();
        Self {
            config,
            seed,
            tensors,
        }
    }

    /// The model's dimensions.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The seed the weights were generated with, when the file records one.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// The tensor called `name`, or `None` when the manifest has no such name.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.tensors.get(name).map(Vec::as_slice)
    }

    /// Replaces the values of tensor `name` (same length); tests use it to
    /// make a bad file on purpose. Returns false for an unknown name or a
    /// length mismatch.
    pub fn set(&mut self, name: &str, values: Vec<f32>) -> bool {
        match self.tensors.get_mut(name) {
            Some(t) if t.len() == values.len() => {
                *t = values;
                true
            }
            _ => false,
        }
    }

    /// Reads and validates a weights file.
    pub fn load(path: &Path) -> Result<Self, WeightsError> {
        let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Validates and decodes the bytes of a safetensors file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| WeightsError::Corrupt(e.to_string()))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let format = meta.get(FORMAT_KEY).ok_or(WeightsError::MissingMetadata {
            key: FORMAT_KEY,
            expected: FORMAT,
        })?;
        if format != FORMAT {
            return Err(WeightsError::BadMetadata {
                key: FORMAT_KEY,
                found: format.clone(),
                expected: FORMAT,
            });
        }
        let size_name = meta.get(SIZE_KEY).ok_or(WeightsError::MissingMetadata {
            key: SIZE_KEY,
            expected: "tiny, small or base",
        })?;
        let size: ModelSize = size_name.parse().map_err(|_| WeightsError::BadMetadata {
            key: SIZE_KEY,
            found: size_name.clone(),
            expected: "tiny, small or base",
        })?;
        let seed = match meta.get(SEED_KEY) {
            None => None,
            Some(s) => Some(s.parse().map_err(|_| WeightsError::BadMetadata {
                key: SEED_KEY,
                found: s.clone(),
                expected: "an unsigned integer",
            })?),
        };
        let st =
            SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Corrupt(e.to_string()))?;
        let config = size.config();
        let specs = manifest(&config);
        let known: HashSet<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        let mut names: Vec<String> = st.names().into_iter().map(str::to_owned).collect();
        names.sort();
        if let Some(name) = names.into_iter().find(|n| !known.contains(n.as_str())) {
            return Err(WeightsError::UnexpectedTensor { name, size });
        }
        let mut tensors = HashMap::with_capacity(specs.len());
        for spec in &specs {
            let view = st
                .tensor(&spec.name)
                .map_err(|_| WeightsError::MissingTensor {
                    name: spec.name.clone(),
                    shape: spec.shape.clone(),
                })?;
            tensors.insert(spec.name.clone(), decode_tensor(spec, &view)?);
        }
        Ok(Self {
            config,
            seed,
            tensors,
        })
    }

    /// Serializes to safetensors bytes, tensors in manifest order.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WeightsError> {
        let specs = manifest(&self.config);
        let raw: Vec<Vec<u8>> = specs
            .iter()
            .map(|s| {
                self.tensors[&s.name]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect()
            })
            .collect();
        let views = specs
            .iter()
            .zip(&raw)
            .map(|(s, bytes)| {
                TensorView::new(Dtype::F32, s.shape.clone(), bytes)
                    .map(|v| (s.name.clone(), v))
                    .map_err(|e| WeightsError::Corrupt(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut meta = HashMap::from([
            (FORMAT_KEY.to_owned(), FORMAT.to_owned()),
            (SIZE_KEY.to_owned(), self.config.size.name().to_owned()),
        ]);
        if let Some(seed) = self.seed {
            meta.insert(SEED_KEY.to_owned(), seed.to_string());
        }
        safetensors::serialize(views, Some(meta)).map_err(|e| WeightsError::Corrupt(e.to_string()))
    }

    /// Writes a safetensors file.
    pub fn save(&self, path: &Path) -> Result<(), WeightsError> {
        let bytes = self.to_bytes()?;
        std::fs::write(path, bytes).map_err(|source| WeightsError::Io {
            path: path.to_owned(),
            source,
        })
    }
}

fn decode_tensor(spec: &TensorSpec, view: &TensorView<'_>) -> Result<Vec<f32>, WeightsError> {
    if view.dtype() != Dtype::F32 {
        return Err(WeightsError::WrongDtype {
            name: spec.name.clone(),
            found: format!("{:?}", view.dtype()),
        });
    }
    if view.shape() != spec.shape.as_slice() {
        return Err(WeightsError::WrongShape {
            name: spec.name.clone(),
            expected: spec.shape.clone(),
            found: view.shape().to_vec(),
        });
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(WeightsError::NonFinite {
            name: spec.name.clone(),
            index,
        });
    }
    Ok(values)
}
