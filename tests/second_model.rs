//! A model of another geometry altogether (mono, 24 kHz, hop 512, two
//! knobs, a 48-frame window) runs through the same runner, output and
//! golden harness as the reference model, with nothing in them changed:
//! it plays, a knob change is heard (measured from the output against a
//! twin run without the change) and the harness measures it in its own
//! frames.

use earshot::engine::clock::VirtualClock;
use earshot::engine::frames::SampleFrames;
use earshot::engine::playback::PlaybackStats;
use earshot::engine::runner::RunnerConfig;
use earshot::engine::sim::signal::mono;
use earshot::engine::sim::{CostModel, CostedBackend, SignalBackend, VirtualRig};
use earshot::engine::trace::{MemoryTrace, TraceEvent, TraceSink};
use earshot::golden::costs::CostProfile;
use earshot::golden::metrics::measure;
use earshot::golden::scenario::Scenario;
use earshot::golden::suite::content_for;
use earshot::golden::virtual_run::run_virtual_with;
use std::path::Path;
use std::sync::{Arc, Mutex};

const RATE: u64 = 24_000;
/// When the twin with the change moves its knob: one second in.
const CHANGE_AT: u64 = RATE;
const LEVEL: f32 = 0.9;

/// Shares a trace with the test after the runner took its sink.
#[derive(Clone, Default)]
struct SharedTrace(Arc<Mutex<MemoryTrace>>);

impl TraceSink for SharedTrace {
    fn emit(&mut self, event: &TraceEvent) {
        self.0.lock().unwrap().emit(event);
    }
}

struct Played {
    audio: Vec<f32>,
    stats: PlaybackStats,
    events: Vec<TraceEvent>,
}

/// Three seconds of the mono model on the virtual clock, 5 ms per step
/// and a light decode, with `level` moved at [`CHANGE_AT`] when `change`.
fn play(change: bool) -> Played {
    let model = mono();
    let clock = VirtualClock::new();
    let costs = CostModel {
        step_base: SampleFrames(120),
        step_per_slot: SampleFrames(0),
        decode_base: SampleFrames(12),
        decode_per_1024: SampleFrames(24),
        encode: SampleFrames(0),
    };
    let backend = CostedBackend::new(SignalBackend::new(model), clock.clone(), costs);
    let mut config = RunnerConfig::default();
    config.lead.floor = SampleFrames(3_600);
    let trace = SharedTrace::default();
    let mut rig =
        VirtualRig::new(clock, Box::new(backend), config, Box::new(trace.clone())).unwrap();
    rig.run_until(SampleFrames(3 * RATE), |control, now| {
        if change && now.0 >= CHANGE_AT && control.lock().knobs.epoch() == 0 {
            control.set_knob("level", LEVEL).unwrap();
        }
    })
    .unwrap();
    let events = trace.0.lock().unwrap().events.clone();
    Played {
        audio: rig.output.recording().to_vec(),
        stats: rig.stats,
        events,
    }
}

fn peak(block: &[f32]) -> f32 {
    block.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

#[test]
fn a_mono_24k_model_plays_and_its_knob_change_is_heard() {
    let (plain, changed) = (play(false), play(true));
    let model = mono();
    // Mono: one value per frame, as many as the clock played.
    assert!(
        plain.audio.len() as u64 >= 3 * RATE - 128,
        "{}",
        plain.audio.len()
    );
    assert_eq!(plain.audio.len(), changed.audio.len());
    assert!(changed.audio.iter().all(|v| v.is_finite()));
    for p in [&plain, &changed] {
        assert_eq!(p.stats.underruns(), 0, "the virtual clock leaves no gap");
    }
    // The knob marks of every produce are the model's two knobs.
    let produces: Vec<_> = changed
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Produce { shaped, .. } => Some(shaped.as_slice().len()),
            _ => None,
        })
        .collect();
    assert!(!produces.is_empty());
    assert!(produces.iter().all(|&n| n == model.knob_count()));

    // Heard: the first frame where the twin runs differ.
    let heard = plain
        .audio
        .iter()
        .zip(&changed.audio)
        .position(|(a, b)| a != b)
        .expect("the change is heard") as u64;
    assert!(heard >= CHANGE_AT, "nothing differs before the change");
    let latency = heard - CHANGE_AT;
    // Bounded by the structure, not the machine: a change reaches the
    // next produce within the window's steps and lands ahead of the
    // playhead by at most the lead.
    let bound = model.window_frames().0 + 2 * 3_600;
    assert!(latency <= bound, "heard {latency} frames after the change");
    println!(
        "mono 24 kHz: knob change heard {latency} frames ({:.1} ms) after it was made",
        latency as f64 * 1000.0 / RATE as f64
    );

    // Before: the default level; well after: the new level, both twins
    // otherwise the same sine.
    let default = SignalBackend::amplitude(model.knobs[0].normalize(model.knobs[0].default));
    let moved = SignalBackend::amplitude(model.knobs[0].normalize(LEVEL));
    let settled = (heard + model.window_frames().0) as usize;
    let before = &changed.audio[(CHANGE_AT - 1280) as usize..CHANGE_AT as usize];
    let after = &changed.audio[settled..settled + 1280];
    assert!((peak(before) - default).abs() < 1e-3, "{}", peak(before));
    assert!((peak(after) - moved).abs() < 1e-3, "{}", peak(after));
    assert!((peak(&plain.audio[settled..settled + 1280]) - default).abs() < 1e-3);
}

#[test]
fn the_golden_harness_measures_the_mono_model_in_its_own_frames() {
    use earshot::engine::BackendError;
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let scenario = Scenario::load(&golden.join("scenarios/mono_knob_step.toml")).unwrap();
    let profile = CostProfile::load(&golden.join("profiles"), &scenario.profile).unwrap();
    let no_reference = |_| -> Result<Box<dyn earshot::engine::Backend>, BackendError> {
        Err(BackendError::InvalidRequest {
            detail: "the mono scenario brings its own content".into(),
        })
    };
    let hash = |_| -> Box<dyn earshot::engine::conditioning::PromptEncoder> {
        unreachable!("the mono scenario brings its own encoder")
    };
    let (backend, encoder) = content_for(&scenario, &no_reference, &hash).unwrap();
    assert_eq!(backend.description().name, "signal-mono");
    let rec = run_virtual_with(&scenario, &profile, backend, encoder, true).unwrap();
    assert_eq!((rec.sample_rate, rec.channels), (24_000, 1));
    // One value per frame played: the run's length and the output's last
    // callbacks past it, far short of two channels' worth.
    let values = rec.audio.len() as u64;
    assert!(
        (scenario.duration.0..scenario.duration.0 + 4_096).contains(&values),
        "{values}"
    );
    assert!(rec.audio.iter().all(|v| v.is_finite()));
    let m = measure(&rec);
    assert_eq!(m.sample_rate, 24_000);
    let knob = &m.kinds["knob"];
    assert_eq!((knob.applied, knob.not_applied), (4, 0), "{knob:?}");
    let audible = knob.audible_first.expect("knob changes are audible");
    // In the model's frames: within a window and the lead, as above.
    assert!(
        audible.max <= mono().window_frames().0 + 2 * 3_600,
        "{audible:?}"
    );
    assert_eq!(m.run.underruns, 0);
    // `pitch` shapes the latents' knob input but the signal model does not
    // voice it: the harness sees it applied, and `level` is what is heard.
    let level_changes = m.changes.iter().filter(|c| c.heard_first.is_some()).count();
    assert!(level_changes >= 3, "{:?}", m.changes);
}
