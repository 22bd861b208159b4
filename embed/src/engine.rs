//! An engine built from a config, its runner started and stopped on
//! demand, and every control call of the engine in one place.

use crate::backend_choice::make_backend;
use crate::config::EngineConfig;
use crate::controller::Controller;
use crate::error::EmbedError;
use crate::processor::Processor;
use crate::prompt::TextPrompt;
use crate::resample::HostResampler;
use earshot_audio_model::config::{CHANNELS, SAMPLE_RATE};
use earshot_audio_model::{ModelConfig, ModelWeights};
use earshot_engine::Backend;
use earshot_engine::ack::AckEvent;
use earshot_engine::clock::{Clock, RealClock};
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::control::{Control, KnobCommit};
use earshot_engine::frames::SampleFrames;
use earshot_engine::lead::LeadConfig;
use earshot_engine::playback::{PlaybackConfig, PlaybackStats, playback};
use earshot_engine::runner::thread::{RunnerReport, RunnerThread};
use earshot_engine::runner::{Runner, RunnerConfig, RunnerParts};
use earshot_engine::stream::StreamConfig;
use earshot_engine::trace::NullTrace;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// How long dropping a running engine waits for its runner.
const DROP_STOP: Duration = Duration::from_secs(2);

/// An earshot engine inside a host: the weights, the control plane and,
/// while started, the runner thread. Control calls may come from any
/// thread but the audio thread (they take the state lock for
/// microseconds; `set_prompt` encodes on the calling thread).
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    weights: Arc<ModelWeights>,
    clock: Arc<RealClock>,
    controller: Controller,
    /// The backend made at construction to check it can run, kept for the
    /// first start (making a GPU backend uploads every weight).
    spare: Option<Spare>,
    running: Option<Running>,
}

/// A backend waiting for its start.
struct Spare(Box<dyn Backend>);

impl std::fmt::Debug for Spare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Spare").field(&self.0.name()).finish()
    }
}

#[derive(Debug)]
struct Running {
    runner: RunnerThread,
    stats: PlaybackStats,
}

impl Engine {
    /// Checks `config`, loads or generates the weights, checks that the
    /// backend can be made, and loads the text encoder when it can (without
    /// it prompts are refused with the reason). Slow: the model is built
    /// here, not on the audio thread.
    pub fn new(config: EngineConfig) -> Result<Self, EmbedError> {
        // Checked before the weights load, which can take long.
        config.check()?;
        let weights = crate::model::load_or_init(
            config.weights.as_deref(),
            config.size,
            config.weights_seed,
        )?;
        Self::build(config, Arc::new(weights))
    }

    /// Like [`new`](Self::new) with weights already loaded (shared, say,
    /// by every activation of a plugin instance): `config`'s weights
    /// file, size and seed are not read.
    pub fn with_weights(
        config: EngineConfig,
        weights: Arc<ModelWeights>,
    ) -> Result<Self, EmbedError> {
        config.check()?;
        Self::build(config, weights)
    }

    /// The engine of a checked config and its weights.
    fn build(config: EngineConfig, weights: Arc<ModelWeights>) -> Result<Self, EmbedError> {
        // Fail here, not at start, when the backend cannot run (no GPU).
        let spare = Spare(make_backend(config.backend, &weights)?);
        let clock = Arc::new(RealClock::new(SAMPLE_RATE));
        let control = Control::new(
            earshot_audio_model::knobs::knobs(),
            config.steps as usize,
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        let prompts_off = match TextPrompt::new(&weights, config.text_model.as_deref()) {
            Ok(encoder) => {
                control.set_encoder(Box::new(encoder));
                None
            }
            Err(e) => Some(e.to_string()),
        };
        Ok(Self {
            config,
            weights,
            clock,
            controller: Controller::new(control, prompts_off),
            spare: Some(spare),
            running: None,
        })
    }

    /// Builds the backend and the playback buffer, spawns the runner
    /// thread, and hands back the processor for the host's audio thread.
    /// Knob values, curves and the prompt carry over from before a stop.
    pub fn start(&mut self) -> Result<Processor, EmbedError> {
        if self.running.is_some() {
            return Err(EmbedError::AlreadyRunning);
        }
        let backend = match self.spare.take() {
            Some(Spare(backend)) => backend,
            None => make_backend(self.config.backend, &self.weights)?,
        };
        let shape = backend.description().conditioning;
        let (writer, output, stats) = playback(PlaybackConfig::default(), CHANNELS)?;
        let resampler = (self.config.sample_rate != SAMPLE_RATE)
            .then(|| HostResampler::new(self.config.sample_rate))
            .transpose()?;
        let runner_config = RunnerConfig {
            stream: StreamConfig {
                steps: self.config.steps,
                sampler: self.config.sampler,
                queue_cap: 1,
                seed: self.config.seed,
            },
            lead: LeadConfig {
                floor: self.config.lead_floor,
                ..LeadConfig::default()
            },
            ..RunnerConfig::default()
        };
        let parts = RunnerParts {
            backend,
            writer,
            control: self.controller.control().clone(),
            clock: Arc::clone(&self.clock) as Arc<dyn Clock>,
            trace: Box::new(NullTrace),
            conditioning: ConditioningInput::null(shape),
        };
        let runner =
            RunnerThread::spawn(Runner::new(runner_config, parts)?).map_err(EmbedError::Spawn)?;
        self.running = Some(Running {
            runner,
            stats: stats.clone(),
        });
        Ok(Processor {
            output,
            knobs: self
                .controller
                .control()
                .rt_knobs(self.config.rt_knob_capacity),
            clock: Arc::clone(&self.clock),
            stats,
            sample_rate: self.config.sample_rate,
            channels: self.config.channels,
            max_block: self.config.max_block,
            block: vec![0.0; self.config.max_block * CHANNELS].into_boxed_slice(),
            resampler,
        })
    }

    /// Stops the runner, waiting at most `timeout` (a runner stuck in a
    /// stalled tick is left behind and reported, never joined forever).
    /// The processor keeps playing what was written, then silence.
    pub fn stop(&mut self, timeout: Duration) -> Result<RunnerReport, EmbedError> {
        let running = self.running.take().ok_or(EmbedError::NotRunning)?;
        Ok(running.runner.stop_report(timeout)?)
    }

    /// Whether the runner is started and still running (it ends by itself
    /// only when the backend fails).
    pub fn is_running(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|r| !r.runner.is_finished())
    }

    /// The config the engine was built from.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The weights the engine runs, to share with a later engine.
    pub fn weights(&self) -> &Arc<ModelWeights> {
        &self.weights
    }

    /// The model's geometry.
    pub fn model(&self) -> &ModelConfig {
        self.weights.config()
    }

    /// The control plane, for what this facade does not wrap.
    pub fn control(&self) -> &Control {
        self.controller.control()
    }

    /// The playback counters of the current run.
    pub fn stats(&self) -> Option<&PlaybackStats> {
        self.running.as_ref().map(|r| &r.stats)
    }

    /// The control calls, as a `Sync` handle to clone for control threads.
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// As [`Controller::set_knob`].
    pub fn set_knob(&self, name: &str, value: f32) -> Result<KnobCommit, EmbedError> {
        self.controller.set_knob(name, value)
    }

    /// As [`Controller::set_curve`].
    pub fn set_curve(&self, name: &str, values: &[f32]) -> Result<KnobCommit, EmbedError> {
        self.controller.set_curve(name, values)
    }

    /// As [`Controller::set_prompt`].
    pub fn set_prompt(&self, prompt: &str) -> Result<u64, EmbedError> {
        self.controller.set_prompt(prompt)
    }

    /// As [`Controller::prompts_off`].
    pub fn prompts_off(&self) -> Option<&str> {
        self.controller.prompts_off()
    }

    /// As [`Controller::arm_band`].
    pub fn arm_band(&self, a: SampleFrames, b: SampleFrames) -> Result<bool, EmbedError> {
        self.controller.arm_band(a, b)
    }

    /// As [`Controller::disarm_band`].
    pub fn disarm_band(&self) -> bool {
        self.controller.disarm_band()
    }

    /// As [`Controller::subscribe_acks`].
    pub fn subscribe_acks(&self) -> Receiver<AckEvent> {
        self.controller.subscribe_acks()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            // Nothing to report to from a drop; a runner that does not stop
            // in time is left behind rather than joined forever.
            let _ = running.runner.stop(DROP_STOP);
        }
    }
}
