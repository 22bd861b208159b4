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
    /// A call that needs [`reserve`](earshot_engine::DeviceServices::reserve)
    /// came before it: no activations are allocated yet.
    #[error("{0} before reserve: no activations")]
    NotReserved(&'static str),
    /// Capturing the forward as a CUDA graph produced no graph.
    #[error("the graph capture produced no graph")]
    NoGraph,
}

impl CudaError {
    /// Whether the driver reports the device gone or its context corrupted
    /// (sticky errors: every later call fails too).
    fn device_lost(&self) -> bool {
        use cudarc::driver::sys::CUresult as R;
        match self {
            Self::NoDriver => true,
            Self::Driver(e) => matches!(
                e.0,
                R::CUDA_ERROR_DEINITIALIZED
                    | R::CUDA_ERROR_NO_DEVICE
                    | R::CUDA_ERROR_ECC_UNCORRECTABLE
                    | R::CUDA_ERROR_ILLEGAL_ADDRESS
                    | R::CUDA_ERROR_CONTEXT_IS_DESTROYED
                    | R::CUDA_ERROR_HARDWARE_STACK_ERROR
                    | R::CUDA_ERROR_ILLEGAL_INSTRUCTION
                    | R::CUDA_ERROR_MISALIGNED_ADDRESS
                    | R::CUDA_ERROR_INVALID_ADDRESS_SPACE
                    | R::CUDA_ERROR_INVALID_PC
                    | R::CUDA_ERROR_LAUNCH_FAILED
            ),
            _ => false,
        }
    }

    /// Whether the device (or cuBLAS's workspace on it) ran out of memory.
    fn out_of_memory(&self) -> bool {
        use cudarc::cublas::sys::cublasStatus_t as B;
        use cudarc::driver::sys::CUresult as R;
        match self {
            Self::Driver(e) => e.0 == R::CUDA_ERROR_OUT_OF_MEMORY,
            Self::Blas(e) => e.0 == B::CUBLAS_STATUS_ALLOC_FAILED,
            _ => false,
        }
    }
}

impl From<CudaError> for BackendError {
    /// Keeps what a caller can act on: a lost device, memory, weights, a
    /// call out of order; the rest is a device error.
    fn from(e: CudaError) -> Self {
        // A driver error's text comes from the driver: name its code
        // instead, so mapping never needs a loaded driver.
        let detail = match &e {
            CudaError::Driver(d) => format!("CUDA driver: {:?}", d.0),
            other => other.to_string(),
        };
        if e.device_lost() {
            BackendError::DeviceLost { detail }
        } else if e.out_of_memory() {
            BackendError::OutOfMemory { detail }
        } else {
            match e {
                CudaError::Weights(detail) => BackendError::Weights { detail },
                CudaError::NotReserved(_) => BackendError::InvalidRequest { detail },
                _ => BackendError::Device { detail },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cudarc::driver::DriverError;
    use cudarc::driver::sys::CUresult as R;

    #[test]
    fn driver_errors_keep_what_a_caller_acts_on() {
        let map = |r| BackendError::from(CudaError::Driver(DriverError(r)));
        assert!(matches!(
            map(R::CUDA_ERROR_OUT_OF_MEMORY),
            BackendError::OutOfMemory { .. }
        ));
        for lost in [
            R::CUDA_ERROR_ILLEGAL_ADDRESS,
            R::CUDA_ERROR_ECC_UNCORRECTABLE,
        ] {
            let e = map(lost);
            assert!(matches!(e, BackendError::DeviceLost { .. }), "{e}");
            assert!(!e.is_recoverable());
        }
        assert!(matches!(
            map(R::CUDA_ERROR_INVALID_VALUE),
            BackendError::Device { .. }
        ));
        assert!(matches!(
            BackendError::from(CudaError::Weights("no tensor x".into())),
            BackendError::Weights { .. }
        ));
        let early = BackendError::from(CudaError::NotReserved("step"));
        assert!(early.is_invalid_request(), "{early}");
        assert!(matches!(
            BackendError::from(CudaError::NoDriver),
            BackendError::DeviceLost { .. }
        ));
    }
}
