//! The plugin state a host saves with a project: a small JSON document that
//! names its format and version, so a future plugin can read (or clearly
//! refuse) an old one. Everything is checked before anything is applied.
//!
//! ```json
//! {"format":"earshot-clap-state","version":1,"prompt":"warm pad",
//!  "engine":{"weights":null,"size":"tiny","weights_seed":7,"backend":"cpu","steps":8,"seed":0,"lead_floor":7200},
//!  "knobs":{"brightness":0.5,"density":0.5,"noise":0.3,"warmth":0.5}}
//! ```

use crate::error::StateError;
use crate::params;
use crate::settings::{EngineSettings, MAX_LEAD_FLOOR, Settings};
use earshot_audio_model::ModelSize;
use earshot_audio_model::config::KNOB_COUNT;
use earshot_audio_model::knobs::{KNOBS, knob_index};
use earshot_engine::frames::SampleFrames;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

/// The `format` field of every earshot plugin state.
pub const FORMAT: &str = "earshot-clap-state";
/// The state version this plugin writes and reads.
pub const VERSION: u32 = 1;
/// The most bytes a state may have; real ones are a few hundred (a long
/// prompt and path at most).
pub const MAX_BYTES: usize = 1 << 20;

/// Everything the host saves: settings and parameter values.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedState {
    /// Prompt and engine settings.
    pub settings: Settings,
    /// Each knob's value, in `KNOBS` order, within its range.
    pub knobs: [f64; KNOB_COUNT],
}

/// Read first, alone, so a foreign or newer document gets an error that
/// says so rather than a complaint about some field.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentV1 {
    format: String,
    version: u32,
    prompt: String,
    engine: EngineV1,
    /// Sorted by name, so the same state always gives the same bytes.
    knobs: BTreeMap<String, f64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineV1 {
    weights: Option<String>,
    size: ModelSize,
    weights_seed: u64,
    backend: String,
    steps: u32,
    seed: u64,
    /// Model sample frames.
    lead_floor: u64,
}

impl SavedState {
    /// The document's bytes. (Strings and numbers always serialize; the
    /// error is passed on rather than assumed away.)
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let engine = &self.settings.engine;
        let document = DocumentV1 {
            format: FORMAT.to_owned(),
            version: VERSION,
            prompt: self.settings.prompt.clone(),
            engine: EngineV1 {
                // Paths only ever come from a state's strings, so this is
                // lossless for every path the plugin can hold.
                weights: engine
                    .weights
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
                size: engine.size,
                weights_seed: engine.weights_seed,
                backend: engine.backend.name().to_owned(),
                steps: engine.steps,
                seed: engine.seed,
                lead_floor: engine.lead_floor.0,
            },
            knobs: KNOBS
                .iter()
                .zip(self.knobs)
                .map(|(spec, value)| (spec.name.to_owned(), value))
                .collect(),
        };
        serde_json::to_vec(&document)
    }

    /// Reads a state from the host's stream (at most [`MAX_BYTES`]).
    pub fn read(input: &mut impl Read) -> Result<Self, StateError> {
        let mut bytes = Vec::new();
        input.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes)?;
        if bytes.len() > MAX_BYTES {
            return Err(StateError::TooLarge { limit: MAX_BYTES });
        }
        Self::from_bytes(&bytes)
    }

    /// Parses and checks a document. Knobs it does not name keep their
    /// defaults.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        let header: Header = serde_json::from_slice(bytes).map_err(StateError::NotJson)?;
        if header.format != FORMAT {
            return Err(StateError::Format(header.format));
        }
        if header.version != VERSION {
            return Err(StateError::Version {
                found: header.version,
                supported: VERSION,
            });
        }
        let document: DocumentV1 = serde_json::from_slice(bytes).map_err(StateError::Malformed)?;
        let mut knobs: [f64; KNOB_COUNT] = std::array::from_fn(|k| params::widen(KNOBS[k].default));
        for (name, value) in document.knobs {
            let knob = knob_index(&name).ok_or(StateError::UnknownKnob(name))?;
            let spec = params::spec(knob);
            // Refused, not clamped: a value out of range is a broken state.
            if params::clamp(knob, value) != Some(value) {
                return Err(StateError::KnobValue {
                    name: spec.name,
                    value,
                    min: spec.min,
                    max: spec.max,
                });
            }
            knobs[knob] = value;
        }
        let engine = document.engine;
        if !(1..=64).contains(&engine.steps) {
            return Err(StateError::Steps(engine.steps));
        }
        if engine.lead_floor > MAX_LEAD_FLOOR.0 {
            return Err(StateError::LeadFloor(engine.lead_floor));
        }
        let weights = engine.weights.map(PathBuf::from);
        if let Some(path) = &weights
            && !path.is_file()
        {
            return Err(StateError::WeightsMissing(path.clone()));
        }
        Ok(Self {
            settings: Settings {
                prompt: document.prompt,
                engine: EngineSettings {
                    weights,
                    size: engine.size,
                    weights_seed: engine.weights_seed,
                    backend: engine.backend.parse()?,
                    steps: engine.steps,
                    seed: engine.seed,
                    lead_floor: SampleFrames(engine.lead_floor),
                },
            },
            knobs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_embed::backend_choice::BackendKind;

    fn example() -> SavedState {
        SavedState {
            settings: Settings {
                prompt: "warm pad, slow \"swell\" ☂".to_owned(),
                engine: EngineSettings {
                    size: ModelSize::Small,
                    weights_seed: u64::MAX,
                    backend: BackendKind::CudaFp32,
                    steps: 12,
                    seed: 3,
                    lead_floor: SampleFrames(12_000),
                    ..EngineSettings::default()
                },
            },
            knobs: [0.1, 0.2, 1.0 / 3.0, 0.0],
        }
    }

    #[test]
    fn a_state_round_trips_to_the_same_values_and_bytes() {
        let state = example();
        let bytes = state.to_bytes().unwrap();
        let back = SavedState::from_bytes(&bytes).unwrap();
        assert_eq!(back, state);
        assert_eq!(back.to_bytes().unwrap(), bytes);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(r#"{"format":"earshot-clap-state","version":1,"#));
    }

    #[test]
    fn knobs_left_out_keep_their_defaults() {
        let text = r#"{"format":"earshot-clap-state","version":1,"prompt":"",
            "engine":{"weights":null,"size":"tiny","weights_seed":7,"backend":"cpu","steps":8,"seed":0,"lead_floor":7200},
            "knobs":{"warmth":0.75}}"#;
        let state = SavedState::from_bytes(text.as_bytes()).unwrap();
        assert_eq!(state.knobs[3], 0.75);
        assert_eq!(state.knobs[0], params::widen(KNOBS[0].default));
    }

    #[test]
    fn each_kind_of_bad_state_is_refused_with_its_reason() {
        let good = String::from_utf8(example().to_bytes().unwrap()).unwrap();
        let cases: [(String, &str); 12] = [
            ("not json".to_owned(), "not an earshot state"),
            (
                r#"{"format":"other","version":1}"#.to_owned(),
                "format \"other\"",
            ),
            (
                good.replace(r#""version":1"#, r#""version":2"#),
                "version 2",
            ),
            (good.replace(r#""prompt""#, r#""promt""#), "malformed"),
            (
                good.replace(r#","seed":3"#, r#","seed":3,"extra":1"#),
                "malformed",
            ),
            (
                good.replace(r#""steps":12"#, r#""steps":"12""#),
                "malformed",
            ),
            (good.replace(r#""steps":12"#, r#""steps":0"#), "steps"),
            (
                good.replace(r#""lead_floor":12000"#, r#""lead_floor":480001"#),
                "lead floor",
            ),
            (
                good.replace("\"warmth\"", "\"wramth\""),
                "unknown knob \"wramth\"",
            ),
            (
                good.replace(r#""warmth":0.0"#, r#""warmth":1.5"#),
                "warmth = 1.5",
            ),
            (good.replace("cuda-fp32", "tpu"), "unknown backend"),
            (
                good.replace(
                    r#""weights":null"#,
                    r#""weights":"/nonexistent/w.safetensors""#,
                ),
                "not found",
            ),
        ];
        for (text, reason) in cases {
            let error = SavedState::from_bytes(text.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(error.contains(reason), "{error:?} should say {reason:?}");
        }
    }

    #[test]
    fn an_oversized_stream_is_refused_before_parsing() {
        let mut huge = std::io::repeat(b' ').take(MAX_BYTES as u64 + 10);
        assert!(matches!(
            SavedState::read(&mut huge),
            Err(StateError::TooLarge { .. })
        ));
        let bytes = example().to_bytes().unwrap();
        assert_eq!(SavedState::read(&mut &bytes[..]).unwrap(), example());
    }
}
