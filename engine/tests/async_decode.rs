//! The runner with a backend whose decodes land after the call returns
//! (as a device's asynchronous read-back does): the output applies each
//! patch once its samples have landed, the runner never waits inside a
//! tick (only at the next tick's boundary), and playback stays covered.

use earshot_engine::backend::{
    Backend, BackendCounters, BackendError, ConditioningHandle, DecodeRequest, DeviceServices,
    Generator, LandingFailed, Renderer, StepBatch, landing_len,
};
use earshot_engine::clock::{Clock, VirtualClock};
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::control::Control;
use earshot_engine::frames::SampleFrames;
use earshot_engine::playback::{Arrivals, Landing, PatchBuffer, PlaybackConfig, Ticket, playback};
use earshot_engine::runner::{Runner, RunnerConfig, RunnerParts};
use earshot_engine::sim::{CostModel, CostedBackend, SignalBackend, VirtualOutput};
use earshot_engine::trace::NullTrace;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Renders at once but writes the samples into the patch's buffer (NaN
/// until then) and tells their arrival only at the next tick boundary, the
/// latest a device's copy could land.
struct LandsAtSettle<B> {
    inner: B,
    arrivals: Option<Arc<Arrivals>>,
    last: Option<Ticket>,
    settles: Arc<AtomicU64>,
    /// Copies still to land: where, and what.
    landing: Vec<(*mut f32, Vec<f32>)>,
}

// SAFETY: the raw pointers are patch buffers the runner lent until their
// tickets arrive; the backend moves between threads only as a whole.
unsafe impl<B: Send> Send for LandsAtSettle<B> {}

impl<B: Backend> DeviceServices for LandsAtSettle<B> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn description(&self) -> &earshot_engine::ModelDescription {
        self.inner.description()
    }

    fn reserve(&mut self, max_slots: usize) -> Result<(), BackendError> {
        self.inner.reserve(max_slots)
    }

    fn counters(&self) -> BackendCounters {
        self.inner.counters()
    }

    fn settle(&mut self) -> Result<(), BackendError> {
        self.settles.fetch_add(1, Ordering::Relaxed);
        for (dst, samples) in self.landing.drain(..) {
            // SAFETY: the buffer is still lent (its ticket has not arrived).
            unsafe { std::ptr::copy_nonoverlapping(samples.as_ptr(), dst, samples.len()) };
        }
        if let (Some(a), Some(last)) = (&self.arrivals, self.last) {
            a.arrive(last);
        }
        Ok(())
    }
}

impl<B: Backend> Generator for LandsAtSettle<B> {
    earshot_engine::pass_through_latents!();

    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
        self.inner.encode(input)
    }

    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
        self.inner.step(batch)
    }
}

impl<B: Backend> Renderer for LandsAtSettle<B> {
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        self.inner.decode(request, out)
    }

    fn decode_landing(
        &mut self,
        request: &DecodeRequest,
        mut buffer: PatchBuffer,
        arrivals: &Arc<Arrivals>,
    ) -> Result<Landing, LandingFailed> {
        let mut samples = Vec::new();
        let rendered = landing_len(self.description(), request, &buffer).and_then(|len| {
            samples.resize(len, 0.0);
            self.inner.decode(request, &mut samples)
        });
        if let Err(error) = rendered {
            return Err(LandingFailed::untouched(error, buffer));
        }
        let dst = &mut buffer.as_mut_slice()[..samples.len()];
        dst.fill(f32::NAN);
        self.landing.push((dst.as_mut_ptr(), samples));
        self.arrivals = Some(Arc::clone(arrivals));
        let ticket = arrivals.issue();
        self.last = Some(ticket);
        // SAFETY: `settle` writes inside the buffer (the length was checked)
        // and marks the ticket only after that write.
        Ok(unsafe { Landing::in_flight(buffer, ticket) })
    }
}

#[test]
fn patches_landing_a_tick_late_keep_playback_covered_and_in_order() {
    let clock = VirtualClock::new();
    let costs = CostModel {
        step_base: SampleFrames(480),
        step_per_slot: SampleFrames(0),
        decode_base: SampleFrames(24),
        decode_per_1024: SampleFrames(48),
        encode: SampleFrames(0),
    };
    let settles = Arc::new(AtomicU64::new(0));
    let backend = LandsAtSettle {
        inner: CostedBackend::new(SignalBackend::default(), clock.clone(), costs),
        arrivals: None,
        last: None,
        settles: Arc::clone(&settles),
        landing: Vec::new(),
    };
    let (writer, output, stats) = playback(PlaybackConfig::default(), 2).unwrap();
    let arrivals = Arc::clone(writer.arrivals());
    let mut config = RunnerConfig::default();
    config.lead.floor = SampleFrames(7_200);
    let control = Control::new(
        earshot_engine::sim::signal::stereo().knobs,
        8,
        Arc::new(clock.clone()),
    );
    let mut runner = Runner::new(
        config,
        RunnerParts {
            backend: Box::new(backend),
            writer,
            control: control.clone(),
            clock: Arc::new(clock.clone()),
            trace: Box::new(NullTrace),
            conditioning: ConditioningInput::null(
                earshot_engine::sim::signal::stereo().conditioning,
            ),
        },
    )
    .unwrap();
    let mut out = VirtualOutput::new(output, 128, true);
    let mut ticks = 0u64;
    while clock.now().0 < 5 * 48_000 {
        if clock.now().0 >= 2 * 48_000 && control.lock().knobs.epoch() == 0 {
            control.set_knob("brightness", 0.9).unwrap();
        }
        runner.tick(&mut out).unwrap();
        out.catch_up(clock.now());
        ticks += 1;
    }
    // Nothing was applied before it landed: a buffer holds NaN until then.
    assert!(
        out.recording().iter().all(|v| v.is_finite()),
        "no unlanded sample played"
    );
    assert!(arrivals.issued() > 0);
    let c = runner.counters();
    assert!(c.produces > 350, "{c:?}");
    assert_eq!(stats.underruns(), 0, "{c:?}");
    assert_eq!(
        settles.load(Ordering::Relaxed),
        ticks,
        "one wait per tick, at its boundary"
    );
    assert!(arrivals.issued() >= c.frontier + c.near);
    // Render costs reach the lead controller although no decode returned
    // with its samples: they are read when they land.
    assert!(runner.lead().render_estimate(SampleFrames(2048)) > SampleFrames::ZERO);
    // The change was heard: the near repatch still works when its
    // samples land a tick after it was sent.
    assert!(stats.audible().knob >= 1);
}
