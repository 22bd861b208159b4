//! Knob state on the control side: validated, normalized values (a scalar or
//! one value per denoise step) and the knob epoch.

use crate::description::{KnobSpec, KnobTable, knob_index};

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
        name: String,
        /// The value.
        value: f32,
    },
    /// Outside the knob's range.
    #[error("knob {name} got {value}, outside {min}..={max}")]
    OutOfRange {
        /// The knob.
        name: String,
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
        name: String,
        /// Steps.
        expected: usize,
        /// Values given.
        found: usize,
    },
}

/// Why a knob change from a real-time thread was refused; nothing
/// changed. `Copy` and free of allocation, unlike [`KnobError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtKnobError {
    /// No knob has this index.
    #[error("no knob #{0}")]
    UnknownKnob(usize),
    /// NaN or an infinity.
    #[error("knob #{0} got a non-finite value")]
    NotFinite(usize),
    /// Outside the knob's range.
    #[error("knob #{0} got a value outside its range")]
    OutOfRange(usize),
    /// The queue to the runner is full: the change was not sent.
    #[error("the real-time knob queue is full")]
    Full,
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
///
/// Besides the global epoch, every (knob, step) cell remembers the epoch of
/// the last change that altered its value: a slot stepping at step `s`
/// is shaped by exactly the changes recorded in column `s`, which is how a
/// produce knows which changes it really carries (a curve change that
/// leaves a step's value alone does not reach a slot at that step).
#[derive(Debug)]
pub struct KnobState {
    table: KnobTable,
    curves: Vec<KnobCurve>,
    nonzero: Vec<bool>,
    /// `changed_at[k * steps + s]`: the epoch that last altered knob `k` at
    /// step `s` (0: never changed since start).
    changed_at: Vec<u64>,
    steps: usize,
    epoch: u64,
}

impl Clone for KnobState {
    fn clone(&self) -> Self {
        Self {
            table: self.table.clone(),
            curves: self.curves.clone(),
            nonzero: self.nonzero.clone(),
            changed_at: self.changed_at.clone(),
            steps: self.steps,
            epoch: self.epoch,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        if !std::sync::Arc::ptr_eq(&self.table, &source.table) {
            self.table = source.table.clone();
        }
        // Vec::clone_from reuses each element's memory (KnobCurve's own
        // clone_from) when the lengths match, as they do for one model.
        self.curves.clone_from(&source.curves);
        self.nonzero.clone_from(&source.nonzero);
        self.changed_at.clone_from(&source.changed_at);
        self.steps = source.steps;
        self.epoch = source.epoch;
    }
}

impl KnobState {
    /// Every knob of `table` at its default, for a stream of `steps`
    /// denoise steps.
    pub fn new(table: KnobTable, steps: usize) -> Self {
        Self {
            curves: table
                .iter()
                .map(|k| KnobCurve::Scalar(k.normalize(k.default)))
                .collect(),
            nonzero: table
                .iter()
                .map(|k| k.normalize(k.default) != 0.0)
                .collect(),
            changed_at: vec![0; table.len() * steps],
            steps,
            epoch: 0,
            table,
        }
    }

    /// The knob table these values belong to.
    pub fn table(&self) -> &KnobTable {
        &self.table
    }

    /// Knobs in the table.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the model has no knobs.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The epoch of the last change that altered knob `knob`'s value at
    /// denoise step `step` (0 if none did).
    pub fn changed_at(&self, knob: usize, step: usize) -> u64 {
        self.changed_at[knob * self.steps + step]
    }

    /// Whether knob `i`'s normalized curve is zero at every step, known
    /// from set time, so a device backend can skip its work without
    /// reading anything back.
    pub fn is_zero(&self, i: usize) -> bool {
        !self.nonzero[i]
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
                name: spec.name.clone(),
                value,
            });
        }
        if value < spec.min || value > spec.max {
            return Err(KnobError::OutOfRange {
                name: spec.name.clone(),
                value,
                min: spec.min,
                max: spec.max,
            });
        }
        Ok(spec.normalize(value))
    }

    fn lookup(&self, name: &str) -> Result<(usize, KnobTable), KnobError> {
        let i =
            knob_index(&self.table, name).ok_or_else(|| KnobError::UnknownKnob(name.to_owned()))?;
        Ok((i, self.table.clone()))
    }

    fn commit(&mut self, i: usize, curve: KnobCurve) -> bool {
        // A per-step curve with one value everywhere is that scalar, so the
        // same sound never counts as a change.
        let curve = match curve {
            KnobCurve::PerStep(v) if v.windows(2).all(|w| w[0] == w[1]) => {
                KnobCurve::Scalar(v.first().copied().unwrap_or(0.0))
            }
            other => other,
        };
        if self.curves[i] == curve {
            return false;
        }
        self.nonzero[i] = match &curve {
            KnobCurve::Scalar(v) => *v != 0.0,
            KnobCurve::PerStep(values) => values.iter().any(|&v| v != 0.0),
        };
        self.epoch += 1;
        for step in 0..self.steps {
            if curve.at(step) != self.curves[i].at(step) {
                self.changed_at[i * self.steps + step] = self.epoch;
            }
        }
        self.curves[i] = curve;
        true
    }

    /// Sets a knob to one value for every step. Returns whether anything
    /// changed (setting the same value bumps no epoch).
    pub fn set(&mut self, name: &str, value: f32) -> Result<bool, KnobError> {
        let (i, table) = self.lookup(name)?;
        let v = Self::check(&table[i], value)?;
        Ok(self.commit(i, KnobCurve::Scalar(v)))
    }

    /// Sets the knob at `index` (its place in the table) to one value for
    /// every step; like [`set`](Self::set) without the name lookup.
    pub fn set_index(&mut self, index: usize, value: f32) -> Result<bool, KnobError> {
        let spec = self
            .table
            .get(index)
            .ok_or_else(|| KnobError::UnknownKnob(format!("#{index}")))?;
        let v = Self::check(spec, value)?;
        Ok(self.commit(index, KnobCurve::Scalar(v)))
    }

    /// Checks a value for the knob at `index` of `table` without changing
    /// anything: what [`set_index`](Self::set_index) would refuse, without
    /// allocating (a real-time thread calls it).
    pub fn validate(table: &[KnobSpec], index: usize, value: f32) -> Result<(), RtKnobError> {
        let spec = table.get(index).ok_or(RtKnobError::UnknownKnob(index))?;
        if !value.is_finite() {
            return Err(RtKnobError::NotFinite(index));
        }
        if value < spec.min || value > spec.max {
            return Err(RtKnobError::OutOfRange(index));
        }
        Ok(())
    }

    /// Sets a knob to one value per denoise step.
    pub fn set_curve(&mut self, name: &str, values: &[f32]) -> Result<bool, KnobError> {
        let (i, table) = self.lookup(name)?;
        let spec = &table[i];
        if values.len() != self.steps {
            return Err(KnobError::WrongCurveLength {
                name: spec.name.clone(),
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
            *out = curve.at(step);
        }
    }
}

impl KnobCurve {
    /// The value at denoise `step`.
    pub fn at(&self, step: usize) -> f32 {
        match self {
            KnobCurve::Scalar(v) => *v,
            KnobCurve::PerStep(values) => values[step],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::signal::stereo;

    #[test]
    fn bad_input_changes_nothing() {
        let mut k = KnobState::new(stereo().knobs, 8);
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
        let mut k = KnobState::new(stereo().knobs, 4);
        assert_eq!(k.set("brightness", 1.0), Ok(true));
        assert_eq!(k.set("brightness", 1.0), Ok(false));
        assert_eq!(k.epoch(), 1);
        assert_eq!(k.set_curve("noise", &[0.0, 0.5, 1.0, 1.0]), Ok(true));
        let mut row = [0.0; 4];
        k.row(2, &mut row);
        assert_eq!(row[0], 1.0);
        assert_eq!(row[1], 1.0);
        k.row(0, &mut row);
        assert_eq!(row[1], -1.0);
    }

    #[test]
    fn each_step_remembers_the_change_that_last_altered_it() {
        let mut k = KnobState::new(stereo().knobs, 4);
        assert_eq!(k.set("brightness", 1.0), Ok(true));
        assert!((0..4).all(|s| k.changed_at(0, s) == 1));
        assert!(
            (0..4).all(|s| k.changed_at(1, s) == 0),
            "other knobs untouched"
        );
        // A curve that keeps the first two steps at 1.0 alters only the last two.
        assert_eq!(k.set_curve("brightness", &[1.0, 1.0, 0.5, 0.0]), Ok(true));
        assert_eq!(
            (0..4).map(|s| k.changed_at(0, s)).collect::<Vec<_>>(),
            [1, 1, 2, 2]
        );
        let mut copy = KnobState::new(stereo().knobs, 4);
        copy.clone_from(&k);
        assert_eq!(copy.changed_at(0, 3), 2);
    }

    #[test]
    fn a_flat_curve_is_its_scalar_and_zero_flags_follow() {
        let mut k = KnobState::new(stereo().knobs, 4);
        assert_eq!(k.set("brightness", 0.8), Ok(true));
        // 0.8 at every step is the same sound: no change.
        assert_eq!(k.set_curve("brightness", &[0.8; 4]), Ok(false));
        assert_eq!(k.epoch(), 1);
        assert!(k.is_zero(0) == (stereo().knobs[0].normalize(0.8) == 0.0));
        assert_eq!(k.set("noise", 0.5), Ok(true));
        assert!(k.is_zero(1), "the middle of the range normalizes to zero");
        assert_eq!(k.set_curve("noise", &[0.5, 0.5, 0.5, 0.6]), Ok(true));
        assert!(!k.is_zero(1));
    }

    #[test]
    fn random_curves_are_accepted_exactly_when_every_value_is_valid() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let specials = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.1,
            1.1,
            0.0,
            1.0,
            0.5,
        ];
        for _ in 0..2_000 {
            let mut k = KnobState::new(stereo().knobs, 8);
            let len = (next() % 10) as usize;
            let values: Vec<f32> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        specials[(r >> 8) as usize % specials.len()]
                    } else {
                        (r >> 11) as f32 / (1u64 << 53) as f32
                    }
                })
                .collect();
            let valid = len == 8
                && values
                    .iter()
                    .all(|v| v.is_finite() && (0.0..=1.0).contains(v));
            let before = k.clone();
            let result = k.set_curve("warmth", &values);
            assert_eq!(result.is_ok(), valid, "{values:?}");
            if !valid {
                assert_eq!(k.epoch(), before.epoch());
                assert_eq!(k.curves, before.curves);
            }
        }
    }
}
