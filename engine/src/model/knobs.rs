//! The reference model's knobs: the generator's knob input `k` has one entry
//! per knob, in this order, normalized from the knob's range to [-1, 1].
//! What each one does audibly is set by the weights' init (see
//! `docs/reference-model.md`).

use super::config::KNOB_COUNT;

/// A knob of the model: name, range, default and unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnobSpec {
    /// The name used by every control surface.
    pub name: &'static str,
    /// Lowest accepted value.
    pub min: f32,
    /// Highest accepted value.
    pub max: f32,
    /// Value at start-up.
    pub default: f32,
    /// Unit shown to users.
    pub unit: &'static str,
    /// What it changes, in a listener's words.
    pub description: &'static str,
}

impl KnobSpec {
    /// Maps a value in `[min, max]` to the generator's `[-1, 1]`.
    pub fn normalize(&self, value: f32) -> f32 {
        2.0 * (value - self.min) / (self.max - self.min) - 1.0
    }
}

/// The reference model's knobs, in generator input order.
pub const KNOBS: [KnobSpec; KNOB_COUNT] = [
    KnobSpec {
        name: "brightness",
        min: 0.0,
        max: 1.0,
        default: 0.5,
        unit: "",
        description: "spectral tilt: higher is brighter (about ±6 dB/octave over the range)",
    },
    KnobSpec {
        name: "noise",
        min: 0.0,
        max: 1.0,
        default: 0.3,
        unit: "",
        description: "level of the breathy noise floor between the partials",
    },
    KnobSpec {
        name: "density",
        min: 0.0,
        max: 1.0,
        default: 0.5,
        unit: "",
        description: "how strongly the eight voices of the chord sound",
    },
    KnobSpec {
        name: "warmth",
        min: 0.0,
        max: 1.0,
        default: 0.5,
        unit: "",
        description: "low-frequency weight below about 300 Hz",
    },
];

/// The index of the knob called `name`.
pub fn knob_index(name: &str) -> Option<usize> {
    KNOBS.iter().position(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_maps_range_to_unit_interval() {
        let k = KNOBS[0];
        assert_eq!(k.normalize(k.min), -1.0);
        assert_eq!(k.normalize(k.max), 1.0);
        assert_eq!(knob_index("density"), Some(2));
        assert_eq!(knob_index("nope"), None);
    }
}
