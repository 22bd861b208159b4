//! `earshot play`: the reference model live, on the real clock, into a
//! sound card, or into a real-time-paced WAV file when there is none.

use super::render::{SamplerArg, parse_knob};
use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use earshot::audio_model::ModelSize;
use earshot::audio_model::config::SAMPLE_RATE;
use earshot::engine::SampleFrames;
use earshot::engine::clock::{Clock, RealClock};
use earshot::engine::conditioning::ConditioningInput;
use earshot::engine::control::Control;
use earshot::engine::lead::LeadController;
use earshot::engine::playback::{PlaybackConfig, PlaybackStats, playback};
use earshot::engine::runner::thread::{RunnerReport, RunnerThread};
use earshot::engine::runner::{Runner, RunnerConfig, RunnerParts};
use earshot::engine::sampler::SamplerKind;
use earshot::engine::stream::StreamConfig;
use earshot::engine::trace::{JsonLinesTrace, NullTrace, TraceEvent, TraceSink};
use earshot::midi::input::Learn;
use earshot::midi::{MidiControl, MidiError, MidiMapping};
use earshot::osc::OscServer;
use earshot::sinks::{CpalSink, NullSink, OutputSink, SinkError, WavSink};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long the whole shutdown (sink and runner together) may take.
const STOP_DEADLINE: Duration = Duration::from_millis(950);
/// The least the runner is given, whatever the sink took.
const RUNNER_STOP_MIN: Duration = Duration::from_millis(100);
/// How often the main thread looks at the stop conditions.
const POLL: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SinkArg {
    /// The sound card (cpal).
    Cpal,
    /// A WAV file written at real-time pace.
    Wav,
    /// Real-time pace, audio discarded.
    Null,
}

#[derive(Debug, Parser)]
pub struct PlayArgs {
    /// Which backend runs the model.
    #[arg(long, value_enum, default_value_t)]
    backend: earshot::backend_choice::BackendKind,
    /// Model size of the generated default weights.
    #[arg(long, default_value = "tiny")]
    size: ModelSize,
    /// A weights file instead of generated weights.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Seed of the generated weights.
    #[arg(long, default_value_t = earshot::model::DEFAULT_WEIGHTS_SEED)]
    weights_seed: u64,
    /// A knob value, NAME=VALUE (repeatable; see `earshot knobs`).
    #[arg(long = "knob", value_parser = parse_knob)]
    knobs: Vec<(String, f32)>,
    /// Denoise steps.
    #[arg(long, default_value_t = 8)]
    steps: u32,
    /// Smallest lead of the frontier write, in ms (default 250). tiny's
    /// window holds 256 ms of exact audio: with 150 a knob change is heard
    /// in ~14 ms instead of ~100 ms, with less margin for stalls.
    #[arg(long, default_value_t = 250)]
    lead_floor_ms: u64,
    /// Sampler.
    #[arg(long, value_enum, default_value = "ode")]
    sampler: SamplerArg,
    /// SDE churn in [0, 1].
    #[arg(long, default_value_t = 0.5)]
    churn: f32,
    /// Noise seed of the stream.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the audio goes [default: cpal when an output device opens,
    /// else wav].
    #[arg(long, value_enum)]
    sink: Option<SinkArg>,
    /// The output device by name (cpal) [default: the default device].
    #[arg(long)]
    device: Option<String>,
    /// Sample frames per block of the sound card (cpal) [default: the
    /// device's default].
    #[arg(long)]
    buffer: Option<u32>,
    /// Stop after this many seconds [default: until Ctrl-C; 10 s when it
    /// falls back to a WAV file for want of a sound card].
    #[arg(long, allow_negative_numbers = true)]
    seconds: Option<f64>,
    /// The WAV file of the wav sink.
    #[arg(long, default_value = "earshot.wav")]
    out: PathBuf,
    /// Where the run's trace goes, as JSON lines (on by default: about four
    /// small events per tick).
    #[arg(long, default_value = "earshot.trace.jsonl")]
    trace: PathBuf,
    /// Write no trace.
    #[arg(long)]
    no_trace: bool,
    /// Serve OSC control on this UDP port (0 picks a free one; see
    /// `earshot send`).
    #[arg(long)]
    osc: Option<u16>,
    /// The address the OSC server binds.
    #[arg(long, default_value = "127.0.0.1")]
    osc_bind: std::net::IpAddr,
    /// A prompt to start with (needs the text encoder's model; see
    /// scripts/setup).
    #[arg(long)]
    prompt: Option<String>,
    /// The text encoder's model directory [default: $EARSHOT_TEXT_MODEL or
    /// ~/.cache/earshot/all-MiniLM-L6-v2].
    #[arg(long)]
    text_model: Option<PathBuf>,
    /// Move knobs from the first MIDI input (control changes).
    #[arg(long)]
    midi: bool,
    /// The MIDI input to use: part of its name (implies --midi).
    #[arg(long)]
    midi_port: Option<String>,
    /// A CC→knob mapping file (TOML); the default maps CC 74, 71, 72, 73.
    #[arg(long)]
    midi_map: Option<PathBuf>,
    /// Learn mode: map the next control change to this knob and save the
    /// mapping to --midi-map (default earshot-midi.toml) (implies --midi).
    #[arg(long)]
    midi_learn: Option<String>,
}

impl Default for PlayArgs {
    fn default() -> Self {
        Self::parse_from(["play"])
    }
}

pub fn run(args: &PlayArgs) -> anyhow::Result<()> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::Release))
        .context("installing the Ctrl-C handler")?;
    let mut limit = check(args)?;
    // Open the output before the model is built, so a bad device fails fast.
    let (mut sink, fell_back) = open_sink(args)?;
    if fell_back && limit.is_none() {
        limit = Some(Duration::from_secs_f64(FALLBACK_SECONDS));
    }
    let weights =
        earshot::model::load_or_init(args.weights.as_deref(), args.size, args.weights_seed)?;
    let backend = earshot::backend_choice::make_backend(args.backend, &weights)?;
    let model = backend.description().clone();
    let clock: Arc<dyn Clock> = Arc::new(RealClock::new(model.sample_rate));
    let control = Control::new(model.knobs.clone(), args.steps as usize, Arc::clone(&clock));
    let osc_control = control.clone();
    for (name, value) in &args.knobs {
        control.set_knob(name, *value)?;
    }
    // Prompts need the text encoder; without its files playback goes on
    // with the null conditioning, unless a prompt was asked for.
    match earshot::prompt::TextPrompt::new(&weights, args.text_model.as_deref()) {
        Ok(encoder) => control.set_encoder(Box::new(encoder)),
        Err(e) if args.prompt.is_some() => return Err(e.into()),
        Err(e) => eprintln!("prompts off: {e}"),
    }
    if let Some(prompt) = &args.prompt {
        control.set_prompt(prompt)?;
    }
    let (trace, trace_failures) = open_trace(args)?;
    // MIDI (and its mapping file) before anything starts, so a bad file
    // stops nothing half-started.
    let _midi = open_midi(args, &control)?;
    let (writer, output, stats) = playback(PlaybackConfig::default(), model.channels)?;
    sink.start(output)?;
    let config = RunnerConfig {
        stream: StreamConfig {
            steps: args.steps,
            sampler: match args.sampler {
                SamplerArg::Ode => SamplerKind::Ode,
                SamplerArg::Sde => SamplerKind::Sde { churn: args.churn },
            },
            queue_cap: 1,
            seed: args.seed,
        },
        lead: earshot::engine::lead::LeadConfig {
            floor: earshot::engine::frames::SampleFrames(
                args.lead_floor_ms * u64::from(model.sample_rate) / 1000,
            ),
            ..Default::default()
        },
        ..RunnerConfig::default()
    };
    let parts = RunnerParts {
        backend,
        writer,
        control,
        clock,
        trace,
        conditioning: ConditioningInput::null(model.conditioning),
    };
    let runner = match Runner::new(config, parts)
        .map_err(anyhow::Error::from)
        .and_then(|r| RunnerThread::spawn(r).context("starting the runner thread"))
    {
        Ok(runner) => runner,
        Err(e) => {
            // Already failing; the sink's own error would only hide this one.
            let _ = sink.stop();
            return Err(e);
        }
    };
    let started = Instant::now();
    let osc = match args.osc {
        Some(port) => {
            let server = OscServer::bind((args.osc_bind, port).into(), osc_control)
                .with_context(|| format!("binding OSC on {}:{port}", args.osc_bind));
            match server {
                Ok(server) => {
                    eprintln!("OSC on {}", server.local_addr());
                    Some(server)
                }
                Err(e) => {
                    runner.request_stop();
                    let _ = sink.stop();
                    let _ = runner.stop(STOP_DEADLINE);
                    return Err(e);
                }
            }
        }
        None => None,
    };
    let info = sink.info();
    eprintln!(
        "playing {} on {info}{}",
        weights.config().size,
        if limit.is_some() {
            ""
        } else {
            "; Ctrl-C stops"
        }
    );
    loop {
        if interrupted.load(Ordering::Acquire) || runner.is_finished() || sink.is_finished() {
            break;
        }
        let left = limit.map_or(POLL, |l| l.saturating_sub(started.elapsed()));
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(POLL));
    }
    // Both stop at once against one deadline: the runner finishes its tick
    // while the sink winds down.
    if let Some(server) = osc {
        server.stop();
    }
    let stopping = Instant::now();
    runner.request_stop();
    let sink_result = sink.stop();
    let left = STOP_DEADLINE
        .saturating_sub(stopping.elapsed())
        .max(RUNNER_STOP_MIN);
    let runner_result = runner.stop_report(left);
    let stop_time = stopping.elapsed();
    let report = match runner_result {
        Ok(report) => report,
        Err(e) => {
            eprintln!(
                "played {:.2} s with {} underruns before the runner failed to stop",
                stats.playhead().as_seconds(SAMPLE_RATE),
                stats.underruns()
            );
            return Err(e).context("stopping the runner");
        }
    };
    sink_result.context("stopping the output")?;
    let failed = trace_failures.load(Ordering::Acquire);
    if failed > 0 {
        bail!("{failed} trace events could not be written");
    }
    println!(
        "{}",
        summary(&stats, &report, &info.to_string(), sink.errors())
    );
    if interrupted.load(Ordering::Acquire) {
        eprintln!("stopped by Ctrl-C in {} ms", stop_time.as_millis());
    }
    Ok(())
}

/// Checks what clap cannot; returns the run's length limit.
fn check(args: &PlayArgs) -> anyhow::Result<Option<Duration>> {
    if !args.no_trace && args.trace == args.out {
        bail!(
            "--trace and --out name the same file {}",
            args.out.display()
        );
    }
    if !(1..=64).contains(&args.steps) {
        bail!("--steps must lie in 1..=64, got {}", args.steps);
    }
    if !(0.0..=1.0).contains(&args.churn) {
        bail!("--churn must lie in [0, 1], got {}", args.churn);
    }
    if matches!(args.sink, Some(SinkArg::Wav | SinkArg::Null)) {
        if args.device.is_some() {
            bail!("--device applies to the cpal sink only");
        }
        if args.buffer.is_some() {
            bail!("--buffer applies to the cpal sink only");
        }
    }
    args.seconds
        .map(|s| {
            if s.is_finite() && s > 0.0 && s <= 1e7 {
                Ok(Duration::from_secs_f64(s))
            } else {
                Err(anyhow::anyhow!(
                    "--seconds must be a positive number of seconds, got {s}"
                ))
            }
        })
        .transpose()
}

/// Length of the WAV fallback when no `--seconds` was given: a file that
/// grows until Ctrl-C helps nobody.
const FALLBACK_SECONDS: f64 = 10.0;

/// The sink asked for; without `--sink`, the sound card when its default
/// device opens, else the WAV file (then `fell_back` is true).
fn open_sink(args: &PlayArgs) -> anyhow::Result<(Box<dyn OutputSink>, bool)> {
    let wav =
        || -> anyhow::Result<Box<dyn OutputSink>> { Ok(Box::new(WavSink::create(&args.out)?)) };
    match args.sink {
        Some(SinkArg::Null) => Ok((Box::new(NullSink::new()), false)),
        Some(SinkArg::Wav) => Ok((wav()?, false)),
        Some(SinkArg::Cpal) => Ok((
            Box::new(CpalSink::open(args.device.as_deref(), args.buffer)?),
            false,
        )),
        None => {
            match CpalSink::open(args.device.as_deref(), args.buffer) {
                Ok(sink) => Ok((Box::new(sink), false)),
                // A device asked for by name or a buffer it refuses is the
                // user's to fix, not a reason to write a file instead.
                Err(
                    e @ (SinkError::DeviceNotFound { .. } | SinkError::UnsupportedConfig { .. }),
                ) if args.device.is_some() || args.buffer.is_some() => Err(e.into()),
                Err(e) => {
                    eprintln!(
                        "no audio output device found ({e}); writing real-time-paced audio to {} instead{}",
                        args.out.display(),
                        if args.seconds.is_none() {
                            format!(" ({FALLBACK_SECONDS} s; --seconds for more)")
                        } else {
                            String::new()
                        }
                    );
                    Ok((wav()?, true))
                }
            }
        }
    }
}

/// Connects MIDI control when asked; without a MIDI input it says so and
/// playback goes on. A bad mapping file is an error.
fn open_midi(args: &PlayArgs, control: &Control) -> anyhow::Result<Option<MidiControl>> {
    let wanted = args.midi
        || args.midi_port.is_some()
        || args.midi_learn.is_some()
        || args.midi_map.is_some();
    if !wanted {
        return Ok(None);
    }
    let mapping = match &args.midi_map {
        Some(p) if p.exists() || args.midi_learn.is_none() => MidiMapping::load(p)?,
        _ => MidiMapping::default(),
    };
    let learn = args.midi_learn.as_ref().map(|knob| Learn {
        knob: knob.clone(),
        file: args
            .midi_map
            .clone()
            .unwrap_or_else(|| "earshot-midi.toml".into()),
    });
    match MidiControl::connect(args.midi_port.as_deref(), mapping, control.clone(), learn) {
        Ok(m) => {
            eprintln!("MIDI control from {}", m.port());
            Ok(Some(m))
        }
        Err(e @ MidiError::UnknownKnob(_)) => Err(e.into()),
        Err(e) => {
            eprintln!("MIDI control off: {e}");
            Ok(None)
        }
    }
}

/// The trace sink and the count of events it failed to write, known once
/// the runner has dropped it.
fn open_trace(args: &PlayArgs) -> anyhow::Result<(Box<dyn TraceSink>, Arc<AtomicU64>)> {
    let failures = Arc::new(AtomicU64::new(0));
    let path = (!args.no_trace).then_some(&args.trace);
    let sink: Box<dyn TraceSink> = match path {
        Some(p) => Box::new(TraceFile {
            trace: Some(JsonLinesTrace::new(BufWriter::new(
                File::create(p).with_context(|| format!("creating {}", p.display()))?,
            ))),
            failures: Arc::clone(&failures),
        }),
        None => Box::new(NullTrace),
    };
    Ok((sink, failures))
}

/// JSON lines into a file; flushed when the runner drops it, with the
/// failures published for the main thread.
struct TraceFile {
    trace: Option<JsonLinesTrace<BufWriter<File>>>,
    failures: Arc<AtomicU64>,
}

impl TraceSink for TraceFile {
    fn emit(&mut self, event: &TraceEvent) {
        if let Some(t) = &mut self.trace {
            t.emit(event);
        }
    }
}

impl Drop for TraceFile {
    fn drop(&mut self) {
        if let Some(t) = self.trace.take() {
            let failed = t.failures();
            let flushed = t.into_inner().into_inner().is_ok();
            self.failures
                .store(failed + u64::from(!flushed), Ordering::Release);
        }
    }
}

fn millis(frames: SampleFrames) -> f64 {
    frames.as_seconds(SAMPLE_RATE) * 1000.0
}

/// The one summary line.
fn summary(stats: &PlaybackStats, report: &RunnerReport, device: &str, errors: u64) -> String {
    let playhead = stats.playhead();
    let lead: &LeadController = &report.lead;
    let c = &report.counters;
    format!(
        "played {:.2} s (playhead {}) on {device}: {} produces, {} ticks, {} underruns ({} frames), \
         {} late patches, {} trimmed, {} dropped, interval_ema {}, lead {:.1} ms, {} output errors",
        playhead.as_seconds(SAMPLE_RATE),
        playhead.0,
        c.produces,
        c.ticks,
        stats.underruns(),
        stats.underrun_frames(),
        c.late,
        stats.patches_trimmed(),
        stats.late_dropped(),
        lead.interval_ema()
            .map_or("n/a".into(), |f| format!("{:.1} ms", millis(f))),
        millis(lead.lead()),
        errors,
    )
}
