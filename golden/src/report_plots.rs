//! The report's pictures: a timeline per scenario, a bar chart of
//! `audible_first` per scenario and the latency budget of each scenario's
//! median knob or prompt change.

use crate::plots::{PlotError, bars_png, budget_png, timeline_png};
use crate::record::Recording;
use crate::report::SuiteReport;
use crate::suite::ScenarioResult;
use std::path::Path;

/// Writes every plot into `dir`; returns (caption, file name) pairs for
/// the Markdown.
pub fn write_plots(
    dir: &Path,
    results: &[(Recording, ScenarioResult)],
    report: &SuiteReport,
) -> Result<Vec<(String, String)>, PlotError> {
    let mut plots = Vec::new();
    let rows: Vec<(String, Option<u64>, Option<u64>, u32)> = report
        .scenarios
        .iter()
        .map(|s| {
            let p = s
                .metrics
                .kinds
                .get("knob")
                .or_else(|| s.metrics.kinds.get("prompt"))
                .and_then(|k| k.audible_first);
            let rate = s.metrics.sample_rate;
            (s.name.clone(), p.map(|p| p.p50), p.map(|p| p.max), rate)
        })
        .collect();
    bars_png(
        &dir.join("audible_first.png"),
        "audible_first per scenario (knob, else prompt): p50 bar, max marker",
        &rows,
    )?;
    plots.push((
        "audible_first per scenario".to_owned(),
        "audible_first.png".to_owned(),
    ));
    let budgets: Vec<(String, crate::metrics::Budget, u32)> = report
        .scenarios
        .iter()
        .flat_map(|s| {
            ["knob", "prompt"].into_iter().filter_map(move |kind| {
                let mut c: Vec<_> = s
                    .metrics
                    .changes
                    .iter()
                    .filter(|c| c.kind == kind && c.budget.is_some())
                    .collect();
                c.sort_by_key(|c| c.heard_first);
                let median = c.get(c.len().saturating_sub(1) / 2)?;
                let rate = s.metrics.sample_rate;
                Some((format!("{} {kind}", s.name), median.budget?, rate))
            })
        })
        .collect();
    budget_png(
        &dir.join("budget.png"),
        "latency budget of the median change",
        &budgets,
    )?;
    plots.push(("latency budget".to_owned(), "budget.png".to_owned()));
    for (rec, result) in results {
        let file = format!("timeline-{}.png", result.name);
        timeline_png(&dir.join(&file), &result.name, rec, &result.metrics)?;
        plots.push((format!("timeline: {}", result.name), file));
    }
    Ok(plots)
}
