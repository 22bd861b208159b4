//! Which epochs the runner has acknowledged, per stage: a change is
//! acknowledged once when a produce first carries it and once when the
//! output first plays it, never twice, never out of order.

use crate::ack::{AckEvent, AckKind, AckStage};
use crate::epoch::Epochs;
use crate::frames::SampleFrames;

/// The newest epochs acknowledged as produced and as heard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AckTracker {
    produced: Epochs,
    heard: Epochs,
}

impl AckTracker {
    /// The acks `epochs` reached at `stage` at time `at` call for: one per
    /// kind whose epoch is newer than any acknowledged at that stage, each
    /// passed to `emit`. A stage other than first-audible counts as
    /// produced.
    pub fn advance(
        &mut self,
        epochs: Epochs,
        stage: AckStage,
        at: SampleFrames,
        mut emit: impl FnMut(AckEvent),
    ) {
        let acked = match stage {
            AckStage::FirstAudible => &mut self.heard,
            _ => &mut self.produced,
        };
        for (kind, epoch, seen) in [
            (AckKind::Knob, epochs.knob, &mut acked.knob),
            (
                AckKind::Conditioning,
                epochs.conditioning,
                &mut acked.conditioning,
            ),
        ] {
            if epoch > *seen {
                *seen = epoch;
                emit(AckEvent {
                    kind,
                    epoch,
                    stage,
                    at,
                });
            }
        }
    }

    /// The newest epochs acknowledged at `stage`.
    pub fn acked(&self, stage: AckStage) -> Epochs {
        match stage {
            AckStage::FirstAudible => self.heard,
            _ => self.produced,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advance(t: &mut AckTracker, knob: u64, conditioning: u64, stage: AckStage) -> Vec<AckEvent> {
        let mut events = Vec::new();
        let epochs = Epochs { knob, conditioning };
        t.advance(epochs, stage, SampleFrames(9), |e| events.push(e));
        events
    }

    #[test]
    fn each_epoch_is_acknowledged_once_per_stage() {
        let mut t = AckTracker::default();
        let first = advance(&mut t, 1, 0, AckStage::FirstProduce);
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].kind, first[0].epoch), (AckKind::Knob, 1));
        assert!(advance(&mut t, 1, 0, AckStage::FirstProduce).is_empty());
        let heard = advance(&mut t, 1, 0, AckStage::FirstAudible);
        assert_eq!(heard.len(), 1, "heard is its own stage");
        assert_eq!(heard[0].at, SampleFrames(9));
    }

    #[test]
    fn an_older_epoch_never_acknowledges_and_kinds_are_separate() {
        let mut t = AckTracker::default();
        assert_eq!(advance(&mut t, 3, 2, AckStage::FirstProduce).len(), 2);
        assert!(advance(&mut t, 2, 1, AckStage::FirstProduce).is_empty());
        let newer = advance(&mut t, 3, 4, AckStage::FirstProduce);
        assert_eq!(newer.len(), 1);
        assert_eq!(newer[0].kind, AckKind::Conditioning);
        assert_eq!(
            t.acked(AckStage::FirstProduce),
            Epochs {
                knob: 3,
                conditioning: 4
            }
        );
        assert_eq!(t.acked(AckStage::FirstAudible), Epochs::default());
    }
}
