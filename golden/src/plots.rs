//! PNG plots of golden runs: one timeline per scenario (what was written
//! where and when, what played, where each change went on its way to the
//! ear), audible-first latency across scenarios, and where the time of
//! each change went.
//!
//! The font is embedded rather than looked up on the system, so a plot
//! renders the same on every machine, and nothing drawn depends on the
//! wall clock.

use crate::costs::frames_to_ms;
use crate::metrics::{Budget, ChangeMetrics, ScenarioMetrics};
use crate::record::Recording;
use earshot_engine::playback::NO_SOURCE;
use earshot_engine::sim::PlayedRun;
use earshot_engine::trace::{PatchKind, TraceEvent};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The embedded font did not parse.
    #[error("the embedded plot font could not be loaded")]
    Font,
    /// Drawing or writing the image failed.
    #[error("drawing {path}: {source}")]
    Draw {
        /// The image being drawn.
        path: PathBuf,
        /// What failed.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// DejaVu Sans 2.37; see `assets/README.md`.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const SANS: &str = "sans-serif";

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Distinct colours for epochs; red is kept for underruns, grey for changes.
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const CHANGE: RGBColor = RGBColor(90, 90, 90);
const LEAD: RGBColor = RGBColor(60, 60, 60);
/// The target and the best public stack measured, for the bar chart.
const REFERENCES: [(f64, &str); 2] = [(20.0, "target 20 ms"), (58.0, "best public stack 58 ms")];

/// Width of the timeline's chart panels; the rest of the width holds the
/// legend and the run's figures.
const CHART_W: u32 = 1130;
/// Same for both panels, so their x axes line up.
const Y_LABEL_W: u32 = 80;

/// Axis labels in whole ms; plotters' default prints "1400.0".
fn whole(v: &f64) -> String {
    format!("{v:.0}")
}

/// `rows` bands, one per row; the segmented axis counts from the bottom.
fn rows_axis(rows: usize) -> SegmentedCoord<RangedCoordi32> {
    (0..(rows as i32 - 1).max(0)).into_segmented()
}

/// Registers the embedded font once; plotters looks fonts up by family.
fn font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(SANS, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// Draws `size` pixels with `draw` into the PNG at `path`.
fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> DrawResult,
) -> Result<(), PlotError> {
    font()?;
    let root = BitMapBackend::new(path, size).into_drawing_area();
    let result = root
        .fill(&WHITE)
        .map_err(Into::into)
        .and_then(|()| draw(&root))
        .and_then(|()| root.present().map_err(Into::into));
    result.map_err(|source| PlotError::Draw {
        path: path.to_owned(),
        source,
    })
}

/// A legend sample.
enum Mark {
    Line(ShapeStyle),
    Dashed(ShapeStyle),
    Swatch(RGBAColor),
    /// Text only, introducing the entries below it.
    Heading,
}

/// A legend outside the chart, so it never hides data.
fn legend(area: &Area<'_>, entries: &[(String, Mark)], top: i32) -> DrawResult {
    let text = (SANS, 14).into_font();
    for (i, (label, mark)) in entries.iter().enumerate() {
        let y = top + 22 * i as i32;
        match mark {
            Mark::Line(style) => area.draw(&PathElement::new(vec![(8, y), (36, y)], *style))?,
            Mark::Dashed(style) => {
                area.draw(&DashedPathElement::new(vec![(8, y), (36, y)], 5, 3, *style))?
            }
            Mark::Heading => {}
            Mark::Swatch(color) => {
                area.draw(&Rectangle::new([(8, y - 6), (36, y + 6)], color.filled()))?
            }
        }
        area.draw(&Text::new(label.clone(), (44, y - 8), text.clone()))?;
    }
    Ok(())
}

/// Where the playhead is (the position it plays next) at time `t`.
fn playhead_at(runs: &[PlayedRun], t: u64) -> Option<u64> {
    let i = runs.partition_point(|r| r.at.0 + r.len <= t);
    runs.get(i)
        .filter(|r| r.at.0 <= t)
        .map(|r| r.position.0 + (t - r.at.0))
}

struct PatchLine {
    at: f64,
    from: f64,
    to: f64,
    kind: PatchKind,
    epoch: u64,
}

fn patch_style(kind: PatchKind, color: RGBColor) -> ShapeStyle {
    match kind {
        PatchKind::Near => color.stroke_width(3),
        PatchKind::GapFill => color.mix(0.4).stroke_width(1),
        PatchKind::Frontier | PatchKind::Offline => color.stroke_width(1),
    }
}

/// One PNG per scenario: the upper panel shows timeline position against
/// virtual time (playhead, patches coloured by epoch, playhead + lead,
/// underruns in red, each change's path from received to heard); the
/// lower one the interval between tick starts, where stalls stand out.
pub fn timeline_png(
    path: &Path,
    title: &str,
    rec: &Recording,
    metrics: &ScenarioMetrics,
) -> Result<(), PlotError> {
    render(path, (1400, 800), |root| {
        draw_timeline(root, title, rec, metrics)
    })
}

fn draw_timeline(root: &Area<'_>, title: &str, rec: &Recording, m: &ScenarioMetrics) -> DrawResult {
    let rate = rec.sample_rate;
    let ms = |frames| frames_to_ms(frames, rate);
    let root = root.margin(8, 0, 0, 0).titled(title, (SANS, 24))?;
    let (upper, lower) = root.split_vertically(520);
    let (upper, upper_side) = upper.split_horizontally(CHART_W);
    let (lower, lower_side) = lower.split_horizontally(CHART_W);

    let mut patches = Vec::new();
    let mut leads: Vec<(u64, u64)> = Vec::new();
    let mut ticks = Vec::new();
    let mut end = rec.duration.0;
    let mut top = 0u64;
    for e in &rec.events {
        match *e {
            TraceEvent::TickStart { at, .. } => {
                ticks.push(at.0);
                end = end.max(at.0);
            }
            TraceEvent::Patch {
                kind,
                at,
                position,
                length,
                epochs,
                lead,
                ..
            } => {
                patches.push(PatchLine {
                    at: ms(at.0),
                    from: ms(position.0),
                    to: ms(position.0 + length.0),
                    kind,
                    epoch: epochs.knob + epochs.conditioning,
                });
                if let Some(p) = playhead_at(&rec.runs, at.0) {
                    leads.push((at.0, p + lead.0));
                }
                end = end.max(at.0);
                top = top.max(position.0 + length.0);
            }
            _ => {}
        }
    }
    for r in &rec.runs {
        end = end.max(r.at.0 + r.len);
        top = top.max(r.position.0 + r.len);
    }
    let x_end = ms(end.max(48));
    let data_top = ms(top.max(48));
    // The top fifth is kept free for the changes' paths to the ear.
    let y_top = data_top * 1.25;

    let mut chart = ChartBuilder::on(&upper)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(Y_LABEL_W)
        .build_cartesian_2d(0.0..x_end, 0.0..y_top)?;
    chart
        .configure_mesh()
        .y_desc("timeline position (ms)")
        .x_label_formatter(&whole)
        .y_label_formatter(&whole)
        .label_style((SANS, 13))
        .axis_desc_style((SANS, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    // Silence before the first patch is start-up, not an underrun.
    let primed = rec
        .runs
        .iter()
        .position(|r| r.source != NO_SOURCE)
        .unwrap_or(rec.runs.len());
    let underruns: Vec<&PlayedRun> = rec.runs[primed..]
        .iter()
        .filter(|r| r.source == NO_SOURCE)
        .collect();
    chart.draw_series(underruns.iter().map(|r| {
        Rectangle::new(
            [(ms(r.at.0), 0.0), (ms(r.at.0 + r.len), data_top)],
            RED.mix(0.15).filled(),
        )
    }))?;
    for p in &patches {
        let color = PALETTE[(p.epoch % PALETTE.len() as u64) as usize];
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(p.at, p.from), (p.at, p.to)],
            patch_style(p.kind, color),
        )))?;
    }
    chart.draw_series(
        rec.runs
            .iter()
            .filter(|r| r.source != NO_SOURCE)
            .map(|r| run_segment(r, rate, BLACK.stroke_width(2))),
    )?;
    chart.draw_series(
        underruns
            .iter()
            .map(|r| run_segment(r, rate, RED.stroke_width(4))),
    )?;
    // A loop wraps the playhead back: the lead line breaks there.
    for piece in leads.chunk_by(|a, b| b.1 >= a.1) {
        chart.draw_series(DashedLineSeries::new(
            piece.iter().map(|&(t, p)| (ms(t), ms(p))),
            6,
            4,
            LEAD.stroke_width(1),
        ))?;
    }
    let ms_per_px = x_end / f64::from(CHART_W - Y_LABEL_W - 20);
    let groups = groups(m, 6.0 * ms_per_px);
    draw_changes(&mut chart, &groups, ms_per_px, x_end, data_top)?;

    let epochs: BTreeSet<u64> = patches.iter().map(|p| p.epoch).collect();
    let mut entries = vec![
        ("playhead".to_owned(), Mark::Line(BLACK.stroke_width(2))),
        ("underrun".to_owned(), Mark::Line(RED.stroke_width(4))),
        (
            "playhead + lead".to_owned(),
            Mark::Dashed(LEAD.stroke_width(1)),
        ),
        (
            "frontier patch".to_owned(),
            Mark::Line(patch_style(PatchKind::Frontier, PALETTE[0])),
        ),
        (
            "near patch".to_owned(),
            Mark::Line(patch_style(PatchKind::Near, PALETTE[0])),
        ),
        (
            "gap fill".to_owned(),
            Mark::Line(patch_style(PatchKind::GapFill, PALETTE[0])),
        ),
        (
            "change received".to_owned(),
            Mark::Dashed(CHANGE.stroke_width(1)),
        ),
        (
            "→ first heard".to_owned(),
            Mark::Line(CHANGE.stroke_width(2)),
        ),
        ("patch colour by epoch".to_owned(), Mark::Heading),
        ("(knob + conditioning):".to_owned(), Mark::Heading),
    ];
    for (k, color) in PALETTE.iter().enumerate() {
        let same: Vec<String> = epochs
            .iter()
            .filter(|&&e| e % PALETTE.len() as u64 == k as u64)
            .map(u64::to_string)
            .collect();
        if !same.is_empty() {
            let label = format!("epoch {}", abbreviate(&same));
            entries.push((label, Mark::Swatch(color.to_rgba())));
        }
    }
    legend(&upper_side, &entries, 30)?;

    let intervals: Vec<(u64, u64)> = ticks.windows(2).map(|w| (w[0], w[1])).collect();
    let worst = intervals.iter().map(|&(a, b)| b - a).max().unwrap_or(48);
    let mut chart = ChartBuilder::on(&lower)
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(Y_LABEL_W)
        .build_cartesian_2d(0.0..x_end, 0.0..ms(worst) * 1.2)?;
    chart
        .configure_mesh()
        .x_desc("virtual time (ms)")
        .x_label_formatter(&whole)
        .y_desc("tick interval (ms)")
        .y_labels(5)
        .label_style((SANS, 13))
        .axis_desc_style((SANS, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    draw_received(&mut chart, &groups, ms(worst) * 1.2)?;
    // A step per tick, as long as the tick: a stall is a wide, high step.
    chart.draw_series(LineSeries::new(
        intervals.iter().flat_map(|&(a, b)| {
            let h = ms(b - a);
            [(ms(a), h), (ms(b), h)]
        }),
        PALETTE[0].stroke_width(2),
    ))?;

    let run = &m.run;
    let figures = [
        format!("ticks: {}", run.ticks),
        format!("tick median: {:.2} ms", ms(run.tick_median)),
        format!("tick max: {:.2} ms", ms(run.tick_max)),
        format!(
            "underruns: {} ({:.1} ms)",
            run.underruns,
            ms(run.underrun_frames)
        ),
        format!("late patches: {}", run.late_patches),
        format!("near patches: {}", run.near_patches),
    ];
    let text = (SANS, 14).into_font();
    for (i, line) in figures.iter().enumerate() {
        lower_side.draw(&Text::new(
            line.clone(),
            (10, 20 + 22 * i as i32),
            text.clone(),
        ))?;
    }
    Ok(())
}

/// "1, 9, 17" for a few epochs, "1, 9, …" for many.
fn abbreviate(values: &[String]) -> String {
    if values.len() <= 3 {
        values.join(", ")
    } else {
        format!("{}, …", values[..2].join(", "))
    }
}

fn run_segment(r: &PlayedRun, rate: u32, style: ShapeStyle) -> PathElement<(f64, f64)> {
    let ms = |frames| frames_to_ms(frames, rate);
    PathElement::new(
        vec![
            (ms(r.at.0), ms(r.position.0)),
            (ms(r.at.0 + r.len), ms(r.position.0 + r.len)),
        ],
        style,
    )
}

type TimeChart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Changes received close together (a burst of moves), drawn as one
/// marker: a hundred labels a few pixels apart would be unreadable.
struct Group<'m> {
    /// Frames per second of the run's clock.
    rate: u32,
    from: f64,
    to: f64,
    changes: Vec<&'m ChangeMetrics>,
}

impl Group<'_> {
    /// When the last change of the group was first heard, if every one was.
    fn heard(&self) -> Option<f64> {
        let ms = |frames| frames_to_ms(frames, self.rate);
        self.changes
            .iter()
            .map(|c| c.heard_first.map(|h| ms(c.received + h)))
            .try_fold(self.from, |a, t| t.map(|t| a.max(t)))
    }

    fn label(&self) -> String {
        let ms = |frames| frames_to_ms(frames, self.rate);
        let first = self.changes[0];
        let [c] = self.changes[..] else {
            let last = self.changes[self.changes.len() - 1];
            let same = self.changes.iter().all(|c| c.kind == first.kind);
            let kind = if same { first.kind } else { "mixed" };
            let heard: Vec<f64> = self
                .changes
                .iter()
                .filter_map(|c| c.heard_first.map(ms))
                .collect();
            let lo = heard.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = heard.iter().copied().fold(0.0, f64::max);
            let n = self.changes.len();
            let missed = n - heard.len();
            let mut label = if first.action == last.action {
                format!("#{} {kind} ×{n}", first.action)
            } else {
                format!("#{}–#{} {kind} ×{n}", first.action, last.action)
            };
            if !heard.is_empty() {
                label += &format!(", heard {lo:.1}–{hi:.1} ms");
            }
            if missed > 0 {
                label += &format!(", {missed} not heard");
            }
            return label;
        };
        match c.heard_first {
            Some(h) => format!("#{} {} {:.1} ms", c.action, c.kind, ms(h)),
            None => format!("#{} {} not heard", c.action, c.kind),
        }
    }
}

fn groups(m: &ScenarioMetrics, gap: f64) -> Vec<Group<'_>> {
    let mut sorted: Vec<&ChangeMetrics> = m.changes.iter().collect();
    sorted.sort_by_key(|c| c.received);
    let rate = m.sample_rate;
    let mut out: Vec<Group<'_>> = Vec::new();
    for c in sorted {
        let x = frames_to_ms(c.received, rate);
        match out.last_mut() {
            Some(g) if x - g.to <= gap => {
                g.to = x;
                g.changes.push(c);
            }
            _ => out.push(Group {
                rate,
                from: x,
                to: x,
                changes: vec![c],
            }),
        }
    }
    out
}

/// Where changes were received: a line, or a band for a group.
fn draw_received(chart: &mut TimeChart<'_, '_>, groups: &[Group<'_>], top: f64) -> DrawResult {
    for g in groups {
        if g.to > g.from {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(g.from, 0.0), (g.to, top)],
                CHANGE.mix(0.15).filled(),
            )))?;
        }
        chart.draw_series(DashedLineSeries::new(
            [(g.from, 0.0), (g.from, top)],
            4,
            4,
            CHANGE.mix(0.7).stroke_width(1),
        ))?;
    }
    Ok(())
}

/// Each change (or group): where it was received and an arrow to when it
/// was first heard, in the band above the data, on the first row where its
/// label does not run into the one before.
fn draw_changes(
    chart: &mut TimeChart<'_, '_>,
    groups: &[Group<'_>],
    ms_per_px: f64,
    x_end: f64,
    data_top: f64,
) -> DrawResult {
    const ROWS: usize = 4;
    let mut row_end = [f64::NEG_INFINITY; ROWS];
    for g in groups {
        let label = g.label();
        let x = g.from;
        let heard = g.heard();
        let width = (label.chars().count() as f64 * 7.5 + 10.0) * ms_per_px;
        // Near the right edge the label goes left of its line instead.
        let (label_start, label_end, anchor) = if x + width > x_end {
            (x - width, x_end, HPos::Right)
        } else {
            (x, x + width, HPos::Left)
        };
        let row = (0..ROWS)
            .find(|&r| row_end[r] < label_start)
            .unwrap_or_else(|| {
                (0..ROWS)
                    .min_by(|&a, &b| row_end[a].total_cmp(&row_end[b]))
                    .unwrap_or(0)
            });
        row_end[row] = heard.unwrap_or(x).max(g.to).max(label_end);
        let y = data_top * (1.05 + 0.05 * row as f64);
        draw_received(chart, std::slice::from_ref(g), y)?;
        if let Some(heard) = heard {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, y), (heard, y)],
                CHANGE.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((heard, y))
                    + PathElement::new(vec![(-7, -4), (0, 0), (-7, 4)], CHANGE.stroke_width(2)),
            ))?;
        }
        chart.draw_series(std::iter::once(Text::new(
            label,
            (x, y),
            (SANS, 13)
                .into_font()
                .color(&CHANGE)
                .pos(Pos::new(anchor, VPos::Bottom)),
        )))?;
    }
    Ok(())
}

fn image_height(rows: usize) -> u32 {
    (150 + 46 * rows as u32).clamp(360, 2400)
}

/// Room for the longest row name to the left of the bars.
fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> u32 {
    let longest = names.map(|n| n.chars().count()).max().unwrap_or(0) as u32;
    (longest * 8 + 20).clamp(60, 420)
}

/// The name of the row at `v`: rows run top to bottom.
fn row_label(names: &[String], v: &SegmentValue<i32>) -> String {
    match v {
        SegmentValue::CenterOf(i) if (0..names.len() as i32).contains(i) => {
            names[names.len() - 1 - *i as usize].clone()
        }
        _ => String::new(),
    }
}

/// A horizontal bar per scenario: `audible_first` p50 (the first value,
/// in frames at the row's rate, the third) as the bar, its max (the
/// second) as a thin marker,
/// against dashed lines at the 20 ms target and the best public stack's
/// 58 ms. A missing value is drawn as "n/a".
pub fn bars_png(
    path: &Path,
    title: &str,
    rows: &[(String, Option<u64>, Option<u64>, u32)],
) -> Result<(), PlotError> {
    render(path, (1200, image_height(rows.len())), |root| {
        draw_bars(root, title, rows)
    })
}

/// A chart with one labelled row per name (top to bottom) over ms.
type RowChart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordi32>>,
>;

/// The axes and grid of a row chart: row names on the left, `x_desc` below.
fn draw_row_mesh(chart: &mut RowChart<'_, '_>, names: &[String], x_desc: &str) -> DrawResult {
    let label = |v: &SegmentValue<i32>| row_label(names, v);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(names.len().max(1))
        .y_label_formatter(&label)
        .x_desc(x_desc)
        .x_label_formatter(&whole)
        .label_style((SANS, 14))
        .axis_desc_style((SANS, 15))
        .draw()?;
    Ok(())
}

fn draw_bars(
    root: &Area<'_>,
    title: &str,
    rows: &[(String, Option<u64>, Option<u64>, u32)],
) -> DrawResult {
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let n = rows.len() as i32;
    let largest = rows
        .iter()
        .flat_map(|r| {
            [
                r.1.map(|f| frames_to_ms(f, r.3)),
                r.2.map(|f| frames_to_ms(f, r.3)),
            ]
        })
        .flatten()
        .fold(REFERENCES[1].0, f64::max);
    // Room right of the longest bar for its figures.
    let x_end = largest * 1.3;
    let area = root.margin(8, 0, 0, 0).titled(title, (SANS, 24))?;
    let mut chart = ChartBuilder::on(&area)
        .margin(15)
        .margin_top(40)
        .x_label_area_size(45)
        .y_label_area_size(name_width(names.iter().map(String::as_str)))
        .build_cartesian_2d(0.0..x_end, rows_axis(rows.len()))?;
    draw_row_mesh(&mut chart, &names, "audible first (ms)")?;
    let text = (SANS, 13).into_font();
    for (i, (_, p50, max, rate)) in rows.iter().enumerate() {
        let ms = |frames| frames_to_ms(frames, *rate);
        let y = n - 1 - i as i32;
        let figures = match (p50, max) {
            (Some(p), Some(x)) => format!("p50 {:.1} ms, max {:.1} ms", ms(*p), ms(*x)),
            (Some(p), None) => format!("p50 {:.1} ms, max n/a", ms(*p)),
            (None, Some(x)) => format!("p50 n/a, max {:.1} ms", ms(*x)),
            (None, None) => "n/a".to_owned(),
        };
        if let Some(p) = p50 {
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y)),
                    (ms(*p), SegmentValue::Exact(y + 1)),
                ],
                PALETTE[0].mix(0.8).filled(),
            );
            bar.set_margin(8, 8, 0, 0);
            chart.draw_series(std::iter::once(bar))?;
        }
        if let Some(x) = max {
            chart.draw_series(std::iter::once(
                EmptyElement::at((ms(*x), SegmentValue::CenterOf(y)))
                    + PathElement::new(vec![(0, -14), (0, 14)], BLACK.stroke_width(3)),
            ))?;
        }
        let right = (*p50).max(*max).map_or(0.0, ms);
        chart.draw_series(std::iter::once(
            EmptyElement::at((right, SegmentValue::CenterOf(y)))
                + Text::new(figures, (10, -7), text.clone()),
        ))?;
    }
    // Labelled above the plot, one line each, so they never cover a bar
    // or each other.
    for (i, (x, name)) in REFERENCES.into_iter().enumerate() {
        chart.draw_series(DashedLineSeries::new(
            [(x, SegmentValue::Exact(0)), (x, SegmentValue::Last)],
            8,
            5,
            RED.stroke_width(2),
        ))?;
        let (px, py) = chart.backend_coord(&(x, SegmentValue::Last));
        let y = py - 34 + 17 * i as i32;
        root.draw(&PathElement::new(
            vec![(px, y + 8), (px, py)],
            RED.stroke_width(1),
        ))?;
        root.draw(&Text::new(name, (px + 4, y), text.clone().color(&RED)))?;
    }
    Ok(())
}

const BUDGET_PARTS: [&str; 6] = [
    "encode",
    "tick boundary",
    "in flight",
    "render",
    "to playhead",
    "callback",
];

/// A stacked horizontal bar per row (a scenario or a change): where the
/// time to first heard went, part by part, in ms.
pub fn budget_png(
    path: &Path,
    title: &str,
    rows: &[(String, Budget, u32)],
) -> Result<(), PlotError> {
    render(path, (1200, image_height(rows.len())), |root| {
        draw_budget(root, title, rows)
    })
}

fn draw_budget(root: &Area<'_>, title: &str, rows: &[(String, Budget, u32)]) -> DrawResult {
    let (main, side) = root.split_horizontally(1010);
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let n = rows.len() as i32;
    let total = |b: &Budget| b.parts().iter().sum::<u64>();
    let largest = rows
        .iter()
        .map(|r| frames_to_ms(total(&r.1), r.2))
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&main)
        .caption(title, (SANS, 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(name_width(names.iter().map(String::as_str)))
        .build_cartesian_2d(0.0..largest * 1.2, rows_axis(rows.len()))?;
    draw_row_mesh(&mut chart, &names, "time to first heard (ms)")?;
    let text = (SANS, 13).into_font();
    for (i, (_, budget, rate)) in rows.iter().enumerate() {
        let ms = |frames| frames_to_ms(frames, *rate);
        let y = n - 1 - i as i32;
        let mut start = 0u64;
        for (k, part) in budget.parts().into_iter().enumerate() {
            if part == 0 {
                continue;
            }
            let mut bar = Rectangle::new(
                [
                    (ms(start), SegmentValue::Exact(y)),
                    (ms(start + part), SegmentValue::Exact(y + 1)),
                ],
                PALETTE[k].filled(),
            );
            bar.set_margin(8, 8, 0, 0);
            chart.draw_series(std::iter::once(bar))?;
            start += part;
        }
        chart.draw_series(std::iter::once(
            EmptyElement::at((ms(start), SegmentValue::CenterOf(y)))
                + Text::new(format!("{:.1} ms", ms(start)), (8, -7), text.clone()),
        ))?;
    }
    let entries: Vec<(String, Mark)> = BUDGET_PARTS
        .iter()
        .zip(PALETTE)
        .map(|(name, color)| ((*name).to_owned(), Mark::Swatch(color.to_rgba())))
        .collect();
    legend(&side, &entries, 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ChangeKind, ChangeRecord, Outcome};
    use earshot_engine::description::KnobMarks;
    use earshot_engine::epoch::Epochs;
    use earshot_engine::frames::{LatentFrames, SampleFrames};

    const BLOCK: u64 = 480;
    const CHUNK: u64 = 4_800;

    /// One second at 10 ms ticks: a produce and a frontier patch every
    /// 100 ms a lead ahead, a knob change at 300 ms carried from the next
    /// produce on (with a near repatch), a stall and an underrun at 600 ms.
    fn recording() -> Recording {
        let mut rec = Recording {
            duration: SampleFrames(48_000),
            block: BLOCK as u32,
            steps: 8,
            produce_audio: SampleFrames(CHUNK),
            sample_rate: 48_000,
            channels: 2,
            ..Recording::default()
        };
        let lead = 9_600;
        let mut tick = 0;
        let mut t = 0;
        while t < 48_000 {
            rec.events.push(TraceEvent::TickStart {
                tick,
                at: SampleFrames(t),
            });
            if tick % 10 == 9 {
                let slot = tick / 10;
                let knob = u64::from(t > 14_400);
                let mut shaped = KnobMarks::zeros(4);
                shaped.as_mut_slice()[0] = knob;
                let epochs = Epochs {
                    knob,
                    conditioning: 0,
                };
                let at = SampleFrames(t + 200);
                rec.events.push(TraceEvent::Produce {
                    tick,
                    at,
                    slot,
                    anchor: LatentFrames(slot),
                    epochs,
                    shaped,
                    seed: 7,
                    admitted_tick: tick.saturating_sub(9),
                });
                let patch = |kind, position: u64, length: u64| TraceEvent::Patch {
                    kind,
                    at,
                    position: SampleFrames(position),
                    length: SampleFrames(length),
                    epochs,
                    source: slot,
                    late: false,
                    trimmed: SampleFrames::ZERO,
                    lead: SampleFrames(lead),
                };
                if knob == 1 && slot == 3 {
                    rec.events.push(patch(PatchKind::Near, t + 960, lead));
                }
                rec.events.push(patch(PatchKind::Frontier, t + lead, CHUNK));
            }
            // A stall: one slow tick.
            t += if tick == 55 { 4_800 } else { 480 };
            tick += 1;
        }
        // Played: source s from its frontier on, a gap at 600 ms.
        let mut at = 0u64;
        while at < 48_000 {
            let underrun = (28_800..29_760).contains(&at);
            let source = if underrun {
                NO_SOURCE
            } else {
                at.saturating_sub(lead) / CHUNK
            };
            match rec.runs.last_mut() {
                Some(r) if r.source == source => r.len += BLOCK,
                _ => rec.runs.push(PlayedRun {
                    at: SampleFrames(at),
                    position: SampleFrames(at),
                    len: BLOCK,
                    source,
                }),
            }
            at += BLOCK;
        }
        rec.output.underruns = 1;
        rec.output.underrun_frames = 960;
        rec.changes.push(ChangeRecord {
            action: 0,
            kind: ChangeKind::Knob {
                knob: 0,
                curve: false,
            },
            received: SampleFrames(14_000),
            committed: Some(SampleFrames(14_000)),
            epoch: 1,
            altered: (0..8).collect(),
            outcome: Outcome::Applied,
        });
        rec
    }

    fn assert_png(path: &Path) {
        let bytes = std::fs::read(path).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{}",
            path.display()
        );
        // A blank image of this size compresses to well under this.
        assert!(
            bytes.len() > 10_000,
            "{}: {} bytes",
            path.display(),
            bytes.len()
        );
    }

    #[test]
    fn plots_are_drawn() {
        let rec = recording();
        let metrics = crate::metrics::measure(&rec);
        let change = &metrics.changes[0];
        assert!(change.heard_first.is_some(), "{change:?}");
        let dir = std::env::temp_dir().join(format!("earshot-plots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();

        let timeline = dir.join("timeline.png");
        timeline_png(&timeline, "synthetic: one knob change", &rec, &metrics).unwrap();
        let bars = dir.join("bars.png");
        let rows = vec![
            (
                "knob_sweep".to_owned(),
                change.audible_first,
                change.audible_first.map(|v| v + 1_500),
                48_000,
            ),
            ("prompt_swap".to_owned(), Some(4_000), Some(5_000), 48_000),
            ("no_changes".to_owned(), None, None, 48_000),
        ];
        bars_png(&bars, "audible first, p50 and max", &rows).unwrap();
        let budget = dir.join("budget.png");
        let rows = vec![
            (
                "#1 knob".to_owned(),
                change.budget.unwrap_or_default(),
                48_000,
            ),
            (
                "prompt".to_owned(),
                Budget {
                    encode: 1_200,
                    tick_boundary: 300,
                    in_flight: 900,
                    render: 150,
                    to_playhead: 400,
                    callback: 200,
                },
                48_000,
            ),
        ];
        budget_png(&budget, "where the time went", &rows).unwrap();

        for path in [&timeline, &bars, &budget] {
            assert_png(path);
        }
        // Nothing recorded, nothing to compare: still a picture, no error.
        let empty = Recording::default();
        let none = dir.join("empty.png");
        timeline_png(&none, "empty", &empty, &crate::metrics::measure(&empty)).unwrap();
        bars_png(&none, "empty", &[]).unwrap();
        budget_png(&none, "empty", &[]).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
