//! The report: one JSON document (exact integers, byte-for-byte the same
//! for the same inputs on the virtual clock) and a Markdown rendering of it
//! with tables of the metrics, the targets, the latency budget, the
//! ablation and the determinism check.

use crate::ablation::{AblationRow, DeterminismResult};
use crate::baseline::{Comparison, Verdict};
use crate::costs::frames_to_ms;
use crate::metrics::{Budget, ChangeMetrics, Percentiles};
use crate::suite::ScenarioResult;
use serde::Serialize;
use std::fmt::Write;

/// One ablation table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AblationTable {
    /// The scenario ablated.
    pub scenario: String,
    /// Its cost profile.
    pub profile: String,
    /// One row per variant.
    pub rows: Vec<AblationRow>,
}

/// Everything one `earshot golden run` or `report` measured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SuiteReport {
    /// "virtual" or "live".
    pub mode: String,
    /// Per scenario.
    pub scenarios: Vec<ScenarioResult>,
    /// Against the baselines (empty when none were compared).
    pub comparisons: Vec<Comparison>,
    /// Feature ablation tables.
    pub ablations: Vec<AblationTable>,
    /// The determinism check, per sampler.
    pub determinism: Vec<DeterminismResult>,
    /// Live runs (real clock, real backend), when made.
    pub live: Vec<crate::live_run::LiveResult>,
}

impl SuiteReport {
    /// As pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// Formats frames of a run's clock as milliseconds.
#[derive(Debug, Clone, Copy)]
struct Ms(u32);

impl Ms {
    fn ms(self, frames: u64) -> String {
        format!("{:.1}", frames_to_ms(frames, self.0))
    }

    fn opt(self, frames: Option<u64>) -> String {
        frames.map_or_else(|| "–".to_owned(), |f| self.ms(f))
    }

    fn p50_max(self, p: Option<Percentiles>) -> String {
        p.map_or_else(
            || "–".to_owned(),
            |p| format!("{} / {}", self.ms(p.p50), self.ms(p.max)),
        )
    }

    fn budget(self, b: &Budget) -> String {
        let parts = b.parts();
        let total = parts.iter().sum();
        let cells: Vec<String> = parts.iter().map(|&f| self.ms(f)).collect();
        format!("{} | **{}**", cells.join(" | "), self.ms(total))
    }
}

/// The change whose `heard_first` is the median of its kind, for the
/// budget table.
fn median_change<'a>(changes: &'a [ChangeMetrics], kind: &str) -> Option<&'a ChangeMetrics> {
    let mut c: Vec<&ChangeMetrics> = changes
        .iter()
        .filter(|c| c.kind == kind && c.budget.is_some())
        .collect();
    c.sort_by_key(|c| c.heard_first);
    c.get(c.len().saturating_sub(1) / 2).copied()
}

/// The tables of the virtual-clock scenarios: metrics, other changes,
/// targets and budgets.
fn virtual_tables(m: &mut String, report: &SuiteReport) {
    let _ = writeln!(
        m,
        "| scenario | profile | knob audible_first p50 / max | knob heard p50 | knob full p50 | prompt ack | prompt audible_first | next slice max | tick median / max | tick max in encode | underruns | late / trimmed | patches/s | RTF |"
    );
    let _ = writeln!(
        m,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for s in &report.scenarios {
        let f = Ms(s.metrics.sample_rate);
        let k = s.metrics.kinds.get("knob");
        let p = s.metrics.kinds.get("prompt");
        let next = s
            .metrics
            .kinds
            .values()
            .filter_map(|k| k.next_slice.map(|p| p.max))
            .max();
        let r = &s.metrics.run;
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} / {} | {:.1} | {:.1} |",
            s.name,
            s.profile,
            f.p50_max(k.and_then(|k| k.audible_first)),
            f.opt(k.and_then(|k| k.heard_first.map(|p| p.p50))),
            f.opt(k.and_then(|k| k.audible_full.map(|p| p.p50))),
            f.opt(p.and_then(|p| p.ack.map(|p| p.max))),
            f.p50_max(p.and_then(|p| p.audible_first)),
            f.opt(next),
            f.ms(r.tick_median),
            f.ms(r.tick_max),
            f.opt(r.tick_max_during_encode),
            r.underruns,
            r.late_patches,
            r.trimmed_patches,
            r.patches_per_second_milli as f64 / 1000.0,
            r.real_time_factor_milli as f64 / 1000.0,
        );
    }
    let _ = writeln!(m, "\n## Other changes\n");
    let _ = writeln!(
        m,
        "| scenario | kind | applied / not | audible_first p50 / max | heard p50 / max | full p50 / max |"
    );
    let _ = writeln!(m, "|---|---|---|---|---|---|");
    for s in &report.scenarios {
        let f = Ms(s.metrics.sample_rate);
        for (kind, k) in &s.metrics.kinds {
            if kind == "knob" || kind == "prompt" {
                continue;
            }
            let _ = writeln!(
                m,
                "| {} | {} | {} / {} | {} | {} | {} |",
                s.name,
                kind,
                k.applied,
                k.not_applied,
                f.p50_max(k.audible_first),
                f.p50_max(k.heard_first),
                f.p50_max(k.audible_full)
            );
        }
    }
    let _ = writeln!(m, "\n## Targets\n");
    let _ = writeln!(m, "| scenario | target | measured | met |");
    let _ = writeln!(m, "|---|---|---|---|");
    for s in &report.scenarios {
        for t in &s.targets {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} |",
                s.name,
                t.target,
                t.measured,
                if t.met { "yes" } else { "**no**" }
            );
        }
    }
    let _ = writeln!(m, "\n## Latency budget (the median change of each kind)\n");
    let _ = writeln!(
        m,
        "Where each millisecond to `heard` went: the prompt's text encode, waiting for the next tick to snapshot the change, \
         the slots in flight until a produce it shaped is delivered, rendering until the carrying slice is sent, \
         the slice waiting for the playhead, and the output's callback grain.\n"
    );
    let _ = writeln!(
        m,
        "| scenario | kind | encode | tick boundary | in flight | render | to playhead | callback | heard |"
    );
    let _ = writeln!(m, "|---|---|---|---|---|---|---|---|---|");
    for s in &report.scenarios {
        let f = Ms(s.metrics.sample_rate);
        for kind in ["knob", "curve", "prompt", "seed"] {
            if let Some(c) = median_change(&s.metrics.changes, kind)
                && let Some(b) = &c.budget
            {
                let _ = writeln!(m, "| {} | {} | {} |", s.name, kind, f.budget(b));
            }
        }
    }
}

/// The report as Markdown; `plots` are (caption, relative path) pairs.
pub fn markdown(report: &SuiteReport, plots: &[(String, String)]) -> String {
    let mut m = String::new();
    let _ = writeln!(
        m,
        "# earshot golden latency report ({} clock)\n",
        report.mode
    );
    let _ = writeln!(
        m,
        "All times in milliseconds after the change was received (converted from each run's frames at its model's sample rate). \
         `audible_first`: min over slices carrying the change of max(arrival, playhead reaching the slice); \
         `heard`: first frame the output played from such a slice; `full`: from when every frame played carries it; \
         `ack`: received → committed; `next slice`: first patch of any kind after the change. \
         A slice carries a change only if a denoise step of its produce ran with the value that change set.\n"
    );
    if !report.scenarios.is_empty() {
        virtual_tables(&mut m, report);
    }
    for t in &report.ablations {
        let _ = writeln!(
            m,
            "\n## Ablation: {} on {}\n\nSame scenario, same cost model, one setting changed per row.\n",
            t.scenario, t.profile
        );
        let _ = writeln!(
            m,
            "| variant | knob audible_first p50 / max | knob full p50 / max | tick median | near patches | trimmed | underruns |"
        );
        let _ = writeln!(m, "|---|---|---|---|---|---|---|");
        for r in &t.rows {
            let f = Ms(r.sample_rate);
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.variant,
                f.p50_max(r.knob_audible_first),
                f.p50_max(r.knob_audible_full),
                f.ms(r.tick_median),
                r.near_patches,
                r.trimmed_patches,
                r.underruns
            );
        }
    }
    if !report.live.is_empty() {
        let _ = writeln!(
            m,
            "\n## Live runs (real clock, real backend)\n\nPercentiles over every change of every repeat; tick figures over repeats.\n"
        );
        let _ = writeln!(
            m,
            "| scenario | repeats | knob audible_first p50 / p90 / max | prompt ack p50 / max | prompt audible_first p50 / max | tick median (p50 over runs) | tick max in encode (max) | underruns per run | targets met |"
        );
        let _ = writeln!(m, "|---|---|---|---|---|---|---|---|---|");
        for l in &report.live {
            let f = Ms(l.sample_rate);
            let k = l.kinds.get("knob").and_then(|k| k.audible_first);
            let p = l.kinds.get("prompt");
            let targets = l
                .targets
                .iter()
                .map(|(t, n)| format!("{t}: {n}/{}", l.repeats))
                .collect::<Vec<_>>()
                .join("; ");
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} | {} | {:?} | {} |",
                l.name,
                l.repeats,
                k.map_or("–".into(), |p| format!(
                    "{} / {} / {}",
                    f.ms(p.p50),
                    f.ms(p.p90),
                    f.ms(p.max)
                )),
                f.p50_max(p.and_then(|p| p.ack)),
                f.p50_max(p.and_then(|p| p.audible_first)),
                f.opt(l.tick_median.map(|p| p.p50)),
                f.opt(l.tick_max_during_encode.map(|p| p.max)),
                l.underruns,
                targets
            );
        }
    }
    if !report.determinism.is_empty() {
        let _ = writeln!(
            m,
            "\n## Determinism: every feature on vs off\n\nFinal latents per slot, reference CPU backend; slots whose inputs differed (a change landing on another step) are not compared.\n"
        );
        let _ = writeln!(
            m,
            "| sampler | slots compared | differing | inputs differed |"
        );
        let _ = writeln!(m, "|---|---|---|---|");
        for d in &report.determinism {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} |",
                d.sampler, d.compared, d.differing, d.inputs_differ
            );
        }
    }
    let notable: Vec<&Comparison> = report
        .comparisons
        .iter()
        .filter(|c| c.verdict != Verdict::Same)
        .collect();
    if !report.comparisons.is_empty() {
        let _ = writeln!(m, "\n## Against the baselines\n");
        if notable.is_empty() {
            let _ = writeln!(m, "Every figure within tolerance.");
        } else {
            let _ = writeln!(m, "| scenario | figure | baseline | now | verdict |");
            let _ = writeln!(m, "|---|---|---|---|---|");
            for c in notable {
                let _ = writeln!(
                    m,
                    "| {} | {} | {} | {} | {:?} |",
                    c.scenario,
                    c.figure,
                    c.baseline.map_or("–".into(), |v| v.to_string()),
                    c.now.map_or("–".into(), |v| v.to_string()),
                    c.verdict
                );
            }
        }
    }
    if !plots.is_empty() {
        let _ = writeln!(m, "\n## Plots\n");
        for (caption, path) in plots {
            let _ = writeln!(m, "### {caption}\n\n![{caption}]({path})\n");
        }
    }
    m
}
