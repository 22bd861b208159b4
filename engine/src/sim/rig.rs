//! A runner on the virtual clock with everything around it — playback
//! buffer, control, a virtual output that plays as time passes — built
//! from a backend in one call, for tests and harnesses that watch what a
//! listener would hear.

use crate::backend::Backend;
use crate::clock::{Clock, VirtualClock};
use crate::conditioning::ConditioningInput;
use crate::control::Control;
use crate::frames::SampleFrames;
use crate::playback::{PlaybackConfig, PlaybackStats, playback};
use crate::runner::{Runner, RunnerConfig, RunnerError, RunnerParts};
use crate::schedule::Scheduler;
use crate::sim::VirtualOutput;
use crate::trace::TraceSink;
use std::sync::Arc;

/// Frames per block the virtual output plays.
const BLOCK: usize = 128;

/// A runner, its output and its control on one virtual clock.
pub struct VirtualRig {
    /// The clock every part runs on (and the backend's costs spend).
    pub clock: VirtualClock,
    /// The control side: knobs, prompts, bands.
    pub control: Control,
    /// The runner.
    pub runner: Runner,
    /// The output, recording what it played.
    pub output: VirtualOutput,
    /// The playback buffer's counters.
    pub stats: PlaybackStats,
}

impl VirtualRig {
    /// A runner for `backend` (which should spend `clock` for its costs),
    /// sized from the backend's description, with the default playback
    /// buffer and the null conditioning.
    pub fn new(
        clock: VirtualClock,
        backend: Box<dyn Backend>,
        config: RunnerConfig,
        trace: Box<dyn TraceSink>,
    ) -> Result<Self, RunnerError> {
        Self::build(clock, backend, config, trace, None)
    }

    /// The same with `scheduler` planning the slots instead of the stream
    /// (its latent buffers from `backend`).
    pub fn with_scheduler(
        clock: VirtualClock,
        backend: Box<dyn Backend>,
        config: RunnerConfig,
        trace: Box<dyn TraceSink>,
        scheduler: Box<dyn Scheduler>,
    ) -> Result<Self, RunnerError> {
        Self::build(clock, backend, config, trace, Some(scheduler))
    }

    fn build(
        clock: VirtualClock,
        backend: Box<dyn Backend>,
        config: RunnerConfig,
        trace: Box<dyn TraceSink>,
        scheduler: Option<Box<dyn Scheduler>>,
    ) -> Result<Self, RunnerError> {
        let model = backend.description().clone();
        let (writer, output, stats) = playback(PlaybackConfig::default(), model.channels)?;
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let control = Control::new(
            model.knobs.clone(),
            config.stream.steps as usize,
            Arc::clone(&shared),
        );
        let parts = RunnerParts {
            backend,
            writer,
            control: control.clone(),
            clock: shared,
            trace,
            conditioning: ConditioningInput::null(model.conditioning),
        };
        let runner = match scheduler {
            Some(scheduler) => Runner::with_scheduler(config, parts, scheduler)?,
            None => Runner::new(config, parts)?,
        };
        Ok(Self {
            clock,
            control,
            runner,
            output: VirtualOutput::new(output, BLOCK, true),
            stats,
        })
    }

    /// Ticks until the clock reaches `until`, the output playing behind;
    /// `each` runs before every tick with the control and the time (to
    /// script changes). Returns the ticks run.
    pub fn run_until(
        &mut self,
        until: SampleFrames,
        mut each: impl FnMut(&Control, SampleFrames),
    ) -> Result<u64, RunnerError> {
        let mut ticks = 0;
        while self.clock.now() < until {
            each(&self.control, self.clock.now());
            self.runner.tick(&mut self.output)?;
            self.output.catch_up(self.clock.now());
            ticks += 1;
        }
        Ok(ticks)
    }
}
