//! Scenario files: an engine config, the name of the cost model the virtual
//! clock charges, the output's block size and a timeline of actions at
//! sample-frame times. A bad file is refused with the line, column and
//! field the parser stopped at.

use crate::ConfigError;
use earshot_audio_model::ModelSize;
use earshot_engine::frames::SampleFrames;
use earshot_engine::runner::RunnerConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name; the report's key.
    pub name: String,
    /// What it exercises, in a sentence.
    pub about: String,
    /// Run length in sample frames (48 000 per second).
    pub duration: SampleFrames,
    /// The cost profile the virtual clock charges (a file name under
    /// `golden/profiles/` without `.toml`).
    pub profile: String,
    /// Model size and runner settings.
    #[serde(default)]
    pub engine: EngineSection,
    /// The modelled sound card.
    #[serde(default)]
    pub output: OutputSection,
    /// What makes the audio: the caller's reference backend, or the
    /// engine's signal model (for sizes too slow to run here; the timing
    /// is the profile's either way).
    #[serde(default)]
    pub content: Content,
    /// Whether the report ablates the latency features on this scenario.
    #[serde(default)]
    pub ablate: bool,
    /// Whether the report runs the determinism check (features on vs off,
    /// ODE and SDE) on this scenario.
    #[serde(default)]
    pub determinism: bool,
    /// The timeline, in any order (sorted by time when run).
    #[serde(default, rename = "action")]
    pub actions: Vec<Action>,
}

/// Which model, and how the runner runs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSection {
    /// Model size (its geometry; the backend is the caller's).
    pub size: ModelSize,
    /// Every runner setting, latency feature switches included.
    pub runner: RunnerConfig,
}

impl Default for EngineSection {
    fn default() -> Self {
        Self {
            size: ModelSize::Tiny,
            runner: RunnerConfig::default(),
        }
    }
}

/// What makes a scenario's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// The backend the caller passes (the reference model).
    #[default]
    Reference,
    /// The engine's signal model (a sine whose level shows knob 0) in the
    /// reference model's geometry of the scenario's size.
    Signal,
    /// The signal model in another geometry altogether (mono, 24 kHz, hop
    /// 512, knobs `level` and `pitch`): the scenario's times are in its
    /// frames. Shows the harness is not tied to the reference geometry.
    SignalMono,
}

/// The modelled sound card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSection {
    /// Frames per callback (default 128 ≈ 2.7 ms).
    pub block: u32,
}

impl Default for OutputSection {
    fn default() -> Self {
        Self { block: 128 }
    }
}

/// One timed action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawAction", into = "RawAction")]
pub struct Action {
    /// When, in sample frames from the start.
    pub at: SampleFrames,
    /// What.
    pub what: ActionKind,
}

/// An `[[action]]` table as written: `at` and exactly one key naming what
/// it does. Kept field by field (not a flattened enum) so a bad value is
/// reported at its own line with its own name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    at: SampleFrames,
    #[serde(skip_serializing_if = "Option::is_none")]
    knob: Option<KnobSet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sweep: Option<Sweep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    curve: Option<CurveSet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    burst: Option<Burst>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<PromptSet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<SeedSet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    band: Option<BandSet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disarm: Option<Empty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stall: Option<Stall>,
}

/// No fields (`disarm = {}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

macro_rules! action_fields {
    ($($name:ident => $variant:ident($ty:ident)),* $(,)?) => {
        impl TryFrom<RawAction> for Action {
            type Error = String;
            fn try_from(raw: RawAction) -> Result<Self, String> {
                let mut what = Vec::new();
                $(if let Some(v) = raw.$name { what.push(ActionKind::$variant(v)); })*
                match what.len() {
                    1 => Ok(Action { at: raw.at, what: what.remove(0) }),
                    n => Err(format!(
                        "the action at {} has {n} kinds; give exactly one of {}",
                        raw.at.0,
                        [$(stringify!($name)),*].join(", ")
                    )),
                }
            }
        }

        impl From<Action> for RawAction {
            fn from(action: Action) -> Self {
                let mut raw = RawAction { at: action.at, ..RawAction::default() };
                match action.what {
                    $(ActionKind::$variant(v) => raw.$name = Some(v),)*
                }
                raw
            }
        }
    };
}

action_fields! {
    knob => Knob(KnobSet),
    sweep => Sweep(Sweep),
    curve => Curve(CurveSet),
    burst => Burst(Burst),
    prompt => Prompt(PromptSet),
    seed => Seed(SeedSet),
    band => Band(BandSet),
    disarm => Disarm(Empty),
    stall => Stall(Stall),
}

/// What an action does. In a file each is a key of its `[[action]]` table,
/// e.g. `knob = { name = "brightness", value = 0.9 }`.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    /// Set a knob to one value.
    Knob(KnobSet),
    /// Move a knob in equal steps.
    Sweep(Sweep),
    /// Set a knob's per-step curve.
    Curve(CurveSet),
    /// Many knob moves to seeded random values.
    Burst(Burst),
    /// Change the prompt.
    Prompt(PromptSet),
    /// Change the noise seed of slots admitted from now on.
    Seed(SeedSet),
    /// Arm a loop band.
    Band(BandSet),
    /// Disarm the loop band.
    Disarm(Empty),
    /// Make the next backend call of a stage slower.
    Stall(Stall),
}

/// Set a knob to one value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnobSet {
    /// Knob name.
    pub name: String,
    /// Value in the knob's range.
    pub value: f32,
}

/// Move a knob from `from` to `to` in `moves` equal steps spread over
/// `over` sample frames (the first at `at`, the last at `at + over`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Knob name.
    pub name: String,
    /// First value.
    pub from: f32,
    /// Last value.
    pub to: f32,
    /// Number of moves.
    pub moves: u32,
    /// Time the sweep takes.
    pub over: SampleFrames,
}

/// Set a knob's per-step curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurveSet {
    /// Knob name.
    pub name: String,
    /// One value per denoise step.
    pub values: Vec<f32>,
}

/// `moves` knob moves to values drawn from a fixed-seed generator, evenly
/// spread over `over` sample frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    /// Knob name.
    pub name: String,
    /// Number of moves.
    pub moves: u32,
    /// Time the burst takes.
    pub over: SampleFrames,
    /// Seed of the values.
    #[serde(default)]
    pub seed: u64,
}

/// Change the prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSet {
    /// The text.
    pub text: String,
}

/// Change the noise seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSet {
    /// The seed.
    pub value: u64,
}

/// Arm a loop band `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandSet {
    /// First frame of the band.
    pub start: SampleFrames,
    /// First frame after it.
    pub end: SampleFrames,
}

/// The next backend call of `stage` after the action's time takes `extra`
/// longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    /// Which call stalls.
    pub stage: StallStage,
    /// How much longer.
    pub extra: SampleFrames,
}

/// Which backend call a stall hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StallStage {
    /// The batched step.
    Step,
    /// A decode.
    Decode,
}

impl Scenario {
    /// Parses TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        scenario.check().map_err(|message| ConfigError::Parse {
            path: origin.to_owned(),
            message,
        })?;
        Ok(scenario)
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Checks what the types alone cannot: times inside the run, sane
    /// counts, a known profile name shape. Knob names and values are the
    /// engine's to judge (a refused change is recorded, not fatal).
    fn check(&self) -> Result<(), String> {
        if self.duration.0 == 0 {
            return Err("duration must be positive".into());
        }
        if self.output.block == 0 || self.output.block > 8192 {
            return Err("output.block must lie in 1..=8192".into());
        }
        if self.profile.is_empty() || self.profile.contains(['/', '\\', '.']) {
            return Err(format!("profile {:?} must be a plain name", self.profile));
        }
        for (i, action) in self.actions.iter().enumerate() {
            let which = || format!("action {} (at = {})", i + 1, action.at.0);
            if action.at >= self.duration {
                return Err(format!("{}: at lies past the duration", which()));
            }
            match &action.what {
                ActionKind::Sweep(Sweep { moves, .. }) | ActionKind::Burst(Burst { moves, .. })
                    if *moves == 0 =>
                {
                    return Err(format!("{}: moves must be positive", which()));
                }
                ActionKind::Band(BandSet { start, end }) if start >= end => {
                    return Err(format!("{}: band start must precede its end", which()));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "knob_step"
about = "One knob step."
duration = 240000
profile = "cpu-tiny"

[engine]
size = "tiny"
[engine.runner]
near_repatch = false
[engine.runner.lead]
floor = 7200
[engine.runner.stream]
queue_cap = 2
sampler = { kind = "sde", churn = 0.5 }

[[action]]
at = 96000
knob = { name = "brightness", value = 0.9 }

[[action]]
at = 120000
sweep = { name = "density", from = 0.0, to = 1.0, moves = 10, over = 48000 }

[[action]]
at = 150000
stall = { stage = "step", extra = 4800 }

[[action]]
at = 160000
disarm = {}
"#;

    #[test]
    fn a_full_file_parses() {
        let s = Scenario::from_toml(GOOD, "good.toml").unwrap();
        assert_eq!(s.duration, SampleFrames(240_000));
        assert!(!s.engine.runner.near_repatch);
        assert_eq!(s.engine.runner.lead.floor, SampleFrames(7_200));
        assert_eq!(
            s.engine.runner.lead.margin,
            earshot_engine::lead::LeadConfig::default().margin,
            "unset fields keep their defaults"
        );
        assert_eq!(s.engine.runner.stream.queue_cap, 2);
        assert_eq!(s.output.block, 128);
        assert_eq!(s.actions.len(), 4);
        assert!(matches!(
            s.actions[1].what,
            ActionKind::Sweep(Sweep { moves: 10, .. })
        ));
        assert!(matches!(s.actions[3].what, ActionKind::Disarm(_)));
        let again = toml::to_string(&s).unwrap();
        assert_eq!(
            Scenario::from_toml(&again, "again").unwrap(),
            s,
            "round trip"
        );
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let bad = GOOD.replace("floor = 7200", "flor = 7200");
        let msg = Scenario::from_toml(&bad, "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("bad.toml"), "{msg}");
        assert!(msg.contains("line 12"), "{msg}");
        assert!(msg.contains("flor"), "{msg}");
        let bad = GOOD.replace("extra = 4800", "extra = -1");
        let msg = Scenario::from_toml(&bad, "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 27") && msg.contains("-1"), "{msg}");
        let bad = GOOD.replace("value = 0.9", "valu = 0.9");
        let msg = Scenario::from_toml(&bad, "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 19") && msg.contains("valu"), "{msg}");
        let bad = GOOD.replace("duration = 240000", "duration = 100000");
        let msg = Scenario::from_toml(&bad, "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("action 2") && msg.contains("past the duration"),
            "{msg}"
        );
        let bad = GOOD.replace("knob = {", "knobb = {");
        let msg = Scenario::from_toml(&bad, "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 19") && msg.contains("knobb"), "{msg}");
        let bad = GOOD.replace("disarm = {}", "");
        let msg = Scenario::from_toml(&bad, "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("exactly one of"), "{msg}");
    }
}
