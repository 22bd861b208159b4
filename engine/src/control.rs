//! The control side's shared state: what the runner snapshots at every tick
//! boundary under the state lock, held for microseconds.

use crate::ack::{AckEvent, AckHub, AckKind, AckStage};
use crate::clock::Clock;
use crate::conditioning::{CommittedConditioning, PromptEncoder};
use crate::description::KnobTable;
use crate::frames::SampleFrames;
use crate::knobs::{KnobError, KnobState};
use crate::rt_knobs::{RtKnobReceivers, RtKnobSender, rt_knob_queue};
use std::sync::{Arc, Mutex, MutexGuard};

/// Knob values and the time of the last inbound change.
#[derive(Debug)]
pub struct ControlState {
    /// Current knob values and their epoch.
    pub knobs: KnobState,
    /// Clock time of the last accepted control change.
    pub last_activity: Option<SampleFrames>,
    /// The armed loop band `[a, b)`, if any.
    pub band: Option<(SampleFrames, SampleFrames)>,
    /// The conditioning in force (`None` until a prompt was committed: the
    /// runner keeps the one it started with).
    pub conditioning: Option<CommittedConditioning>,
    /// A noise seed for slots admitted from now on (`None`: the stream's own).
    pub seed: Option<u64>,
    /// The latest prompt requested, committed or not.
    pub requested_prompt: Option<Arc<str>>,
    /// Prompt requests so far (the latest one's sequence number).
    pub prompt_requests: u64,
}

impl ControlState {
    /// The knobs of `knobs` at their defaults for `steps` denoise steps,
    /// nothing else set.
    pub fn new(knobs: KnobTable, steps: usize) -> Self {
        Self {
            knobs: KnobState::new(knobs, steps),
            last_activity: None,
            band: None,
            conditioning: None,
            seed: None,
            requested_prompt: None,
            prompt_requests: 0,
        }
    }
}

impl Clone for ControlState {
    fn clone(&self) -> Self {
        Self {
            knobs: self.knobs.clone(),
            last_activity: self.last_activity,
            band: self.band,
            conditioning: self.conditioning.clone(),
            seed: self.seed,
            requested_prompt: self.requested_prompt.clone(),
            prompt_requests: self.prompt_requests,
        }
    }

    /// Reuses the knob curves' memory (see [`KnobState`]'s `clone_from`).
    fn clone_from(&mut self, source: &Self) {
        self.knobs.clone_from(&source.knobs);
        self.last_activity = source.last_activity;
        self.band = source.band;
        // The input is behind an Arc: this clones a pointer, not the tensors.
        self.conditioning.clone_from(&source.conditioning);
        self.seed = source.seed;
        self.requested_prompt.clone_from(&source.requested_prompt);
        self.prompt_requests = source.prompt_requests;
    }
}

/// Encode attempts before a prompt change gives up.
pub const PROMPT_ATTEMPTS: usize = 5;

/// Why a prompt change did not commit; the conditioning in force stays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    /// No encoder was installed.
    #[error("no prompt encoder is installed")]
    NoEncoder,
    /// The encoder made no conditioning for the prompt.
    #[error("encoding the prompt failed: {0}")]
    Encode(#[from] crate::conditioning::EncoderError),
    /// Other commits kept landing between snapshot and commit.
    #[error("gave up after {0} attempts: other commits kept landing first")]
    Contended(usize),
    /// A newer prompt request arrived; it replaces this one.
    #[error("superseded by a newer prompt")]
    Superseded,
}

/// What an accepted knob request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnobCommit {
    /// Whether the value differed from the one in force.
    pub changed: bool,
    /// The knob epoch in force after it.
    pub epoch: u64,
}

/// A loop band that cannot be armed; nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("loop band {a}..{b} is empty or reversed")]
pub struct BandRequestError {
    /// Requested start.
    pub a: u64,
    /// Requested end.
    pub b: u64,
}

/// The state lock and the clock changes are stamped with; cheap to clone.
#[derive(Clone)]
pub struct Control {
    state: Arc<Mutex<ControlState>>,
    /// The model's knob table (what real-time senders check against).
    knobs: KnobTable,
    clock: Arc<dyn Clock>,
    acks: AckHub,
    /// The encoder, behind its own lock: encodes serialize among
    /// themselves, never under the state lock.
    encoder: Arc<Mutex<Option<Box<dyn PromptEncoder>>>>,
    /// The runner's ends of the real-time knob queues, drained at each
    /// snapshot.
    rt_knobs: Arc<Mutex<RtKnobReceivers>>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

impl Control {
    /// The knobs of `knobs` at their defaults for a stream of `steps`
    /// steps.
    pub fn new(knobs: KnobTable, steps: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Arc::new(Mutex::new(ControlState::new(knobs.clone(), steps))),
            knobs,
            clock,
            acks: AckHub::new(),
            encoder: Arc::new(Mutex::new(None)),
            rt_knobs: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A queue for knob changes from a real-time thread, with room for
    /// `capacity` changes between two snapshots. Changes sent on it are
    /// committed (and acknowledged, Received at the time they were meant
    /// for) at the runner's next snapshot, or at [`drain_rt_knobs`]
    /// (Self::drain_rt_knobs).
    pub fn rt_knobs(&self, capacity: usize) -> RtKnobSender {
        let (tx, rx) = rt_knob_queue(self.knobs.clone(), capacity);
        self.rt_knobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(rx);
        tx
    }

    /// The model's knob table.
    pub fn knobs(&self) -> &KnobTable {
        &self.knobs
    }

    /// How many real-time knob queues are open.
    pub fn rt_knob_queues(&self) -> usize {
        self.rt_knobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Commits every knob change waiting in the real-time queues, in the
    /// order each queue got them. Queues whose sender is gone are dropped
    /// once empty.
    pub fn drain_rt_knobs(&self) {
        let mut queues = self.rt_knobs.lock().unwrap_or_else(|p| p.into_inner());
        // The state lock only when there is something to commit.
        if queues.iter().any(|q| !q.is_empty()) {
            let mut s = self.lock();
            for queue in queues.iter_mut() {
                while let Ok(event) = queue.pop() {
                    // Checked at send; a refusal here would change nothing.
                    if let Ok(changed) = s.knobs.set_index(event.knob, event.value) {
                        if changed {
                            s.last_activity = s.last_activity.max(Some(event.at));
                        }
                        self.ack_commit(AckKind::Knob, s.knobs.epoch(), event.at);
                    }
                }
            }
        }
        // Abandoned first (an Acquire load), then empty: a change pushed
        // just before its sender went is kept for the next drain.
        queues.retain(|q| !q.is_abandoned() || !q.is_empty());
    }

    /// Emits the Received and Committed acks of a commit; called under the
    /// state lock so acks go out in commit order.
    fn ack_commit(&self, kind: AckKind, epoch: u64, received: SampleFrames) {
        for (stage, at) in [
            (AckStage::Received, received),
            (AckStage::Committed, self.clock.now()),
        ] {
            self.acks.emit(AckEvent {
                kind,
                epoch,
                stage,
                at,
            });
        }
    }

    /// Installs the prompt encoder `set_prompt` uses.
    pub fn set_encoder(&self, encoder: Box<dyn PromptEncoder>) {
        *self.encoder.lock().unwrap_or_else(|p| p.into_inner()) = Some(encoder);
    }

    /// Changes the prompt (contract 3). The request is recorded under the
    /// state lock as the latest one; then, with the state lock released and
    /// encodes serialized on their own lock, the latest request is encoded
    /// and committed under the state lock only if the conditioning epoch is
    /// unchanged and no newer request arrived meanwhile — else it snapshots
    /// and encodes again, at most [`PROMPT_ATTEMPTS`] times. A request that
    /// a newer one overtook returns [`PromptError::Superseded`]: a stale
    /// encode never overwrites a newer request. Returns the committed epoch;
    /// its Received and Committed acks carry it.
    pub fn set_prompt(&self, prompt: &str) -> Result<u64, PromptError> {
        let received = self.clock.now();
        let mine = {
            let mut s = self.lock();
            s.prompt_requests += 1;
            s.requested_prompt = Some(Arc::from(prompt));
            s.prompt_requests
        };
        for _ in 0..PROMPT_ATTEMPTS {
            let (seen, text) = {
                let s = self.lock();
                if s.prompt_requests != mine {
                    return Err(PromptError::Superseded);
                }
                let text = s
                    .requested_prompt
                    .clone()
                    .unwrap_or_else(|| Arc::from(prompt));
                (s.conditioning.as_ref().map_or(0, |c| c.epoch), text)
            };
            let input = {
                let mut encoder = self.encoder.lock().unwrap_or_else(|p| p.into_inner());
                let encoder = encoder.as_mut().ok_or(PromptError::NoEncoder)?;
                encoder.encode(&text).map_err(PromptError::Encode)?
            };
            let mut s = self.lock();
            if s.prompt_requests != mine {
                return Err(PromptError::Superseded);
            }
            if s.conditioning.as_ref().map_or(0, |c| c.epoch) != seen {
                continue;
            }
            let epoch = seen + 1;
            s.conditioning = Some(CommittedConditioning {
                epoch,
                prompt: Some(text),
                input: Arc::new(input),
            });
            s.last_activity = Some(received);
            self.ack_commit(AckKind::Conditioning, epoch, received);
            return Ok(epoch);
        }
        Err(PromptError::Contended(PROMPT_ATTEMPTS))
    }

    /// The ack events of every change from now on.
    pub fn subscribe_acks(&self) -> std::sync::mpsc::Receiver<AckEvent> {
        self.acks.subscribe()
    }

    /// The hub acks go out on (the runner reports later stages there).
    pub fn acks(&self) -> &AckHub {
        &self.acks
    }

    /// The clock changes are stamped with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The lock; a panic while it was held elsewhere does not poison the
    /// state for the engine (knob state is always left consistent).
    pub fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets a knob. Bad input changes nothing (contract 7); setting the
    /// value already in force changes nothing and bumps no epoch.
    pub fn set_knob(&self, name: &str, value: f32) -> Result<KnobCommit, KnobError> {
        self.change_knobs(|k| k.set(name, value))
    }

    /// Sets a knob's per-step curve.
    pub fn set_curve(&self, name: &str, values: &[f32]) -> Result<KnobCommit, KnobError> {
        self.change_knobs(|k| k.set_curve(name, values))
    }

    /// Applies a knob change under the lock, stamps accepted ones and
    /// acknowledges them. The acks go out under the lock too (a few
    /// microseconds), so their order is the order of the commits.
    fn change_knobs(
        &self,
        change: impl FnOnce(&mut KnobState) -> Result<bool, KnobError>,
    ) -> Result<KnobCommit, KnobError> {
        let received = self.clock.now();
        let mut s = self.lock();
        let changed = change(&mut s.knobs)?;
        if changed {
            s.last_activity = Some(received);
        }
        // An accepted request is acknowledged even when it changed nothing
        // (its value was already in force), with the epoch now in force.
        let epoch = s.knobs.epoch();
        self.ack_commit(AckKind::Knob, epoch, received);
        drop(s);
        Ok(KnobCommit { changed, epoch })
    }

    /// Arms the loop band `[a, b)`: the playhead wraps inside it and writes
    /// wrap into it. Returns whether anything changed.
    pub fn arm_band(&self, a: SampleFrames, b: SampleFrames) -> Result<bool, BandRequestError> {
        if a >= b {
            return Err(BandRequestError { a: a.0, b: b.0 });
        }
        Ok(self.set_band(Some((a, b))))
    }

    /// Sets the noise seed of slots admitted from now on; returns whether
    /// it changed.
    pub fn set_seed(&self, seed: u64) -> bool {
        let now = self.clock.now();
        let mut s = self.lock();
        if s.seed == Some(seed) {
            return false;
        }
        s.seed = Some(seed);
        s.last_activity = Some(now);
        true
    }

    /// Disarms the loop band; returns whether one was armed.
    pub fn disarm_band(&self) -> bool {
        self.set_band(None)
    }

    fn set_band(&self, band: Option<(SampleFrames, SampleFrames)>) -> bool {
        let now = self.clock.now();
        let mut s = self.lock();
        if s.band == band {
            return false;
        }
        s.band = band;
        s.last_activity = Some(now);
        true
    }

    /// Commits the real-time queues' changes, then copies the state into
    /// `into` (reusing its memory) under the lock.
    pub fn snapshot(&self, into: &mut ControlState) {
        self.drain_rt_knobs();
        into.clone_from(&self.lock());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::VirtualClock;
    use crate::sim::signal::stereo;

    #[test]
    fn changes_are_stamped_and_bad_ones_change_nothing() {
        let clock = VirtualClock::new();
        let control = Control::new(stereo().knobs, 8, Arc::new(clock.clone()));
        clock.spend(SampleFrames(480));
        assert_eq!(
            control.set_knob("brightness", 0.9),
            Ok(KnobCommit {
                changed: true,
                epoch: 1
            })
        );
        assert!(control.set_knob("brightness", f32::NAN).is_err());
        let mut snap = ControlState::new(stereo().knobs, 8);
        control.snapshot(&mut snap);
        assert_eq!(snap.knobs.epoch(), 1);
        assert_eq!(snap.last_activity, Some(SampleFrames(480)));
        clock.spend(SampleFrames(480));
        assert_eq!(
            control.set_knob("brightness", 0.9),
            Ok(KnobCommit {
                changed: false,
                epoch: 1
            }),
            "same value: no change"
        );
        control.snapshot(&mut snap);
        assert_eq!(snap.last_activity, Some(SampleFrames(480)));
    }

    #[test]
    fn bands_are_validated_and_deduplicated() {
        let control = Control::new(stereo().knobs, 8, Arc::new(VirtualClock::new()));
        let (a, b) = (SampleFrames(100), SampleFrames(50));
        assert_eq!(
            control.arm_band(a, b),
            Err(BandRequestError { a: 100, b: 50 })
        );
        assert_eq!(control.lock().band, None);
        assert_eq!(control.arm_band(b, a), Ok(true));
        assert_eq!(control.arm_band(b, a), Ok(false));
        assert!(control.disarm_band());
        assert!(!control.disarm_band());
    }
}
