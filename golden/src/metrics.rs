//! What a listener would measure, computed from a [`Recording`].
//!
//! A slice (a patch) **carries** a change when the produce it was rendered
//! from was shaped by it: for a knob or curve change, one of the produce's
//! denoise steps ran with a value of that knob that this change (or a
//! newer one to the same knob) set at that step; for a prompt, its steps
//! ran with that conditioning or a newer one; for a seed, the slot was
//! admitted after the change with that seed. A change to a step the slot
//! had already passed does not count: the engine tags a produce only with
//! what really shaped its samples.
//!
//! Per change, in sample frames after it was received:
//! - `audible_first`: min over carrying slices of max(slice arrival, time
//!   the playhead reaches the slice's start);
//! - `heard_first`: the first frame the output played from a carrying
//!   slice (at least `audible_first`; later by the output's callback grain);
//! - `audible_full`: from when every frame played carries it;
//! - `next_slice`: the first slice arrival of any kind after it (output
//!   keeps flowing while a prompt encodes);
//! - `ack`: received → committed.
//!
//! For a loop band, `heard_first` is the first wrap back to the band's
//! start, and for a disarm the first frame played past the band's end.

use crate::record::{ChangeKind, Outcome, Recording};
use earshot_engine::description::KnobMarks;
use earshot_engine::frames::SampleFrames;
use earshot_engine::playback::NO_SOURCE;
use earshot_engine::trace::TraceEvent;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Where the time to `heard_first` went, in sample frames; the parts add
/// up to `heard_first`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Received → committed (a prompt's text encode; 0 for knobs).
    pub encode: u64,
    /// Committed → the start of the first tick that snapshots it.
    pub tick_boundary: u64,
    /// That tick's start → the carrying produce delivered (the step, and
    /// more ticks when the slots in flight had passed the changed steps).
    pub in_flight: u64,
    /// Produce → the carrying slice sent (its decode, and any decode
    /// before it in the tick).
    pub render: u64,
    /// Slice sent → the playhead reaching the slice's start.
    pub to_playhead: u64,
    /// The wait for the output's next callback to pick the slice up.
    pub callback: u64,
}

impl Budget {
    /// The parts in the order a change passes them.
    pub fn parts(&self) -> [u64; 6] {
        [
            self.encode,
            self.tick_boundary,
            self.in_flight,
            self.render,
            self.to_playhead,
            self.callback,
        ]
    }
}

/// The metrics of one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeMetrics {
    /// Which scenario action it came from (1-based, as in the file).
    pub action: usize,
    /// knob, curve, prompt, seed, band or disarm.
    pub kind: &'static str,
    /// When it was received.
    pub received: u64,
    /// Its epoch (knob or conditioning; 0 for others).
    pub epoch: u64,
    /// Received → committed.
    pub ack: Option<u64>,
    /// Received → first slice arrival of any kind.
    pub next_slice: Option<u64>,
    /// Received → audible by the slice formula.
    pub audible_first: Option<u64>,
    /// Received → first frame played that carries it.
    pub heard_first: Option<u64>,
    /// Received → every frame from then on carries it.
    pub audible_full: Option<u64>,
    /// Where the time to `heard_first` went.
    pub budget: Option<Budget>,
}

/// p50, p90 and max of a set of figures (nearest rank).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    /// How many figures.
    pub n: usize,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// Largest.
    pub max: u64,
}

impl Percentiles {
    /// The percentiles of `values`; `None` when empty.
    pub fn of(values: impl IntoIterator<Item = u64>) -> Option<Self> {
        let mut v: Vec<u64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let rank = |p: usize| v[((p * v.len()).div_ceil(100)).saturating_sub(1)];
        Some(Self {
            n: v.len(),
            p50: rank(50),
            p90: rank(90),
            max: v[v.len() - 1],
        })
    }
}

/// Percentiles of each metric over the changes of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindSummary {
    /// Applied changes of this kind.
    pub applied: usize,
    /// Requests that changed nothing, were overtaken or refused.
    pub not_applied: usize,
    /// Over `audible_first`.
    pub audible_first: Option<Percentiles>,
    /// Over `heard_first`.
    pub heard_first: Option<Percentiles>,
    /// Over `audible_full`.
    pub audible_full: Option<Percentiles>,
    /// Over `ack`.
    pub ack: Option<Percentiles>,
    /// Over `next_slice`.
    pub next_slice: Option<Percentiles>,
}

/// Figures of the whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunMetrics {
    /// Ticks run.
    pub ticks: u64,
    /// Median interval between tick starts.
    pub tick_median: u64,
    /// Largest interval between tick starts.
    pub tick_max: u64,
    /// Largest tick interval overlapping a prompt encode (from its start
    /// to the end of the tick that placed it); `None` without prompts.
    pub tick_max_during_encode: Option<u64>,
    /// Times the output ran dry.
    pub underruns: u64,
    /// Frames played with nothing written.
    pub underrun_frames: u64,
    /// Patches sent after the playhead had passed their start.
    pub late_patches: u64,
    /// Patches the output trimmed at the playhead.
    pub trimmed_patches: u64,
    /// Patches that arrived wholly behind the playhead.
    pub dropped_patches: u64,
    /// Patches applied per second, in thousandths.
    pub patches_per_second_milli: u64,
    /// Fresh audio per produce over the median produce interval, in
    /// thousandths.
    pub real_time_factor_milli: u64,
    /// Produces delivered.
    pub produces: u64,
    /// Near repatches sent.
    pub near_patches: u64,
}

/// Everything measured in one run of one scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScenarioMetrics {
    /// Frames per second of the run's clock: every figure here is in its
    /// frames.
    pub sample_rate: u32,
    /// The run.
    pub run: RunMetrics,
    /// Per kind of change.
    pub kinds: BTreeMap<String, KindSummary>,
    /// Per change.
    pub changes: Vec<ChangeMetrics>,
}

#[derive(Debug, Clone, Copy)]
struct ProduceInfo {
    at: SampleFrames,
    shaped: KnobMarks,
    conditioning: u64,
    admitted_tick: u64,
    admitted_at: SampleFrames,
}

#[derive(Debug, Clone, Copy)]
struct SliceInfo {
    at: SampleFrames,
    position: SampleFrames,
    length: SampleFrames,
    source: u64,
}

struct Index<'a> {
    rec: &'a Recording,
    produces: HashMap<u64, ProduceInfo>,
    slices: Vec<SliceInfo>,
    tick_starts: Vec<SampleFrames>,
    tick_ends: Vec<SampleFrames>,
    /// The start of the (last) tick of each stream tick number: when the
    /// snapshot its steps ran with was taken.
    tick_at: HashMap<u64, SampleFrames>,
}

impl<'a> Index<'a> {
    fn new(rec: &'a Recording) -> Self {
        let mut tick_at: HashMap<u64, SampleFrames> = HashMap::new();
        let mut produces = HashMap::new();
        let mut slices = Vec::new();
        let mut tick_starts = Vec::new();
        let mut tick_ends = Vec::new();
        for e in &rec.events {
            match *e {
                TraceEvent::TickStart { tick, at } => {
                    tick_at.insert(tick, at);
                    tick_starts.push(at);
                }
                TraceEvent::TickEnd { at, .. } => tick_ends.push(at),
                TraceEvent::Produce {
                    at,
                    slot,
                    epochs,
                    shaped,
                    admitted_tick,
                    ..
                } => {
                    let admitted_at = tick_at.get(&admitted_tick).copied().unwrap_or(at);
                    produces.insert(
                        slot,
                        ProduceInfo {
                            at,
                            shaped,
                            conditioning: epochs.conditioning,
                            admitted_tick,
                            admitted_at,
                        },
                    );
                }
                TraceEvent::Patch {
                    at,
                    position,
                    length,
                    source,
                    ..
                } => slices.push(SliceInfo {
                    at,
                    position,
                    length,
                    source,
                }),
            }
        }
        Self {
            rec,
            produces,
            slices,
            tick_starts,
            tick_ends,
            tick_at,
        }
    }

    /// Whether frames from produce `source` carry change `c`.
    fn carries(&self, c: &crate::record::ChangeRecord, source: u64) -> bool {
        let Some(p) = self.produces.get(&source) else {
            return false;
        };
        match c.kind {
            ChangeKind::Knob { knob, .. } => {
                p.shaped.as_slice().get(knob).is_some_and(|&e| e >= c.epoch)
                    && self.ran_changed_step(c, knob, p)
            }
            ChangeKind::Prompt => p.conditioning >= c.epoch,
            // Admitted after the change: its seed, or a newer seed's.
            ChangeKind::Seed(_) => p.admitted_at >= c.received,
            ChangeKind::Band(..) | ChangeKind::Disarm => false,
        }
    }

    /// Whether the slot of `p` ran one of the steps `c` altered at a time
    /// that step's value was `c`'s or a newer change's: slot steps are one
    /// per stream tick from the tick that admitted it, and each ran with
    /// the snapshot taken at that tick's start.
    fn ran_changed_step(
        &self,
        c: &crate::record::ChangeRecord,
        knob: usize,
        p: &ProduceInfo,
    ) -> bool {
        c.altered.iter().any(|&step| {
            let Some(&t) = self.tick_at.get(&(p.admitted_tick + u64::from(step))) else {
                return false;
            };
            self.rec.changes.iter().any(|o| {
                matches!(o.kind, ChangeKind::Knob { knob: k, .. } if k == knob)
                    && o.epoch >= c.epoch
                    && o.committed.is_some_and(|at| at <= t)
                    && o.altered.contains(&step)
            })
        })
    }

    /// The time the playhead reaches `position` at or after `from`, if it
    /// does before the run ends.
    fn reaches(&self, position: SampleFrames, from: SampleFrames) -> Option<SampleFrames> {
        let runs = &self.rec.runs;
        let first = runs.partition_point(|r| r.at.0 + r.len <= from.0);
        runs[first..].iter().find_map(|r| {
            if position < r.position || position.0 >= r.position.0 + r.len {
                return None;
            }
            let t = r.at + (position - r.position);
            (t >= from).then_some(t)
        })
    }

    /// Where the playhead is (the position it plays next) at time `t`.
    fn position_at(&self, t: SampleFrames) -> Option<SampleFrames> {
        let runs = &self.rec.runs;
        let i = runs.partition_point(|r| r.at.0 + r.len <= t.0);
        runs.get(i)
            .filter(|r| r.at <= t)
            .map(|r| r.position + (t - r.at))
    }

    fn change(&self, i: usize) -> ChangeMetrics {
        let c = &self.rec.changes[i];
        let t0 = c.received;
        let since = |t: SampleFrames| t.0.saturating_sub(t0.0);
        let mut m = ChangeMetrics {
            action: c.action + 1,
            kind: c.kind.label(),
            received: t0.0,
            epoch: c.epoch,
            ack: c.committed.map(since),
            next_slice: self.slices.iter().find(|s| s.at >= t0).map(|s| since(s.at)),
            audible_first: None,
            heard_first: None,
            audible_full: None,
            budget: None,
        };
        if c.outcome != Outcome::Applied {
            return m;
        }
        match c.kind {
            ChangeKind::Band(a, b) => {
                m.heard_first = self.band_wrap(t0, a, b).map(since);
                m.audible_first = m.heard_first;
                return m;
            }
            ChangeKind::Disarm => {
                let end = self.rec.changes[..i]
                    .iter()
                    .rev()
                    .find_map(|c| match c.kind {
                        ChangeKind::Band(_, b) => Some(b),
                        _ => None,
                    });
                m.heard_first = end
                    .and_then(|b| self.rec.runs.iter().find(|r| r.at >= t0 && r.position >= b))
                    .map(|r| since(r.at));
                m.audible_first = m.heard_first;
                return m;
            }
            _ => {}
        }
        // The formula over carrying slices, keeping the slice that wins.
        // Slices are in arrival order and none is heard before it arrives,
        // so the search stops at the first arrival after the best so far.
        let mut best: Option<(SampleFrames, &SliceInfo)> = None;
        let from = self.slices.partition_point(|s| s.at < t0);
        for s in &self.slices[from..] {
            if best.is_some_and(|(t, _)| s.at >= t) {
                break;
            }
            if !self.carries(c, s.source) {
                continue;
            }
            // The playhead inside it at arrival: heard from arrival on
            // (trimmed at the playhead); else when the playhead reaches its
            // start, if it does within the run.
            let inside = self
                .position_at(s.at)
                .is_some_and(|p| s.position <= p && p < s.position + s.length);
            let t = if inside {
                Some(s.at)
            } else {
                self.reaches(s.position, s.at)
            };
            if let Some(t) = t.map(|t| t.max(s.at))
                && best.is_none_or(|(b, _)| t < b)
            {
                best = Some((t, s));
            }
        }
        m.audible_first = best.map(|(t, _)| since(t));
        // What the output played.
        let carrying = |source: u64| source != NO_SOURCE && self.carries(c, source);
        let heard = self
            .rec
            .runs
            .iter()
            .find(|r| r.at + SampleFrames(r.len) > t0 && carrying(r.source))
            .map(|r| r.at.max(t0));
        m.heard_first = heard.map(since);
        let last_not = self
            .rec
            .runs
            .iter()
            .rev()
            .find(|r| r.at + SampleFrames(r.len) > t0 && !carrying(r.source));
        m.audible_full = match (heard, last_not) {
            (Some(h), None) => Some(since(h)),
            (Some(_), Some(r)) => {
                let after = r.at + SampleFrames(r.len);
                (after < self.rec.duration).then(|| since(after))
            }
            (None, _) => None,
        };
        if let (Some((formula, slice)), Some(heard)) = (best, heard) {
            m.budget = self.budget(c, formula, slice, heard);
        }
        m
    }

    fn budget(
        &self,
        c: &crate::record::ChangeRecord,
        formula: SampleFrames,
        slice: &SliceInfo,
        heard: SampleFrames,
    ) -> Option<Budget> {
        let committed = c.committed?;
        let produce = self.produces.get(&slice.source)?;
        let tick = self.tick_starts.iter().copied().find(|&t| t >= committed)?;
        let tick = tick.min(produce.at);
        // Live stamps can cross (a change committed after the runner had
        // already snapshotted it): saturate rather than wrap.
        let b = Budget {
            encode: committed.saturating_sub(c.received).0,
            tick_boundary: tick.saturating_sub(committed).0,
            in_flight: produce.at.saturating_sub(tick).0,
            render: slice.at.saturating_sub(produce.at).0,
            to_playhead: formula.saturating_sub(slice.at).0,
            callback: heard.saturating_sub(formula).0,
        };
        Some(b)
    }

    /// The first time after `t0` the output jumps from the band's end back
    /// to its start.
    fn band_wrap(
        &self,
        t0: SampleFrames,
        a: SampleFrames,
        b: SampleFrames,
    ) -> Option<SampleFrames> {
        self.rec.runs.windows(2).find_map(|w| {
            let prev_end = w[0].position.0 + w[0].len;
            (w[1].at >= t0 && w[1].position == a && prev_end == b.0).then_some(w[1].at)
        })
    }

    fn run(&self) -> RunMetrics {
        let rec = self.rec;
        let intervals: Vec<(SampleFrames, u64)> = self
            .tick_starts
            .windows(2)
            .map(|w| (w[0], (w[1] - w[0]).0))
            .collect();
        let ticks = Percentiles::of(intervals.iter().map(|x| x.1)).unwrap_or_default();
        let windows: Vec<(SampleFrames, SampleFrames)> = rec
            .changes
            .iter()
            .filter(|c| c.kind == ChangeKind::Prompt)
            .filter_map(|c| {
                let start = rec
                    .encodes
                    .iter()
                    .find(|(s, _)| *s >= c.received)
                    .map_or(c.received, |e| e.0);
                let done = c.committed.or_else(|| {
                    rec.encodes
                        .iter()
                        .find(|(s, _)| *s >= c.received)
                        .map(|e| e.1)
                })?;
                // The tick that places it is the first to start after the
                // commit; the window closes at its end.
                let i = self.tick_starts.iter().position(|&t| t >= done)?;
                let placed = self.tick_ends.get(i).copied()?;
                Some((start, placed))
            })
            .collect();
        let during = (!windows.is_empty()).then(|| {
            intervals
                .iter()
                .filter(|(start, len)| {
                    let end = *start + SampleFrames(*len);
                    windows.iter().any(|&(a, b)| *start < b && end > a)
                })
                .map(|x| x.1)
                .max()
                .unwrap_or(0)
        });
        let produce_times: Vec<SampleFrames> = rec
            .events
            .iter()
            .filter_map(|e| match e {
                TraceEvent::Produce { at, .. } => Some(*at),
                _ => None,
            })
            .collect();
        let produce_median =
            Percentiles::of(produce_times.windows(2).map(|w| (w[1] - w[0]).0)).map_or(0, |p| p.p50);
        let seconds_milli = (rec.duration.0 * 1000)
            .checked_div(u64::from(rec.sample_rate))
            .unwrap_or(0);
        RunMetrics {
            ticks: self.tick_starts.len() as u64,
            tick_median: ticks.p50,
            tick_max: ticks.max,
            tick_max_during_encode: during,
            underruns: rec.output.underruns,
            underrun_frames: rec.output.underrun_frames,
            late_patches: rec.counters.late,
            trimmed_patches: rec.output.patches_trimmed,
            dropped_patches: rec.output.late_dropped,
            patches_per_second_milli: (rec.output.patches_applied * 1_000_000)
                .checked_div(seconds_milli)
                .unwrap_or(0),
            real_time_factor_milli: (rec.produce_audio.0 * 1000)
                .checked_div(produce_median)
                .unwrap_or(0),
            produces: rec.counters.produces,
            near_patches: rec.counters.near,
        }
    }
}

/// The summaries of `changes`, per kind.
pub fn summarize(changes: &[ChangeMetrics], applied: &[bool]) -> BTreeMap<String, KindSummary> {
    let mut kinds: BTreeMap<String, KindSummary> = BTreeMap::new();
    for (m, &ok) in changes.iter().zip(applied) {
        let k = kinds.entry(m.kind.to_owned()).or_default();
        if ok {
            k.applied += 1;
        } else {
            k.not_applied += 1;
        }
    }
    for (kind, summary) in kinds.iter_mut() {
        let of = |f: fn(&ChangeMetrics) -> Option<u64>| {
            Percentiles::of(
                changes
                    .iter()
                    .zip(applied)
                    .filter(|(m, ok)| **ok && m.kind == kind.as_str())
                    .filter_map(|(m, _)| f(m)),
            )
        };
        summary.audible_first = of(|m| m.audible_first);
        summary.heard_first = of(|m| m.heard_first);
        summary.audible_full = of(|m| m.audible_full);
        summary.ack = of(|m| m.ack);
        summary.next_slice = of(|m| m.next_slice);
    }
    kinds
}

/// Measures a recording.
pub fn measure(rec: &Recording) -> ScenarioMetrics {
    let index = Index::new(rec);
    let changes: Vec<ChangeMetrics> = (0..rec.changes.len()).map(|i| index.change(i)).collect();
    let applied: Vec<bool> = rec
        .changes
        .iter()
        .map(|c| c.outcome == Outcome::Applied)
        .collect();
    ScenarioMetrics {
        sample_rate: rec.sample_rate,
        run: index.run(),
        kinds: summarize(&changes, &applied),
        changes,
    }
}
