//! The model description: everything the engine is told about a model when
//! it starts — rates, channels, latent geometry, window, knob table,
//! conditioning shape, decoder margin. The engine sizes every buffer from
//! it and names no model itself; a model crate (or a model directory's
//! manifest) builds one and a backend returns it.
//!
//! ```
//! use earshot_engine::description::{ConditioningShape, KnobSpec, ModelDescription};
//! use earshot_engine::frames::{LatentFrames, SampleFrames};
//! let d = ModelDescription {
//!     name: "mono-24k".into(),
//!     sample_rate: 24_000,
//!     channels: 1,
//!     hop: SampleFrames(512),
//!     latent_channels: 8,
//!     window: LatentFrames(32),
//!     decoder_margin: LatentFrames(2),
//!     knobs: vec![KnobSpec::unit("level", 0.5, "loudness")].into(),
//!     conditioning: ConditioningShape { tokens: 1, width: 16 },
//! };
//! d.validate().unwrap();
//! assert_eq!(d.window_len(), 32 * 8);
//! ```

use crate::frames::{LatentFrames, SampleFrames};
use std::sync::Arc;

/// Most knobs a model may have: per-knob bookkeeping that travels with
/// every produce is a fixed-size array ([`KnobMarks`]), so delivering a
/// produce never allocates.
pub const MAX_KNOBS: usize = 32;

/// A knob of a model: name, range, default and unit.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobSpec {
    /// The name used by every control surface.
    pub name: String,
    /// Lowest accepted value.
    pub min: f32,
    /// Highest accepted value.
    pub max: f32,
    /// Value at start-up.
    pub default: f32,
    /// Unit shown to users.
    pub unit: String,
    /// What it changes, in a listener's words.
    pub description: String,
}

impl KnobSpec {
    /// A unitless knob over `[0, 1]`.
    pub fn unit(name: &str, default: f32, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            min: 0.0,
            max: 1.0,
            default,
            unit: String::new(),
            description: description.to_owned(),
        }
    }

    /// Maps a value in `[min, max]` to the generator's `[-1, 1]`.
    pub fn normalize(&self, value: f32) -> f32 {
        2.0 * (value - self.min) / (self.max - self.min) - 1.0
    }
}

/// A model's knobs in generator input order; shared, so every part of the
/// engine that checks a knob holds the same table.
pub type KnobTable = Arc<[KnobSpec]>;

/// The index of the knob called `name` in `knobs`.
pub fn knob_index(knobs: &[KnobSpec], name: &str) -> Option<usize> {
    knobs.iter().position(|k| k.name == name)
}

/// The shape of one encoded conditioning: `tokens` rows of `width` values
/// plus a pooled vector of `width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditioningShape {
    /// Conditioning tokens per prompt.
    pub tokens: usize,
    /// Width of a token and of the pooled vector.
    pub width: usize,
}

/// What the engine is told about a model when it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDescription {
    /// A short name for reports (`signal-mono`, say).
    pub name: String,
    /// Output sample frames per second; the engine clock runs at this rate.
    pub sample_rate: u32,
    /// Output channels of one sample frame.
    pub channels: usize,
    /// Sample frames per latent frame.
    pub hop: SampleFrames,
    /// Values in one latent frame (the latent width).
    pub latent_channels: usize,
    /// Latent frames the generator denoises at once (one slot's window).
    pub window: LatentFrames,
    /// Latent frames on each side of a rendered range that the renderer
    /// reads: within it of the window's edges a render is not exact.
    pub decoder_margin: LatentFrames,
    /// The knobs, in generator input order.
    pub knobs: KnobTable,
    /// The conditioning's shape.
    pub conditioning: ConditioningShape,
}

/// A description the engine cannot run; names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DescriptionError {
    /// A size that must be positive is zero.
    #[error("model description: {0} must be positive")]
    Zero(&'static str),
    /// The window has no exactly rendered frame between its margins.
    #[error(
        "model description: window of {window} latent frames leaves nothing inside margins of {margin}"
    )]
    WindowInsideMargins {
        /// Latent frames per window.
        window: u64,
        /// The decoder margin.
        margin: u64,
    },
    /// More knobs than the engine keeps per produce.
    #[error("model description: {0} knobs, at most {MAX_KNOBS}")]
    TooManyKnobs(usize),
    /// A knob whose range, default or name is unusable.
    #[error("model description: knob {name:?}: {why}")]
    BadKnob {
        /// The knob's name.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl ModelDescription {
    /// Checks every field the engine relies on.
    pub fn validate(&self) -> Result<(), DescriptionError> {
        for (field, value) in [
            ("sample_rate", self.sample_rate as usize),
            ("channels", self.channels),
            ("hop", self.hop.as_usize()),
            ("latent_channels", self.latent_channels),
            ("window", self.window.0 as usize),
            ("conditioning.width", self.conditioning.width),
        ] {
            if value == 0 {
                return Err(DescriptionError::Zero(field));
            }
        }
        if self.window.0 <= 2 * self.decoder_margin.0 {
            return Err(DescriptionError::WindowInsideMargins {
                window: self.window.0,
                margin: self.decoder_margin.0,
            });
        }
        if self.knobs.len() > MAX_KNOBS {
            return Err(DescriptionError::TooManyKnobs(self.knobs.len()));
        }
        for (i, k) in self.knobs.iter().enumerate() {
            let bad = |why| DescriptionError::BadKnob {
                name: k.name.clone(),
                why,
            };
            if k.name.is_empty() {
                return Err(bad("empty name"));
            }
            if knob_index(&self.knobs[..i], &k.name).is_some() {
                return Err(bad("name used twice"));
            }
            if !(k.min.is_finite() && k.max.is_finite() && k.min < k.max) {
                return Err(bad("range must be finite with min < max"));
            }
            if !(k.min..=k.max).contains(&k.default) {
                return Err(bad("default outside the range"));
            }
        }
        Ok(())
    }

    /// Floats in one slot's latent window.
    pub fn window_len(&self) -> usize {
        self.window.0 as usize * self.latent_channels
    }

    /// Sample frames one window covers.
    pub fn window_frames(&self) -> SampleFrames {
        self.window.start_sample(self.hop)
    }

    /// Knobs of the model.
    pub fn knob_count(&self) -> usize {
        self.knobs.len()
    }

    /// The index of the knob called `name`.
    pub fn knob_index(&self, name: &str) -> Option<usize> {
        knob_index(&self.knobs, name)
    }

    /// Values of the conditioning tokens.
    pub fn conditioning_tokens_len(&self) -> usize {
        self.conditioning.tokens * self.conditioning.width
    }
}

/// One `u64` per knob of a model, inline: which change last shaped each
/// knob's input. `Copy`, so produces and trace lines carry it without
/// allocating; only the first `len` entries are the model's.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KnobMarks {
    len: u8,
    values: [u64; MAX_KNOBS],
}

impl KnobMarks {
    /// `len` zeros (`len` at most [`MAX_KNOBS`]; a longer one is cut there,
    /// which a validated description never asks for).
    pub fn zeros(len: usize) -> Self {
        Self {
            len: len.min(MAX_KNOBS) as u8,
            values: [0; MAX_KNOBS],
        }
    }

    /// The model's entries.
    pub fn as_slice(&self) -> &[u64] {
        &self.values[..usize::from(self.len)]
    }

    /// The model's entries, to update.
    pub fn as_mut_slice(&mut self) -> &mut [u64] {
        &mut self.values[..usize::from(self.len)]
    }

    /// The newest mark (0 when none).
    pub fn newest(&self) -> u64 {
        self.as_slice().iter().copied().max().unwrap_or(0)
    }

    /// Raises each entry to the other's where that is newer.
    pub fn merge(&mut self, other: &KnobMarks) {
        for (mine, &theirs) in self.as_mut_slice().iter_mut().zip(other.as_slice()) {
            *mine = (*mine).max(theirs);
        }
    }
}

impl std::fmt::Debug for KnobMarks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl std::ops::Index<usize> for KnobMarks {
    type Output = u64;
    fn index(&self, i: usize) -> &u64 {
        &self.as_slice()[i]
    }
}

impl serde::Serialize for KnobMarks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mono() -> ModelDescription {
        ModelDescription {
            name: "t".into(),
            sample_rate: 24_000,
            channels: 1,
            hop: SampleFrames(512),
            latent_channels: 4,
            window: LatentFrames(16),
            decoder_margin: LatentFrames(2),
            knobs: vec![KnobSpec::unit("a", 0.5, ""), KnobSpec::unit("b", 0.0, "")].into(),
            conditioning: ConditioningShape {
                tokens: 2,
                width: 8,
            },
        }
    }

    #[test]
    fn a_sound_description_passes_and_bad_fields_are_named() {
        assert_eq!(mono().validate(), Ok(()));
        let mut d = mono();
        d.channels = 0;
        assert_eq!(d.validate(), Err(DescriptionError::Zero("channels")));
        let mut d = mono();
        d.decoder_margin = LatentFrames(8);
        assert!(matches!(
            d.validate(),
            Err(DescriptionError::WindowInsideMargins { .. })
        ));
        let mut d = mono();
        d.knobs = vec![KnobSpec::unit("a", 0.5, ""), KnobSpec::unit("a", 0.5, "")].into();
        assert!(matches!(
            d.validate(),
            Err(DescriptionError::BadKnob { .. })
        ));
        let mut d = mono();
        d.knobs = vec![KnobSpec::unit("a", 2.0, "")].into();
        assert!(matches!(
            d.validate(),
            Err(DescriptionError::BadKnob { .. })
        ));
        let mut d = mono();
        d.knobs = (0..=MAX_KNOBS)
            .map(|i| KnobSpec::unit(&format!("k{i}"), 0.0, ""))
            .collect();
        assert_eq!(
            d.validate(),
            Err(DescriptionError::TooManyKnobs(MAX_KNOBS + 1))
        );
    }

    #[test]
    fn knob_marks_hold_only_the_model_s_knobs() {
        let mut m = KnobMarks::zeros(2);
        m.as_mut_slice()[1] = 7;
        let mut n = KnobMarks::zeros(2);
        n.as_mut_slice()[0] = 3;
        n.merge(&m);
        assert_eq!(n.as_slice(), &[3, 7]);
        assert_eq!(n.newest(), 7);
        assert_eq!(serde_json::to_string(&n).unwrap(), "[3,7]");
    }
}
