//! The stream: slots at staggered denoise steps advanced by one batched
//! forward per tick, the produce queue bounded by `queue_cap`, and the noise
//! keys that make every trajectory reproducible (contract 4).
//!
//! Admission and binding: a slot is admitted at step 0 with an anchor (the
//! absolute latent frame its window starts at) and a serial number (the
//! count of slots admitted before it, its noise key). Every tick, each
//! in-flight slot uses the knob row of its own step and the conditioning of
//! the current snapshot ("live" binding), so a change reaches the very next
//! produce. A produce records both the epochs it was admitted with and the
//! epochs of the last step that shaped it.

use crate::backend::{
    Backend, BackendError, ConditioningHandle, LatentHandle, SlotStep, StepBatch,
};
use crate::description::KnobMarks;
use crate::epoch::Epochs;
use crate::frames::LatentFrames;
use crate::knobs::KnobState;
use crate::rng::NoiseKey;
use crate::sampler::{SamplerKind, timestep};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Most denoise steps a stream accepts.
pub const MAX_STEPS: u32 = 256;
/// Most produces a stream lets wait.
pub const MAX_QUEUE_CAP: usize = 16;

/// How a stream runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamConfig {
    /// Denoise steps per trajectory (default 8); also the most slots in flight.
    pub steps: u32,
    /// The update rule.
    pub sampler: SamplerKind,
    /// Most produces waiting to be rendered before the stream stops stepping.
    pub queue_cap: usize,
    /// Seed of every noise draw.
    pub seed: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            steps: 8,
            sampler: SamplerKind::Ode,
            queue_cap: 1,
            seed: 0,
        }
    }
}

/// Why a stream could not be built or stepped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StreamError {
    /// A config value the stream cannot run with.
    #[error("invalid stream config: {0}")]
    InvalidConfig(&'static str),
    /// The knob state was made for another number of steps.
    #[error("knob state has {found} steps, the stream {expected}")]
    KnobSteps {
        /// The stream's steps.
        expected: usize,
        /// The knob state's steps.
        found: usize,
    },
    /// The knob state was made for another model's knob table.
    #[error("knob state has {found} knobs, the model {expected}")]
    KnobCount {
        /// The model's knobs.
        expected: usize,
        /// The knob state's knobs.
        found: usize,
    },
    /// A buffer handed back that the stream did not lend, or twice.
    #[error("latent buffer {0} was not lent by this stream or was already released")]
    ForeignBuffer(u32),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// One in-flight denoising trajectory.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Slot {
    serial: u64,
    /// The seed its noise is keyed with, fixed at admission.
    seed: u64,
    latents: LatentHandle,
    step: u32,
    anchor: LatentFrames,
    admitted: Epochs,
    admitted_tick: u64,
    /// Per knob, the newest change that altered a step this slot ran.
    shaped: KnobMarks,
}

/// A fresh clean latent timeline: a slot that reached its last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Produce {
    /// The buffer holding the window; give it back with [`Stream::release`]
    /// once nothing renders from it any more.
    pub latents: LatentHandle,
    /// Absolute latent frame of the window's first frame.
    pub anchor: LatentFrames,
    /// The slot's serial number.
    pub slot: u64,
    /// The epochs when the slot was admitted: every step ran with at
    /// least these.
    pub admitted: Epochs,
    /// The tick that admitted it.
    pub admitted_tick: u64,
    /// The changes that shaped it: the knob epoch is the newest of
    /// `shaped`, the conditioning epoch the one its last step used.
    pub epochs: Epochs,
    /// Per knob, the newest change that altered the value at a step this
    /// slot ran (0: none since start).
    pub shaped: KnobMarks,
    /// The seed its noise was keyed with.
    pub seed: u64,
    /// The tick that completed it.
    pub tick: u64,
}

/// What the runner hands the stream each tick.
#[derive(Debug, Clone, Copy)]
pub struct TickInputs<'a> {
    /// Knob values and curves of this tick's snapshot.
    pub knobs: &'a KnobState,
    /// Conditioning of this tick's snapshot.
    pub conditioning: ConditioningHandle,
    /// Epochs of this tick's snapshot.
    pub epochs: Epochs,
    /// Admit a new slot whose window starts at this latent frame. Nothing
    /// is admitted while `steps` slots are in flight or no buffer is free
    /// (the runner still holds too many produces); see
    /// [`Stream::next_serial`] to tell.
    pub admit: Option<LatentFrames>,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickOutcome {
    /// One batched forward over `slots` slots; `produced` when a slot finished.
    Stepped {
        /// Slots in the batch.
        slots: usize,
        /// Whether a produce was queued.
        produced: bool,
    },
    /// The produce queue is full: nothing was stepped.
    QueueFull,
    /// No slot in flight and none admitted.
    Idle,
    /// The backend dropped the forward; no slot advanced.
    Dropped,
}

/// Slots in flight, free buffers and the produce queue.
#[derive(Debug)]
pub struct Stream {
    config: StreamConfig,
    slots: VecDeque<Slot>,
    owned: Vec<LatentHandle>,
    free: Vec<LatentHandle>,
    produced: VecDeque<Produce>,
    batch: StepBatch,
    /// One knob row, reused.
    row: Vec<f32>,
    next_serial: u64,
    tick: u64,
}

impl Stream {
    /// A stream with every buffer it will ever use allocated on `backend`:
    /// `steps` slots in flight, `queue_cap` waiting and one being rendered.
    pub fn new(config: StreamConfig, backend: &mut dyn Backend) -> Result<Self, StreamError> {
        if !(1..=MAX_STEPS).contains(&config.steps) {
            return Err(StreamError::InvalidConfig("steps must lie in 1..=256"));
        }
        if !(1..=MAX_QUEUE_CAP).contains(&config.queue_cap) {
            return Err(StreamError::InvalidConfig("queue_cap must lie in 1..=16"));
        }
        if let SamplerKind::Sde { churn } = config.sampler
            && !(0.0..=1.0).contains(&churn)
        {
            return Err(StreamError::InvalidConfig("SDE churn must lie in [0, 1]"));
        }
        let buffers = config.steps as usize + config.queue_cap + 1;
        backend.reserve(config.steps as usize)?;
        let owned = (0..buffers)
            .map(|_| backend.alloc_latents())
            .collect::<Result<Vec<_>, _>>()?;
        let free = owned.clone();
        let knobs = backend.description().knob_count();
        let mut batch = StepBatch::with_capacity(config.steps as usize, knobs);
        batch.sampler = config.sampler;
        Ok(Self {
            config,
            slots: VecDeque::with_capacity(config.steps as usize),
            owned,
            free,
            produced: VecDeque::with_capacity(config.queue_cap),
            batch,
            row: vec![0.0; knobs],
            next_serial: 0,
            tick: 0,
        })
    }

    /// The stream's configuration.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// Slots in flight.
    pub fn in_flight(&self) -> usize {
        self.slots.len()
    }

    /// Ticks that stepped so far.
    pub fn ticks(&self) -> u64 {
        self.tick
    }

    /// Changes the seed of slots admitted from now on; slots in flight
    /// keep theirs, so no trajectory mixes two noise streams.
    pub fn set_seed(&mut self, seed: u64) {
        self.config.seed = seed;
    }

    /// The serial the next admitted slot gets.
    pub fn next_serial(&self) -> u64 {
        self.next_serial
    }

    fn admit(&mut self, anchor: LatentFrames, epochs: Epochs) {
        if self.slots.len() >= self.config.steps as usize {
            return;
        }
        if let Some(latents) = self.free.pop() {
            self.slots.push_back(Slot {
                serial: self.next_serial,
                seed: self.config.seed,
                latents,
                step: 0,
                anchor,
                admitted: epochs,
                admitted_tick: self.tick,
                shaped: KnobMarks::zeros(self.row.len()),
            });
            self.next_serial += 1;
        }
    }

    /// Admits (if asked and possible), steps every slot once in one batched
    /// forward, and queues the slot that finished. Allocates nothing.
    pub fn tick(
        &mut self,
        backend: &mut dyn Backend,
        inputs: &TickInputs<'_>,
    ) -> Result<TickOutcome, StreamError> {
        self.check(inputs)?;
        if self.produced.len() >= self.config.queue_cap {
            return Ok(TickOutcome::QueueFull);
        }
        if let Some(anchor) = inputs.admit {
            self.admit(anchor, inputs.epochs);
        }
        if self.slots.is_empty() {
            return Ok(TickOutcome::Idle);
        }
        let all = self.slots.len();
        let outcome = self.step_front(backend, inputs, all)?;
        // A dropped forward advanced no slot: the tick count (the step
        // clock of every slot) stays.
        if outcome != TickOutcome::Dropped {
            self.tick += 1;
        }
        Ok(outcome)
    }

    /// Steps the oldest slot alone when this step completes it, and queues
    /// its produce; a [`tick`](Self::tick) in the same turn then steps the
    /// rest. The produce is ready one single-slot forward after the turn
    /// began instead of one full batch, which is how a change reaches the
    /// ear sooner. The latents are those of the batched step (each slot's
    /// computation does not depend on its batch), so this only moves time.
    /// Returns whether a produce was queued; does nothing when the oldest
    /// slot is not at its last step or the queue is full.
    pub fn tick_finishing_first(
        &mut self,
        backend: &mut dyn Backend,
        inputs: &TickInputs<'_>,
    ) -> Result<bool, StreamError> {
        self.check(inputs)?;
        let finishing = self
            .slots
            .front()
            .is_some_and(|s| s.step + 1 == self.config.steps);
        if !finishing || self.produced.len() >= self.config.queue_cap {
            return Ok(false);
        }
        let outcome = self.step_front(backend, inputs, 1)?;
        Ok(matches!(
            outcome,
            TickOutcome::Stepped { produced: true, .. }
        ))
    }

    fn check(&self, inputs: &TickInputs<'_>) -> Result<(), StreamError> {
        if inputs.knobs.steps() != self.config.steps as usize {
            return Err(StreamError::KnobSteps {
                expected: self.config.steps as usize,
                found: inputs.knobs.steps(),
            });
        }
        if inputs.knobs.len() != self.row.len() {
            return Err(StreamError::KnobCount {
                expected: self.row.len(),
                found: inputs.knobs.len(),
            });
        }
        Ok(())
    }

    /// One forward over the `count` oldest slots; queues those it finished.
    fn step_front(
        &mut self,
        backend: &mut dyn Backend,
        inputs: &TickInputs<'_>,
        count: usize,
    ) -> Result<TickOutcome, StreamError> {
        let steps = self.config.steps;
        self.batch.clear();
        let row = &mut self.row;
        for slot in self.slots.iter().take(count) {
            self.batch.slots.push(SlotStep {
                latents: slot.latents,
                conditioning: inputs.conditioning,
                step: slot.step,
                t: timestep(slot.step, steps),
                t_next: timestep(slot.step + 1, steps),
                noise: NoiseKey {
                    seed: slot.seed,
                    slot: slot.serial,
                    step: 0,
                },
            });
            inputs.knobs.row(slot.step as usize, row);
            self.batch.knob_rows.extend_from_slice(row);
        }
        match backend.step(&self.batch) {
            Err(BackendError::Dropped) => return Ok(TickOutcome::Dropped),
            other => other?,
        }
        let stepped = self.batch.slots.len();
        for slot in self.slots.iter_mut().take(count) {
            for (k, shaped) in slot.shaped.as_mut_slice().iter_mut().enumerate() {
                *shaped = (*shaped).max(inputs.knobs.changed_at(k, slot.step as usize));
            }
            slot.step += 1;
        }
        let mut produced = false;
        while self.slots.front().is_some_and(|s| s.step == steps) {
            if let Some(done) = self.slots.pop_front() {
                self.produced.push_back(Produce {
                    latents: done.latents,
                    anchor: done.anchor,
                    slot: done.serial,
                    admitted: done.admitted,
                    admitted_tick: done.admitted_tick,
                    epochs: Epochs {
                        knob: done.shaped.newest(),
                        conditioning: inputs.epochs.conditioning,
                    },
                    shaped: done.shaped,
                    seed: done.seed,
                    tick: self.tick,
                });
                produced = true;
            }
        }
        Ok(TickOutcome::Stepped {
            slots: stepped,
            produced,
        })
    }

    /// Takes the oldest produce waiting to be rendered.
    pub fn take_produce(&mut self) -> Option<Produce> {
        self.produced.pop_front()
    }

    /// Gives a produce's buffer back once nothing renders from it. A buffer
    /// this stream did not lend, or one already back, is refused.
    pub fn release(&mut self, latents: LatentHandle) -> Result<(), StreamError> {
        let lent = self.owned.contains(&latents)
            && !self.free.contains(&latents)
            && !self.slots.iter().any(|s| s.latents == latents)
            && !self.produced.iter().any(|p| p.latents == latents);
        if !lent {
            return Err(StreamError::ForeignBuffer(latents.index()));
        }
        self.free.push(latents);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BackendCounters, DecodeRequest, DeviceServices, Generator, Renderer};
    use crate::conditioning::ConditioningInput;
    use crate::description::ModelDescription;
    use crate::sim::signal::stereo;

    /// Records what each forward saw; the latents hold nothing.
    struct Recorder {
        description: ModelDescription,
        buffers: u32,
        batches: Vec<Vec<(u32, u32, f32)>>,
        seeds: Vec<Vec<u64>>,
        knob_rows: Vec<Vec<f32>>,
    }

    impl Recorder {
        fn new() -> Self {
            Self {
                description: stereo(),
                buffers: 0,
                batches: Vec::new(),
                seeds: Vec::new(),
                knob_rows: Vec::new(),
            }
        }
    }

    impl DeviceServices for Recorder {
        fn name(&self) -> &str {
            "recorder"
        }

        fn description(&self) -> &ModelDescription {
            &self.description
        }

        fn counters(&self) -> BackendCounters {
            BackendCounters::default()
        }

        fn reserve(&mut self, _: usize) -> Result<(), BackendError> {
            Ok(())
        }
    }

    impl Generator for Recorder {
        fn alloc_latents(&mut self) -> Result<LatentHandle, BackendError> {
            self.buffers += 1;
            Ok(LatentHandle::from_index(self.buffers - 1))
        }

        fn encode(&mut self, _: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
            Ok(ConditioningHandle::from_index(0))
        }

        fn release_conditioning(&mut self, _: ConditioningHandle) -> Result<(), BackendError> {
            Ok(())
        }

        fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
            self.batches.push(
                batch
                    .slots
                    .iter()
                    .map(|s| (s.noise.slot as u32, s.step, s.t))
                    .collect(),
            );
            self.knob_rows.push(batch.knob_rows.clone());
            self.seeds
                .push(batch.slots.iter().map(|s| s.noise.seed).collect());
            Ok(())
        }

        fn read_latents(&mut self, _: LatentHandle, _: &mut [f32]) -> Result<(), BackendError> {
            Ok(())
        }

        fn write_latents(&mut self, _: LatentHandle, _: &[f32]) -> Result<(), BackendError> {
            Ok(())
        }
    }

    impl Renderer for Recorder {
        fn decode(&mut self, _: &DecodeRequest, _: &mut [f32]) -> Result<(), BackendError> {
            Ok(())
        }
    }

    fn inputs(knobs: &KnobState, epoch: u64, admit: Option<LatentFrames>) -> TickInputs<'_> {
        TickInputs {
            knobs,
            conditioning: ConditioningHandle::from_index(0),
            epochs: Epochs {
                knob: epoch,
                conditioning: 0,
            },
            admit,
        }
    }

    #[test]
    fn a_produce_carries_only_the_changes_that_altered_a_step_it_ran() {
        let mut b = Recorder::new();
        let config = StreamConfig {
            steps: 4,
            ..StreamConfig::default()
        };
        let mut s = Stream::new(config, &mut b).unwrap();
        let mut knobs = KnobState::new(stereo().knobs, 4);
        let mut produced = Vec::new();
        for tick in 0..8u64 {
            if tick == 3 {
                // Slots are at steps 0..=3 now; this alters step 0 only.
                let mut curve = [0.5; 4];
                curve[0] = 0.9;
                knobs.set_curve("density", &curve).unwrap();
            }
            if tick == 5 {
                knobs.set("warmth", 0.1).unwrap();
            }
            s.tick(&mut b, &inputs(&knobs, 0, Some(LatentFrames(tick))))
                .unwrap();
            if let Some(p) = s.take_produce() {
                produced.push(p);
                s.release(p.latents).unwrap();
            }
        }
        let density = stereo().knob_index("density").unwrap();
        let warmth = stereo().knob_index("warmth").unwrap();
        // Produces of ticks 3, 4, 5 ran step 0 before tick 3: untouched by
        // the step-0 change; the produce of tick 6 was admitted at tick 3.
        let carried: Vec<_> = produced
            .iter()
            .map(|p| (p.tick, p.shaped[density]))
            .collect();
        assert_eq!(carried, [(3, 0), (4, 0), (5, 0), (6, 1), (7, 1)]);
        // The scalar change of tick 5 reaches the slot finishing that tick.
        let warm: Vec<_> = produced
            .iter()
            .map(|p| (p.tick, p.shaped[warmth]))
            .collect();
        assert_eq!(warm, [(3, 0), (4, 0), (5, 2), (6, 2), (7, 2)]);
        assert_eq!(produced[2].epochs.knob, 2, "the newest change it carries");
        assert_eq!(produced[3].admitted_tick, 3);
    }

    #[test]
    fn slots_are_staggered_and_one_produce_per_tick_in_steady_state() {
        let mut b = Recorder::new();
        let config = StreamConfig {
            steps: 4,
            ..StreamConfig::default()
        };
        let mut s = Stream::new(config, &mut b).unwrap();
        assert_eq!(
            b.buffers,
            4 + 1 + 1,
            "steps + queue_cap + one being rendered"
        );
        let knobs = KnobState::new(stereo().knobs, 4);
        let mut produced = Vec::new();
        for tick in 0..10u64 {
            let out = s
                .tick(&mut b, &inputs(&knobs, tick, Some(LatentFrames(tick))))
                .unwrap();
            if let Some(p) = s.take_produce() {
                assert!(matches!(out, TickOutcome::Stepped { produced: true, .. }));
                produced.push(p);
                s.release(p.latents).unwrap();
            }
        }
        // The first produce completes on the fourth tick; then one per tick.
        assert_eq!(produced.len(), 7);
        assert_eq!(produced[0].tick, 3);
        assert_eq!(produced[0].slot, 0);
        assert_eq!(produced[0].admitted.knob, 0);
        assert_eq!(
            produced[0].epochs.knob, 0,
            "the snapshot's epoch moved, but no change altered a knob value"
        );
        assert_eq!(produced[0].anchor, LatentFrames(0));
        // Steady state: four slots at steps 0..3, oldest first, with their timesteps.
        let steady = &b.batches[5];
        assert_eq!(
            steady.iter().map(|x| x.1).collect::<Vec<_>>(),
            vec![3, 2, 1, 0]
        );
        assert_eq!(
            steady.iter().map(|x| x.2).collect::<Vec<_>>(),
            vec![0.25, 0.5, 0.75, 1.0]
        );
    }

    #[test]
    fn a_full_queue_stops_stepping_until_a_produce_is_taken() {
        let mut b = Recorder::new();
        let config = StreamConfig {
            steps: 2,
            queue_cap: 1,
            ..StreamConfig::default()
        };
        let mut s = Stream::new(config, &mut b).unwrap();
        let knobs = KnobState::new(stereo().knobs, 2);
        for _ in 0..2 {
            s.tick(&mut b, &inputs(&knobs, 0, Some(LatentFrames(0))))
                .unwrap();
        }
        let forwards = b.batches.len();
        let out = s
            .tick(&mut b, &inputs(&knobs, 0, Some(LatentFrames(0))))
            .unwrap();
        assert_eq!(out, TickOutcome::QueueFull);
        assert_eq!(b.batches.len(), forwards, "nothing stepped");
        let p = s.take_produce().unwrap();
        s.release(p.latents).unwrap();
        assert!(
            matches!(s.release(p.latents), Err(StreamError::ForeignBuffer(_))),
            "twice"
        );
        assert!(matches!(
            s.tick(&mut b, &inputs(&knobs, 0, None)).unwrap(),
            TickOutcome::Stepped { .. }
        ));
    }

    #[test]
    fn knob_rows_follow_each_slots_step() {
        let mut b = Recorder::new();
        let config = StreamConfig {
            steps: 2,
            ..StreamConfig::default()
        };
        let mut s = Stream::new(config, &mut b).unwrap();
        let mut knobs = KnobState::new(stereo().knobs, 2);
        knobs.set_curve("brightness", &[0.0, 1.0]).unwrap();
        s.tick(&mut b, &inputs(&knobs, 0, Some(LatentFrames(0))))
            .unwrap();
        s.tick(&mut b, &inputs(&knobs, 0, Some(LatentFrames(1))))
            .unwrap();
        // Second tick: slot 0 at step 1 (brightness 1 → +1), slot 1 at step 0 (→ -1).
        let rows = &b.knob_rows[1];
        assert_eq!(rows[0], 1.0);
        assert_eq!(rows[stereo().knob_count()], -1.0);
    }

    #[test]
    fn a_new_seed_applies_to_slots_admitted_after_it() {
        let mut b = Recorder::new();
        let mut s = Stream::new(StreamConfig::default(), &mut b).unwrap();
        let knobs = KnobState::new(stereo().knobs, 8);
        for i in 0..2 {
            s.tick(&mut b, &inputs(&knobs, 0, Some(LatentFrames(i))))
                .unwrap();
        }
        s.set_seed(9);
        s.tick(&mut b, &inputs(&knobs, 0, Some(LatentFrames(2))))
            .unwrap();
        assert_eq!(b.seeds[2], vec![0, 0, 9], "in-flight slots keep their seed");
    }

    #[test]
    fn bad_configs_are_refused() {
        let mut b = Recorder::new();
        for config in [
            StreamConfig {
                steps: 0,
                ..StreamConfig::default()
            },
            StreamConfig {
                queue_cap: 0,
                ..StreamConfig::default()
            },
            StreamConfig {
                queue_cap: 100_000_000,
                ..StreamConfig::default()
            },
            StreamConfig {
                steps: 10_000,
                ..StreamConfig::default()
            },
            StreamConfig {
                sampler: SamplerKind::Sde { churn: 1.5 },
                ..StreamConfig::default()
            },
        ] {
            assert!(matches!(
                Stream::new(config, &mut b),
                Err(StreamError::InvalidConfig(_))
            ));
        }
    }
}
