//! Epochs: counters bumped by every committed change, carried by every
//! produce and slice so a listener-side measure can tell which change a
//! sound already reflects.

use serde::{Deserialize, Serialize};

/// The knob and conditioning epochs a piece of work was made with.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Epochs {
    /// Bumped by every committed knob or curve change.
    pub knob: u64,
    /// Bumped by every committed conditioning change.
    pub conditioning: u64,
}
