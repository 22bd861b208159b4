//! The playback buffer proper: a ring of sample frames indexed by absolute
//! timeline position, with a tag per frame that says which position its
//! content was written for.

use crate::epoch::Epochs;
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
    /// The epochs of the patch each frame was last written by.
    epochs: Box<[Epochs]>,
    /// The source (produce serial) of the patch each frame was last written by.
    sources: Box<[u64]>,
    channels: usize,
}

impl Ring {
    /// A silent ring with nothing valid; `capacity` frames, `channels` each.
    pub(super) fn new(capacity: usize, channels: usize) -> Self {
        Self {
            samples: vec![0.0; capacity * channels].into_boxed_slice(),
            tags: vec![0; capacity].into_boxed_slice(),
            epochs: vec![Epochs::default(); capacity].into_boxed_slice(),
            sources: vec![0; capacity].into_boxed_slice(),
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

    /// The epochs and source of the content written for `pos`, if any.
    pub(super) fn marks(&self, pos: u64) -> Option<(Epochs, u64)> {
        let idx = (pos % self.capacity()) as usize;
        (self.tags[idx] == self.tag(pos)).then(|| (self.epochs[idx], self.sources[idx]))
    }

    /// Writes interleaved `src` at positions from `start`. Where the ring
    /// already holds content for a position, the first `fade` frames
    /// crossfade into the new slice (equal-gain raised cosine); and when old
    /// content goes on right after the slice's end, its last frames (up to
    /// `fade`, at most half the slice) crossfade back into it, so neither
    /// seam is a hard splice.
    /// Every written frame takes the patch's `epochs` and `source`.
    pub(super) fn write(
        &mut self,
        start: u64,
        src: &[f32],
        fade: usize,
        (epochs, source): (Epochs, u64),
    ) {
        let ch = self.channels;
        let frames = src.len() / ch;
        debug_assert_eq!(src.len() % ch, 0);
        debug_assert!(frames as u64 <= self.capacity());
        let end = start + frames as u64;
        let tail = if self.frame(end).is_some() {
            fade.min(frames / 2)
        } else {
            0
        };
        for k in 0..frames {
            let pos = start + k as u64;
            let idx = (pos % self.capacity()) as usize;
            let tag = self.tag(pos);
            let new = &src[k * ch..(k + 1) * ch];
            let dst = &mut self.samples[idx * ch..(idx + 1) * ch];
            let mut g_new = 1.0f32;
            if self.tags[idx] == tag {
                if k < fade {
                    g_new = fade_in_gain(k, fade);
                }
                if k + tail >= frames {
                    g_new = g_new.min(fade_in_gain(frames - 1 - k, tail));
                }
            }
            if g_new < 1.0 {
                let g_old = 1.0 - g_new;
                for (d, &n) in dst.iter_mut().zip(new) {
                    *d = g_old * *d + g_new * n;
                }
            } else {
                dst.copy_from_slice(new);
            }
            self.tags[idx] = tag;
            self.epochs[idx] = epochs;
            self.sources[idx] = source;
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
        ring.write(6, &[1.0, 2.0, 3.0, 4.0], 0, (Epochs::default(), 0));
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
        ring.write(13, &old, 0, (Epochs::default(), 0));
        ring.write(13, &new, 6, (Epochs::default(), 0));
        let got: Vec<f32> = (13..23)
            .flat_map(|p| ring.frame(p).unwrap().to_vec())
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn fade_only_blends_valid_frames() {
        let mut ring = Ring::new(16, 1);
        ring.write(2, &[5.0, 5.0], 0, (Epochs::default(), 0));
        ring.write(0, &[1.0; 6], 6, (Epochs::default(), 0));
        assert_eq!(ring.frame(0), Some(&[1.0][..]), "nothing there: written");
        assert_eq!(ring.frame(1), Some(&[1.0][..]));
        let blended = ring.frame(2).unwrap()[0];
        assert!(blended > 1.0 && blended < 5.0, "blend: {blended}");
        assert_eq!(ring.frame(5), Some(&[1.0][..]));
    }
}
