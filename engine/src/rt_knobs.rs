//! Knob changes from a real-time thread (an audio callback, a plugin
//! host's `process()`), which may not take the state lock: checked there
//! without allocating, queued wait-free, and committed by the runner at its
//! next snapshot, stamped with the time the host meant them for.

use crate::description::KnobTable;
use crate::frames::SampleFrames;
use crate::knobs::{KnobState, RtKnobError};
use rtrb::{Consumer, Producer};

/// One knob change in flight from a real-time thread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtKnobEvent {
    /// The knob's index in the model's knob table.
    pub knob: usize,
    /// Its new value, in the knob's own range (checked at send).
    pub value: f32,
    /// Clock time the change is meant for: its Received ack carries it.
    pub at: SampleFrames,
}

/// The real-time end of a knob queue (see [`crate::control::Control::rt_knobs`]).
/// `Send`, not `Sync`: one real-time thread owns it.
#[derive(Debug)]
pub struct RtKnobSender {
    pub(crate) tx: Producer<RtKnobEvent>,
    /// The table changes are checked against (read only: no atomics touched).
    knobs: KnobTable,
}

impl RtKnobSender {
    /// Queues a change of knob `knob` to `value`, meant for clock time
    /// `at`. Bad input is refused here, and so is a change the full queue
    /// has no room for; either way nothing changed. Never locks, allocates
    /// or blocks.
    pub fn send(&mut self, knob: usize, value: f32, at: SampleFrames) -> Result<(), RtKnobError> {
        KnobState::validate(&self.knobs, knob, value)?;
        self.tx
            .push(RtKnobEvent { knob, value, at })
            .map_err(|_| RtKnobError::Full)
    }

    /// How many more changes the queue has room for now.
    pub fn room(&self) -> usize {
        self.tx.slots()
    }
}

/// The runner's end of every knob queue of one control plane.
pub(crate) type RtKnobReceivers = Vec<Consumer<RtKnobEvent>>;

/// A queue of `capacity` changes to the knobs of `knobs`: its sending and
/// receiving ends.
pub(crate) fn rt_knob_queue(
    knobs: KnobTable,
    capacity: usize,
) -> (RtKnobSender, Consumer<RtKnobEvent>) {
    let (tx, rx) = rtrb::RingBuffer::new(capacity.max(1));
    (RtKnobSender { tx, knobs }, rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ack::{AckKind, AckStage};
    use crate::clock::{Clock, VirtualClock};
    use crate::control::{Control, ControlState};
    use crate::sim::signal::stereo;
    use std::sync::Arc;

    #[test]
    fn changes_commit_at_the_snapshot_stamped_with_their_time() {
        let clock = VirtualClock::new();
        let control = Control::new(stereo().knobs, 8, Arc::new(clock.clone()));
        let acks = control.subscribe_acks();
        let mut rt = control.rt_knobs(4);
        let k = stereo().knob_index("brightness").unwrap();
        clock.spend(SampleFrames(100));
        // A host's block at t=100 with the change 40 frames in.
        assert_no_alloc::assert_no_alloc(|| rt.send(k, 0.9, SampleFrames(140))).unwrap();
        let mut snap = ControlState::new(stereo().knobs, 8);
        assert_eq!(control.lock().knobs.epoch(), 0, "not before the snapshot");
        clock.spend(SampleFrames(60));
        control.snapshot(&mut snap);
        assert_eq!(snap.knobs.epoch(), 1);
        assert_eq!(snap.last_activity, Some(SampleFrames(140)));
        let got: Vec<_> = acks.try_iter().collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].kind, AckKind::Knob);
        assert_eq!(
            (got[0].stage, got[0].at),
            (AckStage::Received, SampleFrames(140))
        );
        assert_eq!(
            (got[1].stage, got[1].at),
            (AckStage::Committed, SampleFrames(160))
        );
    }

    #[test]
    fn bad_changes_and_a_full_queue_are_refused_and_change_nothing() {
        let control = Control::new(stereo().knobs, 8, Arc::new(VirtualClock::new()));
        let mut rt = control.rt_knobs(1);
        let at = SampleFrames(0);
        assert_no_alloc::assert_no_alloc(|| {
            assert_eq!(rt.send(99, 0.5, at), Err(RtKnobError::UnknownKnob(99)));
            assert_eq!(rt.send(0, f32::NAN, at), Err(RtKnobError::NotFinite(0)));
            assert_eq!(rt.send(0, 1e9, at), Err(RtKnobError::OutOfRange(0)));
            assert_eq!(rt.send(0, 0.8, at), Ok(()));
            assert_eq!(rt.send(0, 0.6, at), Err(RtKnobError::Full));
        });
        let mut snap = ControlState::new(stereo().knobs, 8);
        control.snapshot(&mut snap);
        assert_eq!(snap.knobs.epoch(), 1, "only the one good change");
        assert_eq!(rt.send(0, 0.6, at), Ok(()), "room again once drained");
    }

    #[test]
    fn a_dropped_sender_leaves_its_changes_then_its_queue() {
        let control = Control::new(stereo().knobs, 8, Arc::new(VirtualClock::new()));
        let mut rt = control.rt_knobs(4);
        rt.send(1, 0.25, SampleFrames(0)).unwrap();
        drop(rt);
        let mut snap = ControlState::new(stereo().knobs, 8);
        control.snapshot(&mut snap);
        assert_eq!(snap.knobs.epoch(), 1);
        assert!(control.rt_knob_queues() == 0);
    }
}
