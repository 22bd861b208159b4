//! A suite: every scenario file of a directory run against its cost
//! profile, each result checked against the targets the issue states.

use crate::ConfigError;
use crate::costs::CostProfile;
use crate::metrics::{ScenarioMetrics, measure};
use crate::record::Recording;
use crate::scenario::{ActionKind, Content, Scenario};
use crate::virtual_run::{HashEncoder, RunError, run_virtual};
use earshot_audio_model::ModelSize;
use earshot_engine::backend::Backend;
use earshot_engine::conditioning::PromptEncoder;
use earshot_engine::sim::SignalBackend;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Makes the backend a run uses, for a model size.
pub type BackendFactory<'a> =
    &'a dyn Fn(ModelSize) -> Result<Box<dyn Backend>, earshot_engine::BackendError>;
/// Makes the prompt encoder a run uses, for a model size.
pub type EncoderFactory<'a> = &'a dyn Fn(ModelSize) -> Box<dyn PromptEncoder>;

/// The scenarios of a directory and the profiles they name.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Sorted by name.
    pub scenarios: Vec<Scenario>,
    /// By name.
    pub profiles: BTreeMap<String, CostProfile>,
}

impl Suite {
    /// Loads every `*.toml` of `scenarios` and the profiles they name from
    /// `profiles`. Two scenarios with one name are refused.
    pub fn load(scenarios: &Path, profiles: &Path) -> Result<Self, ConfigError> {
        let io = |source| ConfigError::Io {
            path: scenarios.to_owned(),
            source,
        };
        let mut files: Vec<_> = std::fs::read_dir(scenarios)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut list = Vec::new();
        let mut table = BTreeMap::new();
        for path in files {
            let s = Scenario::load(&path)?;
            if list.iter().any(|o: &Scenario| o.name == s.name) {
                return Err(ConfigError::Parse {
                    path: path.display().to_string(),
                    message: format!("a second scenario named {:?}", s.name),
                });
            }
            if !table.contains_key(&s.profile) {
                let p = CostProfile::load(profiles, &s.profile)?;
                table.insert(s.profile.clone(), p);
            }
            list.push(s);
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            scenarios: list,
            profiles: table,
        })
    }
}

/// One target of the issue, checked on one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetCheck {
    /// What is checked.
    pub target: String,
    /// The figure measured, as text with its unit.
    pub measured: String,
    /// Whether the target is met.
    pub met: bool,
}

/// A scenario's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub name: String,
    /// What it exercises.
    pub about: String,
    /// The cost profile's name.
    pub profile: String,
    /// Where the profile's figures come from.
    pub profile_source: String,
    /// The measurements.
    pub metrics: ScenarioMetrics,
    /// The targets that apply to it.
    pub targets: Vec<TargetCheck>,
}

/// The knob target, in ms.
pub const KNOB_TARGET_MS: u64 = 20;
/// The prompt ack target, in ms.
pub const ACK_TARGET_MS: u64 = 60;

/// Whether `frames` at `rate` per second are within `limit_ms`, exactly.
fn within(frames: u64, rate: u32, limit_ms: u64) -> bool {
    frames * 1000 <= limit_ms * u64::from(rate)
}

/// The targets for `metrics` of `scenario`.
pub fn check_targets(scenario: &Scenario, metrics: &ScenarioMetrics) -> Vec<TargetCheck> {
    let rate = metrics.sample_rate;
    let ms = |frames| format!("{:.1} ms", crate::costs::frames_to_ms(frames, rate));
    let mut checks = Vec::new();
    if let Some(p) = metrics.kinds.get("knob").and_then(|k| k.audible_first) {
        checks.push(TargetCheck {
            target: "knob audible_first p50 ≤ 20 ms".into(),
            measured: ms(p.p50),
            met: within(p.p50, rate, KNOB_TARGET_MS),
        });
    }
    if let Some(p) = metrics.kinds.get("prompt").and_then(|k| k.ack) {
        checks.push(TargetCheck {
            target: "prompt ack ≤ 60 ms".into(),
            measured: ms(p.max),
            met: within(p.max, rate, ACK_TARGET_MS),
        });
    }
    if let Some(gap) = metrics.run.tick_max_during_encode {
        let median = metrics.run.tick_median.max(1);
        checks.push(TargetCheck {
            target: "max tick gap during an encode ≤ 1.25 × median".into(),
            measured: format!("{:.2} × median", gap as f64 / median as f64),
            met: gap * 4 <= median * 5,
        });
    }
    let floor = scenario.engine.runner.lead.floor;
    let long_stall = scenario.actions.iter().any(|a| match &a.what {
        ActionKind::Stall(s) => s.extra >= floor,
        _ => false,
    });
    if !long_stall {
        checks.push(TargetCheck {
            target: "zero underruns (no stall beyond the lead)".into(),
            measured: metrics.run.underruns.to_string(),
            met: metrics.run.underruns == 0,
        });
    }
    checks
}

/// What makes a run's audio: a backend and a prompt encoder.
pub type ContentPair = (Box<dyn Backend>, Box<dyn PromptEncoder>);

/// The backend and prompt encoder of a run of `scenario`: the caller's,
/// or the signal model when the scenario asks for it.
pub fn content_for(
    scenario: &Scenario,
    backend: BackendFactory<'_>,
    encoder: EncoderFactory<'_>,
) -> Result<ContentPair, RunError> {
    let size = scenario.engine.size;
    Ok(match scenario.content {
        Content::Reference => (
            backend(size).map_err(RunError::BackendSetup)?,
            encoder(size),
        ),
        Content::Signal => (
            Box::new(SignalBackend::new(size.config().description())),
            Box::new(HashEncoder::new(size.config().conditioning())),
        ),
        Content::SignalMono => {
            let model = earshot_engine::sim::signal::mono();
            let shape = model.conditioning;
            (
                Box::new(SignalBackend::new(model)),
                Box::new(HashEncoder::new(shape)),
            )
        }
    })
}

/// Runs one scenario on the virtual clock and measures it.
pub fn run_scenario(
    scenario: &Scenario,
    profile: &CostProfile,
    backend: BackendFactory<'_>,
    encoder: EncoderFactory<'_>,
) -> Result<(Recording, ScenarioResult), RunError> {
    let (b, e) = content_for(scenario, backend, encoder)?;
    let rec = run_virtual(scenario, profile, b, e)?;
    let metrics = measure(&rec);
    let targets = check_targets(scenario, &metrics);
    Ok((
        rec,
        ScenarioResult {
            name: scenario.name.clone(),
            about: scenario.about.clone(),
            profile: profile.name.clone(),
            profile_source: profile.source.clone(),
            metrics,
            targets,
        },
    ))
}
