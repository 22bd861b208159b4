//! The Vocos-style decoder on the GPU: the same computation as the CPU
//! reference (`earshot_cpu::decoder`), frame for frame, enqueued on the
//! device's one stream.
//!
//! Stages and where they run:
//!
//! | stage | kernel |
//! | --- | --- |
//! | embedding convolution (kernel 7, zero padding at the window's edges) | `dec_im2col` + cuBLAS GEMM |
//! | `+ bias`, `dec.embed_norm` | `dec_layer_norm` |
//! | per block: depthwise convolution + `norm` | `dec_dwconv_norm` |
//! | per block: `pwconv1` | cuBLAS GEMM, then `dec_bias_gelu` (bias + GELU) |
//! | per block: `pwconv2`, `+ bias`, `γ ⊙`, residual | cuBLAS GEMM, then `dec_residual` |
//! | `dec.final_norm` | `dec_layer_norm` |
//! | head | cuBLAS GEMM (bias added by `dec_irfft`) |
//! | magnitude, phase, irfft, Hann window, `1 / N` | `dec_irfft` (one block per STFT frame and channel) |
//! | overlap-add, window-sum normalization | `dec_overlap_add` |
//!
//! A decode of samples `[a, b)` computes the same STFT frames, latent frames
//! and context as the CPU (the frame arithmetic below is the CPU's), so it
//! equals the CPU's output up to fp32 rounding (cuBLAS sums in a different
//! order; the FFT is a different algorithm from realfft's). The Hann window
//! and the window-sum envelope are computed on the host with the CPU's own
//! f32 expressions and uploaded, so they are bit-identical.

use crate::device::Device;
use crate::error::CudaError;
use cudarc::driver::{
    CudaFunction, CudaSlice, CudaView, CudaViewMut, DriverError, LaunchConfig, PushKernelArg,
};
use earshot_audio_model::ModelWeights;
use earshot_audio_model::config::LN_EPS;
use earshot_audio_model::config::{
    BINS, CHANNELS, DECODER_KERNEL, DECODER_MLP_RATIO, HOP, LATENT_CHANNELS, N_FFT, STFT_HOP,
    STFT_PER_LATENT,
};
use earshot_audio_model::decode_plan::{DecodePlan, HALF_KERNEL as HALF};
use earshot_audio_model::stft::{FRAME_OFFSET, MAX_MAGNITUDE, envelope, hann_window};
use earshot_audio_model::tensors::decoder_block;
use std::ops::Range;

/// The decoder kernels' CUDA C source as stored: it compiles on its own
/// (its constants default to the engine's); [`GpuDecoder::new`] compiles it
/// with the engine's constants defined ahead of it.
pub const KERNEL_SOURCE: &str = include_str!("kernels/decoder.cu");
/// Threads of the row-wise (layer-norm) kernels; a power of two.
const NORM_THREADS: u32 = 128;
/// Threads of the element-wise kernels.
const ELEM_THREADS: u32 = 256;
/// Threads of the irfft kernel: one butterfly each per stage.
const FFT_THREADS: u32 = (N_FFT / 4) as u32;

/// One ConvNeXt block's device weights.
struct Block {
    dw_weight: CudaSlice<f32>,
    dw_bias: CudaSlice<f32>,
    norm_weight: CudaSlice<f32>,
    norm_bias: CudaSlice<f32>,
    pw1_weight: CudaSlice<f32>,
    pw1_bias: CudaSlice<f32>,
    pw2_weight: CudaSlice<f32>,
    pw2_bias: CudaSlice<f32>,
    gamma: CudaSlice<f32>,
}

/// The decoder's kernels.
struct Kernels {
    im2col: CudaFunction,
    layer_norm: CudaFunction,
    dwconv_norm: CudaFunction,
    bias_gelu: CudaFunction,
    residual: CudaFunction,
    irfft: CudaFunction,
    overlap_add: CudaFunction,
}

/// Scratch buffers, each sized for a whole window.
struct Scratch {
    /// `[window, C · 7]` im2col of the embedding convolution.
    im2col: CudaSlice<f32>,
    /// `[window, W]` the residual stream.
    x: CudaSlice<f32>,
    /// `[window, W]` GEMM outputs before a norm, and normed rows.
    normed: CudaSlice<f32>,
    /// `[window, 3W]` the ConvNeXt hidden layer.
    hidden: CudaSlice<f32>,
    /// `[window, W]` `pwconv2` output.
    y: CudaSlice<f32>,
    /// `[window, 8200]` head outputs (without bias).
    head: CudaSlice<f32>,
    /// `[2 · window, CHANNELS, N]` windowed time frames.
    frames: CudaSlice<f32>,
}

/// The decoder's weights, kernels and buffers on the device.
pub struct GpuDecoder {
    window: usize,
    width: usize,
    head_outputs: usize,
    embed_weight: CudaSlice<f32>,
    embed_bias: CudaSlice<f32>,
    embed_norm_weight: CudaSlice<f32>,
    embed_norm_bias: CudaSlice<f32>,
    blocks: Vec<Block>,
    final_norm_weight: CudaSlice<f32>,
    final_norm_bias: CudaSlice<f32>,
    head_weight: CudaSlice<f32>,
    head_bias: CudaSlice<f32>,
    /// `[W]` zeros: the "bias" of the final norm's input.
    zero_bias: CudaSlice<f32>,
    /// `[N/2, 2]` `cos, sin(2π k / N)`.
    twiddle: CudaSlice<f32>,
    /// `[N]` the periodic Hann window, as the CPU computes it.
    hann: CudaSlice<f32>,
    /// `[window · HOP]` the window-sum envelope of every local sample,
    /// clamped below by `LN_EPS`, as the CPU computes it.
    envelope: CudaSlice<f32>,
    kernels: Kernels,
    scratch: Scratch,
}

impl std::fmt::Debug for GpuDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuDecoder")
            .field("window", &self.window)
            .field("width", &self.width)
            .field("blocks", &self.blocks.len())
            .finish_non_exhaustive()
    }
}

/// The error of a bad argument to [`GpuDecoder::decode`] (the driver's own
/// code for an invalid value; nothing was enqueued).
fn invalid_value() -> CudaError {
    CudaError::Driver(DriverError(
        cudarc::driver::sys::CUresult::CUDA_ERROR_INVALID_VALUE,
    ))
}

/// Uploads tensor `name`, which must hold `len` values.
fn tensor(
    dev: &mut Device,
    weights: &ModelWeights,
    name: &str,
    len: usize,
) -> Result<CudaSlice<f32>, CudaError> {
    let t = weights
        .get(name)
        .ok_or_else(|| CudaError::Weights(format!("decoder tensor {name} is missing")))?;
    if t.len() != len {
        return Err(CudaError::Weights(format!(
            "decoder tensor {name} has {} values, expected {len}",
            t.len()
        )));
    }
    dev.upload(t)
}

/// `cos, sin(2π k / N)` for `k < N/2`, computed in f64 and rounded once.
fn twiddles() -> Vec<f32> {
    (0..N_FFT / 2)
        .flat_map(|k| {
            let a = std::f64::consts::TAU * k as f64 / N_FFT as f64;
            [a.cos() as f32, a.sin() as f32]
        })
        .collect()
}

/// The kernel source with the model's constants defined ahead of it.
fn kernel_source(head_outputs: usize) -> String {
    format!(
        "#define LATENT_CHANNELS {LATENT_CHANNELS}\n\
         #define DECODER_KERNEL {DECODER_KERNEL}\n\
         #define N_FFT {N_FFT}\n\
         #define STFT_HOP {STFT_HOP}\n\
         #define STFT_PER_LATENT {STFT_PER_LATENT}\n\
         #define BINS {BINS}\n\
         #define CHANNELS {CHANNELS}\n\
         #define HEAD_OUTPUTS {head_outputs}\n\
         #define FRAME_OFFSET {FRAME_OFFSET}\n\
         #define LN_EPS {LN_EPS:e}f\n\
         #define MAX_MAGNITUDE {MAX_MAGNITUDE:e}f\n\
         #define NORM_THREADS {NORM_THREADS}\n\
         {KERNEL_SOURCE}"
    )
}

/// A launch over `n` elements, [`ELEM_THREADS`] a block.
fn elementwise(n: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((n as u32).div_ceil(ELEM_THREADS), 1, 1),
        block_dim: (ELEM_THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// A launch of one [`NORM_THREADS`] block per row, with a row of `width`
/// floats in dynamic shared memory.
fn per_row(rows: usize, width: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (rows as u32, 1, 1),
        block_dim: (NORM_THREADS, 1, 1),
        shared_mem_bytes: (width * std::mem::size_of::<f32>()) as u32,
    }
}

impl GpuDecoder {
    /// Uploads the decoder's weights (`dec.*` tensors of `weights`), compiles
    /// the kernels and sizes every scratch buffer for the largest decode (a
    /// whole window: `config.window` latent frames, `window · HOP` sample
    /// frames). A missing or wrongly sized tensor is [`CudaError::Weights`].
    pub fn new(dev: &mut Device, weights: &ModelWeights) -> Result<Self, CudaError> {
        let cfg = *weights.config();
        let window = cfg.window.0 as usize;
        let w = cfg.decoder_width;
        let hidden = DECODER_MLP_RATIO * w;
        let head_outputs = cfg.head_outputs();
        let samples = window * HOP.0 as usize;
        // Every index the kernels form is an i32.
        if window == 0 || w == 0 || samples * CHANNELS > i32::MAX as usize / 2 {
            return Err(CudaError::Weights(format!(
                "decoder geometry out of range: window {window}, width {w}"
            )));
        }
        let k = LATENT_CHANNELS * DECODER_KERNEL;

        let mut blocks = Vec::with_capacity(cfg.decoder_blocks);
        for i in 0..cfg.decoder_blocks {
            let name = |rest: &str| decoder_block(i, rest);
            blocks.push(Block {
                dw_weight: tensor(dev, weights, &name("dwconv.weight"), w * DECODER_KERNEL)?,
                dw_bias: tensor(dev, weights, &name("dwconv.bias"), w)?,
                norm_weight: tensor(dev, weights, &name("norm.weight"), w)?,
                norm_bias: tensor(dev, weights, &name("norm.bias"), w)?,
                pw1_weight: tensor(dev, weights, &name("pwconv1.weight"), hidden * w)?,
                pw1_bias: tensor(dev, weights, &name("pwconv1.bias"), hidden)?,
                pw2_weight: tensor(dev, weights, &name("pwconv2.weight"), w * hidden)?,
                pw2_bias: tensor(dev, weights, &name("pwconv2.bias"), w)?,
                gamma: tensor(dev, weights, &name("gamma"), w)?,
            });
        }

        let module = dev.compile("decoder", &kernel_source(head_outputs))?;
        let kernels = Kernels {
            im2col: module.load_function("dec_im2col")?,
            layer_norm: module.load_function("dec_layer_norm")?,
            dwconv_norm: module.load_function("dec_dwconv_norm")?,
            bias_gelu: module.load_function("dec_bias_gelu")?,
            residual: module.load_function("dec_residual")?,
            irfft: module.load_function("dec_irfft")?,
            overlap_add: module.load_function("dec_overlap_add")?,
        };

        let hann = hann_window();
        let stft_frames = (window * STFT_PER_LATENT) as i64;
        let env: Vec<f32> = (0..samples as i64)
            .map(|s| envelope(&hann, s, stft_frames).max(LN_EPS))
            .collect();

        let scratch = Scratch {
            im2col: dev.zeros(window * k)?,
            x: dev.zeros(window * w)?,
            normed: dev.zeros(window * w)?,
            hidden: dev.zeros(window * hidden)?,
            y: dev.zeros(window * w)?,
            head: dev.zeros(window * head_outputs)?,
            frames: dev.zeros(window * STFT_PER_LATENT * CHANNELS * N_FFT)?,
        };

        Ok(Self {
            window,
            width: w,
            head_outputs,
            embed_weight: tensor(dev, weights, "dec.embed.weight", w * k)?,
            embed_bias: tensor(dev, weights, "dec.embed.bias", w)?,
            embed_norm_weight: tensor(dev, weights, "dec.embed_norm.weight", w)?,
            embed_norm_bias: tensor(dev, weights, "dec.embed_norm.bias", w)?,
            blocks,
            final_norm_weight: tensor(dev, weights, "dec.final_norm.weight", w)?,
            final_norm_bias: tensor(dev, weights, "dec.final_norm.bias", w)?,
            head_weight: tensor(dev, weights, "dec.head.weight", head_outputs * w)?,
            head_bias: tensor(dev, weights, "dec.head.bias", head_outputs)?,
            zero_bias: dev.zeros(w)?,
            twiddle: dev.upload(&twiddles())?,
            hann: dev.upload(&hann)?,
            envelope: dev.upload(&env)?,
            kernels,
            scratch,
        })
    }

    /// Renders the window-local sample frames `local` (0 = the window's
    /// first sample frame; `local.end <= window · HOP`) of the latent window
    /// `latents` (device f32, `[window, LATENT_CHANNELS]` row-major) into
    /// `out` (device f32, interleaved stereo, `2 · local.len()` values).
    ///
    /// Only enqueues work on `dev.stream`: no host sync, no allocation, no
    /// copy. An empty range enqueues nothing. A range outside the window or
    /// a buffer of the wrong length is `CUDA_ERROR_INVALID_VALUE`
    /// ([`CudaError::Driver`]) and enqueues nothing.
    pub fn decode(
        &mut self,
        dev: &mut Device,
        latents: &CudaView<'_, f32>,
        local: Range<usize>,
        out: &mut CudaViewMut<'_, f32>,
    ) -> Result<(), CudaError> {
        let samples = self.window * HOP.0 as usize;
        if local.start > local.end || local.end > samples {
            return Err(invalid_value());
        }
        let len = local.end - local.start;
        if latents.len() < self.window * LATENT_CHANNELS || out.len() != len * CHANNELS {
            return Err(invalid_value());
        }
        if len == 0 {
            return Ok(());
        }

        let w = self.width;
        let hidden_w = DECODER_MLP_RATIO * w;
        let t_len = self.window as i64;
        let range = local.start as i64..local.end as i64;
        let plan = DecodePlan::new(&range, t_len, self.blocks.len());
        let DecodePlan {
            j_lo,
            j_hi,
            f_lo,
            f_hi,
            g0,
            g1,
        } = plan;
        let rows = (g1 - g0) as usize;
        let k = LATENT_CHANNELS * DECODER_KERNEL;
        let (t_len_i, g0_i) = (t_len as i32, g0 as i32);
        let Self {
            kernels,
            scratch,
            blocks,
            ..
        } = self;
        let stream = &dev.stream;

        // Embedding convolution: im2col, then one GEMM into `normed`.
        {
            let rows_i = rows as i32;
            let mut b = stream.launch_builder(&kernels.im2col);
            b.arg(latents)
                .arg(&mut scratch.im2col)
                .arg(&g0_i)
                .arg(&rows_i)
                .arg(&t_len_i);
            // SAFETY: dec_im2col(const float*, float*, int, int, int); it
            // reads latent frames inside [0, t_len) of a buffer checked to
            // hold the window and writes rows·k < window·k values of im2col.
            unsafe { b.launch(elementwise(rows * k))? };
        }
        dev.linear(
            &scratch.im2col,
            &self.embed_weight,
            &mut scratch.normed,
            rows,
            k,
            w,
            0.0,
        )?;
        // + bias, embed_norm: normed rows 0..rows -> x rows 0..rows.
        {
            let (zero, width) = (0i32, w as i32);
            let mut b = stream.launch_builder(&kernels.layer_norm);
            b.arg(&scratch.normed)
                .arg(&self.embed_bias)
                .arg(&self.embed_norm_weight)
                .arg(&self.embed_norm_bias)
                .arg(&mut scratch.x)
                .arg(&zero)
                .arg(&zero)
                .arg(&width);
            // SAFETY: dec_layer_norm(const float*×4, float*, int, int, int);
            // rows ≤ window rows of width w in both buffers, [w] parameters,
            // w floats of dynamic shared memory.
            unsafe { b.launch(per_row(rows, w))? };
        }

        // ConvNeXt blocks. Each block's valid frames shrink by the kernel's
        // half width, except at the window's own edges where zero padding is
        // the truth (as the CPU).
        let (mut lo, mut hi) = (g0, g1);
        for blk in blocks.iter() {
            let nlo = if lo == 0 { 0 } else { lo + HALF as i64 };
            let nhi = if hi == t_len { t_len } else { hi - HALF as i64 };
            let (first, m) = ((nlo - g0) as usize, (nhi - nlo) as usize);
            if m > 0 {
                {
                    let (nlo_i, width) = (nlo as i32, w as i32);
                    let mut b = stream.launch_builder(&kernels.dwconv_norm);
                    b.arg(&scratch.x)
                        .arg(&blk.dw_weight)
                        .arg(&blk.dw_bias)
                        .arg(&blk.norm_weight)
                        .arg(&blk.norm_bias)
                        .arg(&mut scratch.normed)
                        .arg(&g0_i)
                        .arg(&nlo_i)
                        .arg(&t_len_i)
                        .arg(&width);
                    // SAFETY: dec_dwconv_norm(const float*×5, float*, int×4);
                    // frames nlo..nhi read x rows of frames within
                    // [lo, hi) ∩ [0, t_len) ⊆ [g0, g1) (nlo ≥ lo + 3 unless
                    // lo = 0, likewise at the top) and write normed rows
                    // first..first + m < rows; w floats of shared memory.
                    unsafe { b.launch(per_row(m, w))? };
                }
                let x_in = scratch
                    .normed
                    .try_slice(first * w..(first + m) * w)
                    .ok_or_else(invalid_value)?;
                dev.linear(
                    &x_in,
                    &blk.pw1_weight,
                    &mut scratch.hidden,
                    m,
                    w,
                    hidden_w,
                    0.0,
                )?;
                {
                    let (n, width) = ((m * hidden_w) as i32, hidden_w as i32);
                    let mut b = stream.launch_builder(&kernels.bias_gelu);
                    b.arg(&mut scratch.hidden)
                        .arg(&blk.pw1_bias)
                        .arg(&n)
                        .arg(&width);
                    // SAFETY: dec_bias_gelu(float*, const float*, int, int);
                    // m·3w values of hidden (sized window·3w), a [3w] bias.
                    unsafe { b.launch(elementwise(m * hidden_w))? };
                }
                dev.linear(
                    &scratch.hidden,
                    &blk.pw2_weight,
                    &mut scratch.y,
                    m,
                    hidden_w,
                    w,
                    0.0,
                )?;
                {
                    let (first_i, n, width) = (first as i32, (m * w) as i32, w as i32);
                    let mut b = stream.launch_builder(&kernels.residual);
                    b.arg(&mut scratch.x)
                        .arg(&scratch.y)
                        .arg(&blk.pw2_bias)
                        .arg(&blk.gamma)
                        .arg(&first_i)
                        .arg(&n)
                        .arg(&width);
                    // SAFETY: dec_residual(float*, const float*×3, int×3);
                    // x rows first..first + m < rows, y rows 0..m, [w]
                    // parameters. Every dwconv of this block read x before
                    // (same stream, earlier launch).
                    unsafe { b.launch(elementwise(m * w))? };
                }
            }
            (lo, hi) = (nlo, nhi);
        }
        if !(lo <= f_lo && f_hi < hi) {
            // The context arithmetic guarantees this (as the CPU asserts).
            return Err(invalid_value());
        }

        // Final norm of the head's frames into normed rows 0..head_rows.
        let head_rows = (f_hi - f_lo + 1) as usize;
        {
            let (row0, zero, width) = ((f_lo - g0) as i32, 0i32, w as i32);
            let mut b = stream.launch_builder(&kernels.layer_norm);
            b.arg(&scratch.x)
                .arg(&self.zero_bias)
                .arg(&self.final_norm_weight)
                .arg(&self.final_norm_bias)
                .arg(&mut scratch.normed)
                .arg(&row0)
                .arg(&zero)
                .arg(&width);
            // SAFETY: dec_layer_norm as above; x rows f_lo - g0.. + head_rows
            // ≤ rows, normed rows 0..head_rows ≤ window.
            unsafe { b.launch(per_row(head_rows, w))? };
        }
        let head_in = scratch
            .normed
            .try_slice(..head_rows * w)
            .ok_or_else(invalid_value)?;
        dev.linear(
            &head_in,
            &self.head_weight,
            &mut scratch.head,
            head_rows,
            w,
            self.head_outputs,
            0.0,
        )?;

        // Spectrum and irfft of STFT frames j_lo..=j_hi, both channels.
        let n_frames = (j_hi - j_lo + 1) as usize;
        {
            let (j_lo_i, f_lo_i) = (j_lo as i32, f_lo as i32);
            let mut b = stream.launch_builder(&kernels.irfft);
            b.arg(&scratch.head)
                .arg(&self.head_bias)
                .arg(&self.twiddle)
                .arg(&self.hann)
                .arg(&mut scratch.frames)
                .arg(&j_lo_i)
                .arg(&f_lo_i);
            let cfg = LaunchConfig {
                grid_dim: (n_frames as u32, CHANNELS as u32, 1),
                block_dim: (FFT_THREADS, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: dec_irfft(const float*×4, float*, int, int); frame j
            // reads head row j / 2 - f_lo < head_rows and writes frames slot
            // j - j_lo < 2·window (n_frames ≤ 2·window); N/4 threads, static
            // shared memory (16.4 KB).
            unsafe { b.launch(cfg)? };
        }

        // Overlap-add and window-sum normalization into `out`.
        {
            let (start, len_i, j_lo_i, j_hi_i) =
                (local.start as i32, len as i32, j_lo as i32, j_hi as i32);
            let mut b = stream.launch_builder(&kernels.overlap_add);
            b.arg(&scratch.frames)
                .arg(&self.envelope)
                .arg(&mut *out)
                .arg(&start)
                .arg(&len_i)
                .arg(&j_lo_i)
                .arg(&j_hi_i);
            // SAFETY: dec_overlap_add(const float*×2, float*, int×4); out
            // holds len·CHANNELS values (checked), envelope window·HOP ≥
            // local.end, and every frame read lies in j_lo..=j_hi with its
            // sample index inside [0, N).
            unsafe { b.launch(elementwise(len * CHANNELS))? };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interior_envelope_is_constant_and_edges_covered() {
        let w = hann_window();
        for s in 4096..4096 + 1024 {
            assert!((envelope(&w, s, 64) - 1.5).abs() < 1e-4, "at {s}");
        }
        assert!(envelope(&w, 0, 64) > 0.1);
        assert!(envelope(&w, 32_767, 64) > 0.1);
    }

    #[test]
    fn source_defines_every_constant() {
        let src = kernel_source(8200);
        for name in [
            "LATENT_CHANNELS",
            "DECODER_KERNEL",
            "N_FFT",
            "STFT_HOP",
            "STFT_PER_LATENT",
            "BINS",
            "CHANNELS",
            "HEAD_OUTPUTS",
            "FRAME_OFFSET",
            "LN_EPS",
            "MAX_MAGNITUDE",
            "NORM_THREADS",
        ] {
            assert!(src.contains(&format!("#define {name} ")), "{name}");
        }
        assert!(src.contains("#define LN_EPS 1e-6f\n"), "{src:.400}");
        assert!(src.contains("#define MAX_MAGNITUDE 1e2f\n"));
        assert!(src.contains("#define FRAME_OFFSET 768\n"));
    }

    #[test]
    fn source_defaults_are_the_engine_constants() {
        // Each `#ifndef NAME` / `#define NAME value` default in the .cu must
        // equal what kernel_source defines for the engine.
        let engine = kernel_source(earshot_audio_model::ModelSize::Tiny.config().head_outputs());
        let defines: Vec<(&str, &str)> = engine
            .lines()
            .take_while(|l| l.starts_with("#define "))
            .filter_map(|l| {
                let mut it = l["#define ".len()..].splitn(2, ' ');
                Some((it.next()?, it.next()?))
            })
            .collect();
        assert_eq!(defines.len(), 12);
        for (name, value) in defines {
            let default = format!("#ifndef {name}\n#define {name} {value}\n#endif");
            assert!(
                KERNEL_SOURCE.contains(&default),
                "default of {name} is not {value}"
            );
        }
    }

    /// Compiles the kernels with NVRTC where it can be loaded (it needs no
    /// GPU), as `GpuDecoder::new` does, and on their own.
    #[test]
    fn kernels_compile_with_nvrtc() {
        // SAFETY: only probes whether the shared library can be opened.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            eprintln!("skipped: libnvrtc not found (set LD_LIBRARY_PATH to a CUDA 13 NVRTC)");
            return;
        }
        for src in [kernel_source(8200), KERNEL_SOURCE.to_owned()] {
            let opts = cudarc::nvrtc::CompileOptions {
                arch: Some("sm_90"),
                ftz: Some(false),
                prec_div: Some(true),
                prec_sqrt: Some(true),
                fmad: Some(false),
                name: Some("decoder.cu".into()),
                ..Default::default()
            };
            if let Err(e) = cudarc::nvrtc::compile_ptx_with_opts(src, opts) {
                panic!("decoder kernels: {e}");
            }
        }
    }
}
