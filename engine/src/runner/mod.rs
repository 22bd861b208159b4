//! The runner: one tick loop per engine. Each tick takes a snapshot of the
//! control state under the state lock (microseconds), runs one batched step
//! over all slots, delivers a produce in the same tick it completes, writes
//! the frontier at playhead + lead, then the near repatch; without a fresh
//! produce it gap-fills from the current timeline so the buffer never runs
//! dry.
//!
//! The same [`Runner::tick`] serves live playback (a thread calls it in a
//! loop, see [`thread`]) and the virtual clock (a driver calls it and lets
//! the output side catch up through [`OutputSync`] before every patch).

pub mod ack_tracker;
pub mod band_state;
pub mod landing_queue;
pub mod plan;
pub mod step_costs;
pub mod thread;

use crate::ack::{AckEvent, AckKind, AckStage};
use crate::backend::{Backend, BackendError, ConditioningHandle, DecodeRequest, StepTiming};
use crate::clock::Clock;
use crate::conditioning::ConditioningInput;
use crate::control::{Control, ControlState};
use crate::description::{DescriptionError, KnobMarks, ModelDescription};
use crate::epoch::Epochs;
use crate::frames::{LatentFrames, SampleFrames};
use crate::lead::{LeadConfig, LeadConfigError, LeadController};
use crate::playback::{Arrivals, Landing, Patch, PatchBuffer, PatchWriter};
use crate::schedule::Scheduler;
use crate::stream::{Produce, Stream, StreamConfig, StreamError, TickInputs, TickOutcome};
use crate::trace::{PatchKind, TraceEvent, TraceSink};
use ack_tracker::AckTracker;
use band_state::{BandChange, BandState};
use landing_queue::LandingQueue;
use plan::{WindowSpan, admission_anchor, band_range, clip, wrap};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;
use step_costs::StepCosts;

/// Asynchronous renders whose cost the runner waits to learn; older ones
/// are forgotten (their cost only feeds an average).
const LANDING_KEPT: usize = 32;

/// Frames kept free between a write's end and one ring-lap past the playhead.
const HORIZON_SLACK: SampleFrames = SampleFrames(8_192);

/// Where the near repatch lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NearPlacement {
    /// Where it is heard soonest without being trimmed: the measured
    /// render time of its first `near_head` frames plus the lead's
    /// `near_margin` ahead of the playhead. Those frames are rendered and
    /// sent first, the rest of the range to the frontier after them.
    #[default]
    Render,
    /// At `interval_ema · gain + margin` (the lead formula without floor and
    /// stall bump), in one write.
    Interval,
}

/// How the runner runs; every latency feature has a switch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunnerConfig {
    /// Steps, sampler, queue_cap and seed of the stream.
    pub stream: StreamConfig,
    /// The lead controller's parameters.
    pub lead: LeadConfig,
    /// Write the near repatch after a fresh produce during control activity.
    pub near_repatch: bool,
    /// How long after the last control change the near repatch stays on
    /// (default 2 s).
    pub activity_window: SampleFrames,
    /// Where the near repatch lands.
    pub near_placement: NearPlacement,
    /// Frames of a render-placed near repatch rendered and sent on their
    /// own, before the rest (default 2048 ≈ 43 ms: long enough to play
    /// while the rest renders).
    pub near_head: SampleFrames,
    /// Deliver a produce in the tick it completes (off: one tick later).
    pub same_tick_delivery: bool,
    /// While a change waits for its first produce, step the slot about to
    /// finish alone and deliver it before stepping the rest.
    pub finishing_first: bool,
    /// The shortest frontier chunk, whatever the interval (default 512).
    pub min_chunk: SampleFrames,
    /// Overlap of a gap-fill with what is already written, so the output
    /// side crossfades into it (default 256, the playback fade).
    pub overlap: SampleFrames,
    /// Interval assumed before the first produce (default 0: the first
    /// windows start near the playhead, so the first produce covers the
    /// start; later ones move ahead as the average builds).
    pub initial_interval: SampleFrames,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            stream: StreamConfig::default(),
            lead: LeadConfig::default(),
            near_repatch: true,
            activity_window: SampleFrames(96_000),
            near_placement: NearPlacement::Render,
            near_head: SampleFrames(2048),
            same_tick_delivery: true,
            finishing_first: true,
            min_chunk: SampleFrames(512),
            overlap: SampleFrames(256),
            initial_interval: SampleFrames::ZERO,
        }
    }
}

/// Why the runner stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The stream refused its config or failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The lead parameters are invalid.
    #[error(transparent)]
    Lead(#[from] LeadConfigError),
    /// The backend's model description cannot be run.
    #[error(transparent)]
    Model(#[from] DescriptionError),
    /// The playback buffer could not be built for it.
    #[error(transparent)]
    Playback(#[from] crate::playback::PlaybackError),
}

/// Lets the output side catch up with the clock before a patch is sent.
/// Live output runs on its own thread and needs nothing; a virtual-clock
/// driver renders the output up to `now`.
pub trait OutputSync {
    /// The output should have played everything before `now`.
    fn sync(&mut self, now: SampleFrames);
}

/// Live output: the sound card plays on its own.
#[derive(Debug, Default, Clone, Copy)]
pub struct LiveOutput;

impl OutputSync for LiveOutput {
    fn sync(&mut self, _now: SampleFrames) {}
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// A produce was delivered (rendered) this tick.
    pub delivered: bool,
    /// Patches sent this tick.
    pub patches: u32,
    /// Patches that could not be written (no free buffer or a full ring).
    pub skipped: u32,
}

/// Counters of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunnerCounters {
    /// Ticks run.
    pub ticks: u64,
    /// Produces delivered.
    pub produces: u64,
    /// Frontier patches sent.
    pub frontier: u64,
    /// Near repatches sent.
    pub near: u64,
    /// Gap-fill patches sent.
    pub gap_fill: u64,
    /// Patches sent after the playhead had passed their start.
    pub late: u64,
    /// Patches not written for want of a buffer or ring space.
    pub skipped: u64,
    /// Loop bands the output could not hold (longer than its ring).
    pub bands_refused: u64,
    /// Committed conditionings the backend refused.
    pub conditioning_refused: u64,
    /// Turns whose finishing slot was stepped and delivered before the
    /// rest of the batch.
    pub finishing_first: u64,
}

/// The tick loop's state.
pub struct Runner {
    config: RunnerConfig,
    backend: Box<dyn Backend>,
    /// Which slots step each tick, and when a produce is ready.
    stream: Box<dyn Scheduler>,
    lead: LeadController,
    writer: PatchWriter,
    control: Control,
    snapshot: ControlState,
    clock: Arc<dyn Clock>,
    trace: Box<dyn TraceSink>,
    conditioning: ConditioningHandle,
    /// The epoch of the conditioning on the backend (what produces carry).
    conditioning_epoch: u64,
    /// The newest committed epoch looked at, placed or refused.
    conditioning_seen: u64,
    timeline: Option<Produce>,
    pending: Option<Produce>,
    /// The loop band: requested, armed, being left.
    band: BandState,
    written_until: SampleFrames,
    /// Clock time at the start of the current tick.
    tick_started: SampleFrames,
    /// Start of the tick that completed the last delivered produce.
    last_produce_at: Option<SampleFrames>,
    /// Newest epochs acknowledged as produced and as heard.
    acks: AckTracker,
    /// The epochs of the last near repatch's rest.
    near_rest_epochs: Epochs,
    /// The newest epochs any delivered produce carried.
    delivered: Epochs,
    /// Per knob, the newest change any delivered produce was shaped by.
    delivered_shaped: KnobMarks,
    /// What a step costs by batch size, on the runner's clock.
    step_costs: StepCosts,
    stats: crate::playback::PlaybackStats,
    counters: RunnerCounters,
    /// Tickets of asynchronous decodes into patch buffers.
    arrivals: Arc<Arrivals>,
    /// Asynchronous renders whose cost is not known yet; read once they
    /// land.
    landing: LandingQueue,
}

impl Drop for Runner {
    /// Lets asynchronous renders land before the writer (and the patches
    /// still on its ring) go, whatever the fields' drop order.
    fn drop(&mut self) {
        let _ = self.backend.settle();
    }
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// Everything a runner is built from.
pub struct RunnerParts {
    /// The model runtime.
    pub backend: Box<dyn Backend>,
    /// The runner side of the playback channel.
    pub writer: PatchWriter,
    /// The control state shared with the control side.
    pub control: Control,
    /// The clock of the run.
    pub clock: Arc<dyn Clock>,
    /// Where trace events go.
    pub trace: Box<dyn TraceSink>,
    /// The conditioning to start with.
    pub conditioning: ConditioningInput,
}

impl Runner {
    /// Allocates the stream's buffers and encodes the starting conditioning.
    pub fn new(config: RunnerConfig, mut parts: RunnerParts) -> Result<Self, RunnerError> {
        let stream = Stream::new(config.stream, parts.backend.as_mut())?;
        Self::with_scheduler(config, parts, Box::new(stream))
    }

    /// A runner whose slots `scheduler` plans instead of a [`Stream`] made
    /// from `config.stream`; the scheduler's latent buffers must come from
    /// `parts.backend`. The runner's planning still reads the step count
    /// from `config.stream`.
    pub fn with_scheduler(
        config: RunnerConfig,
        parts: RunnerParts,
        scheduler: Box<dyn Scheduler>,
    ) -> Result<Self, RunnerError> {
        let RunnerParts {
            mut backend,
            writer,
            control,
            clock,
            trace,
            conditioning,
        } = parts;
        let stream = scheduler;
        let writer_stats = writer.stats();
        writer.arrivals().set_clock(Arc::clone(&clock));
        let conditioning = backend.encode(&conditioning)?;
        let model = backend.description();
        model.validate()?;
        let snapshot_knobs = model.knob_count();
        let snapshot = ControlState::new(control.knobs().clone(), config.stream.steps as usize);
        if control.knobs().len() != snapshot_knobs {
            return Err(RunnerError::Stream(StreamError::KnobCount {
                expected: snapshot_knobs,
                found: control.knobs().len(),
            }));
        }
        Ok(Self {
            lead: LeadController::new(config.lead)?,
            config,
            backend,
            stream,
            control,
            snapshot,
            clock,
            trace,
            conditioning,
            conditioning_epoch: 0,
            conditioning_seen: 0,
            timeline: None,
            pending: None,
            band: BandState::default(),
            written_until: SampleFrames::ZERO,
            tick_started: SampleFrames::ZERO,
            last_produce_at: None,
            acks: AckTracker::default(),
            near_rest_epochs: Epochs::default(),
            delivered: Epochs::default(),
            delivered_shaped: KnobMarks::zeros(snapshot_knobs),
            step_costs: StepCosts::new(config.stream.steps as usize + 1),
            stats: writer_stats,
            counters: RunnerCounters::default(),
            arrivals: Arc::clone(writer.arrivals()),
            landing: LandingQueue::new(LANDING_KEPT),
            writer,
        })
    }

    /// The counters so far.
    pub fn counters(&self) -> RunnerCounters {
        self.counters
    }

    /// The lead controller's state.
    pub fn lead(&self) -> &LeadController {
        &self.lead
    }

    /// What the runner was told about the model.
    pub fn model(&self) -> &ModelDescription {
        self.backend.description()
    }

    /// The backend, for its counters.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// How far ahead patches cover.
    pub fn written_until(&self) -> SampleFrames {
        self.written_until
    }

    fn interval(&self) -> SampleFrames {
        self.lead
            .interval_ema()
            .unwrap_or(self.config.initial_interval)
    }

    /// Records how long a step over `slots` slots that began at `before`
    /// took: on the runner's clock, or the device's timing when the backend
    /// has it.
    fn observe_step(&mut self, slots: usize, before: SampleFrames) {
        // A device backend's own timing when it has one (its steps return
        // once enqueued): an earlier step's, with its own batch size.
        let (slots, took) = match self.backend.step_device_time() {
            StepTiming::Host => (slots, self.clock.now().saturating_sub(before)),
            StepTiming::Device { slots, took } => (slots, took),
            StepTiming::Pending => return,
        };
        self.step_costs.observe(slots, took);
    }

    /// Whether the finishing slot is stepped alone first (see
    /// [`StepCosts::split_pays`]); every batch size is seen while the
    /// stream fills at start-up.
    fn split_pays(&self) -> bool {
        self.step_costs.split_pays(self.stream.in_flight())
    }

    /// Where the near repatch lands ahead of the playhead, and how many
    /// of its frames go out first.
    fn near_placement(&self) -> (SampleFrames, SampleFrames) {
        let head = self.config.near_head;
        match (self.config.near_placement, self.band.armed()) {
            (NearPlacement::Render, None) => (self.lead.render_lead(head), head),
            // A band wraps writes: its near repatch stays one write.
            (NearPlacement::Render, Some(_)) => (self.lead.render_lead(head), self.lead.lead()),
            (NearPlacement::Interval, _) => (self.lead.near_lead(), self.lead.lead()),
        }
    }

    /// Feeds the cost of asynchronous renders that have landed to the lead
    /// controller (a tick late: the render placement wants an average).
    fn observe_landed(&mut self) {
        let lead = &mut self.lead;
        self.landing.drain_landed(&self.arrivals, |frames, cost| {
            lead.observe_render(frames, cost)
        });
    }

    fn near_lead(&self) -> SampleFrames {
        self.near_placement().0
    }

    fn chunk(&self) -> SampleFrames {
        self.interval().max(self.config.min_chunk)
    }

    /// One turn of the loop.
    pub fn tick(&mut self, output: &mut dyn OutputSync) -> Result<TickReport, RunnerError> {
        let tick = self.stream.ticks();
        // The one wait of a tick on an asynchronous backend, at its
        // boundary: the previous tick's device work, which paces the loop.
        self.backend.settle()?;
        self.observe_landed();
        self.tick_started = self.clock.now();
        self.trace.emit(&TraceEvent::TickStart {
            tick,
            at: self.tick_started,
        });
        self.control.snapshot(&mut self.snapshot);
        self.sync_conditioning();
        if let Some(seed) = self.snapshot.seed {
            self.stream.set_seed(seed);
        }
        let epochs = Epochs {
            knob: self.snapshot.knobs.epoch(),
            conditioning: self.conditioning_epoch,
        };
        self.sync_band();
        let anchor = self.admission(output);
        let mut report = TickReport::default();
        let early = self.finishing_first(epochs, output, &mut report)?;
        let before = self.clock.now();
        let outcome = self.stream.tick(
            self.backend.as_mut(),
            &TickInputs {
                knobs: &self.snapshot.knobs,
                conditioning: self.conditioning,
                epochs,
                admit: Some(anchor),
            },
        )?;
        if let TickOutcome::Stepped { slots, .. } = outcome {
            self.observe_step(slots, before);
        }
        let fresh = match (self.config.same_tick_delivery, self.stream.take_produce()) {
            (true, p) => p,
            (false, p) => std::mem::replace(&mut self.pending, p),
        };
        if let Some(produce) = fresh {
            self.deliver(produce, output, &mut report)?;
        } else if !early {
            self.gap_fill(output, &mut report)?;
        }
        self.ack_heard();
        let slots = match outcome {
            TickOutcome::Stepped { slots, .. } => slots,
            TickOutcome::QueueFull | TickOutcome::Idle | TickOutcome::Dropped => 0,
        };
        self.counters.ticks += 1;
        self.trace.emit(&TraceEvent::TickEnd {
            tick,
            at: self.clock.now(),
            slots,
        });
        Ok(report)
    }

    /// Places a newly committed conditioning on the backend and switches
    /// every slot to it (live binding, so the old one is released at once).
    /// A conditioning the backend refuses is dropped with an ack; the one in
    /// force stays and the engine plays on.
    /// Where the slot admitted this tick is anchored: around where the
    /// playhead will be when it completes, wrapped into an armed band.
    fn admission(&mut self, output: &mut dyn OutputSync) -> LatentFrames {
        output.sync(self.clock.now());
        let playhead = self.writer.playhead();
        // Where the playhead will be when this slot completes, wrapped into
        // an armed band.
        let ahead = SampleFrames(self.interval().0 * u64::from(self.config.stream.steps));
        // In a band the frontier lands at a wrapped position: plan the window
        // around that position, as if the playhead were a lead before it.
        let lead = self.lead.lead();
        // Until the band's first lap is written to its end, plan as without
        // a band so that lap gets filled.
        let at_completion = match (self.band.exiting(), self.band.armed()) {
            (Some((_, b)), _) => b.saturating_sub(self.chunk()),
            (None, Some(band)) if self.written_until >= band.1 => {
                wrap(playhead + ahead + lead, band).saturating_sub(lead)
            }
            (None, _) => playhead + ahead,
        };
        admission_anchor(
            self.model(),
            at_completion,
            0,
            self.interval(),
            self.near_lead(),
            // One chunk and three latent frames of slack for a late
            // completion (ticks lengthen while near repatches render) or a
            // stale playhead read. Where the window cannot hold both, the
            // frontier's coverage wins over the near repatch's reach.
            self.lead.lead() + self.chunk() + self.chunk() + SampleFrames(3 * self.model().hop.0),
        )
    }

    /// The finishing-first turn: while a committed change has not reached
    /// any delivered produce, the slot about to finish is stepped alone
    /// and delivered before the rest of the batch (its produce is the first
    /// the change can shape, ready after a one-slot forward). Whether it
    /// delivered.
    fn finishing_first(
        &mut self,
        epochs: Epochs,
        output: &mut dyn OutputSync,
        report: &mut TickReport,
    ) -> Result<bool, RunnerError> {
        // News for the finishing slot: a change to its last step's knob
        // values, or a new conditioning, that no delivered produce carries.
        let last = self.config.stream.steps as usize - 1;
        let news = (0..self.delivered_shaped.as_slice().len())
            .any(|k| self.snapshot.knobs.changed_at(k, last) > self.delivered_shaped[k])
            || epochs.conditioning > self.delivered.conditioning;
        if self.config.finishing_first
            && self.config.same_tick_delivery
            && news
            && self.split_pays()
        {
            let inputs = TickInputs {
                knobs: &self.snapshot.knobs,
                conditioning: self.conditioning,
                epochs,
                admit: None,
            };
            let before = self.clock.now();
            let stepped = self
                .stream
                .tick_finishing_first(self.backend.as_mut(), &inputs)?;
            if stepped {
                self.observe_step(1, before);
            }
            if stepped && let Some(produce) = self.stream.take_produce() {
                self.counters.finishing_first += 1;
                self.deliver(produce, output, report)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn sync_conditioning(&mut self) {
        let Some(committed) = &self.snapshot.conditioning else {
            return;
        };
        if committed.epoch == self.conditioning_seen {
            return;
        }
        let epoch = committed.epoch;
        self.conditioning_seen = epoch;
        match self.backend.encode(&committed.input) {
            Ok(handle) => {
                self.conditioning_epoch = epoch;
                let old = std::mem::replace(&mut self.conditioning, handle);
                // Nothing steps with the old handle any more; a release the
                // backend refuses only leaks one buffer.
                let _ = self.backend.release_conditioning(old);
            }
            Err(_) => {
                self.counters.conditioning_refused += 1;
                self.control.acks().emit(AckEvent {
                    kind: AckKind::Conditioning,
                    epoch,
                    stage: AckStage::Dropped,
                    at: self.clock.now(),
                });
            }
        }
    }

    /// Passes a changed loop band on to the output side. The runner wraps
    /// its writes only into a band the output accepted; a full message ring
    /// is retried next tick, a band the ring cannot hold is refused (counted)
    /// and not retried until the control side changes it.
    fn sync_band(&mut self) {
        match self
            .band
            .sync(self.snapshot.band, self.lead.lead(), &mut self.writer)
        {
            BandChange::Unchanged => {}
            BandChange::Exited { written_until } => self.written_until = written_until,
            BandChange::Refused => self.counters.bands_refused += 1,
        }
    }

    /// While leaving a band: writes what follows its end, from a window
    /// planned there, up to a lead and a chunk past it.
    fn write_exit(
        &mut self,
        produce: &Produce,
        span: &WindowSpan,
        output: &mut dyn OutputSync,
        report: &mut TickReport,
    ) -> Result<(), RunnerError> {
        let Some((_, b)) = self.band.exiting() else {
            return Ok(());
        };
        let lead = self.lead.lead();
        let start = self
            .band
            .exit_written()
            .saturating_sub(self.config.overlap)
            .max(b);
        let end = b + lead + self.chunk();
        if let Some(range) = clip(start..end, &span.exact) {
            let range_end = range.end;
            self.write(produce, range, PatchKind::Frontier, lead, output, report)?;
            self.band.wrote_exit(range_end);
        }
        Ok(())
    }

    fn deliver(
        &mut self,
        produce: Produce,
        output: &mut dyn OutputSync,
        report: &mut TickReport,
    ) -> Result<(), RunnerError> {
        let now = self.clock.now();
        self.delivered = self.delivered.max(produce.epochs);
        self.delivered_shaped.merge(&produce.shaped);
        // Plan with the playhead as it is now, not as of the last patch.
        output.sync(now);
        // Intervals are taken between the starts of the ticks that completed
        // the produces: a produce delivered early in its tick (finishing
        // first) must not make the next interval look like a stall.
        if let Some(last) = self.last_produce_at {
            self.lead.observe(self.tick_started.saturating_sub(last));
        }
        self.last_produce_at = Some(self.tick_started);
        self.counters.produces += 1;
        self.ack(produce.epochs, AckStage::FirstProduce, now);
        report.delivered = true;
        self.trace.emit(&TraceEvent::produced(&produce, now));
        let span = WindowSpan::new(self.model(), produce.anchor);
        let active = self
            .snapshot
            .last_activity
            .is_some_and(|t| now.saturating_sub(t) <= self.config.activity_window);
        // The change is what the listener waits for: the near repatch goes
        // out before the frontier, which lands a lead ahead and can wait.
        if self.config.near_repatch && active {
            self.near_repatch(&produce, &span, output, report)?;
        }
        if self.band.exiting().is_some() {
            self.write_exit(&produce, &span, output, report)?;
            if let Some(old) = self.timeline.replace(produce) {
                self.stream.release(old.latents)?;
            }
            return Ok(());
        }
        let playhead = self.writer.playhead();
        let lead = self.lead.lead();
        // Fresh content replaces everything from playhead + lead on; a hole
        // before that (start-up, a stall) is filled from the same produce.
        let covered = self
            .written_until
            .saturating_sub(self.config.overlap)
            .max(playhead);
        let (start, end) = match self.band.armed() {
            // Inside a band what was written plays again each lap: the
            // frontier writes one chunk, wrapped.
            Some(_) => (playhead + lead, playhead + lead + self.chunk()),
            None => (
                (playhead + lead).min(covered),
                self.written_until.max(playhead + lead + self.chunk()),
            ),
        };
        if let Some(range) = band_range(start..end, self.band.armed(), self.config.overlap) {
            // A hole before the exact span (at start-up the window begins
            // at the timeline's origin) is filled from its padded edge; in a
            // band the range is wrapped and the span is not, so no hole is
            // inferred there.
            if self.band.armed().is_none()
                && let Some(head) = clip(range.start..span.exact.start, &span.full)
            {
                self.write(&produce, head, PatchKind::GapFill, lead, output, report)?;
            }
            if let Some(exact) = clip(range, &span.exact) {
                self.write(&produce, exact, PatchKind::Frontier, lead, output, report)?;
            }
        }
        // A window planned before a stall may end short of the frontier.
        self.fill_to(&produce, playhead, output, report)?;
        if let Some(old) = self.timeline.replace(produce) {
            self.stream.release(old.latents)?;
        }
        Ok(())
    }

    /// Rewrites what lies between the playhead and the frontier from a
    /// fresh produce, so a change is heard before the frontier reaches the
    /// ear. Placed by render time, its head is rendered and sent on its own
    /// and the rest starts two fades before the head's end and ends two
    /// fades past the frontier's start: every crossfade between them then
    /// blends identical samples (same produce, exact windowed decode), and
    /// each fade back to older content at a patch's end is overwritten
    /// before it plays.
    fn near_repatch(
        &mut self,
        produce: &Produce,
        span: &WindowSpan,
        output: &mut dyn OutputSync,
        report: &mut TickReport,
    ) -> Result<(), RunnerError> {
        let lead = self.lead.lead();
        let playhead = self.writer.playhead();
        let (near, head) = self.near_placement();
        let end = playhead + lead;
        let head_end = (playhead + near + head).min(end);
        let range = band_range(
            playhead + near..head_end,
            self.band.armed(),
            self.config.overlap,
        );
        if let Some(range) = range.and_then(|r| clip(r, &span.exact)) {
            self.write(produce, range, PatchKind::Near, near, output, report)?;
        }
        let seam = SampleFrames(2 * self.config.overlap.0);
        let rest_start = head_end.saturating_sub(seam).max(self.writer.playhead());
        // The rest carries news only when this produce was shaped by a
        // change the last rest was not; otherwise the head suffices and the
        // frontier renders the rest as it moves.
        if head_end < end && produce.epochs != self.near_rest_epochs {
            self.near_rest_epochs = produce.epochs;
            let range = band_range(
                rest_start..end + seam,
                self.band.armed(),
                self.config.overlap,
            );
            if let Some(range) = range.and_then(|r| clip(r, &span.exact)) {
                self.write(produce, range, PatchKind::Near, near, output, report)?;
            }
        }
        Ok(())
    }

    /// Acknowledges epochs newer than any acknowledged at `stage` so far.
    fn ack(&mut self, epochs: Epochs, stage: AckStage, at: SampleFrames) {
        let hub = self.control.acks();
        self.acks
            .advance(epochs, stage, at, |event| hub.emit(event));
    }

    /// Acknowledges what the output has started to play.
    fn ack_heard(&mut self) {
        let heard = self.stats.audible();
        self.ack(heard, AckStage::FirstAudible, self.clock.now());
    }

    fn gap_fill(
        &mut self,
        output: &mut dyn OutputSync,
        report: &mut TickReport,
    ) -> Result<(), RunnerError> {
        match self.timeline {
            Some(timeline) => self.fill_to(&timeline, self.writer.playhead(), output, report),
            None => Ok(()),
        }
    }

    /// Extends the written range to playhead + lead + chunk from `produce`'s
    /// window. Past the exact span the decode is still defined (zero padding
    /// at the window's edge); rougher audio beats silence.
    fn fill_to(
        &mut self,
        produce: &Produce,
        playhead: SampleFrames,
        output: &mut dyn OutputSync,
        report: &mut TickReport,
    ) -> Result<(), RunnerError> {
        let lead = self.lead.lead();
        let mut wanted_end = playhead + lead + self.chunk();
        if let Some((_, b)) = self.band.armed()
            && playhead < b
        {
            // The band's content replays; only its first lap needs filling.
            wanted_end = wanted_end.min(b);
        }
        if self.written_until >= wanted_end {
            return Ok(());
        }
        let span = WindowSpan::new(self.model(), produce.anchor);
        let start = self
            .written_until
            .saturating_sub(self.config.overlap)
            .max(playhead);
        if let Some(range) = clip(start..wanted_end, &span.full) {
            self.write(produce, range, PatchKind::GapFill, lead, output, report)?;
        }
        Ok(())
    }

    /// Counts a patch the runner could not send (no room ahead, no free
    /// buffer, or no room on the ring): the one skipped-patch path.
    fn skip(&mut self, report: &mut TickReport) {
        report.skipped += 1;
        self.counters.skipped += 1;
    }

    /// Returns a patch buffer to the pool once no copy can still land in
    /// it; one still landing is dropped, which leaks it (never in steady
    /// state).
    fn take_back(&mut self, landing: Landing) {
        if let Ok(buffer) = landing.take(&self.arrivals) {
            self.writer.release(buffer);
        }
    }

    /// A free patch buffer and the part of `range` it takes: never further
    /// ahead than the ring holds (minus slack for a playhead read that is a
    /// callback old), at most a buffer long. `None` when the patch cannot
    /// be sent: nothing of it fits, no buffer is free, or the ring to the
    /// output has no room (a patch still landing could not be taken back,
    /// so none is started without room for it).
    fn patch_buffer(
        &mut self,
        range: Range<SampleFrames>,
    ) -> Option<(PatchBuffer, Range<SampleFrames>)> {
        let horizon = self.writer.playhead() + self.writer.capacity().saturating_sub(HORIZON_SLACK);
        let range = clip(range.clone(), &(range.start..horizon))?;
        let buffer = self.writer.acquire()?;
        if !self.writer.has_room() {
            self.writer.release(buffer);
            return None;
        }
        let frames = (range.end - range.start)
            .as_usize()
            .min(buffer.capacity() / self.model().channels);
        Some((
            buffer,
            range.start..range.start + SampleFrames(frames as u64),
        ))
    }

    fn write(
        &mut self,
        produce: &Produce,
        range: Range<SampleFrames>,
        kind: PatchKind,
        lead: SampleFrames,
        output: &mut dyn OutputSync,
        report: &mut TickReport,
    ) -> Result<(), RunnerError> {
        let Some((buffer, range)) = self.patch_buffer(range) else {
            self.skip(report);
            return Ok(());
        };
        let frames = (range.end - range.start).as_usize();
        let request = DecodeRequest {
            latents: produce.latents,
            anchor: produce.anchor,
            range: range.clone(),
        };
        let before = self.clock.now();
        let landing = match self
            .backend
            .decode_landing(&request, buffer, &self.arrivals)
        {
            Ok(landing) => landing,
            Err(failed) => {
                self.take_back(failed.landing);
                return Err(failed.error.into());
            }
        };
        let now = self.clock.now();
        match landing.ticket() {
            None => self
                .lead
                .observe_render(SampleFrames(frames as u64), now.saturating_sub(before)),
            Some(ticket) => self
                .landing
                .push(ticket, SampleFrames(frames as u64), before),
        }
        output.sync(now);
        let playhead = self.writer.playhead();
        let late = range.start < playhead;
        let patch = Patch {
            start: range.start,
            len: SampleFrames(frames as u64),
            epochs: produce.epochs,
            source: produce.slot,
            landing,
        };
        if let Err(back) = self.writer.send(patch) {
            // Unreachable: room was checked, and nothing else sends.
            self.take_back(back.into_patch().landing);
            self.skip(report);
            return Ok(());
        }
        self.written_until = self.written_until.max(range.end);
        report.patches += 1;
        self.counters.late += u64::from(late);
        match kind {
            PatchKind::Frontier => self.counters.frontier += 1,
            PatchKind::Near => self.counters.near += 1,
            PatchKind::GapFill => self.counters.gap_fill += 1,
            PatchKind::Offline => {}
        }
        self.trace.emit(&TraceEvent::Patch {
            kind,
            at: now,
            position: range.start,
            length: range.end - range.start,
            epochs: produce.epochs,
            source: produce.slot,
            late,
            trimmed: playhead
                .saturating_sub(range.start)
                .min(range.end - range.start),
            lead,
        });
        Ok(())
    }
}
