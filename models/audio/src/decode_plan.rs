//! Which frames a windowed decode needs: the one plan the CPU and CUDA
//! decoders both follow, so a range rendered on either device reads and
//! computes exactly the same frames.

use crate::config::{DECODER_KERNEL, N_FFT, STFT_HOP, STFT_PER_LATENT};
use crate::stft::FRAME_OFFSET;
use std::ops::Range;

/// Half width of the decoder's depthwise kernels: the context one block
/// reads on each side.
pub const HALF_KERNEL: usize = DECODER_KERNEL / 2;

/// The frames a decode of local samples `range` (from the window's first
/// sample) needs: STFT frames `j_lo..=j_hi`, the latent frames
/// `f_lo..=f_hi` that carry them and the rows `g0..g1` of context the
/// convolutions compute around those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodePlan {
    /// First STFT frame overlapping the range.
    pub j_lo: i64,
    /// Last STFT frame overlapping the range.
    pub j_hi: i64,
    /// Latent frame of `j_lo`.
    pub f_lo: i64,
    /// Latent frame of `j_hi`.
    pub f_hi: i64,
    /// First latent frame of context computed.
    pub g0: i64,
    /// End of the latent frames of context computed.
    pub g1: i64,
}

impl DecodePlan {
    /// The plan for `range` of a window of `t_len` latent frames, decoded
    /// through `blocks` ConvNeXt blocks.
    pub fn new(range: &Range<i64>, t_len: i64, blocks: usize) -> Self {
        let hop = STFT_HOP as i64;
        let per = STFT_PER_LATENT as i64;
        let stft_frames = t_len * per;
        let j_lo = ((range.start - (N_FFT as i64 - FRAME_OFFSET)).div_euclid(hop) + 1).max(0);
        let j_hi = ((range.end + FRAME_OFFSET - 1).div_euclid(hop)).min(stft_frames - 1);
        let (f_lo, f_hi) = (j_lo / per, j_hi / per);
        let ctx = (HALF_KERNEL * blocks) as i64;
        Self {
            j_lo,
            j_hi,
            f_lo,
            f_hi,
            g0: (f_lo - ctx).max(0),
            g1: (f_hi + 1 + ctx).min(t_len),
        }
    }

    /// Latent frames of context computed.
    pub fn rows(&self) -> usize {
        (self.g1 - self.g0) as usize
    }

    /// Latent frames that go through the head.
    pub fn head_rows(&self) -> usize {
        (self.f_hi - self.f_lo + 1) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HOP, ModelSize};

    #[test]
    fn the_plan_reads_no_further_than_the_margin() {
        for size in ModelSize::ALL {
            let c = size.config();
            let t_len = c.window.0 as i64;
            let hop = HOP.0 as i64;
            let margin = c.decoder_margin().0 as i64;
            // A range well inside the window reads at most the margin
            // beyond its own latent frames.
            let range = 12 * hop + 100..(t_len - 12) * hop - 7;
            let p = DecodePlan::new(&range, t_len, c.decoder_blocks);
            assert!(p.g0 >= range.start / hop - margin, "{size}: {p:?}");
            assert!(p.g1 <= (range.end - 1) / hop + 1 + margin, "{size}: {p:?}");
            assert!(p.f_lo <= range.start / hop && p.f_hi >= (range.end - 1) / hop);
        }
    }

    #[test]
    fn the_plan_is_clamped_to_the_window() {
        let c = ModelSize::Tiny.config();
        let t_len = c.window.0 as i64;
        let p = DecodePlan::new(&(0..t_len * HOP.0 as i64), t_len, c.decoder_blocks);
        assert_eq!((p.j_lo, p.g0, p.g1), (0, 0, t_len));
        assert_eq!(p.j_hi, t_len * STFT_PER_LATENT as i64 - 1);
        assert_eq!(p.rows(), t_len as usize);
    }

    #[test]
    fn plan_matches_the_documented_margins() {
        // Tiny: window 32, 2 blocks. A middle range reads at most
        // decoder_margin - 1 = 3 (1 + blocks) latent frames beyond the
        // latent frames of its STFT frames.
        let t = 32;
        let p = DecodePlan::new(&(10_240..12_288), t, 2);
        assert_eq!((p.j_lo, p.j_hi), (18, 25));
        assert_eq!((p.f_lo, p.f_hi), (9, 12));
        assert_eq!((p.g0, p.g1), (3, 19));
        let p = DecodePlan::new(&(0..1), t, 2);
        assert_eq!((p.j_lo, p.g0), (0, 0));
        let p = DecodePlan::new(&(32_767..32_768), t, 2);
        assert_eq!((p.j_hi, p.g1), (63, 32));
    }
}
