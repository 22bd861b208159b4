//! Knob state on the control side: validated, normalized values (a scalar or
//! one value per denoise step) and the knob epoch.

use crate::model::config::KNOB_COUNT;
use crate::model::knobs::{KNOBS, KnobSpec, knob_index};

/// Why a knob change was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KnobError {
    /// No knob has this name.
    #[error("unknown knob {0:?}")]
    UnknownKnob(String),
    /// NaN or an infinity.
    #[error("knob {name} got a non-finite value {value}")]
    NotFinite {
        /// The knob.
        name: &'static str,
        /// The value.
        value: f32,
    },
    /// Outside the knob's range.
    #[error("knob {name} got {value}, outside {min}..={max}")]
    OutOfRange {
        /// The knob.
        name: &'static str,
        /// The value.
        value: f32,
        /// Lowest accepted.
        min: f32,
        /// Highest accepted.
        max: f32,
    },
    /// A curve whose length is not the number of denoise steps.
    #[error("curve for {name} has {found} values, expected {expected} (one per step)")]
    WrongCurveLength {
        /// The knob.
        name: &'static str,
        /// Steps.
        expected: usize,
        /// Values given.
        found: usize,
    },
}

/// A knob's normalized value: one for every step, or one per step.
#[derive(Debug, PartialEq)]
pub enum KnobCurve {
    /// The same value at every step.
    Scalar(f32),
    /// One value per denoise step.
    PerStep(Vec<f32>),
}

impl Clone for KnobCurve {
    fn clone(&self) -> Self {
        match self {
            KnobCurve::Scalar(v) => KnobCurve::Scalar(*v),
            KnobCurve::PerStep(values) => KnobCurve::PerStep(values.clone()),
        }
    }

    /// Reuses the memory of a per-step curve, so a runner's snapshot of
    /// unchanged-shape curves allocates nothing.
    fn clone_from(&mut self, source: &Self) {
        match (self, source) {
            (KnobCurve::PerStep(mine), KnobCurve::PerStep(theirs)) => mine.clone_from(theirs),
            (me, source) => *me = source.clone(),
        }
    }
}

/// The current value of every knob, normalized to the generator's [-1, 1].
#[derive(Debug)]
pub struct KnobState {
    curves: [KnobCurve; KNOB_COUNT],
    steps: usize,
    epoch: u64,
}

impl Clone for KnobState {
    fn clone(&self) -> Self {
        Self {
            curves: self.curves.clone(),
            steps: self.steps,
            epoch: self.epoch,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        for (mine, theirs) in self.curves.iter_mut().zip(&source.curves) {
            mine.clone_from(theirs);
        }
        self.steps = source.steps;
        self.epoch = source.epoch;
    }
}

impl KnobState {
    /// Every knob at its default, for a stream of `steps` denoise steps.
    pub fn new(steps: usize) -> Self {
        Self {
            curves: KNOBS.map(|k| KnobCurve::Scalar(k.normalize(k.default))),
            steps,
            epoch: 0,
        }
    }

    /// The number of denoise steps curves are made for.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Bumped by every committed change.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    fn check(spec: &KnobSpec, value: f32) -> Result<f32, KnobError> {
        if !value.is_finite() {
            return Err(KnobError::NotFinite {
                name: spec.name,
                value,
            });
        }
        if value < spec.min || value > spec.max {
            return Err(KnobError::OutOfRange {
                name: spec.name,
                value,
                min: spec.min,
                max: spec.max,
            });
        }
        Ok(spec.normalize(value))
    }

    fn lookup(name: &str) -> Result<(usize, &'static KnobSpec), KnobError> {
        let i = knob_index(name).ok_or_else(|| KnobError::UnknownKnob(name.to_owned()))?;
        Ok((i, &KNOBS[i]))
    }

    fn commit(&mut self, i: usize, curve: KnobCurve) -> bool {
        if self.curves[i] == curve {
            return false;
        }
        self.curves[i] = curve;
        self.epoch += 1;
        true
    }

    /// Sets a knob to one value for every step. Returns whether anything
    /// changed (setting the same value bumps no epoch).
    pub fn set(&mut self, name: &str, value: f32) -> Result<bool, KnobError> {
        let (i, spec) = Self::lookup(name)?;
        let v = Self::check(spec, value)?;
        Ok(self.commit(i, KnobCurve::Scalar(v)))
    }

    /// Sets a knob to one value per denoise step.
    pub fn set_curve(&mut self, name: &str, values: &[f32]) -> Result<bool, KnobError> {
        let (i, spec) = Self::lookup(name)?;
        if values.len() != self.steps {
            return Err(KnobError::WrongCurveLength {
                name: spec.name,
                expected: self.steps,
                found: values.len(),
            });
        }
        let normalized = values
            .iter()
            .map(|&v| Self::check(spec, v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.commit(i, KnobCurve::PerStep(normalized)))
    }

    /// Writes the normalized knob row of denoise `step` into `row`.
    pub fn row(&self, step: usize, row: &mut [f32]) {
        for (out, curve) in row.iter_mut().zip(&self.curves) {
            *out = match curve {
                KnobCurve::Scalar(v) => *v,
                KnobCurve::PerStep(values) => values[step],
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_changes_nothing() {
        let mut k = KnobState::new(8);
        let before = k.clone();
        assert!(matches!(k.set("nope", 0.5), Err(KnobError::UnknownKnob(_))));
        assert!(matches!(
            k.set("brightness", f32::NAN),
            Err(KnobError::NotFinite { .. })
        ));
        assert!(matches!(
            k.set("brightness", 1.5),
            Err(KnobError::OutOfRange { .. })
        ));
        assert!(matches!(
            k.set_curve("brightness", &[0.5; 3]),
            Err(KnobError::WrongCurveLength { .. })
        ));
        let mut bad = [0.5; 8];
        bad[5] = f32::INFINITY;
        assert!(k.set_curve("brightness", &bad).is_err());
        assert_eq!(k.epoch(), before.epoch());
        assert_eq!(k.curves, before.curves);
    }

    #[test]
    fn same_value_bumps_no_epoch_and_rows_follow_curves() {
        let mut k = KnobState::new(4);
        assert_eq!(k.set("brightness", 1.0), Ok(true));
        assert_eq!(k.set("brightness", 1.0), Ok(false));
        assert_eq!(k.epoch(), 1);
        assert_eq!(k.set_curve("noise", &[0.0, 0.5, 1.0, 1.0]), Ok(true));
        let mut row = [0.0; KNOB_COUNT];
        k.row(2, &mut row);
        assert_eq!(row[0], 1.0);
        assert_eq!(row[1], 1.0);
        k.row(0, &mut row);
        assert_eq!(row[1], -1.0);
    }
}
