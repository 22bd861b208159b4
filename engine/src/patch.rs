//! Writing a rendered slice over what is already there, with a crossfade so
//! no seam clicks (contract 5).
//!
//! The curve is a raised cosine of equal gain: over the first `fade` frames
//! the new slice is weighted `sin²(π/2 · x)` and the old content
//! `cos²(π/2 · x)`, `x = (i + 0.5) / fade`; the weights sum to one, so where
//! old and new agree (consecutive produces carry the same tones, in phase)
//! the seam is inaudible, and the curve's slope is zero at both ends. After
//! the fade the new slice replaces the old.

/// The new content's weight at frame `i` of a `fade`-frame crossfade; the old
/// content's weight is one minus this. Exposed per frame so a writer that
/// fades across a ring's wrap, or a gain ramp, uses the very same curve.
pub fn fade_in_gain(i: usize, fade: usize) -> f32 {
    debug_assert!(i < fade);
    let x = (i as f32 + 0.5) / fade as f32;
    (std::f32::consts::FRAC_PI_2 * x).sin().powi(2)
}

/// Crossfades interleaved `src` into `dst` (same length, `channels` per
/// frame) over the first `fade` frames, then copies the rest. Allocates
/// nothing.
pub fn crossfade_into(dst: &mut [f32], src: &[f32], channels: usize, fade: usize) {
    debug_assert_eq!(dst.len(), src.len());
    let frames = dst.len() / channels;
    let fade = fade.min(frames);
    for i in 0..fade {
        let g_new = fade_in_gain(i, fade);
        let g_old = 1.0 - g_new;
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
    fn fade_moves_from_old_to_new() {
        let mut dst = vec![1.0f32; 16];
        let src = vec![-1.0f32; 16];
        crossfade_into(&mut dst, &src, 2, 4);
        assert!(dst[0] > 0.8, "starts near the old content: {}", dst[0]);
        assert!(dst[6] < -0.8, "ends near the new content: {}", dst[6]);
        assert!(
            dst[0] > dst[2] && dst[2] > dst[4] && dst[4] > dst[6],
            "monotone"
        );
        assert!(dst[8..].iter().all(|&v| v == -1.0));
    }

    #[test]
    fn identical_content_passes_through_unchanged() {
        let signal: Vec<f32> = (0..64).map(|i| (i as f32 * 0.3).sin()).collect();
        let mut dst = signal.clone();
        crossfade_into(&mut dst, &signal, 2, 32);
        for (a, b) in dst.iter().zip(&signal) {
            assert!((a - b).abs() < 1e-6, "equal gain: {a} vs {b}");
        }
    }
}
