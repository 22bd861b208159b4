//! Matrix products against constant weights, with no allocation per call.
//!
//! The `gemm` and `matrixmultiply` crates allocate their packing buffers on
//! every call, which the real-time rule forbids in a steady-state tick. The
//! right side of every product here is a weight matrix that never changes,
//! so it is packed once, at load time, into panels of [`NR`] output columns;
//! a register-blocked microkernel ([`MR`] rows × [`NR`] columns, AVX2 + FMA
//! where the CPU has them, a portable loop elsewhere) then streams the
//! activations through it in blocks of [`KC`] along the inner dimension.
//! The accumulation order of every output element is fixed (inner index
//! ascending), whatever the number of rows, so a product over a few rows
//! equals the same rows of a larger product bit for bit.

/// Output columns per packed panel.
pub const NR: usize = 16;
/// Rows per microkernel call.
pub const MR: usize = 4;
/// Inner-dimension block: one panel block (`KC × NR` floats, 16 KiB) stays in L1.
pub const KC: usize = 256;

type Tile = [[f32; NR]; MR];

/// A weight matrix `W [n, k]` (PyTorch's `[out, in]`), packed for `x Wᵀ`.
#[derive(Debug, Clone)]
pub struct PackedMatrix {
    n: usize,
    k: usize,
    /// `ceil(n / NR)` panels, each `k × NR` (column `j` of a panel is row
    /// `panel * NR + j` of `W`, zero past `n`).
    panels: Vec<f32>,
    simd: bool,
}

impl PackedMatrix {
    /// Packs the row-major `w` of shape `[n, k]`.
    pub fn new(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "weight length");
        let count = n.div_ceil(NR);
        let mut panels = vec![0.0; count * k * NR];
        for p in 0..count {
            for j in 0..NR.min(n - p * NR) {
                let row = &w[(p * NR + j) * k..][..k];
                for (kk, &v) in row.iter().enumerate() {
                    panels[(p * k + kk) * NR + j] = v;
                }
            }
        }
        Self {
            n,
            k,
            panels,
            simd: simd_available(),
        }
    }

    /// Output columns.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Inner dimension.
    pub fn k(&self) -> usize {
        self.k
    }

    /// `c[m, n] += a[m, k] · Wᵀ` for row-major `a` and `c`.
    pub fn matmul_acc(&self, a: &[f32], m: usize, c: &mut [f32]) {
        let (n, k) = (self.n, self.k);
        assert!(
            a.len() >= m * k && c.len() >= m * n,
            "matmul operand lengths"
        );
        for p in 0..n.div_ceil(NR) {
            let col0 = p * NR;
            let cols = NR.min(n - col0);
            for k0 in (0..k).step_by(KC) {
                let kc = KC.min(k - k0);
                let b = &self.panels[(p * k + k0) * NR..][..kc * NR];
                for i0 in (0..m).step_by(MR) {
                    let rows = MR.min(m - i0);
                    let mut tile: Tile = [[0.0; NR]; MR];
                    for (r, t) in tile.iter_mut().enumerate().take(rows) {
                        t[..cols].copy_from_slice(&c[(i0 + r) * n + col0..][..cols]);
                    }
                    // Missing rows repeat the last real one; their results are dropped.
                    let row = |r: usize| &a[(i0 + r.min(rows - 1)) * k + k0..][..kc];
                    let arows = [row(0), row(1), row(2), row(3)];
                    self.kernel(kc, arows, b, &mut tile);
                    for (r, t) in tile.iter().enumerate().take(rows) {
                        c[(i0 + r) * n + col0..][..cols].copy_from_slice(&t[..cols]);
                    }
                }
            }
        }
    }

    /// `c[m, n] = a[m, k] · Wᵀ + bias` (bias broadcast over rows).
    pub fn linear(&self, a: &[f32], m: usize, bias: &[f32], c: &mut [f32]) {
        debug_assert_eq!(bias.len(), self.n);
        for row in c[..m * self.n].chunks_exact_mut(self.n) {
            row.copy_from_slice(bias);
        }
        self.matmul_acc(a, m, c);
    }

    fn kernel(&self, kc: usize, a: [&[f32]; MR], b: &[f32], tile: &mut Tile) {
        #[cfg(target_arch = "x86_64")]
        if self.simd {
            // Safety: `simd` is true only when the CPU reported AVX2 and FMA;
            // every row of `a` holds `kc` values and `b` holds `kc * NR`.
            unsafe { kernel_avx2(kc, a, b, tile) };
            return;
        }
        kernel_portable(kc, a, b, tile);
    }
}

fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn kernel_portable(kc: usize, a: [&[f32]; MR], b: &[f32], tile: &mut Tile) {
    for kk in 0..kc {
        let bk = &b[kk * NR..][..NR];
        for (r, t) in tile.iter_mut().enumerate() {
            let x = a[r][kk];
            for (acc, &w) in t.iter_mut().zip(bk) {
                *acc = x.mul_add(w, *acc);
            }
        }
    }
}

/// The AVX2 microkernel: eight 8-lane accumulators, two panel loads and four
/// broadcasts per inner step.
///
/// # Safety
/// The CPU must support AVX2 and FMA; each `a[r]` must hold `kc` floats and
/// `b` must hold `kc * NR` floats.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_avx2(kc: usize, a: [&[f32]; MR], b: &[f32], tile: &mut Tile) {
    use std::arch::x86_64::*;
    debug_assert!(a.iter().all(|r| r.len() >= kc) && b.len() >= kc * NR);
    // Safety: the caller guarantees the lengths asserted above, so every
    // pointer offset below stays inside its slice; loads and stores are the
    // unaligned variants.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        for (r, t) in tile.iter().enumerate() {
            acc[r][0] = _mm256_loadu_ps(t.as_ptr());
            acc[r][1] = _mm256_loadu_ps(t.as_ptr().add(8));
        }
        let bp = b.as_ptr();
        let ap = [a[0].as_ptr(), a[1].as_ptr(), a[2].as_ptr(), a[3].as_ptr()];
        for kk in 0..kc {
            let b0 = _mm256_loadu_ps(bp.add(kk * NR));
            let b1 = _mm256_loadu_ps(bp.add(kk * NR + 8));
            for r in 0..MR {
                let x = _mm256_broadcast_ss(&*ap[r].add(kk));
                acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
            }
        }
        for (r, t) in tile.iter_mut().enumerate() {
            _mm256_storeu_ps(t.as_mut_ptr(), acc[r][0]);
            _mm256_storeu_ps(t.as_mut_ptr().add(8), acc[r][1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(a: &[f32], w: &[f32], m: usize, n: usize, k: usize) -> Vec<f64> {
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|kk| f64::from(a[i * k + kk]) * f64::from(w[j * k + kk]))
                    .sum();
            }
        }
        c
    }

    fn values(len: usize, salt: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ salt) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn matches_f64_reference_on_ragged_shapes() {
        for &(m, n, k) in &[
            (1, 1, 1),
            (5, 17, 3),
            (7, 33, 300),
            (13, 64, 513),
            (4, 16, 256),
        ] {
            let a = values(m * k, 1);
            let w = values(n * k, 2);
            let bias = values(n, 3);
            let packed = PackedMatrix::new(&w, n, k);
            let mut c = vec![0.0; m * n];
            packed.linear(&a, m, &bias, &mut c);
            let r = reference(&a, &w, m, n, k);
            for (idx, (&got, &want)) in c.iter().zip(&r).enumerate() {
                let want = want + f64::from(bias[idx % n]);
                assert!(
                    (f64::from(got) - want).abs() < 1e-3 * (1.0 + want.abs()),
                    "{m}x{n}x{k} at {idx}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn fewer_rows_give_bit_identical_results() {
        let (m, n, k) = (11, 40, 600);
        let a = values(m * k, 4);
        let packed = PackedMatrix::new(&values(n * k, 5), n, k);
        let mut full = vec![0.0; m * n];
        packed.matmul_acc(&a, m, &mut full);
        let mut part = vec![0.0; 3 * n];
        packed.matmul_acc(&a[5 * k..8 * k], 3, &mut part);
        assert_eq!(&full[5 * n..8 * n], &part[..]);
    }

    #[test]
    fn portable_and_simd_kernels_agree() {
        if !simd_available() {
            eprintln!("skipped: this CPU has no AVX2 + FMA, only the portable kernel runs");
            return;
        }
        let (n, k) = (16, 40);
        let w = values(n * k, 6);
        let a = values(MR * k, 7);
        let packed = PackedMatrix::new(&w, n, k);
        let rows = [&a[..k], &a[k..2 * k], &a[2 * k..3 * k], &a[3 * k..]];
        let mut t1: Tile = [[0.0; NR]; MR];
        let mut t2: Tile = [[0.0; NR]; MR];
        kernel_portable(k, rows, &packed.panels, &mut t1);
        packed.kernel(k, rows, &packed.panels, &mut t2);
        assert_eq!(
            t1, t2,
            "both accumulate with fused multiply-add in the same order"
        );
    }
}
