//! The device: one CUDA context and stream, cuBLAS on that stream, NVRTC
//! compilation, and counted allocations and copies. Everything a tick does
//! is enqueued on the one stream; nothing here waits for the device unless
//! a method says it does (and counts it).

use crate::error::CudaError;
use cudarc::cublas::{CudaBlas, Gemm, GemmConfig, sys::cublasOperation_t};
use cudarc::driver::{
    CudaContext, CudaModule, CudaSlice, CudaStream, DevicePtr, DevicePtrMut, DeviceRepr,
    ValidAsZeroBits,
};
use earshot_engine::BackendCounters;
use std::sync::Arc;

/// The context, stream and libraries a backend runs on.
pub struct Device {
    /// The CUDA context (primary context of the device).
    pub ctx: Arc<CudaContext>,
    /// The stream every operation is enqueued on.
    pub stream: Arc<CudaStream>,
    /// cuBLAS bound to `stream`.
    pub blas: CudaBlas,
    /// Syncs, copies, allocations, forwards, decodes, graph replays.
    pub counters: BackendCounters,
    /// The precision of the generator's matrix products.
    pub precision: Precision,
    /// Streaming multiprocessors of the device.
    pub multiprocessors: usize,
    arch: &'static str,
    /// cuBLAS's workspace, given explicitly so cuBLAS never allocates
    /// while a graph is being captured.
    _blas_workspace: CudaSlice<u8>,
}

/// The precision of the generator's matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// fp32 throughout: tracks the CPU reference within rounding.
    #[default]
    Fp32,
    /// bf16 weights and product inputs on tensor cores, fp32 accumulation
    /// and fp32 everywhere else (norms, attention, residual, sampler).
    Bf16,
}

/// Bytes of cuBLAS workspace (NVIDIA's advice for Hopper).
const BLAS_WORKSPACE: usize = 32 << 20;

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("arch", &self.arch)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// Whether the CUDA driver library can be loaded on this machine.
pub fn driver_present() -> bool {
    // SAFETY: only probes whether the shared library can be opened.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

impl Device {
    /// Opens device `ordinal`. Without a driver this is a clear error, not
    /// a panic.
    pub fn new(ordinal: usize) -> Result<Self, CudaError> {
        if !driver_present() {
            return Err(CudaError::NoDriver);
        }
        // SAFETY: only probes whether the shared library can be opened.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(CudaError::NoNvrtc("libnvrtc not found".into()));
        }
        let ctx = CudaContext::new(ordinal)?;
        // The engine owns cross-stream ordering; cudarc's per-buffer event
        // tracking would also break graph capture (GPU.md).
        // SAFETY: set before any allocation or stream use on this context.
        unsafe { ctx.disable_event_tracking() };
        // A stream of its own: the legacy default stream cannot be captured.
        let stream = ctx.new_stream()?;
        let blas = CudaBlas::new(stream.clone())?;
        let workspace = stream.alloc_zeros::<u8>(BLAS_WORKSPACE)?;
        {
            let (ptr, _sync) = workspace.device_ptr(&stream);
            // SAFETY: the workspace outlives the handle (both live in the
            // returned Device, the handle is dropped first), and the size
            // is its length.
            let status = unsafe {
                cudarc::cublas::sys::cublasSetWorkspace_v2(
                    *blas.handle(),
                    ptr as *mut std::ffi::c_void,
                    BLAS_WORKSPACE,
                )
            };
            if status != cudarc::cublas::sys::cublasStatus_t::CUBLAS_STATUS_SUCCESS {
                return Err(CudaError::Blas(cudarc::cublas::result::CublasError(status)));
            }
        }
        let (major, minor) = ctx.compute_capability()?;
        let multiprocessors = ctx
            .attribute(
                cudarc::driver::sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
            )
            .map_or(1, |n| n.max(1) as usize);
        let arch = match (major, minor) {
            (9, _) => "sm_90",
            (8, 9) => "sm_89",
            (8, 6) => "sm_86",
            (8, _) => "sm_80",
            (10, _) => "sm_100",
            _ => "sm_80",
        };
        Ok(Self {
            ctx,
            stream,
            blas,
            counters: BackendCounters {
                device_allocs: 1,
                ..BackendCounters::default()
            },
            arch,
            precision: Precision::Fp32,
            multiprocessors,
            _blas_workspace: workspace,
        })
    }

    /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
    pub fn name(&self) -> String {
        self.ctx
            .name()
            .unwrap_or_else(|_| "unknown CUDA device".into())
    }

    /// Compiles CUDA C `src` with NVRTC for this device and loads it.
    pub fn compile(&self, name: &'static str, src: &str) -> Result<Arc<CudaModule>, CudaError> {
        let opts = cudarc::nvrtc::CompileOptions {
            arch: Some(self.arch),
            // Exact IEEE division and square root, no flush to zero and
            // no contraction: the fp32 mode must track the CPU reference.
            ftz: Some(false),
            prec_div: Some(true),
            prec_sqrt: Some(true),
            fmad: Some(false),
            name: Some(format!("{name}.cu")),
            ..Default::default()
        };
        let ptx =
            cudarc::nvrtc::compile_ptx_with_opts(src, opts).map_err(|e| CudaError::Compile {
                name,
                log: e.to_string(),
            })?;
        Ok(self.ctx.load_module(ptx)?)
    }

    /// A zeroed device buffer of `len` elements (counted).
    pub fn zeros<T: DeviceRepr + ValidAsZeroBits>(
        &mut self,
        len: usize,
    ) -> Result<CudaSlice<T>, CudaError> {
        self.counters.device_allocs += 1;
        Ok(self.stream.alloc_zeros::<T>(len.max(1))?)
    }

    /// A device copy of `host` (counted: an allocation and a copy).
    pub fn upload(&mut self, host: &[f32]) -> Result<CudaSlice<f32>, CudaError> {
        self.counters.device_allocs += 1;
        self.counters.h2d_copies += 1;
        Ok(self.stream.clone_htod(host)?)
    }

    /// Waits for everything enqueued so far (counted: a host sync).
    pub fn sync(&mut self) -> Result<(), CudaError> {
        self.counters.host_syncs += 1;
        Ok(self.stream.synchronize()?)
    }

    /// `y[rows, out] = x[rows, inp] · w[out, inp]ᵀ` (+ `beta · y`), all
    /// row-major f32: cuBLAS column-major with `w` transposed.
    #[allow(clippy::too_many_arguments)]
    pub fn linear<X, W, Y>(
        &self,
        x: &X,
        w: &W,
        y: &mut Y,
        rows: usize,
        inp: usize,
        out: usize,
        beta: f32,
    ) -> Result<(), CudaError>
    where
        X: DevicePtr<f32>,
        W: DevicePtr<f32>,
        Y: DevicePtrMut<f32>,
    {
        let cfg = GemmConfig {
            transa: cublasOperation_t::CUBLAS_OP_T,
            transb: cublasOperation_t::CUBLAS_OP_N,
            m: out as i32,
            n: rows as i32,
            k: inp as i32,
            alpha: 1.0f32,
            lda: inp as i32,
            ldb: inp as i32,
            beta,
            ldc: out as i32,
        };
        // SAFETY: the shapes describe buffers the caller sized: w holds
        // out·inp, x rows·inp and y rows·out values.
        unsafe { self.blas.gemm(cfg, w, x, y)? };
        Ok(())
    }
}

/// The bf16 bits of `x`, rounded to nearest even (NaN stays NaN).
pub fn to_bf16(x: f32) -> u16 {
    let u = x.to_bits();
    if u & 0x7fff_ffff > 0x7f80_0000 {
        return ((u >> 16) | 0x40) as u16;
    }
    ((u + 0x7fff + ((u >> 16) & 1)) >> 16) as u16
}

impl Device {
    /// A bf16 device copy of `host` (counted: an allocation and a copy).
    pub fn upload_bf16(&mut self, host: &[f32]) -> Result<CudaSlice<u16>, CudaError> {
        let bits: Vec<u16> = host.iter().map(|&x| to_bf16(x)).collect();
        self.counters.device_allocs += 1;
        self.counters.h2d_copies += 1;
        Ok(self.stream.clone_htod(&bits)?)
    }

    /// `y[rows, out] = x[rows, inp] · w[out, inp]ᵀ` (+ `beta · y`) with `x`
    /// and `w` in bf16 and `y` in f32: tensor cores, fp32 accumulation.
    #[allow(clippy::too_many_arguments)]
    pub fn linear_bf16<X, W, Y>(
        &self,
        x: &X,
        w: &W,
        y: &mut Y,
        rows: usize,
        inp: usize,
        out: usize,
        beta: f32,
    ) -> Result<(), CudaError>
    where
        X: DevicePtr<u16>,
        W: DevicePtr<u16>,
        Y: DevicePtrMut<f32>,
    {
        use cudarc::cublas::sys::{cublasComputeType_t, cublasGemmAlgo_t, cudaDataType};
        let alpha = 1.0f32;
        let (xp, _xs) = x.device_ptr(&self.stream);
        let (wp, _ws) = w.device_ptr(&self.stream);
        let (yp, _ys) = y.device_ptr_mut(&self.stream);
        // SAFETY: the shapes describe buffers the caller sized (w out·inp,
        // x rows·inp, y rows·out); alpha and beta outlive the call.
        unsafe {
            cudarc::cublas::result::gemm_ex(
                *self.blas.handle(),
                cublasOperation_t::CUBLAS_OP_T,
                cublasOperation_t::CUBLAS_OP_N,
                out as i32,
                rows as i32,
                inp as i32,
                (&alpha) as *const f32 as *const std::ffi::c_void,
                wp as *const std::ffi::c_void,
                cudaDataType::CUDA_R_16BF,
                inp as i32,
                xp as *const std::ffi::c_void,
                cudaDataType::CUDA_R_16BF,
                inp as i32,
                (&beta) as *const f32 as *const std::ffi::c_void,
                yp as *mut std::ffi::c_void,
                cudaDataType::CUDA_R_32F,
                out as i32,
                cublasComputeType_t::CUBLAS_COMPUTE_32F,
                cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(to_bf16(1.0), 0x3f80);
        assert_eq!(to_bf16(-2.5), 0xc020);
        // 1 + 2^-8 is halfway between two bf16 values: to the even one.
        assert_eq!(to_bf16(f32::from_bits(0x3f80_8000)), 0x3f80);
        assert_eq!(to_bf16(f32::from_bits(0x3f81_8000)), 0x3f82);
        assert!(to_bf16(f32::NAN) & 0x7fff > 0x7f80);
        assert_eq!(to_bf16(f32::INFINITY), 0x7f80);
    }

    #[test]
    fn without_a_driver_opening_says_so() {
        if driver_present() {
            eprintln!("a CUDA driver is present: the no-GPU path is not exercised here");
            return;
        }
        let err = Device::new(0).unwrap_err();
        assert!(matches!(err, CudaError::NoDriver));
        assert!(err.to_string().contains("no usable NVIDIA GPU"), "{err}");
    }
}

#[cfg(test)]
mod compile_tests {
    /// The kernels compile for Hopper wherever NVRTC can be loaded (it
    /// needs no GPU): a typo in CUDA C fails here, not on the GPU machine.
    #[test]
    fn kernels_compile_with_nvrtc() {
        // SAFETY: only probes whether the shared library can be opened.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            eprintln!("skipped: libnvrtc not found (set LD_LIBRARY_PATH to a CUDA 13 NVRTC)");
            return;
        }
        for (name, src) in crate::KERNEL_SOURCES {
            let opts = cudarc::nvrtc::CompileOptions {
                arch: Some("sm_90"),
                fmad: Some(false),
                ..Default::default()
            };
            if let Err(e) = cudarc::nvrtc::compile_ptx_with_opts(src, opts) {
                panic!("{name}: {e}");
            }
        }
    }
}
