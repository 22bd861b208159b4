//! Integer time: every audio position and duration is a count of sample
//! frames (contract 1). Latent frames index the latent timeline.

use serde::{Deserialize, Serialize};
use std::ops::{Add, AddAssign, Sub};

/// A position or duration in sample frames (one instant across all channels).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SampleFrames(pub u64);

/// A position or duration on the latent timeline, in latent frames.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct LatentFrames(pub u64);

impl SampleFrames {
    /// Zero sample frames.
    pub const ZERO: Self = Self(0);

    /// The duration of `seconds` at `sample_rate`, rounded to the nearest
    /// frame. Only for user-facing input (CLI, config files); the engine
    /// itself never counts in seconds.
    pub fn from_seconds(seconds: f64, sample_rate: u32) -> Self {
        Self((seconds * f64::from(sample_rate)).round().max(0.0) as u64)
    }

    /// This duration in seconds at `sample_rate`, for reports.
    pub fn as_seconds(self, sample_rate: u32) -> f64 {
        self.0 as f64 / f64::from(sample_rate)
    }

    /// The count as a `usize` index.
    pub fn as_usize(self) -> usize {
        self.0 as usize
    }

    /// `self - rhs`, or zero when `rhs` is larger.
    pub fn saturating_sub(self, rhs: Self) -> Self {
        Self(self.0.saturating_sub(rhs.0))
    }
}

impl LatentFrames {
    /// The first sample frame of this latent frame, at `hop` sample frames
    /// per latent frame.
    pub fn start_sample(self, hop: SampleFrames) -> SampleFrames {
        SampleFrames(self.0 * hop.0)
    }

    /// The latent frame that holds sample frame `s`.
    pub fn containing(s: SampleFrames, hop: SampleFrames) -> Self {
        Self(s.0 / hop.0)
    }

    /// `self - rhs`, or zero when `rhs` is larger.
    pub fn saturating_sub(self, rhs: Self) -> Self {
        Self(self.0.saturating_sub(rhs.0))
    }
}

macro_rules! frame_arith {
    ($t:ty) => {
        impl Add for $t {
            type Output = Self;
            fn add(self, rhs: Self) -> Self {
                Self(self.0 + rhs.0)
            }
        }
        impl AddAssign for $t {
            fn add_assign(&mut self, rhs: Self) {
                self.0 += rhs.0;
            }
        }
        impl Sub for $t {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                Self(self.0 - rhs.0)
            }
        }
    };
}
frame_arith!(SampleFrames);
frame_arith!(LatentFrames);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latent_sample_conversions_round_trip() {
        let hop = SampleFrames(1024);
        assert_eq!(LatentFrames(3).start_sample(hop), SampleFrames(3072));
        assert_eq!(
            LatentFrames::containing(SampleFrames(3071), hop),
            LatentFrames(2)
        );
        assert_eq!(
            LatentFrames::containing(SampleFrames(3072), hop),
            LatentFrames(3)
        );
        assert_eq!(
            SampleFrames::from_seconds(0.25, 48_000),
            SampleFrames(12_000)
        );
        assert_eq!(
            SampleFrames(5).saturating_sub(SampleFrames(9)),
            SampleFrames::ZERO
        );
    }
}
