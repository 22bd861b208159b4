//! The plugin's main thread: its settings, the engine while the plugin is
//! active (built and started in `activate`, stopped in `deactivate`), a
//! loaded state applied to both, and the audio thread's band requests
//! turned into engine calls.

use crate::band::{Band, BandRequest};
use crate::error::ActivateError;
use crate::plugin::Shared;
use crate::settings::Settings;
use crate::state::SavedState;
use clack_extensions::latency::HostLatency;
use clack_extensions::log::{HostLog, LogSeverity};
use clack_extensions::params::{HostParams, ParamRescanFlags};
use clack_plugin::prelude::*;
use earshot_audio_model::ModelWeights;
use earshot_audio_model::knobs::KNOBS;
use earshot_embed::{EmbedError, Engine, Processor};
use std::cell::{Cell, RefCell};
use std::ffi::CString;
use std::sync::Arc;
use std::time::Duration;

/// How long `deactivate` waits for the runner thread; a runner stuck in a
/// stalled tick is left behind and reported, never joined forever.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// Band requests the audio thread can queue between two main-thread
/// callbacks; only the last one matters, so a few are plenty.
const BAND_QUEUE: usize = 16;

/// The engine of an active plugin.
#[derive(Debug)]
struct Active {
    engine: Engine,
    bands: rtrb::Consumer<BandRequest>,
    /// A dead runner was reported (once per engine).
    reported_dead: bool,
}

/// What the audio thread gets when the plugin is activated.
#[derive(Debug)]
pub struct Started {
    /// The engine's processor.
    pub processor: Processor,
    /// Where band requests go.
    pub bands: rtrb::Producer<BandRequest>,
}

/// The plugin's main-thread part. CLAP calls it from one thread only, so
/// its state sits in cells; no borrow is held across a call to the host.
pub struct MainThread<'a> {
    host: HostMainThreadHandle<'a>,
    shared: &'a Shared,
    log: Option<HostLog>,
    host_params: Option<HostParams>,
    host_latency: Option<HostLatency>,
    settings: RefCell<Settings>,
    active: RefCell<Option<Active>>,
    latency: Cell<u32>,
    /// The weights of the last activation and what they were made from:
    /// a host reactivates for a new rate or block size, and generating or
    /// reading the weights again would make that take seconds (minutes for
    /// `base` on the CPU).
    weights: RefCell<Option<(WeightsSource, Arc<ModelWeights>)>>,
    /// The settings of the last activation that worked.
    last_good: RefCell<Option<Settings>>,
}

/// What a set of weights was made from: a file, or a size and a seed.
type WeightsSource = (
    Option<std::path::PathBuf>,
    earshot_audio_model::ModelSize,
    u64,
);

impl std::fmt::Debug for MainThread<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MainThread")
            .field("settings", &self.settings)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl<'a> MainThread<'a> {
    /// The main thread of a new instance, with default settings.
    pub fn new(host: HostMainThreadHandle<'a>, shared: &'a Shared) -> Self {
        let info = host.shared().info();
        Self {
            host,
            shared,
            log: info.get_extension(),
            host_params: info.get_extension(),
            host_latency: info.get_extension(),
            settings: RefCell::new(Settings::default()),
            active: RefCell::new(None),
            latency: Cell::new(0),
            weights: RefCell::new(None),
            last_good: RefCell::new(None),
        }
    }

    /// The shared part.
    pub fn shared(&self) -> &'a Shared {
        self.shared
    }

    /// Builds the engine for the host's rate and largest block, gives it
    /// the parameter values and the prompt, and starts its runner thread.
    /// Slow (the weights are loaded or generated): CLAP calls `activate` on
    /// the main thread, never on the audio thread.
    pub fn start(&self, sample_rate: f64, max_frames: u32) -> Result<Started, ActivateError> {
        let settings = self.settings.borrow().clone();
        match self.start_with(&settings, sample_rate, max_frames) {
            Ok(started) => {
                *self.last_good.borrow_mut() = Some(settings);
                Ok(started)
            }
            // A loaded state whose engine cannot be built (a malformed
            // weights file, a GPU backend without a GPU) must not leave the
            // plugin unable to play: back to the settings that last worked,
            // said in the host's log.
            Err(e) => match self.last_good.borrow().clone() {
                Some(good) if good.engine != settings.engine => {
                    self.log(
                        LogSeverity::Error,
                        &format!("the loaded engine settings do not start ({e}); back to the last ones that did"),
                    );
                    let started = self.start_with(&good, sample_rate, max_frames)?;
                    *self.settings.borrow_mut() = good;
                    Ok(started)
                }
                _ => Err(e),
            },
        }
    }

    fn start_with(
        &self,
        settings: &Settings,
        sample_rate: f64,
        max_frames: u32,
    ) -> Result<Started, ActivateError> {
        let config = settings.engine.engine_config(sample_rate, max_frames)?;
        let source = (config.weights.clone(), config.size, config.weights_seed);
        let cached = self
            .weights
            .borrow()
            .as_ref()
            .filter(|(made_from, _)| *made_from == source)
            .map(|(_, w)| Arc::clone(w));
        let mut engine = match cached {
            Some(weights) => Engine::with_weights(config, weights)?,
            None => Engine::new(config)?,
        };
        *self.weights.borrow_mut() = Some((source, Arc::clone(engine.weights())));
        for (spec, value) in KNOBS.iter().zip(self.shared.values.all()) {
            engine.set_knob(spec.name, value as f32)?;
        }
        let processor = engine.start()?;
        let latency = u32::try_from(processor.latency()).unwrap_or(u32::MAX);
        if latency != self.latency.replace(latency)
            && let Some(host_latency) = &self.host_latency
        {
            // It depends on the host's rate; CLAP allows a change only
            // during activate, which is where this runs.
            host_latency.changed(&self.host);
        }
        let (bands, consumer) = rtrb::RingBuffer::new(BAND_QUEUE);
        let prompt_error = (!settings.prompt.is_empty())
            .then(|| engine.set_prompt(&settings.prompt).err())
            .flatten();
        *self.active.borrow_mut() = Some(Active {
            engine,
            bands: consumer,
            reported_dead: false,
        });
        if let Some(e) = prompt_error {
            self.prompt_refused(&e);
        }
        Ok(Started { processor, bands })
    }

    /// Stops the runner thread (waiting at most [`STOP_TIMEOUT`]) and drops
    /// the engine.
    pub fn stop(&self) {
        let active = self.active.borrow_mut().take();
        self.latency.set(0);
        if let Some(mut active) = active
            && let Err(e) = active.engine.stop(STOP_TIMEOUT)
        {
            self.log(LogSeverity::Error, &format!("stopping the engine: {e}"));
        }
    }

    /// The fixed delay of the audio path in host frames (the resampler's;
    /// 0 at 48 kHz or while inactive).
    pub fn latency(&self) -> u32 {
        self.latency.get()
    }

    /// The state the host saves.
    pub fn saved_state(&self) -> SavedState {
        SavedState {
            settings: self.settings.borrow().clone(),
            knobs: self.shared.values.all(),
        }
    }

    /// Applies a loaded (and already checked) state. Parameter values and
    /// a new prompt go to a running engine at once (the prompt is encoded
    /// here, milliseconds); new engine settings, or clearing the prompt,
    /// need a new engine, so the host is asked to restart the plugin.
    pub fn apply_state(&self, state: SavedState) {
        let old = self.settings.replace(state.settings.clone());
        for (knob, value) in state.knobs.into_iter().enumerate() {
            self.shared.values.set(knob, value);
        }
        let new = &state.settings;
        let new_engine =
            old.engine != new.engine || (new.prompt.is_empty() && !old.prompt.is_empty());
        let (restart, prompt_error) = match self.active.borrow().as_ref() {
            None => (false, None),
            Some(active) => {
                for (spec, value) in KNOBS.iter().zip(state.knobs) {
                    // Checked when the state was read; a refusal changes
                    // nothing.
                    let _ = active.engine.set_knob(spec.name, value as f32);
                }
                if new_engine {
                    (true, None)
                } else if new.prompt != old.prompt {
                    (false, active.engine.set_prompt(&new.prompt).err())
                } else {
                    (false, None)
                }
            }
        };
        if let Some(e) = prompt_error {
            self.prompt_refused(&e);
        }
        if restart {
            self.host.request_restart();
        }
        if let Some(params) = &self.host_params {
            params.rescan(&self.host, ParamRescanFlags::VALUES);
        }
    }

    /// Arms or disarms the band as the audio thread last asked. Runs on
    /// the main thread when the host answers the audio thread's
    /// `request_callback`.
    pub fn apply_band_requests(&self) {
        let outcome = {
            let Ok(mut active) = self.active.try_borrow_mut() else {
                return;
            };
            let Some(active) = active.as_mut() else {
                return;
            };
            let mut last = None;
            while let Ok(request) = active.bands.pop() {
                last = Some(request);
            }
            match last {
                None => Ok(()),
                Some(request) => apply_band(&active.engine, request),
            }
        };
        if let Err(e) = outcome {
            self.log(LogSeverity::Warning, &format!("loop band refused: {e}"));
        }
    }

    fn prompt_refused(&self, e: &EmbedError) {
        self.log(
            LogSeverity::Warning,
            &format!("the prompt is kept in the state but not played: {e}"),
        );
    }

    /// Logs through the host (stderr when it has no log).
    fn log(&self, severity: LogSeverity, message: &str) {
        let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
        match &self.log {
            Some(log) => log.log(&self.host.shared(), severity, &text),
            None => eprintln!("earshot-clap: {message}"),
        }
    }
}

/// Carries out a band request on a running engine. A band whose lap ended
/// before the engine's playhead (the host looped while the request was on
/// its way) is moved on by whole laps, so the engine wraps where the host
/// does.
pub fn apply_band(engine: &Engine, request: BandRequest) -> Result<(), EmbedError> {
    match request {
        BandRequest::Disarm => {
            engine.disarm_band();
            Ok(())
        }
        BandRequest::Arm(band) => {
            let playhead = engine.stats().ok_or(EmbedError::NotRunning)?.playhead();
            let Band { start, len } = band.ahead_of(playhead);
            engine.arm_band(start, start + len).map(drop)
        }
    }
}

impl MainThread<'_> {
    /// A runner that ended while active (a backend error) leaves the plugin
    /// silent: say so once and ask the host for a restart, which builds a
    /// new engine.
    fn check_runner(&self) {
        let dead = self.active.borrow_mut().as_mut().is_some_and(|a| {
            !a.engine.is_running() && !std::mem::replace(&mut a.reported_dead, true)
        });
        if dead {
            self.log(
                LogSeverity::Error,
                "the engine's runner stopped (a backend error); asking the host to restart the plugin",
            );
            self.host.request_restart();
        }
    }
}

impl<'a> PluginMainThread<'a, Shared> for MainThread<'a> {
    fn on_main_thread(&self) {
        self.apply_band_requests();
        self.check_runner();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_embed::EngineConfig;
    use earshot_engine::frames::SampleFrames;

    /// Plays `frames` at about five times real time (the playhead moves
    /// whether or not the runner kept up; the runner needs time to tick).
    fn play(processor: &mut Processor, frames: u64) {
        let (mut left, mut right) = ([0.0f32; 240], [0.0f32; 240]);
        for _ in 0..frames / 240 {
            processor.process(&mut [&mut left, &mut right]).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_late_band_request_loops_from_the_lap_the_playhead_is_in() {
        let mut engine = Engine::new(EngineConfig {
            max_block: 240,
            ..EngineConfig::default()
        })
        .unwrap();
        let mut processor = engine.start().unwrap();
        play(&mut processor, 60_000);
        // Asked for when the playhead was near 0: one-second laps from 0.
        // The playhead is in the second lap now, so that lap is armed.
        let band = Band {
            start: SampleFrames(0),
            len: SampleFrames(48_000),
        };
        apply_band(&engine, BandRequest::Arm(band)).unwrap();
        let armed = Some((SampleFrames(48_000), SampleFrames(96_000)));
        for _ in 0..200 {
            if processor.stats().band() == armed {
                break;
            }
            play(&mut processor, 240);
        }
        assert_eq!(processor.stats().band(), armed);
        // Two more laps: the playhead wraps inside the band.
        play(&mut processor, 96_000);
        let playhead = processor.stats().playhead();
        assert!((48_000..96_000).contains(&playhead.0), "{playhead:?}");
        apply_band(&engine, BandRequest::Disarm).unwrap();
        engine.stop(STOP_TIMEOUT).unwrap();
        assert!(
            apply_band(&engine, BandRequest::Arm(band)).is_err(),
            "a stopped engine has no playhead to place the band by"
        );
    }
}
