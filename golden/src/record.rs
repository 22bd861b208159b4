//! What a run leaves behind for the metrics: the runner's trace, what the
//! output played frame by frame (as runs), every change the control side
//! took and when, and the output's counters. Both modes fill the same
//! record, so one set of metrics serves both.

use earshot_engine::frames::SampleFrames;
use earshot_engine::runner::RunnerCounters;
use earshot_engine::sim::PlayedRun;
use earshot_engine::trace::TraceEvent;

/// What a change was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A knob value or curve; `knob` is its index.
    Knob {
        /// Index into the knob table.
        knob: usize,
        /// Whether it was a per-step curve.
        curve: bool,
    },
    /// A prompt (the conditioning epoch).
    Prompt,
    /// A noise seed for slots admitted from then on.
    Seed(u64),
    /// A loop band armed.
    Band(SampleFrames, SampleFrames),
    /// The loop band disarmed.
    Disarm,
}

impl ChangeKind {
    /// The report's name for the kind.
    pub fn label(&self) -> &'static str {
        match self {
            ChangeKind::Knob { curve: false, .. } => "knob",
            ChangeKind::Knob { curve: true, .. } => "curve",
            ChangeKind::Prompt => "prompt",
            ChangeKind::Seed(_) => "seed",
            ChangeKind::Band(..) => "band",
            ChangeKind::Disarm => "disarm",
        }
    }
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Committed; it changed the state.
    Applied,
    /// Accepted, but the value was already in force.
    Unchanged,
    /// A newer request of the same kind overtook it before it committed.
    Superseded,
    /// Refused with this error; nothing changed.
    Refused(String),
}

/// One change the control side took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    /// Which scenario action it came from.
    pub action: usize,
    /// What it was.
    pub kind: ChangeKind,
    /// When the control side received it.
    pub received: SampleFrames,
    /// When it was committed to the state the runner snapshots.
    pub committed: Option<SampleFrames>,
    /// Its knob or conditioning epoch (0 for other kinds).
    pub epoch: u64,
    /// The denoise steps whose value a knob change altered (empty for
    /// other kinds and for changes that altered nothing).
    pub altered: Vec<u32>,
    /// What became of it.
    pub outcome: Outcome,
}

/// The denoise steps of `knob` whose value the change of `epoch` altered,
/// read from the control state right after the commit.
pub fn altered_steps(
    control: &earshot_engine::control::Control,
    knob: usize,
    epoch: u64,
) -> Vec<u32> {
    let state = control.lock();
    let knobs = &state.knobs;
    if knob >= knobs.len() || epoch == 0 {
        return Vec::new();
    }
    (0..knobs.steps())
        .filter(|&s| knobs.changed_at(knob, s) == epoch)
        .map(|s| s as u32)
        .collect()
}

/// The output's counters at the end of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputCounters {
    /// Times the output ran dry.
    pub underruns: u64,
    /// Frames played with nothing written.
    pub underrun_frames: u64,
    /// Patches written into the buffer.
    pub patches_applied: u64,
    /// Patches trimmed at the playhead.
    pub patches_trimmed: u64,
    /// Patches that arrived wholly behind the playhead.
    pub late_dropped: u64,
}

impl OutputCounters {
    /// The counters `stats` shows now.
    pub fn of(stats: &earshot_engine::playback::PlaybackStats) -> Self {
        Self {
            underruns: stats.underruns(),
            underrun_frames: stats.underrun_frames(),
            patches_applied: stats.patches_applied(),
            patches_trimmed: stats.patches_trimmed(),
            late_dropped: stats.late_dropped(),
        }
    }
}

/// Everything a run recorded.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// The runner's trace.
    pub events: Vec<TraceEvent>,
    /// What the output played.
    pub runs: Vec<PlayedRun>,
    /// Every change, in the order received.
    pub changes: Vec<ChangeRecord>,
    /// Control-side prompt encodes as `[start, end)` clock times.
    pub encodes: Vec<(SampleFrames, SampleFrames)>,
    /// The run's length.
    pub duration: SampleFrames,
    /// The output's block size.
    pub block: u32,
    /// Denoise steps per slot.
    pub steps: u32,
    /// Fresh audio one produce adds to the timeline (window / steps), for
    /// the real-time factor.
    pub produce_audio: SampleFrames,
    /// The output's counters.
    pub output: OutputCounters,
    /// The runner's counters.
    pub counters: RunnerCounters,
    /// Frames per second of the run's clock: the model's sample rate.
    pub sample_rate: u32,
    /// Channels of the audio played.
    pub channels: usize,
    /// The audio played, interleaved by channel, when it was asked for (frame
    /// `n` was played at time `n`).
    pub audio: Vec<f32>,
}
