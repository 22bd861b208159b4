//! The runner's end of the patch channel: take a pooled buffer, fill it,
//! send it; arm or disarm the loop band; read the playhead.

use super::message::{Patch, PatchBuffer, ToOutput};
use super::stats::Shared;
use crate::frames::SampleFrames;
use rtrb::{Consumer, Producer, PushError};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Why [`PatchWriter::send`] did not send; the patch comes back whole so
/// its buffer can be retried or released, never lost to the pool.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The channel to the output is full; try again after it drains.
    #[error("patch channel full")]
    Full(Patch),
    /// The length is zero, above `max_patch`, or runs past the last
    /// representable position.
    #[error("patch of {} frames at {} refused", .0.len.0, .0.start.0)]
    BadLength(Patch),
    /// The buffer was not acquired from this writer.
    #[error("patch buffer belongs to another playback buffer")]
    Foreign(Patch),
}

impl SendError {
    /// The refused patch.
    pub fn into_patch(self) -> Patch {
        match self {
            Self::Full(p) | Self::BadLength(p) | Self::Foreign(p) => p,
        }
    }
}

/// Why a loop band change was refused; the band is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BandError {
    /// `a` is not before `b`.
    #[error("loop band [{a}, {b}) is empty")]
    Empty {
        /// The band's start.
        a: u64,
        /// The band's end.
        b: u64,
    },
    /// The band would not fit in the ring, so it could not replay whole.
    #[error("loop band of {len} frames is longer than the ring ({capacity} frames)")]
    LongerThanRing {
        /// The band's length.
        len: u64,
        /// The ring's length.
        capacity: u64,
    },
    /// The channel to the output is full; try again after it drains.
    #[error("patch channel full")]
    Full,
}

/// The runner's handle: `Send`, not `Sync`, because exactly one thread
/// feeds the output.
#[derive(Debug)]
pub struct PatchWriter {
    pub(super) to_output: Producer<ToOutput>,
    pub(super) returned: Consumer<PatchBuffer>,
    /// Buffers ready to fill; its capacity is the pool, so pushing never
    /// reallocates.
    pub(super) free: Vec<PatchBuffer>,
    pub(super) pool_id: u64,
    pub(super) capacity: SampleFrames,
    pub(super) max_patch: SampleFrames,
    pub(super) shared: Arc<Shared>,
}

impl PatchWriter {
    /// A buffer to render a patch into, or `None` while every buffer of the
    /// pool is in flight. Buffers the output has finished with are taken
    /// back first.
    pub fn acquire(&mut self) -> Option<PatchBuffer> {
        while let Ok(buffer) = self.returned.pop() {
            self.free.push(buffer);
        }
        self.free.pop()
    }

    /// Puts back a buffer that will not be sent after all. A buffer from
    /// another playback buffer is dropped here, on the runner thread.
    pub fn release(&mut self, buffer: PatchBuffer) {
        if buffer.pool_id == self.pool_id {
            self.free.push(buffer);
        }
    }

    /// Whether a message sent now would find room on the ring to the
    /// output: a patch whose samples are still landing must not be started
    /// without it (its buffer could not be taken back until they land).
    pub fn has_room(&self) -> bool {
        self.to_output.slots() > 0
    }

    /// The tickets asynchronous copies into this pool's buffers arrive
    /// with; a device backend marks them (see [`Landing`](super::Landing)).
    pub fn arrivals(&self) -> &Arc<super::Arrivals> {
        &self.shared.arrivals
    }

    /// Sends a patch to the output, which crossfades it in at its next
    /// block (trimmed to the playhead if it arrives late, contract 5).
    pub fn send(&mut self, patch: Patch) -> Result<(), SendError> {
        if patch.landing.pool_id() != self.pool_id {
            return Err(SendError::Foreign(patch));
        }
        if patch.len == SampleFrames::ZERO
            || patch.len > self.max_patch
            || patch.start.0.checked_add(patch.len.0).is_none()
        {
            return Err(SendError::BadLength(patch));
        }
        self.to_output.push(ToOutput::Patch(patch)).map_err(
            |PushError::Full(message)| match message {
                ToOutput::Patch(p) => SendError::Full(p),
                ToOutput::Band(_) => unreachable!("pushed a patch"),
            },
        )
    }

    /// Arms the loop band `[a, b)`: after playing `b - 1` the output plays
    /// `a` again. A playhead already at or past `b` jumps to `a` at the
    /// output's next block; one before `a` plays on until it reaches `a`.
    pub fn arm_band(&mut self, a: SampleFrames, b: SampleFrames) -> Result<(), BandError> {
        if a >= b {
            return Err(BandError::Empty { a: a.0, b: b.0 });
        }
        if b - a > self.capacity {
            return Err(BandError::LongerThanRing {
                len: (b - a).0,
                capacity: self.capacity.0,
            });
        }
        self.push_band(Some((a, b)))
    }

    /// Disarms the loop band; the playhead plays on from where it is.
    pub fn disarm_band(&mut self) -> Result<(), BandError> {
        self.push_band(None)
    }

    fn push_band(&mut self, band: Option<(SampleFrames, SampleFrames)>) -> Result<(), BandError> {
        self.to_output
            .push(ToOutput::Band(band))
            .map_err(|_| BandError::Full)
    }

    /// The ring's length: a patch must end less than this far past the
    /// playhead, or it would land on frames not yet played.
    pub fn capacity(&self) -> SampleFrames {
        self.capacity
    }

    /// The output's counters, for the runner's acks.
    pub fn stats(&self) -> super::PlaybackStats {
        super::PlaybackStats {
            shared: std::sync::Arc::clone(&self.shared),
        }
    }

    /// The next sample frame the output will consume, as of its last block.
    pub fn playhead(&self) -> SampleFrames {
        SampleFrames(self.shared.playhead.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{constant, render, send, small};
    use super::*;
    use crate::epoch::Epochs;
    use crate::playback::{Arrivals, Landing};

    fn patch(writer: &mut PatchWriter, start: u64, len: u64) -> Patch {
        Patch {
            start: SampleFrames(start),
            len: SampleFrames(len),
            epochs: Epochs::default(),
            source: 0,
            landing: Landing::ready(writer.acquire().expect("a free buffer")),
        }
    }

    #[test]
    fn acquire_exhausts_the_pool_and_reclaims_returned_buffers() {
        let (mut writer, mut output, _) = small(256, 64, 8, 4);
        let taken: Vec<_> = std::iter::from_fn(|| writer.acquire()).collect();
        assert_eq!(taken.len(), 8);
        assert!(taken.iter().all(|b| b.capacity() == 64 * 2));
        for buffer in taken {
            writer.release(buffer);
        }
        for i in 0..8 {
            send(&mut writer, i * 10, &constant(10, 1.0));
        }
        assert!(writer.acquire().is_none(), "all eight in flight");
        render(&mut output, 1);
        let back: Vec<_> = std::iter::from_fn(|| writer.acquire()).collect();
        assert_eq!(back.len(), 8);
    }

    #[test]
    fn send_hands_the_patch_back_when_the_channel_is_full() {
        let (mut writer, mut output, _) = small(256, 64, 8, 4);
        for _ in 0..12 {
            writer.arm_band(SampleFrames(0), SampleFrames(10)).unwrap();
        }
        assert_eq!(
            writer.arm_band(SampleFrames(0), SampleFrames(10)),
            Err(BandError::Full)
        );
        let full = patch(&mut writer, 0, 10);
        let refused = writer.send(full).unwrap_err();
        assert!(matches!(refused, SendError::Full(_)));
        let again = refused.into_patch();
        assert_eq!(again.start, SampleFrames(0));
        render(&mut output, 1);
        writer.send(again).unwrap();
    }

    /// The buffer of a refused patch whose samples were there.
    fn ready(refused: SendError) -> PatchBuffer {
        let landing = refused.into_patch().landing;
        landing.take(&Arrivals::default()).expect("never in flight")
    }

    #[test]
    fn bad_lengths_and_foreign_buffers_are_refused() {
        let (mut writer, _output, _) = small(256, 64, 8, 4);
        let (mut other, _other_output, _) = small(256, 64, 8, 4);
        for (start, len) in [(0, 0), (0, 65), (u64::MAX - 5, 10)] {
            let bad = patch(&mut writer, start, len);
            let refused = writer.send(bad).unwrap_err();
            assert!(matches!(refused, SendError::BadLength(_)), "{start}+{len}");
            writer.release(ready(refused));
        }
        let foreign = writer.send(patch(&mut other, 0, 10)).unwrap_err();
        assert!(matches!(foreign, SendError::Foreign(_)));
        writer.release(ready(foreign));
        let mine: Vec<_> = std::iter::from_fn(|| writer.acquire()).collect();
        assert_eq!(mine.len(), 8, "the foreign buffer did not join the pool");
    }

    #[test]
    fn bands_are_validated() {
        let (mut writer, _output, _) = small(256, 64, 8, 4);
        assert_eq!(
            writer.arm_band(SampleFrames(10), SampleFrames(10)),
            Err(BandError::Empty { a: 10, b: 10 })
        );
        assert_eq!(
            writer.arm_band(SampleFrames(10), SampleFrames(5)),
            Err(BandError::Empty { a: 10, b: 5 })
        );
        assert_eq!(
            writer.arm_band(SampleFrames(0), SampleFrames(257)),
            Err(BandError::LongerThanRing {
                len: 257,
                capacity: 256
            })
        );
        assert_eq!(writer.arm_band(SampleFrames(1), SampleFrames(257)), Ok(()));
        assert_eq!(writer.disarm_band(), Ok(()));
    }
}
