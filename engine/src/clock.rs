//! The clock is a trait (contract 1): a real monotonic clock for live use and
//! a virtual clock for golden runs and offline renders, in which every
//! backend cost is a modelled duration so a run is bit-reproducible.

use crate::frames::SampleFrames;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A source of "now" in sample frames since the clock's origin.
pub trait Clock: Send + Sync {
    /// The current time in sample frames since the clock started.
    fn now(&self) -> SampleFrames;

    /// Lets `cost` pass: a virtual clock advances by it at once; the real
    /// clock does nothing, because the work that costs it already took the
    /// time.
    fn spend(&self, cost: SampleFrames);

    /// Waits `duration`: the real clock sleeps, a virtual clock advances.
    /// For injected stalls, where no work takes the time.
    fn sleep(&self, duration: SampleFrames);
}

/// Real monotonic time, converted to sample frames at a fixed rate.
#[derive(Debug, Clone)]
pub struct RealClock {
    origin: Instant,
    sample_rate: u32,
}

impl RealClock {
    /// A clock whose origin is now.
    pub fn new(sample_rate: u32) -> Self {
        Self {
            origin: Instant::now(),
            sample_rate,
        }
    }
}

impl Clock for RealClock {
    fn now(&self) -> SampleFrames {
        let nanos = self.origin.elapsed().as_nanos();
        SampleFrames((nanos * u128::from(self.sample_rate) / 1_000_000_000) as u64)
    }

    fn spend(&self, _cost: SampleFrames) {}

    fn sleep(&self, duration: SampleFrames) {
        let nanos = u128::from(duration.0) * 1_000_000_000 / u128::from(self.sample_rate);
        std::thread::sleep(std::time::Duration::from_nanos(nanos as u64));
    }
}

/// Modelled time: it moves only when told to, so a run on it is identical on
/// every machine. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct VirtualClock {
    now: Arc<AtomicU64>,
}

impl VirtualClock {
    /// A virtual clock at frame zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward to `t`; a `t` in the past leaves it unchanged.
    pub fn advance_to(&self, t: SampleFrames) {
        self.now.fetch_max(t.0, Ordering::AcqRel);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> SampleFrames {
        SampleFrames(self.now.load(Ordering::Acquire))
    }

    fn spend(&self, cost: SampleFrames) {
        self.now.fetch_add(cost.0, Ordering::AcqRel);
    }

    fn sleep(&self, duration: SampleFrames) {
        self.spend(duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_moves_only_when_told() {
        let clock = VirtualClock::new();
        let shared = clock.clone();
        assert_eq!(clock.now(), SampleFrames(0));
        clock.spend(SampleFrames(480));
        assert_eq!(shared.now(), SampleFrames(480));
        shared.advance_to(SampleFrames(100));
        assert_eq!(clock.now(), SampleFrames(480), "never goes back");
        shared.advance_to(SampleFrames(1000));
        assert_eq!(clock.now(), SampleFrames(1000));
    }

    #[test]
    fn real_clock_is_monotonic() {
        let clock = RealClock::new(48_000);
        let a = clock.now();
        clock.spend(SampleFrames(1_000_000));
        let b = clock.now();
        assert!(b >= a);
        assert!(b.0 < 48_000 * 60, "spend does not move the real clock");
    }
}
