//! Sizes of the playback buffer and patch channel, fixed at start so the
//! output side never allocates.

use crate::frames::SampleFrames;

/// How large the playback buffer and its patch pool are, and how long its
/// fades last. Everything is allocated from these once, by
/// [`playback`](super::playback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaybackConfig {
    /// Length of the ring of sample frames; also the longest loop band,
    /// because a band must be held whole to replay each lap.
    pub capacity: SampleFrames,
    /// Patch buffers in circulation between the runner and the output; the
    /// runner can have at most this many patches in flight.
    pub pool: usize,
    /// The longest patch a buffer can carry.
    pub max_patch: SampleFrames,
    /// Crossfade from old to new content at the start of every patch.
    pub fade: SampleFrames,
    /// Fade to silence when the buffer runs dry, and back in when content
    /// returns, so an underrun never clicks.
    pub underrun_fade: SampleFrames,
}

impl Default for PlaybackConfig {
    /// About 5.5 s of ring and 2 s patches at 48 kHz: room for a lead of
    /// seconds plus a generous loop band.
    fn default() -> Self {
        Self {
            capacity: SampleFrames(1 << 18),
            pool: 8,
            max_patch: SampleFrames(96_000),
            fade: SampleFrames(256),
            underrun_fade: SampleFrames(64),
        }
    }
}

/// Why a playback buffer could not be built; nothing was allocated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaybackError {
    /// `channels` was zero.
    #[error("playback needs at least one channel")]
    NoChannels,
    /// A size that must hold something was zero.
    #[error("playback {0} must be nonzero")]
    Zero(&'static str),
    /// The patch crossfade is longer than the longest patch.
    #[error("patch fade of {fade} frames is longer than max_patch ({max_patch} frames)")]
    FadeLongerThanPatch {
        /// The configured fade.
        fade: u64,
        /// The configured largest patch.
        max_patch: u64,
    },
    /// A patch could overwrite itself in the ring.
    #[error("max_patch of {max_patch} frames is longer than the ring ({capacity} frames)")]
    PatchLongerThanRing {
        /// The configured largest patch.
        max_patch: u64,
        /// The configured ring length.
        capacity: u64,
    },
    /// A buffer would not fit in this machine's address space.
    #[error("{frames} frames of {channels} channels do not fit in memory")]
    TooLarge {
        /// The frames asked for.
        frames: u64,
        /// The channels per frame.
        channels: usize,
    },
}

impl PlaybackConfig {
    /// Checks the sizes against each other and returns the sample counts of
    /// the ring and of one patch buffer (frames times channels).
    pub(super) fn validate(&self, channels: usize) -> Result<(usize, usize), PlaybackError> {
        if channels == 0 {
            return Err(PlaybackError::NoChannels);
        }
        for (name, value) in [
            ("capacity", self.capacity.0),
            ("pool", self.pool as u64),
            ("max_patch", self.max_patch.0),
            ("underrun_fade", self.underrun_fade.0),
        ] {
            if value == 0 {
                return Err(PlaybackError::Zero(name));
            }
        }
        if self.fade > self.max_patch {
            return Err(PlaybackError::FadeLongerThanPatch {
                fade: self.fade.0,
                max_patch: self.max_patch.0,
            });
        }
        if self.max_patch > self.capacity {
            return Err(PlaybackError::PatchLongerThanRing {
                max_patch: self.max_patch.0,
                capacity: self.capacity.0,
            });
        }
        let samples = |frames: SampleFrames| {
            usize::try_from(frames.0)
                .ok()
                .and_then(|f| f.checked_mul(channels))
                .filter(|&n| n <= isize::MAX as usize / size_of::<f32>())
                .ok_or(PlaybackError::TooLarge {
                    frames: frames.0,
                    channels,
                })
        };
        let ring = samples(self.capacity)?;
        let patch = samples(self.max_patch)?;
        // The message ring holds one slot per pooled buffer plus a few band
        // changes; its length must not overflow either.
        self.pool.checked_add(4).ok_or(PlaybackError::TooLarge {
            frames: self.pool as u64,
            channels: 1,
        })?;
        Ok((ring, patch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        let (ring, patch) = PlaybackConfig::default().validate(2).unwrap();
        assert_eq!(ring, 2 << 18);
        assert_eq!(patch, 2 * 96_000);
    }

    #[test]
    fn bad_sizes_are_named() {
        let base = PlaybackConfig::default();
        assert_eq!(base.validate(0), Err(PlaybackError::NoChannels));
        let zero_pool = PlaybackConfig { pool: 0, ..base };
        assert_eq!(zero_pool.validate(2), Err(PlaybackError::Zero("pool")));
        let zero_ring = PlaybackConfig {
            capacity: SampleFrames(0),
            ..base
        };
        assert_eq!(zero_ring.validate(2), Err(PlaybackError::Zero("capacity")));
        let long_fade = PlaybackConfig {
            fade: SampleFrames(96_001),
            ..base
        };
        assert!(matches!(
            long_fade.validate(2),
            Err(PlaybackError::FadeLongerThanPatch { .. })
        ));
        let long_patch = PlaybackConfig {
            max_patch: SampleFrames(1 << 19),
            fade: SampleFrames(0),
            ..base
        };
        assert!(matches!(
            long_patch.validate(2),
            Err(PlaybackError::PatchLongerThanRing { .. })
        ));
        let huge = PlaybackConfig {
            capacity: SampleFrames(u64::MAX),
            ..base
        };
        assert!(matches!(
            huge.validate(2),
            Err(PlaybackError::TooLarge { .. })
        ));
    }
}
