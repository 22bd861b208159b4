//! The plugin's parameters: one per knob of the model, with the knob's
//! range and default, and the values the host set, shared between the
//! main thread and the audio thread without a lock.

use earshot_audio_model::config::KNOB_COUNT;
use earshot_audio_model::knobs::{KNOBS, StaticKnob};
use std::sync::atomic::{AtomicU64, Ordering};

/// The CLAP parameter id of knob `knob` (its index in `KNOBS`). `KNOBS` is
/// the generator's input order, which the weights fix, so an id stays the
/// knob's as long as the model family does; a test pins each one.
pub fn param_id(knob: usize) -> u32 {
    // KNOB_COUNT is a handful; the index always fits.
    knob as u32
}

/// The knob behind parameter `id`, if there is one.
pub fn knob_of(id: u32) -> Option<usize> {
    let knob = usize::try_from(id).ok()?;
    (knob < KNOB_COUNT).then_some(knob)
}

/// The knob's spec (name, range, default, unit).
pub fn spec(knob: usize) -> &'static StaticKnob {
    &KNOBS[knob]
}

/// A knob's figure (a range end, the default) as the number a host shows:
/// the f32's shortest decimal read as an f64 (0.3, not the f32's exact
/// 0.30000001192092896), so the host's default, its text field and the
/// saved state agree, and the engine gets the same f32 back. Formatted on
/// the stack: the audio thread clamps with it.
pub fn widen(x: f32) -> f64 {
    struct Digits {
        buf: [u8; 64],
        len: usize,
    }
    impl std::fmt::Write for Digits {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = self.len + s.len();
            self.buf
                .get_mut(self.len..end)
                .ok_or(std::fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let mut digits = Digits {
        buf: [0; 64],
        len: 0,
    };
    std::fmt::Write::write_fmt(&mut digits, format_args!("{x}"))
        .ok()
        .and_then(|()| std::str::from_utf8(&digits.buf[..digits.len]).ok())
        .and_then(|text| text.parse().ok())
        .unwrap_or(f64::from(x))
}

/// `value` brought into the knob's range; `None` for a value that is not a
/// number at all (NaN or infinite), which changes nothing.
pub fn clamp(knob: usize, value: f64) -> Option<f64> {
    let spec = spec(knob);
    value
        .is_finite()
        .then(|| value.clamp(widen(spec.min), widen(spec.max)))
}

/// The value the engine gets: the host's value plus its modulation,
/// clamped to the range. `None` when either is not a number.
pub fn modulated(knob: usize, value: f64, modulation: f64) -> Option<f32> {
    // The clamp bounds come from f32s, so the result converts exactly
    // enough; f64 keeps the sum from rounding before the clamp.
    clamp(knob, value + modulation).map(|v| v as f32)
}

/// The value as a host shows it: three decimals and the knob's unit.
pub fn format_value(knob: usize, value: f64, out: &mut impl std::fmt::Write) -> std::fmt::Result {
    let unit = spec(knob).unit;
    if unit.is_empty() {
        write!(out, "{value:.3}")
    } else {
        write!(out, "{value:.3} {unit}")
    }
}

/// Reads what [`format_value`] writes (the unit is optional); out-of-range
/// text is refused, not clamped.
pub fn parse_value(knob: usize, text: &str) -> Option<f64> {
    let spec = spec(knob);
    let text = text.trim();
    let number = match spec.unit {
        "" => text,
        unit => text.strip_suffix(unit).unwrap_or(text).trim_end(),
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && (widen(spec.min)..=widen(spec.max)).contains(&value)).then_some(value)
}

/// The parameter values the host set (not the modulation), one atomic per
/// knob so the audio thread writes them and the main thread reads them
/// (state save, `get_value`) without a lock.
#[derive(Debug)]
pub struct ParamValues {
    bits: [AtomicU64; KNOB_COUNT],
}

impl Default for ParamValues {
    fn default() -> Self {
        Self {
            bits: std::array::from_fn(|k| AtomicU64::new(widen(KNOBS[k].default).to_bits())),
        }
    }
}

impl ParamValues {
    /// Knob `knob`'s value.
    pub fn get(&self, knob: usize) -> f64 {
        // Relaxed: each value stands alone; nothing else is published with it.
        f64::from_bits(self.bits[knob].load(Ordering::Relaxed))
    }

    /// Sets knob `knob` to `value` (already clamped by the caller).
    pub fn set(&self, knob: usize, value: f64) {
        self.bits[knob].store(value.to_bits(), Ordering::Relaxed);
    }

    /// Every value, in knob order.
    pub fn all(&self) -> [f64; KNOB_COUNT] {
        std::array::from_fn(|k| self.get(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_pinned_to_the_knob_names() {
        // A host saves automation by id: an id must never move to another
        // knob. Reordering or inserting a knob breaks this test on purpose.
        let pinned = [
            (0, "brightness"),
            (1, "noise"),
            (2, "density"),
            (3, "warmth"),
        ];
        assert_eq!(pinned.len(), KNOB_COUNT, "every knob has a pinned id");
        for (id, name) in pinned {
            let knob = knob_of(id).unwrap();
            assert_eq!(spec(knob).name, name);
            assert_eq!(param_id(knob), id);
        }
        assert_eq!(knob_of(KNOB_COUNT as u32), None);
        assert_eq!(knob_of(u32::MAX), None);
    }

    #[test]
    fn modulation_adds_to_the_value_and_stays_in_range() {
        let brightness = 0;
        assert_eq!(modulated(brightness, 0.5, 0.25), Some(0.75));
        assert_eq!(modulated(brightness, 0.9, 0.5), Some(1.0));
        assert_eq!(modulated(brightness, 0.1, -0.5), Some(0.0));
        assert_eq!(modulated(brightness, f64::NAN, 0.0), None);
        assert_eq!(clamp(brightness, f64::INFINITY), None);
    }

    #[test]
    fn text_round_trips_and_out_of_range_text_is_refused() {
        let mut text = String::new();
        format_value(1, 0.25, &mut text).unwrap();
        assert_eq!(text, "0.250");
        assert_eq!(parse_value(1, &text), Some(0.25));
        assert_eq!(parse_value(1, "1.5"), None);
        assert_eq!(parse_value(1, "loud"), None);
    }

    #[test]
    fn figures_widen_to_their_shortest_decimal_and_back() {
        assert_eq!(widen(0.3), 0.3);
        assert_eq!(widen(0.3) as f32, 0.3f32);
        for x in [0.0f32, 1.0, -2.5, 1e-45, f32::MAX, f32::MIN, 0.1] {
            assert_eq!(widen(x) as f32, x, "{x}");
        }
    }

    #[test]
    fn values_start_at_the_defaults_and_keep_what_is_set() {
        let values = ParamValues::default();
        for (k, spec) in KNOBS.iter().enumerate() {
            assert_eq!(values.get(k), widen(spec.default));
        }
        values.set(2, 0.125);
        assert_eq!(values.all()[2], 0.125);
    }
}
