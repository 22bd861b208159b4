//! The rectified-flow sampler: the timestep schedule and the per-element
//! update rules. The generator predicts the clean latent `x̂0`; the velocity
//! is `v = (x - x̂0) / t`, and the data lies at `t = 0`, pure noise at `t = 1`.
//! Every backend applies exactly these formulas.

use serde::{Deserialize, Serialize};

/// Which update a slot's trajectory follows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SamplerKind {
    /// Euler steps of the probability-flow ODE: deterministic given the
    /// initial noise.
    Ode,
    /// Each step re-injects fresh noise: the implied noise `ε̂` is mixed with
    /// a new draw `z` as `sqrt(1 - churn²) ε̂ + churn z`. `churn = 0` is
    /// exactly the ODE.
    Sde {
        /// Share of fresh noise, in [0, 1].
        churn: f32,
    },
}

impl SamplerKind {
    /// The SDE with the default churn of 0.5.
    pub const SDE: SamplerKind = SamplerKind::Sde { churn: 0.5 };
}

/// The timestep of denoise step `k` of `steps`: linear from 1 down to 0.
pub fn timestep(k: u32, steps: u32) -> f32 {
    1.0 - k as f32 / steps as f32
}

/// One Euler ODE update of element `x` from `t` to `t_next`.
#[inline]
pub fn ode_update(x: f32, x0_hat: f32, t: f32, t_next: f32) -> f32 {
    x + (t_next - t) * (x - x0_hat) / t
}

/// One SDE update of element `x` from `t` to `t_next` with fresh noise `z`.
#[inline]
pub fn sde_update(x: f32, x0_hat: f32, t: f32, t_next: f32, churn: f32, z: f32) -> f32 {
    let eps_hat = (x - (1.0 - t) * x0_hat) / t;
    let eps = (1.0 - churn * churn).sqrt() * eps_hat + churn * z;
    (1.0 - t_next) * x0_hat + t_next * eps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_runs_from_noise_to_data() {
        assert_eq!(timestep(0, 8), 1.0);
        assert_eq!(timestep(8, 8), 0.0);
        assert!(timestep(3, 8) > timestep(4, 8));
    }

    #[test]
    fn sde_without_churn_is_the_ode() {
        let (x, x0, t, tn) = (0.7f32, -0.2, 0.625, 0.5);
        let a = ode_update(x, x0, t, tn);
        let b = sde_update(x, x0, t, tn, 0.0, 123.0);
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn last_step_lands_on_the_prediction() {
        assert!((ode_update(0.9, 0.3, 0.125, 0.0) - 0.3).abs() < 1e-6);
        assert_eq!(sde_update(0.9, 0.3, 0.125, 0.0, 0.5, 2.0), 0.3);
    }
}
