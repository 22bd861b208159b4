//! The lead controller: how far ahead of the playhead the frontier write
//! lands. `lead = max(floor, interval_ema · gain + margin) + stall_bump`,
//! all in integer sample frames; the near repatch uses the same formula
//! without floor and stall bump.
//!
//! `interval_ema` follows the produce-to-produce intervals the runner
//! observes on its clock (modelled costs on the virtual clock); a device
//! timer read lazily, a tick stale, can feed the same `observe` later. A produce is late when its interval exceeds
//! `late_ratio` times the average; the stall bump then rises by the
//! overshoot (up to `max_bump`) and decays by `bump_decay` after every
//! produce on time.

use crate::frames::SampleFrames;
use serde::{Deserialize, Serialize};

/// Fixed-point scale of ratios: 1000 = 1.0.
pub const PERMILLE: u64 = 1000;
/// Fixed-point scale of the average: 1/256 sample frame.
const EMA_SCALE: u64 = 256;

/// Every parameter of the lead controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeadConfig {
    /// Smallest lead of the frontier write (default 0.25 s = 12 000 frames).
    pub floor: SampleFrames,
    /// Multiplier of the interval average, in permille (default 1500 = 1.5×).
    pub gain_permille: u64,
    /// Added to the scaled average (default 1024 frames ≈ 21 ms): covers the
    /// render and patch transit after a produce.
    pub margin: SampleFrames,
    /// Weight of a new interval in the average, in permille (default 125 = 1/8).
    pub ema_weight_permille: u64,
    /// An interval above this multiple of the average is a stall, in
    /// permille (default 1500 = 1.5×).
    pub late_ratio_permille: u64,
    /// Largest stall bump (default 0.5 s = 24 000 frames).
    pub max_bump: SampleFrames,
    /// Decay of the stall bump per on-time produce (default 480 frames = 10 ms).
    pub bump_decay: SampleFrames,
    /// Added to the render estimate of a render-placed near repatch
    /// (default 128 frames ≈ 2.7 ms): the patch's transit to the output's
    /// next block.
    pub near_margin: SampleFrames,
}

impl Default for LeadConfig {
    fn default() -> Self {
        Self {
            floor: SampleFrames(12_000),
            gain_permille: 1500,
            margin: SampleFrames(1024),
            ema_weight_permille: 125,
            late_ratio_permille: 1500,
            max_bump: SampleFrames(24_000),
            bump_decay: SampleFrames(480),
            near_margin: SampleFrames(128),
        }
    }
}

/// A lead parameter the controller cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid lead config: {0}")]
pub struct LeadConfigError(&'static str);

impl LeadConfig {
    /// Checks the ranges every parameter must lie in.
    pub fn validate(&self) -> Result<(), LeadConfigError> {
        if self.ema_weight_permille == 0 || self.ema_weight_permille > PERMILLE {
            return Err(LeadConfigError("ema weight must lie in 1..=1000 permille"));
        }
        if self.late_ratio_permille <= PERMILLE {
            return Err(LeadConfigError("late ratio must exceed 1000 permille"));
        }
        if self.gain_permille == 0 {
            return Err(LeadConfigError("gain must be positive"));
        }
        Ok(())
    }
}

/// The controller's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadController {
    config: LeadConfig,
    /// Average interval in 1/256 sample frames; `None` before the first observation.
    ema: Option<u64>,
    bump: SampleFrames,
    stalls: u64,
    /// Average render cost per 1024 sample frames, in 1/256 sample frame.
    render_per_1024: Option<u64>,
}

impl LeadController {
    /// A controller with no observation yet: its lead is the floor.
    pub fn new(config: LeadConfig) -> Result<Self, LeadConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            ema: None,
            bump: SampleFrames::ZERO,
            stalls: 0,
            render_per_1024: None,
        })
    }

    /// The parameters.
    pub fn config(&self) -> &LeadConfig {
        &self.config
    }

    /// Feeds one measured produce-to-produce interval.
    pub fn observe(&mut self, interval: SampleFrames) {
        let x = interval.0.saturating_mul(EMA_SCALE);
        let Some(ema) = self.ema else {
            self.ema = Some(x);
            return;
        };
        let late = x.saturating_mul(PERMILLE) > ema.saturating_mul(self.config.late_ratio_permille);
        if late {
            self.stalls += 1;
            let overshoot = SampleFrames((x - ema) / EMA_SCALE);
            self.bump = (self.bump + overshoot).min(self.config.max_bump);
        } else {
            self.bump = self.bump.saturating_sub(self.config.bump_decay);
        }
        // Move by the weighted difference, at least one fixed-point unit, so
        // the average reaches a steady interval exactly. A stall moves the
        // average too, but only by its weight, while the bump answers it at once.
        let w = self.config.ema_weight_permille;
        let step = |d: u64| (d * w / PERMILLE).max(1);
        self.ema = Some(match x.cmp(&ema) {
            std::cmp::Ordering::Greater => ema + step(x - ema),
            std::cmp::Ordering::Less => ema - step(ema - x),
            std::cmp::Ordering::Equal => ema,
        });
    }

    /// The average produce interval, when one was observed.
    pub fn interval_ema(&self) -> Option<SampleFrames> {
        self.ema.map(|e| SampleFrames(e / EMA_SCALE))
    }

    /// The current stall bump.
    pub fn stall_bump(&self) -> SampleFrames {
        self.bump
    }

    /// Produces observed as late so far.
    pub fn stalls(&self) -> u64 {
        self.stalls
    }

    /// Feeds the measured duration of one render of `frames` sample
    /// frames (weight 1/4: renders are many and their cost steady).
    pub fn observe_render(&mut self, frames: SampleFrames, duration: SampleFrames) {
        if frames.0 == 0 {
            return;
        }
        let x = duration.0.saturating_mul(EMA_SCALE * 1024) / frames.0;
        self.render_per_1024 = Some(match self.render_per_1024 {
            None => x,
            Some(avg) => avg - avg / 4 + x / 4,
        });
    }

    /// The expected duration of rendering `frames` sample frames (zero
    /// before any render was observed).
    pub fn render_estimate(&self, frames: SampleFrames) -> SampleFrames {
        let per = self.render_per_1024.unwrap_or(0);
        SampleFrames((per * frames.0).div_ceil(EMA_SCALE * 1024))
    }

    /// `render_estimate(head) + near_margin`: the lead of a near repatch
    /// placed where it is heard soonest without being trimmed, its first
    /// `head` frames rendered on their own.
    pub fn render_lead(&self, head: SampleFrames) -> SampleFrames {
        self.render_estimate(head) + self.config.near_margin
    }

    /// `interval_ema · gain + margin`: the lead formula without floor and
    /// stall bump (the near repatch's lead when placed by interval).
    pub fn near_lead(&self) -> SampleFrames {
        let scaled = self
            .ema
            .map_or(0, |e| e * self.config.gain_permille / PERMILLE / EMA_SCALE);
        SampleFrames(scaled) + self.config.margin
    }

    /// `max(floor, near_lead) + stall_bump`: the frontier write's lead.
    pub fn lead(&self) -> SampleFrames {
        self.near_lead().max(self.config.floor) + self.bump
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controller() -> LeadController {
        LeadController::new(LeadConfig::default()).unwrap()
    }

    #[test]
    fn lead_is_the_floor_until_intervals_are_long() {
        let mut c = controller();
        assert_eq!(c.lead(), SampleFrames(12_000));
        assert_eq!(c.near_lead(), SampleFrames(1024));
        for _ in 0..50 {
            c.observe(SampleFrames(480)); // 10 ms ticks
        }
        assert_eq!(c.interval_ema(), Some(SampleFrames(480)));
        assert_eq!(c.near_lead(), SampleFrames(720 + 1024));
        assert_eq!(c.lead(), SampleFrames(12_000), "floor wins");
        for _ in 0..200 {
            c.observe(SampleFrames(9_600)); // 200 ms ticks
        }
        assert_eq!(c.interval_ema(), Some(SampleFrames(9_600)));
        assert_eq!(c.lead(), SampleFrames(14_400 + 1024), "scaled average wins");
    }

    #[test]
    fn a_stall_bumps_the_lead_at_once_and_the_bump_decays() {
        let mut c = controller();
        for _ in 0..20 {
            c.observe(SampleFrames(4_800));
        }
        let steady = c.lead();
        c.observe(SampleFrames(24_000)); // a 0.5 s stall
        assert_eq!(c.stalls(), 1);
        assert_eq!(c.stall_bump(), SampleFrames(19_200), "the overshoot");
        assert!(c.lead() >= steady + SampleFrames(19_200));
        let mut previous = c.stall_bump();
        for _ in 0..100 {
            c.observe(SampleFrames(4_800));
            assert!(c.stall_bump() <= previous);
            previous = c.stall_bump();
        }
        assert_eq!(c.stall_bump(), SampleFrames::ZERO, "fully decayed");
    }

    #[test]
    fn the_render_estimate_follows_measured_renders() {
        let mut c = controller();
        assert_eq!(c.render_estimate(SampleFrames(2048)), SampleFrames::ZERO);
        assert_eq!(c.render_lead(SampleFrames(2048)), SampleFrames(128));
        for _ in 0..40 {
            c.observe_render(SampleFrames(4096), SampleFrames(96)); // 24 per 1024
        }
        assert_eq!(c.render_estimate(SampleFrames(2048)), SampleFrames(48));
        assert_eq!(c.render_lead(SampleFrames(2048)), SampleFrames(48 + 128));
    }

    #[test]
    fn the_bump_is_capped() {
        let mut c = controller();
        for _ in 0..10 {
            c.observe(SampleFrames(1_000));
        }
        c.observe(SampleFrames(1_000_000));
        assert_eq!(c.stall_bump(), SampleFrames(24_000));
    }

    #[test]
    fn bad_parameters_are_refused() {
        for config in [
            LeadConfig {
                ema_weight_permille: 0,
                ..LeadConfig::default()
            },
            LeadConfig {
                late_ratio_permille: 900,
                ..LeadConfig::default()
            },
            LeadConfig {
                gain_permille: 0,
                ..LeadConfig::default()
            },
        ] {
            assert!(LeadController::new(config).is_err());
        }
    }
}
