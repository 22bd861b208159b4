//! The runner on its own thread with the real clock: it plays, stops
//! cleanly and quickly, and a stop never hangs on a stalled tick.

use earshot_engine::clock::{Clock, RealClock};
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::control::Control;
use earshot_engine::frames::SampleFrames;
use earshot_engine::playback::{PlaybackConfig, playback};
use earshot_engine::runner::thread::{RunnerThread, StopError};
use earshot_engine::runner::{Runner, RunnerConfig, RunnerParts};
use earshot_engine::sim::{Fault, FaultyBackend, SignalBackend};
use earshot_engine::trace::NullTrace;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn spawn(faults: Vec<Fault>) -> (RunnerThread, earshot_engine::playback::PlaybackOutput) {
    let clock: Arc<dyn Clock> = Arc::new(RealClock::new(48_000));
    let backend = FaultyBackend::new(SignalBackend::default(), Arc::clone(&clock), faults);
    let (writer, output, _stats) = playback(PlaybackConfig::default(), 2).unwrap();
    let config = RunnerConfig::default();
    let runner = Runner::new(
        config,
        RunnerParts {
            backend: Box::new(backend),
            writer,
            control: Control::new(config.stream.steps as usize, Arc::clone(&clock)),
            clock,
            trace: Box::new(NullTrace),
            conditioning: ConditioningInput::null(128),
        },
    )
    .unwrap();
    (RunnerThread::spawn(runner).unwrap(), output)
}

#[test]
fn a_running_loop_stops_within_its_bound() {
    // The signal model costs microseconds, so pace ticks with a small
    // stall each to keep the test light.
    let faults = (0..100_000)
        .map(|call| Fault::SlowStep {
            call,
            extra: SampleFrames(48),
        })
        .collect();
    let (thread, mut output) = spawn(faults);
    let mut block = vec![0.0f32; 256];
    for _ in 0..50 {
        output.render(&mut block);
        std::thread::sleep(Duration::from_millis(2));
    }
    let started = Instant::now();
    let counters = thread.stop(Duration::from_secs(1)).expect("stops cleanly");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(counters.ticks > 0 && counters.produces > 0, "{counters:?}");
}

#[test]
fn a_stalled_tick_cannot_hang_the_stop() {
    // The third step stalls for ten seconds of real time.
    let (thread, _output) = spawn(vec![Fault::SlowStep {
        call: 2,
        extra: SampleFrames(480_000),
    }]);
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let result = thread.stop(Duration::from_millis(300));
    let waited = started.elapsed();
    assert!(matches!(result, Err(StopError::Timeout(_))), "{result:?}");
    assert!(waited < Duration::from_millis(900), "bounded: {waited:?}");
}
