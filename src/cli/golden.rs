//! `earshot golden`: run the golden latency scenarios, compare them with
//! the baselines, write the report, or measure a cost profile.

use super::golden_dir::Search;
use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use earshot::audio_model::{ModelSize, ModelWeights};
use earshot::cost_profile::{cpu_name, measure_cpu};
use earshot::cpu::CpuBackend;
use earshot::engine::Backend;
use earshot::engine::BackendError;
use earshot::engine::conditioning::PromptEncoder;
use earshot::engine::sampler::SamplerKind;
use earshot::engine::sim::SignalBackend;
use earshot::golden::ablation::{ablate, determinism};
use earshot::golden::baseline::{self, Baselines, compare, failed, figures};
use earshot::golden::live_run::{run_live, summarize_repeats};
use earshot::golden::metrics::measure;
use earshot::golden::record::Recording;
use earshot::golden::report::{AblationTable, SuiteReport, markdown};
use earshot::golden::scenario::Content as ScenarioContent;
use earshot::golden::suite::{ScenarioResult, Suite, run_scenario};
use earshot::golden::virtual_run::HashEncoder;
use earshot::model::{DEFAULT_WEIGHTS_SEED, reference_weights};
use earshot::prompt::TextPrompt;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The golden harness's commands.
#[derive(Debug, Subcommand)]
pub enum GoldenCommand {
    /// Run the scenarios on the virtual clock and compare them with the
    /// baselines; fails on a regression beyond the tolerance.
    Run(RunArgs),
    /// Run the scenarios, the feature ablation and the determinism check,
    /// and write a Markdown report with PNG plots.
    Report(ReportArgs),
    /// Measure a cost profile of the CPU backend on this machine.
    Profile(ProfileArgs),
}

/// Which backend makes the content (the timing is the cost profile's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContentBackend {
    /// The reference model on the CPU backend.
    Cpu,
    /// The signal model: a sine whose level shows knob 0 (fast).
    Signal,
    /// The reference model on the CUDA backend (bf16 products); sizes
    /// above tiny use uncalibrated weights (their timing is the same, and
    /// calibrating base on the CPU takes minutes).
    Cuda,
}

/// Where the suite's files are.
#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// Scenario files [default: scenarios/ in the golden directory: the
    /// one named by EARSHOT_GOLDEN_DIR, else golden/ under the current
    /// directory, else golden/ beside or above the executable].
    #[arg(long)]
    scenarios: Option<PathBuf>,
    /// Cost profiles [default: profiles/ in the golden directory].
    #[arg(long)]
    profiles: Option<PathBuf>,
    /// Baselines file [default: baselines.json in the golden directory].
    #[arg(long)]
    baselines: Option<PathBuf>,
    /// Only these scenarios (by name; repeatable).
    #[arg(long)]
    only: Vec<String>,
    /// What makes the content.
    #[arg(long, value_enum, default_value_t = ContentBackend::Cpu)]
    backend: ContentBackend,
}

/// The suite's files, each from its flag or the golden directory.
#[derive(Debug)]
struct SuitePaths {
    scenarios: PathBuf,
    profiles: PathBuf,
    baselines: PathBuf,
}

impl SuiteArgs {
    /// Resolves the files: a flag wins; the golden directory is searched
    /// for only when some flag is missing.
    fn paths(&self) -> anyhow::Result<SuitePaths> {
        let flags = [&self.scenarios, &self.profiles, &self.baselines];
        let golden = if flags.iter().all(|f| f.is_some()) {
            PathBuf::new()
        } else {
            Search::here().find()?
        };
        let pick =
            |flag: &Option<PathBuf>, name: &str| flag.clone().unwrap_or_else(|| golden.join(name));
        Ok(SuitePaths {
            scenarios: pick(&self.scenarios, "scenarios"),
            profiles: pick(&self.profiles, "profiles"),
            baselines: pick(&self.baselines, "baselines.json"),
        })
    }
}

/// `earshot golden run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    suite: SuiteArgs,
    /// Write this run's figures as the new baselines instead of comparing.
    #[arg(long)]
    bless: bool,
    /// Also write the report JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run live (real clock, the CPU backend) instead of on the virtual
    /// clock; scenarios of sizes the CPU cannot run in real time are
    /// skipped. No baseline comparison: live figures vary run to run.
    #[arg(long)]
    live: bool,
    /// Live runs per scenario.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
}

/// `earshot golden report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    suite: SuiteArgs,
    /// Directory for report.md, report.json and the plots.
    #[arg(long, default_value = "golden-report")]
    out: PathBuf,
}

/// `earshot golden profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Model size.
    #[arg(long, default_value = "tiny")]
    size: ModelSize,
    /// Calls per figure.
    #[arg(long, default_value_t = 30)]
    repeats: usize,
    /// Text model directory (default: its usual location).
    #[arg(long)]
    text_model: Option<PathBuf>,
    /// Write the profile here (default: print it).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs a golden command.
pub fn run(cmd: GoldenCommand) -> anyhow::Result<()> {
    match cmd {
        GoldenCommand::Run(args) => run_suite(&args),
        GoldenCommand::Report(args) => report(&args),
        GoldenCommand::Profile(args) => profile(&args),
    }
}

/// Makes backends and encoders, generating each size's weights once.
struct Content {
    kind: ContentBackend,
    weights: Mutex<BTreeMap<String, Arc<ModelWeights>>>,
}

impl Content {
    fn new(kind: ContentBackend) -> Self {
        Self {
            kind,
            weights: Mutex::default(),
        }
    }

    fn weights(&self, size: ModelSize) -> Result<Arc<ModelWeights>, BackendError> {
        let mut cache = self.weights.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = cache.get(size.name()) {
            return Ok(w.clone());
        }
        let w = if self.kind == ContentBackend::Cuda && size != ModelSize::Tiny {
            Arc::new(earshot::audio_model::init_weights(
                size,
                DEFAULT_WEIGHTS_SEED,
            ))
        } else {
            let w = reference_weights(size, DEFAULT_WEIGHTS_SEED).map_err(|e| {
                BackendError::Weights {
                    detail: e.to_string(),
                }
            })?;
            Arc::new(w)
        };
        cache.insert(size.name().to_owned(), w.clone());
        Ok(w)
    }

    fn backend(&self, size: ModelSize) -> Result<Box<dyn Backend>, BackendError> {
        match self.kind {
            ContentBackend::Signal => Ok(Box::new(SignalBackend::new(size.config().description()))),
            ContentBackend::Cpu => {
                let w = self.weights(size)?;
                Ok(Box::new(CpuBackend::new(&w)?))
            }
            #[cfg(feature = "cuda")]
            ContentBackend::Cuda => {
                let w = self.weights(size)?;
                let backend = earshot::cuda::CudaBackend::with_precision(
                    &w,
                    0,
                    earshot::cuda::Precision::Bf16,
                )?;
                Ok(Box::new(backend))
            }
            #[cfg(not(feature = "cuda"))]
            ContentBackend::Cuda => Err(BackendError::InvalidRequest {
                detail: "this build has no CUDA backend (built without the `cuda` feature)".into(),
            }),
        }
    }

    fn encoder(&self, size: ModelSize) -> Box<dyn PromptEncoder> {
        if self.kind != ContentBackend::Signal
            && let Ok(w) = self.weights(size)
            && let Ok(text) = TextPrompt::new(&w, None)
        {
            return Box::new(text);
        }
        Box::new(HashEncoder::new(size.config().conditioning()))
    }
}

fn load(args: &SuiteArgs, paths: &SuitePaths) -> anyhow::Result<Suite> {
    let mut suite = Suite::load(&paths.scenarios, &paths.profiles)?;
    if !args.only.is_empty() {
        suite.scenarios.retain(|s| args.only.contains(&s.name));
        if suite.scenarios.is_empty() {
            bail!("no scenario named {:?}", args.only);
        }
    }
    Ok(suite)
}

/// Runs every scenario of `suite`.
fn run_all(suite: &Suite, content: &Content) -> anyhow::Result<Vec<(Recording, ScenarioResult)>> {
    let mut out = Vec::new();
    for s in &suite.scenarios {
        let profile = &suite.profiles[&s.profile];
        let r = run_scenario(s, profile, &|z| content.backend(z), &|z| content.encoder(z))
            .with_context(|| format!("scenario {}", s.name))?;
        eprintln!("  {:<28} {}", s.name, summary_line(&r.1));
        out.push(r);
    }
    Ok(out)
}

fn summary_line(r: &ScenarioResult) -> String {
    let ms = |f: u64| earshot::golden::costs::frames_to_ms(f, r.metrics.sample_rate);
    let mut parts = Vec::new();
    for (kind, k) in &r.metrics.kinds {
        if let Some(p) = k.audible_first {
            parts.push(format!("{kind} audible p50 {:.1} ms", ms(p.p50)));
        }
        if kind == "prompt"
            && let Some(p) = k.ack
        {
            parts.push(format!("ack {:.1} ms", ms(p.max)));
        }
    }
    parts.push(format!("underruns {}", r.metrics.run.underruns));
    let missed = r.targets.iter().filter(|t| !t.met).count();
    if missed > 0 {
        parts.push(format!("{missed} target(s) missed"));
    }
    parts.join(", ")
}

fn read_baselines(path: &Path) -> anyhow::Result<Baselines> {
    Ok(baseline::read(path)?)
}

fn compare_all(
    results: &[(Recording, ScenarioResult)],
    baselines: &Baselines,
) -> Vec<baseline::Comparison> {
    let mut out = Vec::new();
    for (_, r) in results {
        let empty = BTreeMap::new();
        let base = baselines.get(&r.name).unwrap_or(&empty);
        out.extend(compare(&r.name, base, &figures(&r.metrics)));
    }
    out
}

fn run_live_suite(args: &RunArgs) -> anyhow::Result<()> {
    let suite = load(&args.suite, &args.suite.paths()?)?;
    // Live needs real work: the signal model costs nothing.
    let kind = match args.suite.backend {
        ContentBackend::Signal => ContentBackend::Cpu,
        other => other,
    };
    let content = Content::new(kind);
    let mut live = Vec::new();
    for s in &suite.scenarios {
        let runnable = match kind {
            ContentBackend::Cuda => true,
            _ => s.engine.size == ModelSize::Tiny && s.content == ScenarioContent::Reference,
        };
        if !runnable {
            eprintln!(
                "  {:<28} skipped: {} needs a faster backend than this CPU (--backend cuda)",
                s.name, s.engine.size
            );
            continue;
        }
        let mut runs = Vec::new();
        for k in 0..args.repeat.max(1) {
            let rec = run_live(
                s,
                content.backend(s.engine.size).map_err(anyhow::Error::msg)?,
                content.encoder(s.engine.size),
            )
            .with_context(|| format!("live run {} of {}", k + 1, s.name))?;
            let m = measure(&rec);
            runs.push((rec, m));
        }
        let l = summarize_repeats(s, &runs);
        let knob = l.kinds.get("knob").and_then(|k| k.audible_first);
        eprintln!(
            "  {:<28} {} runs, knob audible p50 {}, underruns {:?}",
            s.name,
            l.repeats,
            knob.map_or("–".into(), |p| format!(
                "{:.1} ms",
                earshot::golden::costs::frames_to_ms(p.p50, l.sample_rate)
            )),
            l.underruns
        );
        live.push(l);
    }
    let report = SuiteReport {
        mode: "live".into(),
        live,
        ..SuiteReport::default()
    };
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json())?;
    }
    println!("{}", markdown(&report, &[]));
    Ok(())
}

fn run_suite(args: &RunArgs) -> anyhow::Result<()> {
    if args.live {
        return run_live_suite(args);
    }
    let paths = args.suite.paths()?;
    let suite = load(&args.suite, &paths)?;
    let content = Content::new(args.suite.backend);
    eprintln!(
        "golden: {} scenarios on the virtual clock",
        suite.scenarios.len()
    );
    let results = run_all(&suite, &content)?;
    let mut baselines = read_baselines(&paths.baselines)?;
    let report = SuiteReport {
        mode: "virtual".into(),
        comparisons: compare_all(&results, &baselines),
        scenarios: results.iter().map(|r| r.1.clone()).collect(),
        ..SuiteReport::default()
    };
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json())?;
    }
    if args.bless {
        for (_, r) in &results {
            baselines.insert(r.name.clone(), figures(&r.metrics));
        }
        baseline::write(&paths.baselines, &baselines)?;
        eprintln!("golden: baselines written to {}", paths.baselines.display());
        return Ok(());
    }
    for c in &report.comparisons {
        if c.verdict != baseline::Verdict::Same {
            eprintln!(
                "  {:?}: {} {} (baseline {:?}, now {:?})",
                c.verdict, c.scenario, c.figure, c.baseline, c.now
            );
        }
    }
    if failed(&report.comparisons) {
        bail!("golden: regressions against {}", paths.baselines.display());
    }
    eprintln!("golden: every scenario within tolerance of its baseline");
    Ok(())
}

fn report(args: &ReportArgs) -> anyhow::Result<()> {
    let paths = args.suite.paths()?;
    let suite = load(&args.suite, &paths)?;
    let content = Content::new(args.suite.backend);
    let backend = |z| content.backend(z);
    let encoder = |z| content.encoder(z);
    eprintln!(
        "golden: {} scenarios on the virtual clock",
        suite.scenarios.len()
    );
    let results = run_all(&suite, &content)?;
    let baselines = read_baselines(&paths.baselines)?;
    let mut ablations = Vec::new();
    let mut checks = Vec::new();
    for s in &suite.scenarios {
        let profile = &suite.profiles[&s.profile];
        if s.ablate {
            eprintln!("golden: ablating {} on {}", s.name, s.profile);
            ablations.push(AblationTable {
                scenario: s.name.clone(),
                profile: s.profile.clone(),
                rows: ablate(s, profile, &backend, &encoder)?,
            });
        }
        if s.determinism {
            // Bit-identity only means something on the reference backend.
            let cpu = Content::new(ContentBackend::Cpu);
            for sampler in [SamplerKind::Ode, SamplerKind::SDE] {
                eprintln!("golden: determinism on {} ({sampler:?})", s.name);
                checks.push(determinism(
                    s,
                    profile,
                    sampler,
                    &|z| cpu.backend(z),
                    &|z| cpu.encoder(z),
                )?);
            }
        }
    }
    let report = SuiteReport {
        mode: "virtual".into(),
        comparisons: compare_all(&results, &baselines),
        scenarios: results.iter().map(|r| r.1.clone()).collect(),
        ablations,
        determinism: checks,
        live: Vec::new(),
    };
    std::fs::create_dir_all(&args.out)?;
    let plots = earshot::golden::report_plots::write_plots(&args.out, &results, &report)?;
    std::fs::write(args.out.join("report.json"), report.to_json())?;
    std::fs::write(args.out.join("report.md"), markdown(&report, &plots))?;
    eprintln!(
        "golden: report written to {}",
        args.out.join("report.md").display()
    );
    Ok(())
}

fn profile(args: &ProfileArgs) -> anyhow::Result<()> {
    let weights = reference_weights(args.size, DEFAULT_WEIGHTS_SEED)?;
    let p = measure_cpu(
        &weights,
        8,
        args.repeats,
        args.text_model.as_deref(),
        &cpu_name(),
    )?;
    let text = p.to_toml();
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)?;
            eprintln!("profile written to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
