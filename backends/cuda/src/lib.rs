//! # earshot-cuda
//!
//! The CUDA backend: the reference model's stages on an NVIDIA GPU through
//! cudarc (driver, NVRTC, cuBLAS), with the CUDA libraries loaded at run
//! time, so the workspace builds and tests without CUDA. Without a GPU,
//! [`CudaBackend::new`] returns [`CudaError::NoDriver`].

pub mod device;
pub mod error;

pub use device::{Device, driver_present};
pub use error::CudaError;
