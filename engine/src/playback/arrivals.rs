//! Patches whose samples are still on their way from a device. A device
//! backend starts the copy of a rendered slice into the patch's buffer and
//! returns at once; the runner sends the patch with the copy's ticket; the
//! device side (a driver thread, when the copy has landed) marks the
//! ticket arrived; the output applies the patch only once it has. So the
//! read-back is waited on by the output, without blocking: a patch not
//! there yet stays parked until a later block.

use super::landing::Ticket;
use crate::clock::Clock;
use crate::frames::SampleFrames;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Arrival times kept, for the runner to read a few tickets late.
const HISTORY: usize = 64;

/// Tickets of asynchronous copies into patch buffers: issued in order by
/// the backend, arrived in order by the device side. Lock-free on every
/// side; shared by the runner, the backend's completion callback and the
/// output.
pub struct Arrivals {
    issued: AtomicU64,
    done: AtomicU64,
    /// The runner's clock, once it has one.
    clock: OnceLock<Arc<dyn Clock>>,
    /// Clock time at which ticket `t` arrived, at `t % HISTORY`.
    at: [AtomicU64; HISTORY],
}

impl std::fmt::Debug for Arrivals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arrivals")
            .field("issued", &self.issued)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Default for Arrivals {
    fn default() -> Self {
        Self {
            issued: AtomicU64::new(0),
            done: AtomicU64::new(0),
            clock: OnceLock::new(),
            at: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Arrivals {
    /// The next ticket (serials start at 1).
    pub fn issue(&self) -> Ticket {
        Ticket::after(self.issued.fetch_add(1, Ordering::Relaxed))
    }

    /// Marks `ticket` (and every earlier one: copies land in order)
    /// arrived. Called once the samples are in the buffer: its Release
    /// orders those writes before any read that sees the arrival.
    ///
    /// Called from a device driver's thread: it never panics (a clock that
    /// panics stamps 0), so a ticket always arrives.
    pub fn arrive(&self, ticket: Ticket) {
        let ticket = ticket.get();
        let now =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.now().0)).unwrap_or(0);
        // Every ticket this one covers arrived now too.
        let from =
            (self.done.load(Ordering::Relaxed) + 1).max(ticket.saturating_sub(HISTORY as u64 - 1));
        for t in from..=ticket {
            self.at[(t % HISTORY as u64) as usize].store(now, Ordering::Relaxed);
        }
        self.done.fetch_max(ticket, Ordering::Release);
    }

    /// Whether the samples of `ticket` are in their buffer.
    pub fn has_arrived(&self, ticket: Ticket) -> bool {
        self.done.load(Ordering::Acquire) >= ticket.get()
    }

    /// Tickets issued so far.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// Stamps arrivals with `clock` from now on (the runner's; the first
    /// one set stays).
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        let _ = self.clock.set(clock);
    }

    /// The time arrivals are stamped with (zero before a clock is set).
    pub fn now(&self) -> SampleFrames {
        self.clock.get().map_or(SampleFrames::ZERO, |c| c.now())
    }

    /// When `ticket` arrived, while it is among the last arrivals kept;
    /// `None` before it arrives.
    pub fn arrived_at(&self, ticket: Ticket) -> Option<SampleFrames> {
        let ticket = ticket.get();
        let done = self.done.load(Ordering::Acquire);
        (ticket <= done && done - ticket < HISTORY as u64).then(|| {
            SampleFrames(self.at[(ticket % HISTORY as u64) as usize].load(Ordering::Relaxed))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn tickets_arrive_in_order_with_their_times() {
        let a = Arrivals::default();
        let clock = crate::clock::VirtualClock::new();
        a.set_clock(Arc::new(clock.clone()));
        clock.spend(SampleFrames(77));
        let (t1, t2) = (a.issue(), a.issue());
        assert_eq!((t1.get(), t2.get()), (1, 2));
        assert!(!a.has_arrived(t1));
        assert_eq!(a.arrived_at(t1), None);
        a.arrive(t2);
        assert!(a.has_arrived(t1), "a later arrival covers earlier tickets");
        assert_eq!(a.arrived_at(t2), Some(SampleFrames(77)));
        assert_eq!(
            a.arrived_at(t1),
            Some(SampleFrames(77)),
            "covered, stamped too"
        );
        assert!(!a.has_arrived(Ticket::new(3).unwrap()));
    }
}
