//! MIDI control: control-change messages from a MIDI input move knobs
//! through a mapping file (with a learn mode), when a MIDI input exists.

pub mod input;
pub mod mapping;

pub use input::{MidiControl, MidiError};
pub use mapping::{CcMapping, MappingError, MidiMapping};
