//! Golden baselines: the figures of each scenario's last accepted run,
//! stored in the repository, and the comparison that fails a run on a
//! regression beyond the stated tolerance.
//!
//! Tolerance: a latency may grow by 10 % or one 128-frame block (2.7 ms),
//! whichever is more; a tick figure by 10 %; an underrun or drop count not
//! at all; a figure the baseline has may not go missing (a change that
//! was audible must stay audible). On the virtual clock a run is exact, so
//! any difference is a change of behaviour; the tolerance says which
//! changes are worth failing on.

use crate::metrics::ScenarioMetrics;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The compared figures of every scenario: scenario → figure → value.
pub type Baselines = BTreeMap<String, BTreeMap<String, u64>>;

/// The figures of a run that baselines keep, by name.
pub fn figures(metrics: &ScenarioMetrics) -> BTreeMap<String, u64> {
    let mut f = BTreeMap::new();
    for (kind, k) in &metrics.kinds {
        for (name, p) in [
            ("audible_first", k.audible_first),
            ("heard_first", k.heard_first),
            ("audible_full", k.audible_full),
            ("ack", k.ack),
            ("next_slice", k.next_slice),
        ] {
            if let Some(p) = p {
                f.insert(format!("{kind}.{name}.p50"), p.p50);
                f.insert(format!("{kind}.{name}.max"), p.max);
            }
        }
    }
    let r = &metrics.run;
    f.insert("run.tick_median".into(), r.tick_median);
    f.insert("run.tick_max".into(), r.tick_max);
    if let Some(g) = r.tick_max_during_encode {
        f.insert("run.tick_max_during_encode".into(), g);
    }
    f.insert("run.underruns".into(), r.underruns);
    f.insert("run.underrun_frames".into(), r.underrun_frames);
    f.insert("run.dropped_patches".into(), r.dropped_patches);
    f
}

/// How a figure compares with its baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Within tolerance.
    Same,
    /// Better by more than the tolerance: bless to keep it.
    Better,
    /// Worse by more than the tolerance.
    Regressed,
    /// In the baseline, missing now.
    Missing,
    /// New (not in the baseline).
    New,
}

/// One compared figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Scenario name.
    pub scenario: String,
    /// Figure name.
    pub figure: String,
    /// Baseline value.
    pub baseline: Option<u64>,
    /// This run's value.
    pub now: Option<u64>,
    /// The verdict.
    pub verdict: Verdict,
}

fn allowance(figure: &str, base: u64) -> u64 {
    if figure.starts_with("run.underrun") || figure == "run.dropped_patches" {
        0
    } else if figure.starts_with("run.tick") {
        base / 10
    } else {
        (base / 10).max(128)
    }
}

/// Compares one scenario's figures with its baseline.
pub fn compare(
    scenario: &str,
    baseline: &BTreeMap<String, u64>,
    now: &BTreeMap<String, u64>,
) -> Vec<Comparison> {
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> = baseline.keys().chain(now.keys()).collect();
    for name in names {
        let (b, n) = (baseline.get(name).copied(), now.get(name).copied());
        let verdict = match (b, n) {
            (Some(b), Some(n)) => {
                let tol = allowance(name, b);
                if n > b + tol {
                    Verdict::Regressed
                } else if n + tol < b {
                    Verdict::Better
                } else {
                    Verdict::Same
                }
            }
            (Some(_), None) => Verdict::Missing,
            (None, _) => Verdict::New,
        };
        out.push(Comparison {
            scenario: scenario.to_owned(),
            figure: name.clone(),
            baseline: b,
            now: n,
            verdict,
        });
    }
    out
}

/// Whether any comparison fails the run.
pub fn failed(comparisons: &[Comparison]) -> bool {
    comparisons
        .iter()
        .any(|c| matches!(c.verdict, Verdict::Regressed | Verdict::Missing))
}

/// Reads a baselines file; a missing file is no baselines.
pub fn read(path: &std::path::Path) -> Result<Baselines, crate::ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| crate::ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Baselines::new()),
        Err(source) => Err(crate::ConfigError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes a baselines file (sorted keys, so a diff shows what changed).
pub fn write(path: &std::path::Path, baselines: &Baselines) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(baselines).map_err(std::io::Error::other)? + "\n";
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_decide_the_verdicts() {
        let base: BTreeMap<String, u64> = [
            ("knob.audible_first.p50", 1000),
            ("run.underruns", 0),
            ("run.tick_median", 400),
            ("prompt.ack.max", 200),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut now = base.clone();
        now.insert("knob.audible_first.p50".into(), 1100);
        now.insert("run.tick_median".into(), 441);
        now.remove("prompt.ack.max");
        now.insert("seed.heard_first.p50".into(), 5);
        let c = compare("s", &base, &now);
        let verdict = |f: &str| c.iter().find(|x| x.figure == f).unwrap().verdict.clone();
        assert_eq!(
            verdict("knob.audible_first.p50"),
            Verdict::Same,
            "10 % allowed"
        );
        assert_eq!(verdict("run.tick_median"), Verdict::Regressed);
        assert_eq!(verdict("prompt.ack.max"), Verdict::Missing);
        assert_eq!(verdict("seed.heard_first.p50"), Verdict::New);
        assert!(failed(&c));
        now.insert("run.underruns".into(), 1);
        now.insert("run.tick_median".into(), 400);
        now.insert("prompt.ack.max".into(), 10);
        let c = compare("s", &base, &now);
        assert_eq!(
            c.iter()
                .find(|x| x.figure == "run.underruns")
                .unwrap()
                .verdict,
            Verdict::Regressed,
            "no underrun is tolerated"
        );
        assert_eq!(
            c.iter()
                .find(|x| x.figure == "prompt.ack.max")
                .unwrap()
                .verdict,
            Verdict::Better
        );
    }
}
