//! Which backend runs the model: the CPU reference or the GPU.

use earshot_engine::Backend;
use earshot_engine::model::ModelWeights;

/// A backend the command line can pick with `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BackendKind {
    /// The CPU reference backend: exact, always available.
    #[default]
    Cpu,
    /// The CUDA backend on GPU 0 (needs an NVIDIA GPU and driver).
    Cuda,
}

/// Why a backend could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BackendChoiceError {
    /// The CPU backend refused the weights.
    #[error(transparent)]
    Cpu(#[from] earshot_engine::BackendError),
    /// The CUDA backend could not start (no GPU, no driver, ...).
    #[error("--backend cuda")]
    Cuda(#[from] earshot_cuda::CudaError),
}

/// Builds the chosen backend for `weights`.
pub fn make_backend(
    kind: BackendKind,
    weights: &ModelWeights,
) -> Result<Box<dyn Backend>, BackendChoiceError> {
    Ok(match kind {
        BackendKind::Cpu => Box::new(earshot_cpu::CpuBackend::new(weights)?),
        BackendKind::Cuda => Box::new(earshot_cuda::CudaBackend::new(weights, 0)?),
    })
}
