//! Counters the output keeps and any thread reads: the playhead, underruns
//! and what happened to each patch. Tests and the golden harness assert
//! them, so they are public API.

use crate::epoch::Epochs;
use crate::frames::SampleFrames;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering, fence};

/// The atomics behind [`PlaybackStats`]; written only by the output thread.
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) playhead: AtomicU64,
    pub(super) underruns: AtomicU64,
    pub(super) underrun_frames: AtomicU64,
    pub(super) patches_applied: AtomicU64,
    pub(super) patches_trimmed: AtomicU64,
    pub(super) trimmed_frames: AtomicU64,
    pub(super) late_dropped: AtomicU64,
    frames_played: AtomicU64,
    audible_knob: AtomicU64,
    audible_conditioning: AtomicU64,
    knob_heard_at: AtomicU64,
    conditioning_heard_at: AtomicU64,
    /// Sequence lock over the band pair: odd while the output writes it, so
    /// a reader never sees the start of one band with the end of another.
    band_seq: AtomicU64,
    band_start: AtomicU64,
    /// Zero when no band is armed (an armed band always ends after zero).
    band_end: AtomicU64,
    /// Tickets of asynchronous copies into patch buffers.
    pub(super) arrivals: Arc<super::Arrivals>,
}

impl Shared {
    /// Adds to a counter. Only the output thread writes, so relaxed order
    /// is enough; readers want a value, not a happens-before edge.
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Publishes the output's time and the newest epochs heard, after a
    /// block. Each value is read on its own.
    pub(super) fn publish_audible(
        &self,
        frames_played: u64,
        audible: Epochs,
        knob_at: u64,
        conditioning_at: u64,
    ) {
        self.knob_heard_at.store(knob_at, Ordering::Relaxed);
        self.conditioning_heard_at
            .store(conditioning_at, Ordering::Relaxed);
        self.audible_knob.store(audible.knob, Ordering::Relaxed);
        self.audible_conditioning
            .store(audible.conditioning, Ordering::Relaxed);
        self.frames_played.store(frames_played, Ordering::Release);
    }

    /// Publishes the band the output now loops in. Wait-free: the output
    /// thread is the only writer.
    pub(super) fn set_band(&self, band: Option<(SampleFrames, SampleFrames)>) {
        let (a, b) = band.map_or((0, 0), |(a, b)| (a.0, b.0));
        let seq = self.band_seq.load(Ordering::Relaxed);
        self.band_seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.band_start.store(a, Ordering::Relaxed);
        self.band_end.store(b, Ordering::Relaxed);
        self.band_seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    fn band(&self) -> Option<(SampleFrames, SampleFrames)> {
        loop {
            let before = self.band_seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let a = self.band_start.load(Ordering::Relaxed);
            let b = self.band_end.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.band_seq.load(Ordering::Relaxed) == before {
                return (b != 0).then_some((SampleFrames(a), SampleFrames(b)));
            }
        }
    }
}

/// A read-only view of the output's counters, cheap to clone and share with
/// any thread. Each value is read on its own; two reads are not a snapshot.
#[derive(Debug, Clone)]
pub struct PlaybackStats {
    pub(super) shared: Arc<Shared>,
}

impl PlaybackStats {
    /// Frames the output has played since it started (bands and underruns
    /// included): the output's own clock.
    pub fn frames_played(&self) -> SampleFrames {
        SampleFrames(self.shared.frames_played.load(Ordering::Acquire))
    }

    /// The newest knob and conditioning epochs heard so far.
    pub fn audible(&self) -> Epochs {
        Epochs {
            knob: self.shared.audible_knob.load(Ordering::Acquire),
            conditioning: self.shared.audible_conditioning.load(Ordering::Acquire),
        }
    }

    /// [`PlaybackStats::frames_played`] when the newest knob epoch was first
    /// heard: the moment a knob change became audible.
    pub fn knob_heard_at(&self) -> SampleFrames {
        SampleFrames(self.shared.knob_heard_at.load(Ordering::Acquire))
    }

    /// [`PlaybackStats::frames_played`] when the newest conditioning epoch
    /// was first heard.
    pub fn conditioning_heard_at(&self) -> SampleFrames {
        SampleFrames(self.shared.conditioning_heard_at.load(Ordering::Acquire))
    }

    /// The next sample frame the output will consume, as of its last block.
    pub fn playhead(&self) -> SampleFrames {
        SampleFrames(self.shared.playhead.load(Ordering::Acquire))
    }

    /// How many times the output ran dry (a valid frame followed by one
    /// with nothing written for it).
    pub fn underruns(&self) -> u64 {
        self.shared.underruns.load(Ordering::Relaxed)
    }

    /// How many frames the output played with nothing written for them.
    pub fn underrun_frames(&self) -> u64 {
        self.shared.underrun_frames.load(Ordering::Relaxed)
    }

    /// Patches written into the buffer, whole or trimmed.
    pub fn patches_applied(&self) -> u64 {
        self.shared.patches_applied.load(Ordering::Relaxed)
    }

    /// Patches whose front the playhead had passed, written from the
    /// playhead on (contract 5).
    pub fn patches_trimmed(&self) -> u64 {
        self.shared.patches_trimmed.load(Ordering::Relaxed)
    }

    /// Frames cut from the front of trimmed patches.
    pub fn trimmed_frames(&self) -> u64 {
        self.shared.trimmed_frames.load(Ordering::Relaxed)
    }

    /// Patches that arrived wholly behind the playhead and were not written.
    pub fn late_dropped(&self) -> u64 {
        self.shared.late_dropped.load(Ordering::Relaxed)
    }

    /// The loop band `[a, b)` the output is looping in, if one is armed.
    pub fn band(&self) -> Option<(SampleFrames, SampleFrames)> {
        self.shared.band()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_round_trips() {
        let stats = PlaybackStats {
            shared: Arc::default(),
        };
        assert_eq!(stats.band(), None);
        stats
            .shared
            .set_band(Some((SampleFrames(0), SampleFrames(10))));
        assert_eq!(stats.band(), Some((SampleFrames(0), SampleFrames(10))));
        stats.shared.set_band(None);
        assert_eq!(stats.band(), None);
    }
}
