//! What travels from the runner to the output: patches in pooled buffers,
//! and loop band changes.

use super::landing::Landing;
use crate::epoch::Epochs;
use crate::frames::SampleFrames;

/// One buffer of the patch pool: interleaved samples, allocated once by
/// [`playback`](super::playback) and passed back and forth between the
/// runner and the output, never freed while the engine plays.
#[derive(Debug)]
pub struct PatchBuffer {
    samples: Box<[f32]>,
    /// Which playback buffer's pool this came from, so a buffer from another
    /// one can't enter this pool and overflow its return ring.
    pub(super) pool_id: u64,
}

impl PatchBuffer {
    pub(super) fn new(values: usize, pool_id: u64) -> Self {
        Self {
            samples: vec![0.0; values].into_boxed_slice(),
            pool_id,
        }
    }

    /// The whole buffer, interleaved by channel; a patch of `len` frames
    /// uses the first `len * channels` values.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.samples
    }

    /// The whole buffer, read-only.
    pub fn as_slice(&self) -> &[f32] {
        &self.samples
    }

    /// How many `f32` values the buffer holds (`max_patch * channels`).
    pub fn capacity(&self) -> usize {
        self.samples.len()
    }
}

/// A rendered slice for positions `[start, start + len)`, to be crossfaded
/// into the playback buffer.
#[derive(Debug)]
pub struct Patch {
    /// The first sample frame the slice covers.
    pub start: SampleFrames,
    /// How many sample frames of `buffer` are used.
    pub len: SampleFrames,
    /// The epochs the slice was rendered with.
    pub epochs: Epochs,
    /// Serial of the produce it was rendered from, so an observer of the
    /// output can tell which produce each played frame came from.
    pub source: u64,
    /// The samples, interleaved, or their buffer while a device copy is
    /// still landing in it: the output applies the patch once they are
    /// there.
    pub landing: Landing,
}

impl Patch {
    /// The first sample frame after the slice.
    pub fn end(&self) -> SampleFrames {
        self.start + self.len
    }
}

/// One message on the runner→output ring.
#[derive(Debug)]
pub(super) enum ToOutput {
    /// Write this slice into the buffer.
    Patch(Patch),
    /// Arm the loop band `[a, b)`, or disarm it.
    Band(Option<(SampleFrames, SampleFrames)>),
}
