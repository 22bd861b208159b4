//! Ack events: every accepted change is acknowledged at each stage of its
//! way to the ear — received, committed, first produce made with it, first
//! heard — on a channel any caller can subscribe to. Events of one change
//! share its kind and epoch; a later stage may report a newer epoch that
//! covers several changes (epochs only grow).

use crate::frames::SampleFrames;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AckKind {
    /// A knob value or curve (the knob epoch).
    Knob,
    /// The conditioning (the conditioning epoch).
    Conditioning,
}

/// How far a change has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AckStage {
    /// The control side took the request.
    Received,
    /// The change is in the state the runner snapshots.
    Committed,
    /// The first produce made with it was delivered.
    FirstProduce,
    /// The output played the first frame made with it.
    FirstAudible,
    /// It was given up (a prompt whose encode kept losing to newer ones,
    /// or whose conditioning the backend refused); what was in force stays.
    Dropped,
}

/// One stage of one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AckEvent {
    /// What changed.
    pub kind: AckKind,
    /// Its epoch: at `FirstProduce` and `FirstAudible`, the newest epoch
    /// that reached that stage, which covers every older one.
    pub epoch: u64,
    /// The stage reached.
    pub stage: AckStage,
    /// Clock time it was reached (for `FirstAudible`, when it was observed).
    pub at: SampleFrames,
}

/// Fans ack events out to every subscriber; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct AckHub {
    subscribers: Arc<Mutex<Vec<Sender<AckEvent>>>>,
}

impl AckHub {
    /// A hub with no subscriber.
    pub fn new() -> Self {
        Self::default()
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> Receiver<AckEvent> {
        let (tx, rx) = mpsc::channel();
        self.lock().push(tx);
        rx
    }

    /// Sends `event` to every live subscriber and forgets the gone ones.
    /// Never blocks (the channels are unbounded); never called on the audio
    /// thread.
    pub fn emit(&self, event: AckEvent) {
        self.lock().retain(|tx| tx.send(event).is_ok());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Sender<AckEvent>>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subscriber_gets_every_event_and_gone_ones_are_dropped() {
        let hub = AckHub::new();
        let a = hub.subscribe();
        let b = hub.subscribe();
        let event = AckEvent {
            kind: AckKind::Knob,
            epoch: 3,
            stage: AckStage::Committed,
            at: SampleFrames(480),
        };
        hub.emit(event);
        assert_eq!(a.try_recv(), Ok(event));
        assert_eq!(b.try_recv(), Ok(event));
        drop(b);
        hub.emit(event);
        assert_eq!(hub.lock().len(), 1);
        assert_eq!(a.try_recv(), Ok(event));
    }
}
