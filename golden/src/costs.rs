//! Cost profiles: what each backend stage costs, per batch size, for the
//! virtual clock. Written in microseconds (what a profiler prints) and
//! charged in whole frames of the run's clock (the model's sample rate),
//! rounded to nearest, so a run on them is the same integer arithmetic on
//! every machine.

use crate::ConfigError;
use earshot_audio_model::ModelSize;
use earshot_engine::frames::SampleFrames;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Converts microseconds to frames at `rate` per second, rounded to
/// nearest.
pub fn us_to_frames(us: u64, rate: u32) -> SampleFrames {
    SampleFrames((us * u64::from(rate) + 500_000) / 1_000_000)
}

/// Converts frames at `rate` per second to milliseconds; a rate of zero
/// (a recording of no run, which has no clock) gives zero.
pub fn frames_to_ms(frames: u64, rate: u32) -> f64 {
    if rate == 0 {
        return 0.0;
    }
    frames as f64 * 1000.0 / f64::from(rate)
}

/// What every stage costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostProfile {
    /// Short name (the file's stem).
    pub name: String,
    /// Where the figures come from: measured (how, on what) or modelled
    /// (from what).
    pub source: String,
    /// The device the figures are for.
    pub device: String,
    /// The model size they are for.
    pub model: ModelSize,
    /// One batched step over `n` slots costs `step_us[n - 1]`; past the
    /// table, the last entry plus the last difference per extra slot.
    pub step_us: Vec<u64>,
    /// Fixed cost of one decode.
    pub decode_base_us: u64,
    /// Added per 1024 sample frames decoded (rounded up).
    pub decode_per_1024_us: u64,
    /// Placing a committed conditioning on the backend (runner side).
    pub conditioning_us: u64,
    /// The prompt's text encode on the control side (concurrent with the
    /// runner).
    pub prompt_encode_us: u64,
    /// How much slower a step runs while a prompt encode shares the device,
    /// in permille (0: the encode runs elsewhere).
    #[serde(default)]
    pub encode_contention_permille: u64,
}

impl CostProfile {
    /// Parses TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let profile: CostProfile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        if profile.step_us.is_empty() {
            return Err(ConfigError::Parse {
                path: origin.to_owned(),
                message: "step_us needs at least one entry (batch of one slot)".into(),
            });
        }
        Ok(profile)
    }

    /// Reads `dir/<name>.toml`.
    pub fn load(dir: &Path, name: &str) -> Result<Self, ConfigError> {
        let path = dir.join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            path: path.clone(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The cost of one step over `slots` slots.
    pub fn step(&self, slots: usize, rate: u32) -> SampleFrames {
        let n = slots.max(1);
        let table = &self.step_us;
        let us = if n <= table.len() {
            table[n - 1]
        } else {
            let last = table[table.len() - 1];
            let slope = if table.len() >= 2 {
                last.saturating_sub(table[table.len() - 2])
            } else {
                last
            };
            last + slope * (n - table.len()) as u64
        };
        us_to_frames(us, rate)
    }

    /// The cost of decoding `frames` sample frames.
    pub fn decode(&self, frames: SampleFrames, rate: u32) -> SampleFrames {
        let us = self.decode_base_us + self.decode_per_1024_us * frames.0.div_ceil(1024);
        us_to_frames(us, rate)
    }

    /// The cost of placing a conditioning.
    pub fn conditioning(&self, rate: u32) -> SampleFrames {
        us_to_frames(self.conditioning_us, rate)
    }

    /// The cost of a prompt's text encode.
    pub fn prompt_encode(&self, rate: u32) -> SampleFrames {
        us_to_frames(self.prompt_encode_us, rate)
    }

    /// `cost` slowed by the encode contention.
    pub fn contended(&self, cost: SampleFrames) -> SampleFrames {
        SampleFrames(cost.0 + cost.0 * self.encode_contention_permille / 1000)
    }

    /// As TOML, for `earshot golden profile`.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> CostProfile {
        CostProfile::from_toml(
            r#"
name = "t"
source = "modelled"
device = "none"
model = "tiny"
step_us = [1000, 1500, 2000]
decode_base_us = 100
decode_per_1024_us = 250
conditioning_us = 50
prompt_encode_us = 4000
"#,
            "t.toml",
        )
        .unwrap()
    }

    #[test]
    fn costs_convert_to_whole_frames() {
        let p = profile();
        assert_eq!(p.step(1, 48_000), SampleFrames(48));
        assert_eq!(p.step(3, 48_000), SampleFrames(96));
        assert_eq!(
            p.step(5, 48_000),
            SampleFrames(144),
            "extrapolated by the last slope"
        );
        assert_eq!(p.decode(SampleFrames(2048), 48_000), SampleFrames(29)); // 600 µs = 28.8
        assert_eq!(p.prompt_encode(48_000), SampleFrames(192));
        assert_eq!(p.contended(SampleFrames(100)), SampleFrames(100));
        // The same microseconds on a 24 kHz clock are half the frames.
        assert_eq!(p.step(1, 24_000), SampleFrames(24));
        assert_eq!(p.prompt_encode(24_000), SampleFrames(96));
        assert_eq!(frames_to_ms(24, 24_000), 1.0);
    }

    #[test]
    fn a_profile_round_trips_and_bad_ones_are_refused() {
        let p = profile();
        assert_eq!(CostProfile::from_toml(&p.to_toml(), "x").unwrap(), p);
        let err = CostProfile::from_toml("name = 1\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
