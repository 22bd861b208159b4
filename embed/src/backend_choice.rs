//! Which backend runs the model: the CPU reference or the GPU.

use earshot_audio_model::ModelWeights;
use earshot_engine::Backend;

/// A backend the command line can pick with `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum BackendKind {
    /// The CPU reference backend: exact, always available.
    #[default]
    Cpu,
    /// The CUDA backend on GPU 0, bf16 products (needs an NVIDIA GPU).
    Cuda,
    /// The CUDA backend in fp32 throughout (tracks the CPU reference).
    CudaFp32,
}

/// Why a backend could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BackendChoiceError {
    /// The CPU backend refused the weights.
    #[error(transparent)]
    Cpu(#[from] earshot_engine::BackendError),
    /// The CUDA backend could not start (no GPU, no driver, ...).
    #[cfg(feature = "cuda")]
    #[error("--backend cuda")]
    Cuda(#[from] earshot_cuda::CudaError),
    /// This build has no CUDA backend (built without the `cuda` feature).
    #[error("--backend {0}: this build has no CUDA backend (built without the `cuda` feature)")]
    NotBuilt(BackendKind),
}

/// Builds the chosen backend for `weights`.
pub fn make_backend(
    kind: BackendKind,
    weights: &ModelWeights,
) -> Result<Box<dyn Backend>, BackendChoiceError> {
    Ok(match kind {
        BackendKind::Cpu => Box::new(earshot_cpu::CpuBackend::new(weights)?),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => Box::new(earshot_cuda::CudaBackend::with_precision(
            weights,
            0,
            earshot_cuda::Precision::Bf16,
        )?),
        #[cfg(feature = "cuda")]
        BackendKind::CudaFp32 => Box::new(earshot_cuda::CudaBackend::new(weights, 0)?),
        #[cfg(not(feature = "cuda"))]
        kind @ (BackendKind::Cuda | BackendKind::CudaFp32) => {
            return Err(BackendChoiceError::NotBuilt(kind));
        }
    })
}

impl BackendKind {
    /// Every backend, in the order of their names.
    pub const ALL: [BackendKind; 3] = [BackendKind::Cpu, BackendKind::Cuda, BackendKind::CudaFp32];

    /// The name `--backend` and configs use: `cpu`, `cuda`, `cuda-fp32`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Cuda => "cuda",
            BackendKind::CudaFp32 => "cuda-fp32",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend name that is not one of [`BackendKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend {0:?} (cpu, cuda or cuda-fp32)")]
pub struct UnknownBackend(pub String);

impl std::str::FromStr for BackendKind {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BackendKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownBackend(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn without_the_cuda_feature_a_cuda_choice_is_a_clear_error() {
        let weights = earshot_audio_model::init_weights(earshot_audio_model::ModelSize::Tiny, 7);
        for kind in [BackendKind::Cuda, BackendKind::CudaFp32] {
            let e = make_backend(kind, &weights)
                .err()
                .expect("no CUDA in this build");
            assert!(matches!(e, BackendChoiceError::NotBuilt(k) if k == kind));
            assert!(e.to_string().contains("without the `cuda` feature"), "{e}");
        }
        assert!(make_backend(BackendKind::Cpu, &weights).is_ok());
    }

    #[test]
    fn every_backend_name_parses_back() {
        for kind in BackendKind::ALL {
            assert_eq!(kind.name().parse::<BackendKind>(), Ok(kind));
        }
        assert!("tpu".parse::<BackendKind>().is_err());
    }
}
