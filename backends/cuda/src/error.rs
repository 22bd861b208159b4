//! Why the CUDA backend could not start or failed.

use earshot_engine::BackendError;

/// A CUDA backend failure.
#[derive(Debug, thiserror::Error)]
pub enum CudaError {
    /// No CUDA driver library could be loaded: no GPU here.
    #[error(
        "no CUDA driver found (libcuda could not be loaded): this machine has no usable NVIDIA GPU; use the CPU backend"
    )]
    NoDriver,
    /// NVRTC (the run-time compiler) could not be loaded.
    #[error("the CUDA run-time compiler (libnvrtc) could not be loaded: {0}")]
    NoNvrtc(String),
    /// A driver call failed.
    #[error("CUDA driver: {0}")]
    Driver(#[from] cudarc::driver::DriverError),
    /// A kernel did not compile.
    #[error("compiling kernels ({name}): {log}")]
    Compile {
        /// Which source.
        name: &'static str,
        /// The compiler's log.
        log: String,
    },
    /// cuBLAS failed.
    #[error("cuBLAS: {0}")]
    Blas(#[from] cudarc::cublas::result::CublasError),
    /// A weights tensor is missing or has the wrong size.
    #[error("weights: {0}")]
    Weights(String),
}

impl From<CudaError> for BackendError {
    fn from(e: CudaError) -> Self {
        BackendError::Device(e.to_string())
    }
}
