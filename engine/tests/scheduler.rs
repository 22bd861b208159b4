//! Scheduling is a trait the runner takes: a scheduler handed in through
//! `Runner::with_scheduler` drives the same runner, output and acks as the
//! built-in stream, and the runner calls nothing else to plan its slots.

use earshot_engine::backend::{Backend, LatentHandle};
use earshot_engine::clock::VirtualClock;
use earshot_engine::frames::SampleFrames;
use earshot_engine::runner::RunnerConfig;
use earshot_engine::schedule::Scheduler;
use earshot_engine::sim::{CostModel, CostedBackend, SignalBackend, VirtualRig};
use earshot_engine::stream::{Produce, Stream, StreamError, TickInputs, TickOutcome};
use earshot_engine::trace::NullTrace;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A stream behind the trait that counts the runner's calls.
struct Counting {
    inner: Stream,
    ticks: Arc<AtomicU64>,
    released: Arc<AtomicU64>,
}

impl Scheduler for Counting {
    fn tick(
        &mut self,
        backend: &mut dyn Backend,
        inputs: &TickInputs<'_>,
    ) -> Result<TickOutcome, StreamError> {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        self.inner.tick(backend, inputs)
    }

    fn tick_finishing_first(
        &mut self,
        backend: &mut dyn Backend,
        inputs: &TickInputs<'_>,
    ) -> Result<bool, StreamError> {
        self.inner.tick_finishing_first(backend, inputs)
    }

    fn take_produce(&mut self) -> Option<Produce> {
        self.inner.take_produce()
    }

    fn release(&mut self, latents: LatentHandle) -> Result<(), StreamError> {
        self.released.fetch_add(1, Ordering::Relaxed);
        self.inner.release(latents)
    }

    fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }

    fn ticks(&self) -> u64 {
        self.inner.ticks()
    }

    fn set_seed(&mut self, seed: u64) {
        self.inner.set_seed(seed);
    }
}

const COSTS: CostModel = CostModel {
    step_base: SampleFrames(480),
    step_per_slot: SampleFrames(0),
    decode_base: SampleFrames(24),
    decode_per_1024: SampleFrames(48),
    encode: SampleFrames(0),
};

/// Plays 3 s of the signal model on the virtual clock, a knob change at
/// 1 s, through the built-in stream or a counting scheduler; returns what
/// was played and the ticks the scheduler counted.
fn play(counted: bool) -> (Vec<f32>, u64, u64) {
    let clock = VirtualClock::new();
    let mut backend = CostedBackend::new(SignalBackend::default(), clock.clone(), COSTS);
    let config = RunnerConfig::default();
    let ticks = Arc::new(AtomicU64::new(0));
    let released = Arc::new(AtomicU64::new(0));
    let mut rig = if counted {
        let scheduler = Counting {
            inner: Stream::new(config.stream, &mut backend).unwrap(),
            ticks: Arc::clone(&ticks),
            released: Arc::clone(&released),
        };
        let (backend, trace) = (Box::new(backend), Box::new(NullTrace));
        VirtualRig::with_scheduler(clock, backend, config, trace, Box::new(scheduler))
    } else {
        VirtualRig::new(clock, Box::new(backend), config, Box::new(NullTrace))
    }
    .unwrap();
    let runner_ticks = rig
        .run_until(SampleFrames(3 * 48_000), |control, now| {
            if now.0 >= 48_000 && control.lock().knobs.epoch() == 0 {
                control.set_knob("brightness", 0.9).unwrap();
            }
        })
        .unwrap();
    assert!(!counted || ticks.load(Ordering::Relaxed) == runner_ticks);
    (
        rig.output.recording().to_vec(),
        ticks.load(Ordering::Relaxed),
        released.load(Ordering::Relaxed),
    )
}

#[test]
fn a_scheduler_behind_the_trait_plays_what_the_stream_plays() {
    let (built_in, _, _) = play(false);
    let (behind_trait, ticks, released) = play(true);
    assert!(ticks > 100, "the runner stepped through the trait: {ticks}");
    assert!(released > 0, "and gave produces back through it");
    assert_eq!(built_in.len(), behind_trait.len());
    assert!(
        built_in
            .iter()
            .zip(&behind_trait)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "bit-identical output"
    );
}
