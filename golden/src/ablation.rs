//! Feature ablation: one scenario run with each latency feature switched
//! off or set differently, on the same cost model, to show what each buys;
//! and the determinism check of contract 4: with every feature on and
//! every feature off, each slot that saw the same inputs ends with
//! bit-identical latents — only the timing of delivery may differ.

use crate::costs::CostProfile;
use crate::metrics::{Percentiles, measure};
use crate::scenario::Scenario;
use crate::suite::{BackendFactory, EncoderFactory, content_for};
use crate::virtual_run::{RunError, run_virtual};
use earshot_engine::backend::{
    Backend, BackendError, ConditioningHandle, DecodeRequest, StepBatch,
};
use earshot_engine::backend::{DeviceServices, Generator, Renderer};
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::frames::SampleFrames;
use earshot_engine::runner::{NearPlacement, RunnerConfig};
use earshot_engine::sampler::SamplerKind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A named change of the runner's settings.
pub struct Variant {
    /// What it is, for the table.
    pub name: String,
    /// How it changes the scenario's settings.
    pub apply: Box<dyn Fn(&mut RunnerConfig)>,
}

/// The ablation variants: each feature off or set otherwise, and three
/// lead floors.
pub fn variants() -> Vec<Variant> {
    let v = |name: &str, apply: Box<dyn Fn(&mut RunnerConfig)>| Variant {
        name: name.to_owned(),
        apply,
    };
    let mut list = vec![
        v("as in the scenario (all features on)", Box::new(|_| {})),
        v("near repatch off", Box::new(|c| c.near_repatch = false)),
        v(
            "near repatch placed by interval (one write)",
            Box::new(|c| c.near_placement = NearPlacement::Interval),
        ),
        v(
            "finishing slot not stepped first",
            Box::new(|c| c.finishing_first = false),
        ),
        v("queue_cap 2", Box::new(|c| c.stream.queue_cap = 2)),
        v(
            "same-tick delivery off (finishing first needs it)",
            Box::new(|c| c.same_tick_delivery = false),
        ),
    ];
    list.push(v(
        "near margin 0 (land at the render estimate)",
        Box::new(|c| c.lead.near_margin = SampleFrames::ZERO),
    ));
    for ms in [100u64, 150, 250] {
        list.push(v(
            &format!("lead floor {ms} ms"),
            Box::new(move |c| c.lead.floor = SampleFrames(ms * 48)),
        ));
    }
    list
}

/// One row of the ablation table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AblationRow {
    /// Frames per second of the run's clock (the figures' unit).
    pub sample_rate: u32,
    /// The variant.
    pub variant: String,
    /// Knob changes' `audible_first`.
    pub knob_audible_first: Option<Percentiles>,
    /// Knob changes' `audible_full`.
    pub knob_audible_full: Option<Percentiles>,
    /// Underruns.
    pub underruns: u64,
    /// Median tick interval.
    pub tick_median: u64,
    /// Near repatches sent.
    pub near_patches: u64,
    /// Patches the output trimmed at the playhead (landed late).
    pub trimmed_patches: u64,
}

/// Runs `scenario` once per variant.
pub fn ablate(
    scenario: &Scenario,
    profile: &CostProfile,
    backend: BackendFactory<'_>,
    encoder: EncoderFactory<'_>,
) -> Result<Vec<AblationRow>, RunError> {
    let mut rows = Vec::new();
    for variant in variants() {
        let mut s = scenario.clone();
        (variant.apply)(&mut s.engine.runner);
        let (b, e) = content_for(&s, backend, encoder)?;
        let m = measure(&run_virtual(&s, profile, b, e)?);
        let knob = m.kinds.get("knob");
        rows.push(AblationRow {
            sample_rate: m.sample_rate,
            variant: variant.name,
            knob_audible_first: knob.and_then(|k| k.audible_first),
            knob_audible_full: knob.and_then(|k| k.audible_full),
            underruns: m.run.underruns,
            tick_median: m.run.tick_median,
            near_patches: m.run.near_patches,
            trimmed_patches: m.run.trimmed_patches,
        });
    }
    Ok(rows)
}

/// 64-bit FNV-1a, extended value by value.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Per slot serial: a hash of every input its steps saw, and of its final
/// latents.
type Probed = Arc<Mutex<BTreeMap<u64, (u64, Option<u64>)>>>;

/// Records, per slot, the inputs of each step and the latents it ends
/// with.
struct LatentProbe {
    inner: Box<dyn Backend>,
    steps: u32,
    seen: Probed,
    scratch: Vec<f32>,
}

impl DeviceServices for LatentProbe {
    earshot_engine::pass_through_device!();
}

impl Generator for LatentProbe {
    earshot_engine::pass_through_latents!();

    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
        self.inner.encode(input)
    }

    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
        self.inner.step(batch)?;
        let knobs = batch.knob_rows.len() / batch.slots.len().max(1);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        for (i, slot) in batch.slots.iter().enumerate() {
            let entry = seen.entry(slot.noise.slot).or_insert((FNV_START, None));
            let mut h = fnv(entry.0, &slot.step.to_le_bytes());
            h = fnv(h, &slot.noise.seed.to_le_bytes());
            h = fnv(h, &slot.conditioning.index().to_le_bytes());
            for v in &batch.knob_rows[i * knobs..(i + 1) * knobs] {
                h = fnv(h, &v.to_bits().to_le_bytes());
            }
            entry.0 = h;
            if slot.step + 1 == self.steps {
                self.scratch
                    .resize(self.inner.description().window_len(), 0.0);
                self.inner.read_latents(slot.latents, &mut self.scratch)?;
                let bits = self
                    .scratch
                    .iter()
                    .fold(FNV_START, |h, v| fnv(h, &v.to_bits().to_le_bytes()));
                entry.1 = Some(bits);
            }
        }
        Ok(())
    }
}

impl Renderer for LatentProbe {
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        self.inner.decode(request, out)
    }
}

/// The determinism check's result for one sampler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeterminismResult {
    /// The sampler, as text.
    pub sampler: String,
    /// Slots completed in both runs with the same inputs at every step.
    pub compared: usize,
    /// Of those, slots whose final latents differ in any bit.
    pub differing: usize,
    /// Slots completed in both runs with different inputs (a change
    /// landed on another step because the timing differed): not compared.
    pub inputs_differ: usize,
}

/// Every latency feature off (and the produce queue deeper).
pub fn features_off(c: &mut RunnerConfig) {
    c.near_repatch = false;
    c.same_tick_delivery = false;
    c.finishing_first = false;
    c.near_placement = NearPlacement::Interval;
    c.stream.queue_cap = 2;
}

/// Runs `scenario` with every feature on and with every feature off, for
/// `sampler`, on `backend` (the reference CPU backend for the check to
/// mean anything), and compares the final latents slot by slot.
pub fn determinism(
    scenario: &Scenario,
    profile: &CostProfile,
    sampler: SamplerKind,
    backend: BackendFactory<'_>,
    encoder: EncoderFactory<'_>,
) -> Result<DeterminismResult, RunError> {
    let mut results = Vec::new();
    for off in [false, true] {
        let mut s = scenario.clone();
        s.engine.runner.stream.sampler = sampler;
        if off {
            features_off(&mut s.engine.runner);
        }
        let seen: Probed = Arc::default();
        let size = s.engine.size;
        let probe = LatentProbe {
            inner: backend(size).map_err(RunError::BackendSetup)?,
            steps: s.engine.runner.stream.steps,
            seen: seen.clone(),
            scratch: Vec::new(),
        };
        run_virtual(&s, profile, Box::new(probe), encoder(size))?;
        let map = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
        results.push(map);
    }
    let (on, off) = (&results[0], &results[1]);
    let mut r = DeterminismResult {
        sampler: match sampler {
            SamplerKind::Ode => "ode".into(),
            SamplerKind::Sde { churn } => format!("sde (churn {churn})"),
        },
        compared: 0,
        differing: 0,
        inputs_differ: 0,
    };
    for (serial, (inputs, latents)) in on {
        let (Some(latents), Some((other_inputs, Some(other)))) = (latents, off.get(serial)) else {
            continue;
        };
        if inputs != other_inputs {
            r.inputs_differ += 1;
        } else {
            r.compared += 1;
            r.differing += usize::from(latents != other);
        }
    }
    Ok(r)
}
