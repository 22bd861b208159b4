//! The playback buffer proper: a ring of sample frames indexed by absolute
//! timeline position, with a tag per frame that says which position its
//! content was written for.

use crate::patch::fade_in_gain;

/// Samples for positions `pos % capacity`, plus a lap tag per frame.
///
/// A frame is valid for `pos` only when its tag equals `pos / capacity + 1`,
/// so content left over from an earlier lap (or never written, tag 0) is
/// not played as if it were new. Tags wrap after 2³² laps, centuries of
/// audio at any sample rate.
#[derive(Debug)]
pub(super) struct Ring {
    samples: Box<[f32]>,
    tags: Box<[u32]>,
    channels: usize,
}

impl Ring {
    /// A silent ring with nothing valid; `capacity` frames, `channels` each.
    pub(super) fn new(capacity: usize, channels: usize) -> Self {
        Self {
            samples: vec![0.0; capacity * channels].into_boxed_slice(),
            tags: vec![0; capacity].into_boxed_slice(),
            channels,
        }
    }

    fn capacity(&self) -> u64 {
        self.tags.len() as u64
    }

    fn tag(&self, pos: u64) -> u32 {
        ((pos / self.capacity()) as u32).wrapping_add(1)
    }

    /// The content written for `pos`, if any.
    pub(super) fn frame(&self, pos: u64) -> Option<&[f32]> {
        let idx = (pos % self.capacity()) as usize;
        (self.tags[idx] == self.tag(pos))
            .then(|| &self.samples[idx * self.channels..(idx + 1) * self.channels])
    }

    /// Writes interleaved `src` at positions from `start`, crossfading over
    /// its first `fade` frames wherever valid content is already there and
    /// writing straight in where there is none. `src` holds at most one
    /// ring length, so it wraps the ring at most once: two contiguous
    /// pieces, each within one lap, so one tag each.
    pub(super) fn write(&mut self, start: u64, src: &[f32], fade: usize) {
        let ch = self.channels;
        let frames = src.len() / ch;
        debug_assert_eq!(src.len() % ch, 0);
        debug_assert!(frames as u64 <= self.capacity());
        let first_idx = (start % self.capacity()) as usize;
        let first_len = frames.min(self.tags.len() - first_idx);
        for (ring_idx, offset, len) in [
            (first_idx, 0, first_len),
            (0, first_len, frames - first_len),
        ] {
            if len == 0 {
                continue;
            }
            let tag = self.tag(start + offset as u64);
            let faded = fade.saturating_sub(offset).min(len);
            for j in 0..faded {
                let (r, s) = ((ring_idx + j) * ch, (offset + j) * ch);
                let (dst, new) = (&mut self.samples[r..r + ch], &src[s..s + ch]);
                if self.tags[ring_idx + j] == tag {
                    let g_new = fade_in_gain(offset + j, fade);
                    let g_old = 1.0 - g_new;
                    for (d, &n) in dst.iter_mut().zip(new) {
                        *d = g_old * *d + g_new * n;
                    }
                } else {
                    dst.copy_from_slice(new);
                }
            }
            let (r, s) = ((ring_idx + faded) * ch, (offset + faded) * ch);
            let rest = (len - faded) * ch;
            self.samples[r..r + rest].copy_from_slice(&src[s..s + rest]);
            self.tags[ring_idx..ring_idx + len].fill(tag);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::crossfade_into;

    #[test]
    fn nothing_is_valid_until_written() {
        let ring = Ring::new(8, 2);
        assert!((0..32).all(|p| ring.frame(p).is_none()));
    }

    #[test]
    fn content_is_valid_only_for_its_lap() {
        let mut ring = Ring::new(8, 1);
        ring.write(6, &[1.0, 2.0, 3.0, 4.0], 0);
        assert_eq!(ring.frame(6), Some(&[1.0][..]));
        assert_eq!(ring.frame(9), Some(&[4.0][..]));
        assert_eq!(ring.frame(14), None, "same slot, next lap");
        assert_eq!(ring.frame(1), None, "same slot, lap before");
    }

    #[test]
    fn wrapped_crossfade_matches_the_contiguous_one() {
        let old: Vec<f32> = (0..20).map(|i| i as f32).collect();
        let new: Vec<f32> = (0..20).map(|i| -(i as f32)).collect();
        let mut expect = old.clone();
        crossfade_into(&mut expect, &new, 2, 6);
        let mut ring = Ring::new(16, 2);
        ring.write(13, &old, 0);
        ring.write(13, &new, 6);
        let got: Vec<f32> = (13..23)
            .flat_map(|p| ring.frame(p).unwrap().to_vec())
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn fade_only_blends_valid_frames() {
        let mut ring = Ring::new(16, 1);
        ring.write(2, &[5.0, 5.0], 0);
        ring.write(0, &[1.0; 6], 6);
        assert_eq!(ring.frame(0), Some(&[1.0][..]), "nothing there: written");
        assert_eq!(ring.frame(1), Some(&[1.0][..]));
        let blended = ring.frame(2).unwrap()[0];
        assert!(blended > 1.0 && blended < 5.0, "blend: {blended}");
        assert_eq!(ring.frame(5), Some(&[1.0][..]));
    }
}
