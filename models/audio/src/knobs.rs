//! The reference model's knobs: the generator's knob input `k` has one entry
//! per knob, in this order, normalized from the knob's range to [-1, 1].
//! What each one does audibly is set by the weights' init (see
//! `docs/reference-model.md`).

use super::config::KNOB_COUNT;
use earshot_engine::description::{KnobSpec, KnobTable};

/// One of the reference model's knobs as static data: what a caller that
/// must not allocate (a C host listing knobs, a MIDI map) reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticKnob {
    /// Its name.
    pub name: &'static str,
    /// Lowest accepted value.
    pub min: f32,
    /// Highest accepted value.
    pub max: f32,
    /// Value at start-up.
    pub default: f32,
    /// Unit shown to users (empty: unitless).
    pub unit: &'static str,
    /// What it does audibly.
    pub description: &'static str,
}

const fn unit(name: &'static str, default: f32, description: &'static str) -> StaticKnob {
    StaticKnob {
        name,
        min: 0.0,
        max: 1.0,
        default,
        unit: "",
        description,
    }
}

/// The reference model's knobs, in generator input order, every one
/// unitless over `[0, 1]`.
pub const KNOBS: [StaticKnob; KNOB_COUNT] = [
    unit(
        "brightness",
        0.5,
        "spectral tilt: higher is brighter (about ±6 dB/octave over the range)",
    ),
    unit(
        "noise",
        0.3,
        "level of the breathy noise floor between the partials",
    ),
    unit(
        "density",
        0.5,
        "how strongly the eight voices of the chord sound",
    ),
    unit("warmth", 0.5, "low-frequency weight below about 300 Hz"),
];

impl StaticKnob {
    /// Maps a value in `[min, max]` to the generator's `[-1, 1]`, as
    /// [`KnobSpec::normalize`] does.
    pub fn normalize(&self, value: f32) -> f32 {
        2.0 * (value - self.min) / (self.max - self.min) - 1.0
    }

    /// As the engine's knob description.
    pub fn spec(&self) -> KnobSpec {
        KnobSpec {
            name: self.name.to_owned(),
            min: self.min,
            max: self.max,
            default: self.default,
            unit: self.unit.to_owned(),
            description: self.description.to_owned(),
        }
    }
}

/// The reference model's knob table, as the engine is given it.
pub fn knobs() -> KnobTable {
    KNOBS.iter().map(StaticKnob::spec).collect()
}

/// The index of the knob called `name`.
pub fn knob_index(name: &str) -> Option<usize> {
    KNOBS.iter().position(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_maps_range_to_unit_interval() {
        let k = knobs()[0].clone();
        assert_eq!(k.normalize(k.min), -1.0);
        assert_eq!(k.normalize(k.max), 1.0);
        assert_eq!(knob_index("density"), Some(2));
        assert_eq!(knob_index("nope"), None);
        assert_eq!(knobs()[2].name, KNOBS[2].name);
        for (spec, knob) in knobs().iter().zip(KNOBS) {
            assert_eq!(spec.normalize(0.25), knob.normalize(0.25));
        }
    }
}
