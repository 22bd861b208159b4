//! `earshot render`: the reference model, offline, into a WAV file.

use super::render_config::{RenderConfig, SamplerName};
use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use earshot::audio_model::ModelSize;
use earshot::audio_model::config::SAMPLE_RATE;
use earshot::engine::clock::VirtualClock;
use earshot::engine::conditioning::ConditioningInput;
use earshot::engine::frames::{LatentFrames, SampleFrames};
use earshot::engine::knobs::KnobState;
use earshot::engine::offline::{OfflineConfig, RenderInputs, RenderOutput, render_offline};
use earshot::engine::sampler::SamplerKind;
use earshot::engine::stream::StreamConfig;
use earshot::engine::trace::{JsonLinesTrace, NullTrace, TraceSink};
use earshot::wav::WavOut;
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum SamplerArg {
    Ode,
    Sde,
}

#[derive(Debug, Parser)]
pub struct RenderArgs {
    /// Which backend runs the model.
    #[arg(long, value_enum, default_value_t)]
    backend: earshot::backend_choice::BackendKind,
    /// A TOML render configuration; flags given here override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Model size of the generated default weights [default: tiny].
    #[arg(long)]
    size: Option<ModelSize>,
    /// A weights file instead of generated weights.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Seed of the generated weights [default: 7].
    #[arg(long)]
    weights_seed: Option<u64>,
    /// Seconds of audio [default: 10].
    #[arg(long, allow_negative_numbers = true)]
    seconds: Option<f64>,
    /// Output WAV file.
    #[arg(long, default_value = "earshot.wav")]
    out: PathBuf,
    /// Noise seed of the stream [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Denoise steps [default: 8].
    #[arg(long)]
    steps: Option<u32>,
    /// Sampler [default: ode].
    #[arg(long, value_enum)]
    sampler: Option<SamplerArg>,
    /// SDE churn in [0, 1] [default: 0.5].
    #[arg(long)]
    churn: Option<f32>,
    /// Latent frames each produce contributes [default: 4 for tiny, 8 otherwise].
    #[arg(long)]
    produce_hop: Option<u64>,
    /// Crossfade between produces in sample frames [default: 1024].
    #[arg(long)]
    crossfade: Option<u64>,
    /// A knob value, NAME=VALUE (repeatable; see `earshot knobs`).
    #[arg(long = "knob", value_parser = parse_knob)]
    knobs: Vec<(String, f32)>,
    /// Write the run's trace as JSON lines here.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

impl Default for RenderArgs {
    fn default() -> Self {
        Self::parse_from(["render"])
    }
}

pub(super) fn parse_knob(s: &str) -> Result<(String, f32), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    let value: f32 = value
        .trim()
        .parse()
        .map_err(|_| format!("knob {name}: {value:?} is not a number"))?;
    Ok((name.trim().to_owned(), value))
}

/// Everything a render needs, with the config file and defaults applied.
struct Plan {
    config: OfflineConfig,
    knobs: KnobState,
    size: ModelSize,
    weights: Option<PathBuf>,
    weights_seed: u64,
}

fn plan(args: &RenderArgs) -> anyhow::Result<Plan> {
    let file = match &args.config {
        Some(p) => RenderConfig::load(p)?,
        None => RenderConfig::default(),
    };
    let size = args.size.or(file.model.size).unwrap_or(ModelSize::Tiny);
    let seconds = args.seconds.or(file.render.seconds).unwrap_or(10.0);
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
        bail!("--seconds must be a positive number of seconds up to 86400, got {seconds}");
    }
    let steps = args.steps.or(file.stream.steps).unwrap_or(8);
    if !(1..=64).contains(&steps) {
        bail!("--steps must lie in 1..=64, got {steps}");
    }
    let churn = args.churn.or(file.stream.churn).unwrap_or(0.5);
    if !(0.0..=1.0).contains(&churn) {
        bail!("--churn must lie in [0, 1], got {churn}");
    }
    let sampler = match (args.sampler, file.stream.sampler) {
        (Some(SamplerArg::Sde), _) | (None, Some(SamplerName::Sde)) => SamplerKind::Sde { churn },
        _ => SamplerKind::Ode,
    };
    if args.produce_hop.or(file.render.produce_hop) == Some(0) {
        bail!("--produce-hop must be at least 1 latent frame");
    }
    let mut knobs = KnobState::new(earshot_audio_model::knobs::knobs(), steps as usize);
    for (name, value) in file
        .knobs
        .iter()
        .map(|(n, v)| (n.clone(), *v))
        .chain(args.knobs.iter().cloned())
    {
        knobs.set(&name, value)?;
    }
    Ok(Plan {
        config: OfflineConfig {
            stream: StreamConfig {
                steps,
                sampler,
                queue_cap: file.stream.queue_cap.unwrap_or(1),
                seed: args.seed.or(file.stream.seed).unwrap_or(0),
            },
            duration: SampleFrames::from_seconds(seconds, SAMPLE_RATE),
            produce_hop: LatentFrames(args.produce_hop.or(file.render.produce_hop).unwrap_or(0)), // 0: unset, resolved once the model is loaded
            crossfade: SampleFrames(args.crossfade.or(file.render.crossfade).unwrap_or(1024)),
        },
        knobs,
        size,
        weights: args.weights.clone().or(file.model.weights),
        weights_seed: args
            .weights_seed
            .or(file.model.weights_seed)
            .unwrap_or(earshot::model::DEFAULT_WEIGHTS_SEED),
    })
}

pub fn run(args: &RenderArgs) -> anyhow::Result<()> {
    let plan = plan(args)?;
    let weights =
        earshot::model::load_or_init(plan.weights.as_deref(), plan.size, plan.weights_seed)?;
    let mut backend = earshot::backend_choice::make_backend(args.backend, &weights)?;
    let mut config = plan.config;
    if config.produce_hop.0 == 0 {
        // Unset: the default depends on the model actually loaded.
        config.produce_hop = LatentFrames(if weights.config().size == ModelSize::Tiny {
            4
        } else {
            8
        });
    }
    let conditioning = ConditioningInput::null(backend.description().conditioning);
    let mut wav =
        WavOut::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut trace: Box<dyn TraceSink> = match &args.trace {
        Some(p) => Box::new(JsonLinesTrace::new(BufWriter::new(
            File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))),
        None => Box::new(NullTrace),
    };
    let total = config.duration;
    let bar = if args.quiet || total.as_seconds(SAMPLE_RATE) < 20.0 {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total.0).with_style(
            ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let (mut peak, mut sum_sq, mut count) = (0.0f32, 0.0f64, 0u64);
    let mut finite = true;
    let stats = render_offline(
        backend.as_mut(),
        &config,
        RenderInputs {
            knobs: &plan.knobs,
            conditioning: &conditioning,
        },
        &VirtualClock::new(),
        RenderOutput {
            samples: &mut |s: &[f32]| {
                for &v in s {
                    finite &= v.is_finite();
                    peak = peak.max(v.abs());
                    sum_sq += f64::from(v) * f64::from(v);
                }
                count += s.len() as u64;
                wav.write(s).map_err(|e| e.to_string())
            },
            trace: trace.as_mut(),
            progress: &mut |done: SampleFrames| bar.set_position(done.0),
        },
    )?;
    bar.finish_and_clear();
    wav.finish().context("finishing the WAV file")?;
    if !finite {
        bail!("the render produced non-finite samples");
    }
    let db = |x: f64| 20.0 * x.max(1e-12).log10();
    let rms = (sum_sq / count.max(1) as f64).sqrt();
    println!(
        "rendered {:.2} s ({}, {}) to {}: {} produces, {} ticks, real-time factor {:.1}x, peak {:.1} dBFS, rms {:.1} dBFS",
        stats.audio.as_seconds(SAMPLE_RATE),
        weights.config().size,
        backend.name(),
        args.out.display(),
        stats.produces,
        stats.ticks,
        stats.realtime_factor(SAMPLE_RATE),
        db(f64::from(peak)),
        db(rms),
    );
    Ok(())
}
