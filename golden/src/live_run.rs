//! The live mode: the real clock and a real backend. The runner runs on
//! its own thread as in `earshot play`, a paced thread plays the output in
//! blocks at real time (the callback model of the virtual card: block `k`
//! is consumed at time `kB`), and a control thread fires the scenario's
//! events at their times through the same control API a knob controller
//! uses, real prompt encodes included. Costs are whatever the machine
//! takes, so figures vary run to run: repeat and read percentiles.

use crate::record::{ChangeKind, ChangeRecord, Outcome, OutputCounters, Recording, altered_steps};
use crate::scenario::{Scenario, StallStage};
use crate::timeline::{EventKind, expand};
use crate::virtual_run::{RunError, SharedTrace, model_of, produce_audio};
use earshot_engine::backend::{
    Backend, BackendError, ConditioningHandle, DecodeRequest, StepBatch,
};
use earshot_engine::backend::{DeviceServices, Generator, Renderer};
use earshot_engine::clock::{Clock, RealClock};
use earshot_engine::conditioning::{ConditioningInput, PromptEncoder};
use earshot_engine::control::{Control, PromptError};
use earshot_engine::description::knob_index;
use earshot_engine::frames::SampleFrames;
use earshot_engine::playback::{PlaybackConfig, playback};
use earshot_engine::runner::thread::RunnerThread;
use earshot_engine::runner::{Runner, RunnerParts};
use earshot_engine::sim::VirtualOutput;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Stalls due on the next call of each stage, shared with the control
/// thread.
type PendingStalls = Arc<Mutex<[SampleFrames; 2]>>;

/// A backend that sleeps a pending stall before its next step or decode.
struct StallingBackend {
    inner: Box<dyn Backend>,
    clock: Arc<dyn Clock>,
    stalls: PendingStalls,
}

impl StallingBackend {
    fn stall(&self, i: usize) {
        let extra = std::mem::take(&mut self.stalls.lock().unwrap_or_else(|p| p.into_inner())[i]);
        if extra > SampleFrames::ZERO {
            self.clock.sleep(extra);
        }
    }
}

impl DeviceServices for StallingBackend {
    earshot_engine::pass_through_device!();
}

impl Generator for StallingBackend {
    earshot_engine::pass_through_latents!();

    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
        self.inner.encode(input)
    }

    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
        self.stall(0);
        self.inner.step(batch)
    }
}

impl Renderer for StallingBackend {
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        self.stall(1);
        self.inner.decode(request, out)
    }

    fn decode_landing(
        &mut self,
        request: &DecodeRequest,
        buffer: earshot_engine::playback::PatchBuffer,
        arrivals: &Arc<earshot_engine::playback::Arrivals>,
    ) -> Result<earshot_engine::playback::Landing, earshot_engine::backend::LandingFailed> {
        self.stall(1);
        self.inner.decode_landing(request, buffer, arrivals)
    }
}

/// Fires the scenario's events at their times; returns what it recorded.
fn control_thread(
    scenario: &Scenario,
    control: &Control,
    clock: &dyn Clock,
    stalls: &PendingStalls,
    stop: &AtomicBool,
) -> (Vec<ChangeRecord>, Vec<(SampleFrames, SampleFrames)>) {
    let mut changes = Vec::new();
    let mut encodes = Vec::new();
    for event in expand(scenario, control.knobs()) {
        while clock.now() < event.at {
            if stop.load(Ordering::Acquire) {
                return (changes, encodes);
            }
            let left = event.at - clock.now();
            clock.sleep(left.min(SampleFrames(480)));
        }
        let received = clock.now();
        let mut superseded = false;
        let knob = |name: &str, curve| ChangeKind::Knob {
            knob: knob_index(control.knobs(), name).unwrap_or(usize::MAX),
            curve,
        };
        let (kind, result): (ChangeKind, Result<(bool, u64), String>) = match &event.what {
            EventKind::Knob { name, value } => (
                knob(name, false),
                control
                    .set_knob(name, *value)
                    .map(|c| (c.changed, c.epoch))
                    .map_err(|e| e.to_string()),
            ),
            EventKind::Curve { name, values } => (
                knob(name, true),
                control
                    .set_curve(name, values)
                    .map(|c| (c.changed, c.epoch))
                    .map_err(|e| e.to_string()),
            ),
            EventKind::Prompt(text) => {
                let r = control.set_prompt(text);
                encodes.push((received, clock.now()));
                superseded = matches!(r, Err(PromptError::Superseded));
                (
                    ChangeKind::Prompt,
                    r.map(|epoch| (true, epoch)).map_err(|e| e.to_string()),
                )
            }
            EventKind::Seed(v) => (ChangeKind::Seed(*v), Ok((control.set_seed(*v), 0))),
            EventKind::Band(a, b) => (
                ChangeKind::Band(*a, *b),
                control
                    .arm_band(*a, *b)
                    .map(|c| (c, 0))
                    .map_err(|e| e.to_string()),
            ),
            EventKind::Disarm => (ChangeKind::Disarm, Ok((control.disarm_band(), 0))),
            EventKind::Stall(stage, extra) => {
                let i = usize::from(*stage == StallStage::Decode);
                stalls.lock().unwrap_or_else(|p| p.into_inner())[i] += *extra;
                continue;
            }
        };
        let committed = clock.now();
        let (outcome, epoch) = match result {
            Ok((true, e)) => (Outcome::Applied, e),
            Ok((false, e)) => (Outcome::Unchanged, e),
            Err(_) if superseded => (Outcome::Superseded, 0),
            Err(e) => (Outcome::Refused(e), 0),
        };
        let altered = match (kind, &outcome) {
            (ChangeKind::Knob { knob, .. }, Outcome::Applied) => {
                altered_steps(control, knob, epoch)
            }
            _ => Vec::new(),
        };
        changes.push(ChangeRecord {
            action: event.action,
            kind,
            received,
            committed: matches!(outcome, Outcome::Applied | Outcome::Unchanged)
                .then_some(committed),
            epoch,
            altered,
            outcome,
        });
    }
    (changes, encodes)
}

/// Runs `scenario` live: real clock, `backend` doing the work, `encoder`
/// encoding prompts on the control thread.
pub fn run_live(
    scenario: &Scenario,
    backend: Box<dyn Backend>,
    encoder: Box<dyn PromptEncoder>,
) -> Result<Recording, RunError> {
    let model = model_of(scenario, backend.as_ref())?;
    let config = scenario.engine.runner;
    let clock: Arc<dyn Clock> = Arc::new(RealClock::new(model.sample_rate));
    let control = Control::new(
        model.knobs.clone(),
        config.stream.steps as usize,
        clock.clone(),
    );
    control.set_encoder(encoder);
    let stalls = PendingStalls::default();
    let (writer, output, stats) = playback(PlaybackConfig::default(), model.channels)?;
    let trace = SharedTrace::default();
    let runner = Runner::new(
        config,
        RunnerParts {
            backend: Box::new(StallingBackend {
                inner: backend,
                clock: clock.clone(),
                stalls: stalls.clone(),
            }),
            writer,
            control: control.clone(),
            clock: clock.clone(),
            trace: Box::new(trace.clone()),
            conditioning: ConditioningInput::null(model.conditioning),
        },
    )?;
    let end = scenario.duration;
    let block = scenario.output.block;
    let stop = Arc::new(AtomicBool::new(false));
    let live = |e: std::io::Error| RunError::Live(e.to_string());
    let out_thread = {
        let (clock, stop) = (clock.clone(), stop.clone());
        std::thread::Builder::new()
            .name("golden-output".into())
            .spawn(move || {
                let mut out = VirtualOutput::new(output, block as usize, false).observe();
                while !stop.load(Ordering::Acquire) && out.played() < end {
                    // Wake one block before the next block plays (its
                    // callback's time), then run the callbacks due.
                    let due = out.played().saturating_sub(SampleFrames(u64::from(block)));
                    let now = clock.now();
                    if due > now {
                        clock.sleep(due - now);
                    }
                    out.catch_up(clock.now().min(end));
                }
                out.runs().to_vec()
            })
            .map_err(live)?
    };
    let runner = RunnerThread::spawn(runner).map_err(live)?;
    // The control thread reports over a channel so a hung encoder cannot
    // hang the run: past the duration plus a margin it is left behind.
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let (s, c, cl, st, sp) = (
            scenario.clone(),
            control.clone(),
            clock.clone(),
            stalls.clone(),
            stop.clone(),
        );
        std::thread::Builder::new()
            .name("golden-control".into())
            .spawn(move || {
                let _ = tx.send(control_thread(&s, &c, cl.as_ref(), &st, &sp));
            })
            .map_err(live)?;
    }
    let limit = Duration::from_secs_f64(end.as_seconds(model.sample_rate) + 10.0);
    let received = rx.recv_timeout(limit);
    if received.is_err() {
        stop.store(true, Ordering::Release);
        let _ = runner.stop(Duration::from_secs(1));
        return Err(RunError::Live(
            "the control thread did not finish (a prompt encode hung?)".into(),
        ));
    }
    let (changes, encodes) = received.unwrap_or_default();
    let now = clock.now();
    if now < end {
        clock.sleep(end - now);
    }
    stop.store(true, Ordering::Release);
    let runs = out_thread
        .join()
        .map_err(|_| RunError::Live("the output thread panicked".into()))?;
    let report = runner
        .stop_report(Duration::from_secs(5))
        .map_err(|e| RunError::Live(e.to_string()))?;
    Ok(Recording {
        events: trace.take(),
        runs: runs.into_iter().filter(|r| r.at < end).collect(),
        changes,
        encodes,
        duration: end,
        block,
        steps: config.stream.steps,
        produce_audio: produce_audio(&model, config.stream.steps),
        sample_rate: model.sample_rate,
        channels: model.channels,
        output: OutputCounters::of(&stats),
        counters: report.counters,
        audio: Vec::new(),
    })
}

/// A scenario's live runs, summarized over repeats and changes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LiveResult {
    /// Frames per second of the runs' clock (the figures' unit).
    pub sample_rate: u32,
    /// The scenario's name.
    pub name: String,
    /// Runs made.
    pub repeats: usize,
    /// Per kind, percentiles over every change of every run.
    pub kinds: std::collections::BTreeMap<String, crate::metrics::KindSummary>,
    /// Percentiles over runs of each run's median tick interval.
    pub tick_median: Option<crate::metrics::Percentiles>,
    /// Percentiles over runs of each run's largest tick interval.
    pub tick_max: Option<crate::metrics::Percentiles>,
    /// Percentiles over runs of the largest tick interval during an encode.
    pub tick_max_during_encode: Option<crate::metrics::Percentiles>,
    /// Underruns of each run.
    pub underruns: Vec<u64>,
    /// The targets, checked on every run: how many runs met each.
    pub targets: Vec<(String, usize)>,
}

/// Summarizes the metrics of `runs` of `scenario`.
pub fn summarize_repeats(
    scenario: &Scenario,
    runs: &[(Recording, crate::metrics::ScenarioMetrics)],
) -> LiveResult {
    use crate::metrics::{Percentiles, summarize};
    let mut changes = Vec::new();
    let mut applied = Vec::new();
    for (rec, m) in runs {
        changes.extend(m.changes.iter().cloned());
        applied.extend(rec.changes.iter().map(|c| c.outcome == Outcome::Applied));
    }
    let mut targets: Vec<(String, usize)> = Vec::new();
    for (_, m) in runs {
        for t in crate::suite::check_targets(scenario, m) {
            match targets.iter_mut().find(|(name, _)| *name == t.target) {
                Some(entry) => entry.1 += usize::from(t.met),
                None => targets.push((t.target, usize::from(t.met))),
            }
        }
    }
    LiveResult {
        sample_rate: runs.first().map_or(0, |r| r.1.sample_rate),
        name: scenario.name.clone(),
        repeats: runs.len(),
        kinds: summarize(&changes, &applied),
        tick_median: Percentiles::of(runs.iter().map(|r| r.1.run.tick_median)),
        tick_max: Percentiles::of(runs.iter().map(|r| r.1.run.tick_max)),
        tick_max_during_encode: Percentiles::of(
            runs.iter().filter_map(|r| r.1.run.tick_max_during_encode),
        ),
        underruns: runs.iter().map(|r| r.1.run.underruns).collect(),
        targets,
    }
}
