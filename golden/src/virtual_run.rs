//! The virtual-clock mode: a discrete-event run. Every backend call charges
//! its modelled cost on the virtual clock, and while that time passes the
//! control events due in it fire at their exact times, as they would from
//! another thread. A prompt's text encode runs "concurrently": it is
//! received at its time, occupies the modelled encoder for its cost
//! (encodes serialize, the newest request wins) and commits when done,
//! slowing the steps it overlaps by the profile's contention. Nothing here
//! reads a real clock, so a run is the same on every machine.

use crate::costs::CostProfile;
use crate::record::{ChangeKind, ChangeRecord, Outcome, OutputCounters, Recording, altered_steps};
use crate::scenario::{Content, Scenario, StallStage};
use crate::timeline::{Event, EventKind, expand};
use earshot_engine::backend::{
    Backend, BackendError, ConditioningHandle, DecodeRequest, StepBatch,
};
use earshot_engine::backend::{DeviceServices, Generator, Renderer};
use earshot_engine::clock::{Clock, VirtualClock};
use earshot_engine::conditioning::{ConditioningInput, PromptEncoder};
use earshot_engine::control::Control;
use earshot_engine::description::{ConditioningShape, ModelDescription, knob_index};
use earshot_engine::frames::SampleFrames;
use earshot_engine::playback::{PlaybackConfig, playback};
use earshot_engine::runner::{Runner, RunnerError, RunnerParts};
use earshot_engine::sim::VirtualOutput;
use earshot_engine::trace::{TraceEvent, TraceSink};
use std::sync::{Arc, Mutex, MutexGuard};

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine refused to start or failed.
    #[error(transparent)]
    Runner(#[from] RunnerError),
    /// The playback buffer could not be built.
    #[error(transparent)]
    Playback(#[from] earshot_engine::playback::PlaybackError),
    /// The backend's model is not the scenario's.
    #[error("the backend runs {found}, the scenario asks for {expected}")]
    WrongModel {
        /// The scenario's size.
        expected: String,
        /// The backend's size.
        found: String,
    },
    /// The backend failed outside a tick.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The backend could not be made.
    #[error("the backend could not be made: {0}")]
    BackendSetup(BackendError),
    /// A live run's thread failed.
    #[error("live run: {0}")]
    Live(String),
}

/// A prompt encoder for runs whose content does not matter: a fixed,
/// text-dependent conditioning made by hashing the text, instantly. (On
/// the virtual clock the encode's cost is the profile's, whatever encoder
/// is used.)
#[derive(Debug, Clone, Copy)]
pub struct HashEncoder {
    shape: ConditioningShape,
}

impl HashEncoder {
    /// An encoder for a generator reading conditioning of `shape`.
    pub fn new(shape: ConditioningShape) -> Self {
        Self { shape }
    }
}

impl PromptEncoder for HashEncoder {
    fn encode(
        &mut self,
        prompt: &str,
    ) -> Result<ConditioningInput, earshot_engine::conditioning::EncoderError> {
        // FNV-1a of the text seeds a xorshift that fills the vectors.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in prompt.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut next = || {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            ((h >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let mut input = ConditioningInput::null(self.shape);
        input.tokens.iter_mut().for_each(|v| *v = 0.5 * next());
        input.pooled.iter_mut().for_each(|v| *v = 0.5 * next());
        Ok(input)
    }
}

/// A prompt waiting for its modelled encode to finish.
#[derive(Debug)]
struct PendingPrompt {
    done: SampleFrames,
    change: usize,
    text: String,
}

/// The simulated world the backend calls advance: the clock, the control
/// side and its timeline.
struct World {
    clock: VirtualClock,
    control: Control,
    profile: CostProfile,
    /// Frames per second of the run's clock (the model's sample rate).
    rate: u32,
    events: Vec<Event>,
    next: usize,
    prompts: Vec<PendingPrompt>,
    encoder_free: SampleFrames,
    stalls: [SampleFrames; 2],
    changes: Vec<ChangeRecord>,
    encodes: Vec<(SampleFrames, SampleFrames)>,
}

impl World {
    /// Lets time pass up to `t`, firing every event and commit due on the
    /// way at its own time.
    fn advance_to(&mut self, t: SampleFrames) {
        loop {
            let event = self
                .events
                .get(self.next)
                .map(|e| e.at)
                .filter(|&at| at <= t);
            let commit = self.prompts.first().map(|p| p.done).filter(|&at| at <= t);
            match (event, commit) {
                (Some(e), Some(c)) if c <= e => self.commit_prompt(),
                (Some(_), _) => self.fire(),
                (None, Some(_)) => self.commit_prompt(),
                (None, None) => break,
            }
        }
        self.clock.advance_to(t);
    }

    fn encoding_at(&self, t: SampleFrames) -> bool {
        self.encodes.iter().any(|&(a, b)| a <= t && t < b)
    }

    fn fire(&mut self) {
        let event = self.events[self.next].clone();
        self.next += 1;
        self.clock.advance_to(event.at);
        let record = |kind, result: Result<(bool, u64), String>| {
            let (outcome, epoch) = match result {
                Ok((true, epoch)) => (Outcome::Applied, epoch),
                Ok((false, epoch)) => (Outcome::Unchanged, epoch),
                Err(e) => (Outcome::Refused(e), 0),
            };
            let altered = match (kind, &outcome) {
                (ChangeKind::Knob { knob, .. }, Outcome::Applied) => {
                    altered_steps(&self.control, knob, epoch)
                }
                _ => Vec::new(),
            };
            ChangeRecord {
                action: event.action,
                kind,
                received: event.at,
                committed: matches!(outcome, Outcome::Applied | Outcome::Unchanged)
                    .then_some(event.at),
                epoch,
                altered,
                outcome,
            }
        };
        let knob = |name: &str, curve| ChangeKind::Knob {
            knob: knob_index(self.control.knobs(), name).unwrap_or(usize::MAX),
            curve,
        };
        let change = match &event.what {
            EventKind::Knob { name, value } => record(
                knob(name, false),
                self.control
                    .set_knob(name, *value)
                    .map(|c| (c.changed, c.epoch))
                    .map_err(|e| e.to_string()),
            ),
            EventKind::Curve { name, values } => record(
                knob(name, true),
                self.control
                    .set_curve(name, values)
                    .map(|c| (c.changed, c.epoch))
                    .map_err(|e| e.to_string()),
            ),
            EventKind::Seed(value) => record(
                ChangeKind::Seed(*value),
                Ok((self.control.set_seed(*value), 0)),
            ),
            EventKind::Band(a, b) => record(
                ChangeKind::Band(*a, *b),
                self.control
                    .arm_band(*a, *b)
                    .map(|c| (c, 0))
                    .map_err(|e| e.to_string()),
            ),
            EventKind::Disarm => record(ChangeKind::Disarm, Ok((self.control.disarm_band(), 0))),
            EventKind::Stall(stage, extra) => {
                let i = match stage {
                    StallStage::Step => 0,
                    StallStage::Decode => 1,
                };
                self.stalls[i] += *extra;
                return;
            }
            EventKind::Prompt(text) => {
                let start = event.at.max(self.encoder_free);
                let done = start + self.profile.prompt_encode(self.rate);
                self.encoder_free = done;
                self.encodes.push((start, done));
                self.prompts.push(PendingPrompt {
                    done,
                    change: self.changes.len(),
                    text: text.clone(),
                });
                ChangeRecord {
                    action: event.action,
                    kind: ChangeKind::Prompt,
                    received: event.at,
                    committed: None,
                    epoch: 0,
                    altered: Vec::new(),
                    outcome: Outcome::Superseded,
                }
            }
        };
        self.changes.push(change);
    }

    /// The oldest pending encode is done: it commits unless a newer
    /// request arrived meanwhile (the control side's newest-request rule).
    fn commit_prompt(&mut self) {
        let p = self.prompts.remove(0);
        self.clock.advance_to(p.done);
        let newer = self.changes[p.change + 1..]
            .iter()
            .any(|c| c.kind == ChangeKind::Prompt);
        if newer {
            return;
        }
        let change = &mut self.changes[p.change];
        match self.control.set_prompt(&p.text) {
            Ok(epoch) => {
                change.committed = Some(p.done);
                change.epoch = epoch;
                change.outcome = Outcome::Applied;
            }
            Err(e) => change.outcome = Outcome::Refused(e.to_string()),
        }
    }
}

/// A backend whose calls charge the cost profile on the virtual clock,
/// firing the world's due events as time passes.
struct ModelledBackend {
    inner: Box<dyn Backend>,
    world: Arc<Mutex<World>>,
}

impl ModelledBackend {
    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn charge(&self, cost: impl FnOnce(&World) -> SampleFrames, stall: Option<usize>) {
        let mut w = self.world();
        let now = w.clock.now();
        let mut cost = cost(&w);
        if let Some(i) = stall {
            cost += std::mem::take(&mut w.stalls[i]);
        }
        w.advance_to(now + cost);
    }
}

impl DeviceServices for ModelledBackend {
    earshot_engine::pass_through_device!();
}

impl Generator for ModelledBackend {
    earshot_engine::pass_through_latents!();

    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
        self.charge(|w| w.profile.conditioning(w.rate), None);
        self.inner.encode(input)
    }

    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
        let slots = batch.slots.len();
        self.charge(
            |w| {
                let cost = w.profile.step(slots, w.rate);
                if w.encoding_at(w.clock.now()) {
                    w.profile.contended(cost)
                } else {
                    cost
                }
            },
            Some(0),
        );
        self.inner.step(batch)
    }
}

impl Renderer for ModelledBackend {
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        let frames = request.range.end - request.range.start;
        self.charge(|w| w.profile.decode(frames, w.rate), Some(1));
        self.inner.decode(request, out)
    }
}

/// A trace sink the run reads back after the runner took it.
#[derive(Clone, Default)]
pub(crate) struct SharedTrace(pub(crate) Arc<Mutex<Vec<TraceEvent>>>);

impl TraceSink for SharedTrace {
    fn emit(&mut self, event: &TraceEvent) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
    }
}

impl SharedTrace {
    pub(crate) fn take(&self) -> Vec<TraceEvent> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The backend's model. For reference content it must be the reference
/// model of the size `scenario` asks for (its cost profile is that
/// size's); other content is the harness's own.
pub(crate) fn model_of(
    scenario: &Scenario,
    backend: &dyn Backend,
) -> Result<ModelDescription, RunError> {
    let model = backend.description().clone();
    let expected = scenario.engine.size.model_name();
    if scenario.content == Content::Reference && model.name != expected {
        return Err(RunError::WrongModel {
            expected,
            found: model.name,
        });
    }
    Ok(model)
}

/// Fresh audio one produce adds: the window over the steps.
pub(crate) fn produce_audio(model: &ModelDescription, steps: u32) -> SampleFrames {
    SampleFrames(model.window_frames().0 / u64::from(steps))
}

/// Runs `scenario` on the virtual clock with `profile`'s costs. `backend`
/// makes the content (any backend of the scenario's model size: the
/// timing does not depend on it), `encoder` turns prompts into
/// conditioning (its real cost is ignored; the profile's is charged).
pub fn run_virtual(
    scenario: &Scenario,
    profile: &CostProfile,
    backend: Box<dyn Backend>,
    encoder: Box<dyn PromptEncoder>,
) -> Result<Recording, RunError> {
    run_virtual_with(scenario, profile, backend, encoder, false)
}

/// [`run_virtual`], also keeping the audio played (interleaved stereo) in
/// [`Recording::audio`] when `record_audio` is set.
pub fn run_virtual_with(
    scenario: &Scenario,
    profile: &CostProfile,
    backend: Box<dyn Backend>,
    encoder: Box<dyn PromptEncoder>,
    record_audio: bool,
) -> Result<Recording, RunError> {
    let model = model_of(scenario, backend.as_ref())?;
    let config = scenario.engine.runner;
    let clock = VirtualClock::new();
    let control = Control::new(
        model.knobs.clone(),
        config.stream.steps as usize,
        Arc::new(clock.clone()),
    );
    control.set_encoder(encoder);
    let world = Arc::new(Mutex::new(World {
        clock: clock.clone(),
        control: control.clone(),
        profile: profile.clone(),
        rate: model.sample_rate,
        events: expand(scenario, &model.knobs),
        next: 0,
        prompts: Vec::new(),
        encoder_free: SampleFrames::ZERO,
        stalls: [SampleFrames::ZERO; 2],
        changes: Vec::new(),
        encodes: Vec::new(),
    }));
    let (writer, output, stats) = playback(PlaybackConfig::default(), model.channels)?;
    let trace = SharedTrace::default();
    let mut runner = Runner::new(
        config,
        RunnerParts {
            backend: Box::new(ModelledBackend {
                inner: backend,
                world: world.clone(),
            }),
            writer,
            control,
            clock: Arc::new(clock.clone()),
            trace: Box::new(trace.clone()),
            conditioning: ConditioningInput::null(model.conditioning),
        },
    )?;
    let block = scenario.output.block;
    let mut output = VirtualOutput::new(output, block as usize, record_audio).observe();
    let end = scenario.duration;
    while clock.now() < end {
        let before = clock.now();
        runner.tick(&mut output)?;
        if clock.now() == before {
            // Nothing to do this tick (a full queue, say): let a block pass.
            let mut w = world.lock().unwrap_or_else(|p| p.into_inner());
            w.advance_to(before + SampleFrames(u64::from(block)));
        }
        output.catch_up(clock.now().min(end));
    }
    let mut w = world.lock().unwrap_or_else(|p| p.into_inner());
    w.advance_to(end);
    let runs = output
        .runs()
        .iter()
        .copied()
        .filter(|r| r.at < end)
        .collect();
    let audio = output.recording().to_vec();
    Ok(Recording {
        audio,
        events: trace.take(),
        runs,
        changes: std::mem::take(&mut w.changes),
        encodes: std::mem::take(&mut w.encodes),
        duration: end,
        block,
        steps: config.stream.steps,
        produce_audio: produce_audio(&model, config.stream.steps),
        sample_rate: model.sample_rate,
        channels: model.channels,
        output: OutputCounters::of(&stats),
        counters: runner.counters(),
    })
}
