//! # earshot-cuda
//!
//! The CUDA backend: the reference model's stages on an NVIDIA GPU through
//! cudarc (driver, NVRTC, cuBLAS), with the CUDA libraries loaded at run
//! time, so the workspace builds and tests without CUDA. Without a GPU,
//! [`CudaBackend::new`] returns [`CudaError::NoDriver`].

pub mod backend;
pub mod decoder;
pub mod device;
pub mod error;
pub mod generator;
mod landing;

pub use backend::CudaBackend;
pub use device::{Device, Precision, driver_present};
pub use error::CudaError;

/// Every kernel source of the backend, by name (for compile checks).
pub const KERNEL_SOURCES: [(&str, &str); 2] = [
    ("generator", include_str!("kernels/generator.cu")),
    ("decoder", decoder::KERNEL_SOURCE),
];
