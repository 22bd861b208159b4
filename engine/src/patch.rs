//! Writing a rendered slice over what is already there, with a crossfade so
//! no seam clicks (contract 5).
//!
//! The curve is equal-power: over the first `fade` frames the old content is
//! weighted `cos(π/2 · x)` and the new `sin(π/2 · x)`, `x = (i + 0.5) / fade`,
//! which keeps the level of uncorrelated material (two different produces)
//! steady through the seam. After the fade the new slice replaces the old.

/// Crossfades interleaved `src` into `dst` (same length, `channels` per
/// frame) over the first `fade` frames, then copies the rest. Allocates
/// nothing.
pub fn crossfade_into(dst: &mut [f32], src: &[f32], channels: usize, fade: usize) {
    debug_assert_eq!(dst.len(), src.len());
    let frames = dst.len() / channels;
    let fade = fade.min(frames);
    for i in 0..fade {
        let x = (i as f32 + 0.5) / fade as f32;
        let (g_new, g_old) = (std::f32::consts::FRAC_PI_2 * x).sin_cos();
        for c in 0..channels {
            let k = i * channels + c;
            dst[k] = g_old * dst[k] + g_new * src[k];
        }
    }
    dst[fade * channels..].copy_from_slice(&src[fade * channels..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fade_moves_from_old_to_new_at_constant_power() {
        let mut dst = vec![1.0f32; 16];
        let src = vec![-1.0f32; 16];
        crossfade_into(&mut dst, &src, 2, 4);
        assert!(dst[0] > 0.7, "starts near the old content: {}", dst[0]);
        assert!(dst[6] < -0.3, "ends near the new content: {}", dst[6]);
        assert!(dst[8..].iter().all(|&v| v == -1.0));
        for i in 0..4 {
            let x = (i as f32 + 0.5) / 4.0;
            let (s, c) = (std::f32::consts::FRAC_PI_2 * x).sin_cos();
            assert!((s * s + c * c - 1.0).abs() < 1e-6);
        }
    }
}
