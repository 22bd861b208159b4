//! Which control change moves which knob, from a TOML file:
//!
//! ```toml
//! [[cc]]
//! number = 74          # 0..=127
//! knob = "brightness"  # see `earshot knobs`
//! channel = 1          # optional, 1..=16; any channel when absent
//! ```
//!
//! A value 0..=127 maps linearly onto the knob's range. Without a file the
//! default mapping is CC 74 → brightness, 71 → density, 72 → noise,
//! 73 → warmth, on any channel.

use earshot_audio_model::knobs::{KNOBS, knob_index};
use earshot_engine::control::{Control, KnobCommit};
use earshot_engine::knobs::KnobError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One control change mapped to one knob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CcMapping {
    /// Controller number, 0..=127.
    pub number: u8,
    /// The knob it moves.
    pub knob: String,
    /// MIDI channel 1..=16; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<u8>,
}

/// The whole mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MidiMapping {
    /// The entries, first match wins.
    #[serde(default)]
    pub cc: Vec<CcMapping>,
}

/// Why a mapping file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Malformed TOML or a wrong field (the message names line and field).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and field.
        message: String,
    },
    /// An entry that cannot be used.
    #[error("{path}: cc entry {index}: {message}")]
    Entry {
        /// The file.
        path: PathBuf,
        /// 0-based entry.
        index: usize,
        /// What is wrong.
        message: String,
    },
}

impl Default for MidiMapping {
    fn default() -> Self {
        let entry = |number, knob: &str| CcMapping {
            number,
            knob: knob.into(),
            channel: None,
        };
        Self {
            cc: vec![
                entry(74, "brightness"),
                entry(71, "density"),
                entry(72, "noise"),
                entry(73, "warmth"),
            ],
        }
    }
}

impl MidiMapping {
    /// Reads and validates a mapping file.
    pub fn load(path: &Path) -> Result<Self, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mapping: Self = toml::from_str(&text).map_err(|e| MappingError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        mapping.validate(path)?;
        Ok(mapping)
    }

    /// Writes the mapping as TOML.
    pub fn save(&self, path: &Path) -> Result<(), MappingError> {
        let text = toml::to_string(self).map_err(|e| MappingError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        std::fs::write(path, text).map_err(|source| MappingError::Io {
            path: path.to_owned(),
            source,
        })
    }

    fn validate(&self, path: &Path) -> Result<(), MappingError> {
        for (index, e) in self.cc.iter().enumerate() {
            let fail = |message: String| MappingError::Entry {
                path: path.to_owned(),
                index,
                message,
            };
            if e.number > 127 {
                return Err(fail(format!("number {} is not 0..=127", e.number)));
            }
            if e.channel.is_some_and(|c| !(1..=16).contains(&c)) {
                return Err(fail(format!("channel {:?} is not 1..=16", e.channel)));
            }
            if knob_index(&e.knob).is_none() {
                return Err(fail(format!("unknown knob {:?}", e.knob)));
            }
        }
        Ok(())
    }

    /// The knob and value a control change sets, if mapped: channel is
    /// 1..=16, value 0..=127.
    pub fn lookup(&self, channel: u8, number: u8, value: u8) -> Option<(&str, f32)> {
        let e = self
            .cc
            .iter()
            .find(|e| e.number == number && e.channel.is_none_or(|c| c == channel))?;
        let spec = &KNOBS[knob_index(&e.knob)?];
        let v = spec.min + (spec.max - spec.min) * f32::from(value.min(127)) / 127.0;
        Some((e.knob.as_str(), v))
    }
}

/// A control change decoded from raw MIDI bytes: (channel 1..=16, number, value).
pub fn control_change(bytes: &[u8]) -> Option<(u8, u8, u8)> {
    match *bytes {
        [status, number, value, ..] if status & 0xF0 == 0xB0 && number < 128 && value < 128 => {
            Some(((status & 0x0F) + 1, number, value))
        }
        _ => None,
    }
}

/// Applies one raw MIDI message through `mapping`; `None` when it is not a
/// mapped control change.
pub fn apply(
    bytes: &[u8],
    mapping: &MidiMapping,
    control: &Control,
) -> Option<Result<KnobCommit, KnobError>> {
    let (channel, number, value) = control_change(bytes)?;
    let (knob, v) = mapping.lookup(channel, number, value)?;
    Some(control.set_knob(knob, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_span_the_knob_range_and_channels_filter() {
        let mut m = MidiMapping::default();
        m.cc.push(CcMapping {
            number: 20,
            knob: "noise".into(),
            channel: Some(2),
        });
        assert_eq!(m.lookup(1, 74, 0), Some(("brightness", 0.0)));
        assert_eq!(m.lookup(5, 74, 127), Some(("brightness", 1.0)));
        assert_eq!(m.lookup(2, 20, 127), Some(("noise", 1.0)));
        assert_eq!(m.lookup(3, 20, 127), None, "channel 2 only");
        assert_eq!(m.lookup(1, 1, 64), None, "unmapped");
    }

    #[test]
    fn a_mapped_control_change_moves_its_knob() {
        use earshot_engine::clock::VirtualClock;
        let control = Control::new(
            earshot_audio_model::knobs::knobs(),
            8,
            std::sync::Arc::new(VirtualClock::new()),
        );
        let m = MidiMapping::default();
        let commit = apply(&[0xB3, 74, 127], &m, &control).unwrap().unwrap();
        assert_eq!(commit.epoch, 1);
        let mut row = [0.0; 4];
        control.lock().knobs.row(0, &mut row);
        assert_eq!(row[0], 1.0, "brightness at its maximum, normalized");
        assert!(
            apply(&[0x90, 60, 100], &m, &control).is_none(),
            "notes are ignored"
        );
        assert!(
            apply(&[0xB0, 1, 100], &m, &control).is_none(),
            "unmapped CC"
        );
    }

    #[test]
    fn raw_messages_decode_only_as_control_changes() {
        assert_eq!(control_change(&[0xB0, 74, 100]), Some((1, 74, 100)));
        assert_eq!(control_change(&[0xBF, 1, 0]), Some((16, 1, 0)));
        assert_eq!(control_change(&[0x90, 60, 100]), None, "note on");
        assert_eq!(control_change(&[0xB0, 74]), None, "truncated");
        assert_eq!(
            control_change(&[0xB0, 200, 1]),
            None,
            "data byte out of range"
        );
    }

    #[test]
    fn files_round_trip_and_bad_entries_are_named() {
        let dir = std::env::temp_dir().join(format!("earshot-midi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("map.toml");
        MidiMapping::default().save(&path).unwrap();
        assert_eq!(MidiMapping::load(&path).unwrap(), MidiMapping::default());
        std::fs::write(&path, "[[cc]]\nnumber = 74\nknob = \"loudness\"\n").unwrap();
        let e = MidiMapping::load(&path).unwrap_err().to_string();
        assert!(e.contains("cc entry 0") && e.contains("loudness"), "{e}");
        std::fs::write(&path, "[[cc]]\nnumber = 300\nknob = \"noise\"\n").unwrap();
        assert!(MidiMapping::load(&path).is_err());
        std::fs::write(
            &path,
            "[[cc]]\nnumber = 7\nknob = \"noise\"\nchannel = 17\n",
        )
        .unwrap();
        assert!(
            MidiMapping::load(&path)
                .unwrap_err()
                .to_string()
                .contains("channel")
        );
        std::fs::write(&path, "[[cc]]\nnumbr = 7\n").unwrap();
        let e = MidiMapping::load(&path).unwrap_err().to_string();
        assert!(e.contains("numbr"), "{e}");
    }
}
