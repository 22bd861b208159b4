//! What a step costs by batch size, learnt as the runner runs: an average
//! per number of slots, which decides whether stepping the finishing slot
//! alone pays (the finishing-first turn).

use crate::frames::SampleFrames;

/// Fixed-point scale of the averages: 1/256 sample frame.
const SCALE: u64 = 256;

/// Average step cost per batch size (index = slots); 0 until seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCosts {
    averages: Vec<u64>,
}

impl StepCosts {
    /// No cost seen yet for batches of up to `max_slots` slots; allocates
    /// once, here.
    pub fn new(max_slots: usize) -> Self {
        Self {
            averages: vec![0; max_slots + 1],
        }
    }

    /// Adds a step over `slots` slots that took `took` (an average of weight
    /// 1/4; the first one seen is taken as it is). A batch size beyond the
    /// table is ignored.
    pub fn observe(&mut self, slots: usize, took: SampleFrames) {
        let took = took.0.saturating_mul(SCALE);
        if let Some(avg) = self.averages.get_mut(slots) {
            *avg = if *avg == 0 {
                took.max(1)
            } else {
                *avg - *avg / 4 + took / 4
            };
        }
    }

    /// The average cost of a step over `slots` slots, once one was seen.
    pub fn average(&self, slots: usize) -> Option<SampleFrames> {
        self.cost(slots).map(|c| SampleFrames(c / SCALE))
    }

    fn cost(&self, slots: usize) -> Option<u64> {
        self.averages.get(slots).copied().filter(|&c| c > 0)
    }

    /// Whether stepping the finishing slot alone, then the other
    /// `in_flight - 1` with the one admitted this tick, costs about what
    /// one batch of `in_flight + 1` does (within 10 %): true where a step's
    /// cost grows with its slots (the CPU), false where batching is nearly
    /// free (a GPU), and false until all three costs were seen.
    pub fn split_pays(&self, in_flight: usize) -> bool {
        match (self.cost(1), self.cost(in_flight), self.cost(in_flight + 1)) {
            (Some(one), Some(rest), Some(all)) => (one + rest) * 10 <= all * 11,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cost_is_taken_then_averaged_by_a_quarter() {
        let mut costs = StepCosts::new(4);
        assert_eq!(costs.average(2), None);
        costs.observe(2, SampleFrames(400));
        assert_eq!(costs.average(2), Some(SampleFrames(400)));
        costs.observe(2, SampleFrames(800));
        assert_eq!(costs.average(2), Some(SampleFrames(500)));
        costs.observe(9, SampleFrames(1));
        assert_eq!(costs.average(9), None, "beyond the table: ignored");
    }

    #[test]
    fn splitting_pays_only_where_cost_grows_with_slots_and_once_seen() {
        let mut linear = StepCosts::new(8);
        for slots in 1..=4 {
            linear.observe(slots, SampleFrames(100 * slots as u64));
        }
        assert!(linear.split_pays(3), "1 + 3 slots cost what 4 do");
        assert!(!linear.split_pays(4), "a batch of 5 not seen yet");

        let mut flat = StepCosts::new(8);
        for slots in 1..=4 {
            flat.observe(slots, SampleFrames(100 + slots as u64));
        }
        assert!(!flat.split_pays(3), "batching is nearly free");
    }

    #[test]
    fn a_zero_cost_step_still_counts_as_seen() {
        let mut costs = StepCosts::new(2);
        costs.observe(1, SampleFrames::ZERO);
        assert!(costs.average(1).is_some());
    }
}
