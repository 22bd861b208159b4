//! The runner on its own thread with the real clock: it plays and stops
//! cleanly, and a stop never hangs on a stalled tick.
//!
//! These run on the real clock on shared machines, so they assert what
//! holds however slow the machine is: they wait for events (a patch
//! applied, a stall begun) rather than for a time, and every wall-clock
//! bound is one that only a hang breaks.

use earshot_engine::backend::{
    Backend, BackendError, ConditioningHandle, DecodeRequest, DeviceServices, Generator, Renderer,
    StepBatch,
};
use earshot_engine::clock::{Clock, RealClock};
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::control::Control;
use earshot_engine::frames::SampleFrames;
use earshot_engine::playback::{PlaybackConfig, PlaybackOutput, PlaybackStats, playback};
use earshot_engine::runner::thread::{RunnerThread, StopError};
use earshot_engine::runner::{Runner, RunnerConfig, RunnerParts};
use earshot_engine::sim::{Fault, FaultyBackend, SignalBackend};
use earshot_engine::trace::NullTrace;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

/// Longer than any wait of a working runner on the busiest machine: only a
/// hang reaches it.
const HANG: Duration = Duration::from_secs(30);

fn spawn(
    backend: Box<dyn Backend>,
    clock: Arc<dyn Clock>,
) -> (RunnerThread, PlaybackOutput, PlaybackStats) {
    let (writer, output, stats) = playback(PlaybackConfig::default(), 2).unwrap();
    let config = RunnerConfig::default();
    let runner = Runner::new(
        config,
        RunnerParts {
            backend,
            writer,
            control: Control::new(
                earshot_engine::sim::signal::stereo().knobs,
                config.stream.steps as usize,
                Arc::clone(&clock),
            ),
            clock,
            trace: Box::new(NullTrace),
            conditioning: ConditioningInput::null(
                earshot_engine::sim::signal::stereo().conditioning,
            ),
        },
    )
    .unwrap();
    (RunnerThread::spawn(runner).unwrap(), output, stats)
}

/// The loop plays (a patch reaches the output) and then stops cleanly,
/// handing back counters that saw the work. Under load it only takes
/// longer to reach the first patch and to finish its tick; the test waits
/// for the patch rather than for a time, and the stop's bound is one only
/// a hang breaks.
#[test]
fn a_running_loop_plays_and_stops_cleanly() {
    let clock: Arc<dyn Clock> = Arc::new(RealClock::new(48_000));
    // The signal model costs microseconds, so pace ticks with a small
    // stall each to keep the test light.
    let faults = (0..100_000)
        .map(|call| Fault::SlowStep {
            call,
            extra: SampleFrames(48),
        })
        .collect();
    let backend = FaultyBackend::new(SignalBackend::default(), Arc::clone(&clock), faults);
    let (thread, mut output, stats) = spawn(Box::new(backend), clock);
    let mut block = vec![0.0f32; 256];
    let started = Instant::now();
    while stats.patches_applied() == 0 {
        assert!(started.elapsed() < HANG, "no patch reached the output");
        output.render(&mut block);
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(!thread.is_finished(), "still running before the stop");
    let counters = thread.stop(HANG).expect("stops cleanly");
    assert!(counters.ticks > 0 && counters.produces > 0, "{counters:?}");
    assert!(counters.produces <= counters.ticks, "{counters:?}");
}

/// A backend whose step call `stall_at` blocks until the test releases it:
/// a tick that stalls exactly as long as the test wants, on any machine.
/// It reports when the stall begins and when it is dropped (the runner
/// thread's teardown).
struct GatedBackend {
    inner: SignalBackend,
    steps: u64,
    stall_at: u64,
    entered: Sender<()>,
    release: Receiver<()>,
    dropped: Sender<()>,
}

impl DeviceServices for GatedBackend {
    earshot_engine::pass_through_device!();
}

impl Generator for GatedBackend {
    earshot_engine::pass_through_latents!();

    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
        self.inner.encode(input)
    }

    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
        if self.steps == self.stall_at {
            // The test may be gone (a failed assertion); nothing to do then.
            let _ = self.entered.send(());
            let _ = self.release.recv();
        }
        self.steps += 1;
        self.inner.step(batch)
    }
}

impl Renderer for GatedBackend {
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        self.inner.decode(request, out)
    }
}

impl Drop for GatedBackend {
    fn drop(&mut self) {
        let _ = self.dropped.send(());
    }
}

/// A stop asked for during a stalled tick gives up after its own timeout
/// and reports it, and the thread left behind still ends once the stall
/// does. The stall is a gate the test holds, not a duration, so the stop
/// meets a stalled tick however slow the machine; the stop waits at least
/// its timeout (a property of the wait, not of the machine's speed) and
/// returns well before a hang bound.
#[test]
fn a_stalled_tick_cannot_hang_the_stop() {
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let (dropped_tx, dropped) = mpsc::channel();
    let backend = GatedBackend {
        inner: SignalBackend::default(),
        steps: 0,
        stall_at: 2,
        entered: entered_tx,
        release: release_rx,
        dropped: dropped_tx,
    };
    let clock: Arc<dyn Clock> = Arc::new(RealClock::new(48_000));
    let (thread, _output, _stats) = spawn(Box::new(backend), clock);
    entered
        .recv_timeout(HANG)
        .expect("the third step began its stall");
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let result = thread.stop(timeout);
    let waited = started.elapsed();
    assert!(matches!(result, Err(StopError::Timeout(_))), "{result:?}");
    assert!(waited >= timeout, "waited its timeout: {waited:?}");
    assert!(waited < HANG, "bounded: {waited:?}");
    release.send(()).unwrap();
    dropped
        .recv_timeout(HANG)
        .expect("the thread left behind ends once its tick does");
}
