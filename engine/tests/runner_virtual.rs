//! The runner on the virtual clock with the signal model: coverage without
//! underruns, the near repatch making a change audible sooner, stalls
//! shorter than the lead absorbed, longer ones counted and recovered from,
//! and a shutdown that never hangs.

use earshot_engine::clock::{Clock, VirtualClock};
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::frames::SampleFrames;
use earshot_engine::runner::RunnerConfig;
use earshot_engine::sim::{
    CostModel, CostedBackend, Fault, FaultyBackend, SignalBackend, VirtualRig,
};
use earshot_engine::trace::{MemoryTrace, NullTrace, TraceEvent, TraceSink};
use std::sync::{Arc, Mutex};

const RATE: u64 = 48_000;

/// 10 ms per tick at any batch, decode 1 ms per 1024 frames.
fn costs() -> CostModel {
    CostModel {
        step_base: SampleFrames(480),
        step_per_slot: SampleFrames(0),
        decode_base: SampleFrames(24),
        decode_per_1024: SampleFrames(48),
        encode: SampleFrames(0),
    }
}

/// A lead floor of 0.15 s: tiny's window holds 256 ms of exact audio, and
/// with the default 0.25 s floor the frontier's coverage leaves the near
/// repatch no room before it (it is then clipped to the window's start).
fn fitting_lead() -> RunnerConfig {
    let mut config = RunnerConfig::default();
    config.lead.floor = SampleFrames(7_200);
    config
}

/// The virtual rig, with this file's measurements of what it played.
struct Sim(VirtualRig);

impl std::ops::Deref for Sim {
    type Target = VirtualRig;

    fn deref(&self) -> &VirtualRig {
        &self.0
    }
}

impl std::ops::DerefMut for Sim {
    fn deref_mut(&mut self) -> &mut VirtualRig {
        &mut self.0
    }
}

/// Shares a trace with the test after the runner took its sink.
#[derive(Clone, Default)]
struct SharedTrace(Arc<Mutex<MemoryTrace>>);

impl TraceSink for SharedTrace {
    fn emit(&mut self, event: &TraceEvent) {
        self.0.lock().unwrap().emit(event);
    }
}

fn sim(config: RunnerConfig, faults: &[Fault], trace: Box<dyn TraceSink>) -> Sim {
    let clock = VirtualClock::new();
    let costed = CostedBackend::new(SignalBackend::default(), clock.clone(), costs());
    let backend = FaultyBackend::new(costed, Arc::new(clock.clone()), faults.to_vec());
    Sim(VirtualRig::new(clock, Box::new(backend), config, trace).unwrap())
}

impl Sim {
    fn run_until(&mut self, t: u64) {
        self.0.run_until(SampleFrames(t), |_, _| {}).unwrap();
    }

    /// The largest jump between consecutive played frames from `from` on:
    /// a click shows as a jump far above the sine's own largest step.
    fn largest_step(&self, from: u64) -> f32 {
        let rec = self.output.recording();
        let start = (from as usize).max(1);
        (start..rec.len() / 2)
            .map(|f| (rec[2 * f] - rec[2 * f - 2]).abs())
            .fold(0.0, f32::max)
    }

    /// First time at or after `from` where the played sine's peak over one
    /// period reaches `level`.
    fn first_at_level(&self, from: u64, level: f32) -> Option<u64> {
        let rec = self.output.recording();
        let frames = rec.len() as u64 / 2;
        (from / 128 * 128..frames).step_by(128).find(|&f| {
            let block = &rec[(f * 2) as usize..((f + 128) * 2) as usize];
            block.iter().fold(0.0f32, |m, v| m.max(v.abs())) >= level
        })
    }
}

#[test]
fn steady_ticks_keep_the_buffer_covered() {
    let mut s = sim(RunnerConfig::default(), &[], Box::new(NullTrace));
    s.run_until(5 * RATE);
    let c = s.runner.counters();
    assert!(c.produces > 400, "one produce per 10 ms tick: {c:?}");
    assert_eq!(s.stats.underruns(), 0, "{c:?}");
    let ema = s
        .runner
        .lead()
        .interval_ema()
        .expect("intervals observed")
        .0;
    assert!(
        (480..700).contains(&ema),
        "a tick is one step plus one decode: {ema}"
    );
    assert_eq!(s.runner.lead().lead(), SampleFrames(12_000), "the floor");
    assert!(s.runner.written_until() >= s.stats.playhead() + SampleFrames(12_000));
}

#[test]
fn near_repatch_makes_a_change_audible_sooner() {
    let mut latency = Vec::new();
    for near in [true, false] {
        let config = RunnerConfig {
            near_repatch: near,
            ..fitting_lead()
        };
        let mut s = sim(config, &[], Box::new(NullTrace));
        s.run_until(2 * RATE);
        let at = s.clock.now().0;
        assert!(s.control.set_knob("brightness", 1.0).unwrap().changed);
        s.run_until(4 * RATE);
        let heard = s.first_at_level(at, 0.45).expect("the change is heard");
        latency.push(heard - at);
        // The output's own account: the first frame carrying the new knob
        // epoch, a crossfade (and a block) before the full level.
        assert_eq!(s.stats.audible().knob, 1);
        let by_epoch = s.stats.knob_heard_at().0;
        assert!(
            by_epoch >= at && by_epoch <= heard,
            "{by_epoch} vs {at}..{heard}"
        );
        assert!(heard - by_epoch <= 512, "epoch {by_epoch}, level {heard}");
        assert_eq!(s.stats.underruns(), 0);
        // Patches of the new level over the old one fade in and, where the
        // old goes on after them, fade back out: no splice. The largest
        // step of a 0.5-amplitude sine of period 128 is 2π·0.5/128 ≈ 0.0245.
        let step = s.largest_step(0);
        assert!(step < 0.03, "near repatch {near}: a click of {step}");
    }
    let (with, without) = (latency[0], latency[1]);
    println!("knob change audible after {with} frames with near repatch, {without} without");
    assert!(
        with < without,
        "near repatch {with} vs frontier only {without} frames"
    );
    // The playhead the runner reads is as old as the output's last block,
    // so a frontier write lands a little under one lead ahead.
    assert!(
        without >= 6_000,
        "without it the floor of the lead bounds latency: {without}"
    );
    assert!(
        with <= 1_440,
        "with it a change is heard within 30 ms: {with}"
    );
}

#[test]
fn a_stall_shorter_than_the_lead_causes_no_underrun() {
    let mut s = sim(
        RunnerConfig::default(),
        &[Fault::SlowStep {
            call: 300,
            extra: SampleFrames(4_800),
        }],
        Box::new(NullTrace),
    );
    s.run_until(6 * RATE);
    assert_eq!(s.stats.underruns(), 0);
    assert!(s.runner.lead().stalls() >= 1);
}

#[test]
fn a_stall_longer_than_the_lead_is_counted_and_recovered_from() {
    let trace = SharedTrace::default();
    let mut s = sim(
        RunnerConfig::default(),
        &[Fault::SlowStep {
            call: 300,
            extra: SampleFrames(48_000),
        }],
        Box::new(trace.clone()),
    );
    s.run_until(8 * RATE);
    let underruns = s.stats.underruns();
    assert!(underruns >= 1, "a 1 s stall outruns a 0.25 s lead");
    let before = s.stats.underrun_frames();
    s.run_until(10 * RATE);
    assert_eq!(
        s.stats.underrun_frames(),
        before,
        "recovered: no new underruns"
    );
    let events = &trace.0.lock().unwrap().events;
    assert!(events.iter().any(|e| matches!(e, TraceEvent::Patch { .. })));
}

#[test]
fn without_same_tick_delivery_it_still_plays() {
    let config = RunnerConfig {
        same_tick_delivery: false,
        ..RunnerConfig::default()
    };
    let mut s = sim(config, &[], Box::new(NullTrace));
    s.run_until(3 * RATE);
    assert_eq!(s.stats.underruns(), 0);
    assert!(s.runner.counters().produces > 250);
}

#[test]
fn slow_decodes_and_skipped_produces_are_absorbed() {
    let faults = [
        Fault::SlowDecode {
            call: 200,
            extra: SampleFrames(4_800),
        },
        Fault::DropStep { call: 250 },
        Fault::DropStep { call: 251 },
        Fault::DropStep { call: 400 },
    ];
    let mut s = sim(RunnerConfig::default(), &faults, Box::new(NullTrace));
    s.run_until(6 * RATE);
    assert_eq!(s.stats.underruns(), 0);
    let mut clean = sim(RunnerConfig::default(), &[], Box::new(NullTrace));
    clean.run_until(6 * RATE);
    let (c, baseline) = (s.runner.counters(), clean.runner.counters());
    assert!(
        c.gap_fill > baseline.gap_fill,
        "ticks without a produce gap-fill: {c:?} vs {baseline:?}"
    );
}

#[test]
fn stalls_on_a_schedule_never_click() {
    // Many stalls of random lengths, some longer than the lead: late patches
    // are trimmed or dropped by the output (never written behind the
    // playhead), underruns fade, and what plays stays continuous.
    let mut faults = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for call in (50..1_500).step_by(37) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        faults.push(Fault::SlowStep {
            call,
            extra: SampleFrames(x % 20_000),
        });
    }
    let mut s = sim(RunnerConfig::default(), &faults, Box::new(NullTrace));
    s.run_until(20 * RATE);
    // The signal model plays a 128-frame-period sine of constant amplitude
    // here, so any jump between consecutive frames is a click.
    let rec = s.output.recording();
    let mut worst = 0.0f32;
    for f in 1..rec.len() / 2 {
        worst = worst.max((rec[2 * f] - rec[2 * f - 2]).abs());
    }
    // Largest step of a 0.25-amplitude sine of period 128 is 2π·0.25/128.
    assert!(worst < 0.0125, "a discontinuity of {worst}");
    assert!(s.stats.underruns() > 0, "some stalls outran the lead");
}

#[test]
fn a_loop_band_replays_and_takes_changes_within_a_lap() {
    let mut s = sim(RunnerConfig::default(), &[], Box::new(NullTrace));
    s.run_until(2 * RATE);
    // A band whose length is no whole number of the sine's periods, so the
    // seam would click without its crossfade.
    let (a, b) = (
        SampleFrames(2 * RATE + 24_000),
        SampleFrames(3 * RATE + 24_037),
    );
    assert_eq!(s.control.arm_band(a, b), Ok(true));
    s.run_until(6 * RATE);
    let playhead = s.stats.playhead();
    assert!(
        a <= playhead && playhead < b,
        "the playhead loops in the band: {playhead:?}"
    );
    assert_eq!(s.stats.band(), Some((a, b)));
    assert_eq!(s.stats.underruns(), 0);
    let step = s.largest_step(0);
    assert!(step < 0.0165, "the loop seam clicks: {step}");
    // A change while looping is heard within one lap plus the lead.
    let at = s.clock.now().0;
    s.control.set_knob("brightness", 1.0).unwrap();
    s.run_until(at + 2 * RATE);
    let heard = s.first_at_level(at, 0.45).expect("heard while looping");
    assert!(heard - at <= RATE, "{} frames", heard - at);
    assert!(s.control.disarm_band());
    s.run_until(at + 4 * RATE);
    assert_eq!(s.stats.band(), None);
    assert!(s.stats.playhead() > b, "plays on past the band");
    assert_eq!(s.stats.underruns(), 0);
}

#[test]
fn a_knob_change_is_acknowledged_at_every_stage_in_order() {
    use earshot_engine::ack::{AckKind, AckStage};
    let mut s = sim(fitting_lead(), &[], Box::new(NullTrace));
    let acks = s.control.subscribe_acks();
    s.run_until(RATE);
    let at = s.clock.now();
    s.control.set_knob("brightness", 0.9).unwrap();
    s.run_until(2 * RATE);
    let events: Vec<_> = acks
        .try_iter()
        .filter(|e| e.kind == AckKind::Knob)
        .collect();
    let stages: Vec<_> = events.iter().map(|e| e.stage).collect();
    assert_eq!(
        stages,
        [
            AckStage::Received,
            AckStage::Committed,
            AckStage::FirstProduce,
            AckStage::FirstAudible
        ],
        "{events:?}"
    );
    assert!(events.iter().all(|e| e.epoch == 1));
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "in time order: {events:?}"
    );
    assert_eq!(events[0].at, at);
    // Heard about a near lead later, observed at the next tick boundary.
    let heard = events[3].at - at;
    assert!(heard.0 < 4_800, "first audible after {heard:?}");
    // The same value again is acknowledged with the epoch in force.
    s.control.set_knob("brightness", 0.9).unwrap();
    let again: Vec<_> = acks.try_iter().collect();
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|e| e.epoch == 1));
}

/// An encoder that waits for the test to let it finish.
struct GatedEncoder(std::sync::mpsc::Receiver<()>);

impl earshot_engine::conditioning::PromptEncoder for GatedEncoder {
    fn encode(
        &mut self,
        prompt: &str,
    ) -> Result<ConditioningInput, earshot_engine::conditioning::EncoderError> {
        self.0.recv().map_err(
            |e| earshot_engine::conditioning::EncoderError::Unavailable {
                detail: e.to_string(),
            },
        )?;
        let mut input = ConditioningInput::null(earshot_engine::sim::signal::stereo().conditioning);
        input.pooled[0] = prompt.len() as f32;
        Ok(input)
    }
}

#[test]
fn ticks_keep_their_cadence_during_an_encode_and_the_prompt_reaches_the_ear() {
    use earshot_engine::ack::{AckKind, AckStage};
    let trace = SharedTrace::default();
    let mut s = sim(RunnerConfig::default(), &[], Box::new(trace.clone()));
    let (release, gate) = std::sync::mpsc::channel();
    s.control.set_encoder(Box::new(GatedEncoder(gate)));
    let acks = s.control.subscribe_acks();
    s.run_until(RATE);
    let control = s.control.clone();
    let encode = std::thread::spawn(move || control.set_prompt("slow strings"));
    // Wait until the request is recorded (the encode then waits on the gate).
    while s.control.lock().prompt_requests == 0 {
        std::thread::yield_now();
    }
    let from = s.clock.now();
    s.run_until(from.0 + RATE); // a whole second of ticks while the encode is stuck
    let starts: Vec<u64> = trace
        .0
        .lock()
        .unwrap()
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::TickStart { at, .. } if *at >= from => Some(at.0),
            _ => None,
        })
        .collect();
    let mut gaps: Vec<u64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() > 50, "ticks went on: {}", gaps.len());
    gaps.sort_unstable();
    let (median, max) = (gaps[gaps.len() / 2], *gaps.last().unwrap());
    assert!(
        4 * max <= 5 * median,
        "max tick gap {max} vs median {median} during the encode"
    );
    release.send(()).unwrap();
    assert_eq!(encode.join().unwrap(), Ok(1));
    let committed_at = s.clock.now();
    s.run_until(committed_at.0 + RATE);
    let stages: Vec<AckStage> = acks
        .try_iter()
        .filter(|e| e.kind == AckKind::Conditioning && e.epoch == 1)
        .map(|e| e.stage)
        .collect();
    assert_eq!(
        stages,
        [
            AckStage::Received,
            AckStage::Committed,
            AckStage::FirstProduce,
            AckStage::FirstAudible
        ]
    );
    assert_eq!(s.stats.audible().conditioning, 1);
    assert_eq!(s.stats.underruns(), 0);
}

#[test]
fn disarming_a_band_at_any_point_of_its_lap_plays_on_without_a_gap() {
    let (a, b) = (
        SampleFrames(2 * RATE + 24_000),
        SampleFrames(3 * RATE + 24_037),
    );
    let lap = (b - a).0;
    for frac in [1u64, 4, 7, 9, 10] {
        let mut s = sim(fitting_lead(), &[], Box::new(NullTrace));
        s.run_until(2 * RATE);
        assert_eq!(s.control.arm_band(a, b), Ok(true));
        // Into the second lap, then disarm at a tenth of the lap `frac`
        // from its start (10: just before the band's end).
        s.run_until(4 * RATE);
        let pos = s.stats.playhead().0;
        let offset = (pos - a.0) % lap;
        let target = lap * frac / 10 - 700.min(lap * frac / 10);
        let wait = (target + lap - offset) % lap;
        s.run_until(s.clock.now().0 + wait);
        assert!(s.control.disarm_band());
        s.run_until(s.clock.now().0 + 3 * RATE);
        assert_eq!(s.stats.band(), None, "disarmed");
        assert!(s.stats.playhead() > b, "plays on past the band");
        assert_eq!(
            s.stats.underruns(),
            0,
            "disarmed at {frac}/10 of the lap: {} frames of underrun",
            s.stats.underrun_frames()
        );
    }
}
