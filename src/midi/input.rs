//! The MIDI input connection (midir): control changes go through the
//! mapping to the control side; learn mode maps the first control change
//! it hears to a chosen knob and saves the mapping.

use super::mapping::{CcMapping, MidiMapping, apply, control_change};
use earshot_audio_model::knobs::knob_index;
use earshot_engine::control::Control;
use std::path::PathBuf;

/// Why MIDI control could not start; playback goes on without it.
#[derive(Debug, thiserror::Error)]
pub enum MidiError {
    /// No MIDI system on this machine (e.g. no ALSA sequencer device).
    #[error("no MIDI system available: {0}")]
    Unavailable(String),
    /// The MIDI system has no input port.
    #[error("no MIDI input device found")]
    NoInput,
    /// No input port's name contains the one asked for.
    #[error("no MIDI input named like {0:?} (inputs: {1})")]
    PortNotFound(String, String),
    /// The port could not be opened.
    #[error("cannot open MIDI input {0}: {1}")]
    Connect(String, String),
    /// Learn mode asked for a knob that does not exist.
    #[error("unknown knob {0:?} to learn")]
    UnknownKnob(String),
}

/// Map the next control change heard to `knob`, then save the mapping to `file`.
#[derive(Debug, Clone)]
pub struct Learn {
    /// The knob to map.
    pub knob: String,
    /// Where the updated mapping is written.
    pub file: PathBuf,
}

/// A live MIDI input moving knobs; dropping it disconnects.
pub struct MidiControl {
    _connection: midir::MidiInputConnection<()>,
    port: String,
}

impl std::fmt::Debug for MidiControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MidiControl")
            .field("port", &self.port)
            .finish()
    }
}

impl MidiControl {
    /// Opens the first MIDI input whose name contains `port_hint` (any
    /// input when `None`) and starts applying `mapping` to `control`.
    pub fn connect(
        port_hint: Option<&str>,
        mut mapping: MidiMapping,
        control: Control,
        mut learn: Option<Learn>,
    ) -> Result<Self, MidiError> {
        if let Some(l) = &learn
            && knob_index(&l.knob).is_none()
        {
            return Err(MidiError::UnknownKnob(l.knob.clone()));
        }
        let input =
            midir::MidiInput::new("earshot").map_err(|e| MidiError::Unavailable(e.to_string()))?;
        let ports = input.ports();
        let named: Vec<(midir::MidiInputPort, String)> = ports
            .into_iter()
            .map(|p| {
                let name = input.port_name(&p).unwrap_or_else(|_| "?".into());
                (p, name)
            })
            .collect();
        let (port, name) = match port_hint {
            None => named.into_iter().next().ok_or(MidiError::NoInput)?,
            Some(hint) => {
                let all = named
                    .iter()
                    .map(|(_, n)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                named
                    .into_iter()
                    .find(|(_, n)| n.contains(hint))
                    .ok_or_else(|| MidiError::PortNotFound(hint.to_owned(), all))?
            }
        };
        let connection = input
            .connect(
                &port,
                "earshot-in",
                move |_stamp, bytes, _| {
                    if let Some(l) = learn.take() {
                        match control_change(bytes) {
                            Some((channel, number, _)) => {
                                mapping.cc.retain(|e| e.knob != l.knob);
                                mapping.cc.insert(
                                    0,
                                    CcMapping {
                                        number,
                                        knob: l.knob.clone(),
                                        channel: Some(channel),
                                    },
                                );
                                match mapping.save(&l.file) {
                                    Ok(()) => eprintln!(
                                        "learned: CC {number} on channel {channel} → {}; saved {}",
                                        l.knob,
                                        l.file.display()
                                    ),
                                    Err(e) => {
                                        eprintln!("learned CC {number} → {}, but {e}", l.knob)
                                    }
                                }
                            }
                            None => learn = Some(l),
                        }
                        return;
                    }
                    // A refused value changes nothing; MIDI has no reply path.
                    let _ = apply(bytes, &mapping, &control);
                },
                (),
            )
            .map_err(|e| MidiError::Connect(name.clone(), e.to_string()))?;
        Ok(Self {
            _connection: connection,
            port: name,
        })
    }

    /// The input's name.
    pub fn port(&self) -> &str {
        &self.port
    }
}
