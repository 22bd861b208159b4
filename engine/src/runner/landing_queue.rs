//! Asynchronous renders whose cost is not known yet: each waits here, under
//! its ticket, until it has landed, and then tells what it cost on the
//! runner's clock. The lead controller learns render costs from these, a
//! tick or so late, without ever waiting for the device.

use crate::frames::SampleFrames;
use crate::playback::{Arrivals, Ticket};
use std::collections::VecDeque;

/// One render on its way: its ticket, its length, and when it was
/// submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InFlight {
    ticket: Ticket,
    frames: SampleFrames,
    submitted: SampleFrames,
}

/// The renders still landing, oldest first, at most `kept` of them (the
/// oldest is forgotten to make room: its cost is then never learnt).
#[derive(Debug)]
pub struct LandingQueue {
    renders: VecDeque<InFlight>,
    kept: usize,
}

impl LandingQueue {
    /// An empty queue keeping up to `kept` renders; allocates once, here.
    pub fn new(kept: usize) -> Self {
        Self {
            renders: VecDeque::with_capacity(kept.max(1)),
            kept: kept.max(1),
        }
    }

    /// Notes a render of `frames` submitted at `submitted` that lands
    /// with `ticket`.
    pub fn push(&mut self, ticket: Ticket, frames: SampleFrames, submitted: SampleFrames) {
        if self.renders.len() == self.kept {
            self.renders.pop_front();
        }
        self.renders.push_back(InFlight {
            ticket,
            frames,
            submitted,
        });
    }

    /// Renders still waiting.
    pub fn len(&self) -> usize {
        self.renders.len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.renders.is_empty()
    }

    /// Takes every render that has landed, oldest first, and calls
    /// `observe(frames, cost)` for each whose arrival time is still known.
    /// Renders run one after another on the device: one queued behind
    /// another starts when that one lands, so its cost counts from then,
    /// as a synchronous render's would.
    pub fn drain_landed(
        &mut self,
        arrivals: &Arrivals,
        mut observe: impl FnMut(SampleFrames, SampleFrames),
    ) {
        while let Some(&render) = self.renders.front() {
            if !arrivals.has_arrived(render.ticket) {
                break;
            }
            self.renders.pop_front();
            let started = render
                .ticket
                .previous()
                .and_then(|prev| arrivals.arrived_at(prev))
                .map_or(render.submitted, |prev| prev.max(render.submitted));
            if let Some(at) = arrivals.arrived_at(render.ticket) {
                observe(render.frames, at.saturating_sub(started));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, VirtualClock};
    use std::sync::Arc;

    fn rig() -> (Arrivals, VirtualClock) {
        let arrivals = Arrivals::default();
        let clock = VirtualClock::new();
        arrivals.set_clock(Arc::new(clock.clone()));
        (arrivals, clock)
    }

    fn drained(queue: &mut LandingQueue, arrivals: &Arrivals) -> Vec<(u64, u64)> {
        let mut seen = Vec::new();
        queue.drain_landed(arrivals, |f, c| seen.push((f.0, c.0)));
        seen
    }

    #[test]
    fn a_render_costs_from_submission_to_arrival() {
        let (arrivals, clock) = rig();
        let mut queue = LandingQueue::new(4);
        let ticket = arrivals.issue();
        queue.push(ticket, SampleFrames(512), SampleFrames(100));
        assert!(drained(&mut queue, &arrivals).is_empty(), "not landed yet");
        clock.spend(SampleFrames(160));
        arrivals.arrive(ticket);
        assert_eq!(drained(&mut queue, &arrivals), vec![(512, 60)]);
        assert!(queue.is_empty());
    }

    #[test]
    fn a_render_queued_behind_another_costs_from_that_ones_arrival() {
        let (arrivals, clock) = rig();
        let mut queue = LandingQueue::new(4);
        let (first, second) = (arrivals.issue(), arrivals.issue());
        queue.push(first, SampleFrames(256), SampleFrames(0));
        queue.push(second, SampleFrames(128), SampleFrames(10));
        clock.spend(SampleFrames(50));
        arrivals.arrive(first);
        clock.spend(SampleFrames(30));
        arrivals.arrive(second);
        assert_eq!(drained(&mut queue, &arrivals), vec![(256, 50), (128, 30)]);
    }

    #[test]
    fn the_oldest_is_forgotten_when_full_and_order_is_kept() {
        let (arrivals, _clock) = rig();
        let mut queue = LandingQueue::new(2);
        let tickets: Vec<_> = (0..3).map(|_| arrivals.issue()).collect();
        for (i, &t) in tickets.iter().enumerate() {
            queue.push(t, SampleFrames(i as u64 + 1), SampleFrames::ZERO);
        }
        assert_eq!(queue.len(), 2);
        arrivals.arrive(tickets[1]);
        let frames: Vec<u64> = drained(&mut queue, &arrivals).iter().map(|s| s.0).collect();
        assert_eq!(frames, vec![2], "the third is still landing");
        assert_eq!(queue.len(), 1);
    }
}
