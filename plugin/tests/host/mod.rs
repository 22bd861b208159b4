//! A small CLAP host built with clack-host, shared by the plugin's tests:
//! it instantiates the plugin from an entry, reads its extensions, and
//! plays it block by block with parameter events and a transport, the way
//! a DAW does (one thread stands in for both the main and the audio
//! thread, which CLAP allows as long as calls do not overlap).

use clack_extensions::latency::PluginLatency;
use clack_extensions::log::{HostLog, HostLogImpl, LogSeverity};
use clack_extensions::params::PluginParams;
use clack_extensions::state::PluginState;
use clack_host::events::EventFlags;
use clack_host::events::event_types::{
    ParamModEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::prelude::*;
use clack_host::utils::FixedPoint;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What the plugin can ask of the host from any thread, counted, and what
/// it logged.
#[derive(Default)]
pub struct HostShared {
    callbacks: AtomicU32,
    restarts: AtomicU32,
    log: Mutex<Vec<String>>,
}

impl SharedHandler<'_> for HostShared {
    fn request_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    fn request_process(&self) {}

    fn request_callback(&self) {
        self.callbacks.fetch_add(1, Ordering::Relaxed);
    }
}

impl HostLogImpl for HostShared {
    fn log(&self, severity: LogSeverity, message: &str) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.push(format!("{severity:?}: {message}"));
    }
}

/// The test host's handlers.
pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = HostShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &HostShared) {
        builder.register::<HostLog>();
    }
}

/// A plugin instance in the test host.
pub type Instance = PluginInstance<TestHost>;

/// Instantiates the earshot plugin from `entry`.
pub fn instantiate(entry: &PluginEntry) -> Instance {
    let info = HostInfo::new("earshot test host", "earshot", "https://example.com", "1.0").unwrap();
    let id = std::ffi::CString::new(earshot_clap::PLUGIN_ID).unwrap();
    PluginInstance::<TestHost>::new(|_| HostShared::default(), |_| (), entry, &id, &info).unwrap()
}

/// Activates `instance` at `rate` with blocks of at most `max_block`.
pub fn activate(
    instance: &mut Instance,
    rate: f64,
    max_block: u32,
) -> StartedPluginAudioProcessor<TestHost> {
    let config = PluginAudioConfiguration {
        sample_rate: rate,
        min_frames_count: 1,
        max_frames_count: max_block,
    };
    let processor = instance.activate(|_, _| (), config).unwrap();
    processor.start_processing().unwrap()
}

/// Stops processing and deactivates (which joins the plugin's runner).
pub fn deactivate(instance: &mut Instance, processor: StartedPluginAudioProcessor<TestHost>) {
    instance.deactivate(processor.stop_processing());
}

/// The plugin's saved state.
pub fn save_state(instance: &mut Instance) -> Vec<u8> {
    let plugin = instance.plugin_handle();
    let state = plugin.get_extension::<PluginState>().unwrap();
    let mut bytes = Vec::new();
    state.save(&plugin, &mut bytes).unwrap();
    bytes
}

/// Loads `bytes` as the plugin's state; `false` when the plugin refused.
pub fn load_state(instance: &mut Instance, bytes: &[u8]) -> bool {
    let plugin = instance.plugin_handle();
    let state = plugin.get_extension::<PluginState>().unwrap();
    state.load(&plugin, &mut &bytes[..]).is_ok()
}

/// Parameter `id`'s value as the plugin reports it.
pub fn param_value(instance: &mut Instance, id: u32) -> f64 {
    let plugin = instance.plugin_handle();
    let params = plugin.get_extension::<PluginParams>().unwrap();
    params.get_value(&plugin, ClapId::new(id)).unwrap()
}

/// The plugin's reported latency in frames.
pub fn latency(instance: &mut Instance) -> u32 {
    let plugin = instance.plugin_handle();
    let latency = plugin.get_extension::<PluginLatency>().unwrap();
    latency.get(&plugin)
}

/// Restarts the plugin asked the host for.
pub fn restarts(instance: &Instance) -> u32 {
    instance.access_shared_handler(|h| h.restarts.load(Ordering::Relaxed))
}

/// What the plugin logged through the host.
pub fn logged(instance: &Instance) -> Vec<String> {
    instance.access_shared_handler(|h| h.log.lock().unwrap_or_else(|p| p.into_inner()).clone())
}

/// A parameter value event for parameter `id` at `time` in the block.
pub fn value_event(time: u32, id: u32, value: f64) -> ParamValueEvent {
    ParamValueEvent::new(time, ClapId::new(id), Pckn::match_all(), value)
}

/// A parameter modulation event for parameter `id` at `time` in the block.
pub fn mod_event(time: u32, id: u32, amount: f64) -> ParamModEvent {
    ParamModEvent::new(time, ClapId::new(id), Pckn::match_all(), amount)
}

/// A playing transport at `position` seconds, looping `[start, end)`
/// seconds when `looping` is given.
pub fn transport(position: f64, looping: Option<(f64, f64)>) -> TransportEvent {
    let mut flags = TransportFlags::IS_PLAYING | TransportFlags::HAS_SECONDS_TIMELINE;
    let (start, end) = looping.unwrap_or((0.0, 0.0));
    if looping.is_some() {
        flags |= TransportFlags::IS_LOOP_ACTIVE;
    }
    let seconds = FixedPoint::from_float;
    TransportEvent {
        header: EventHeader::new_core(0, EventFlags::empty()),
        flags,
        song_pos_beats: FixedPoint::from_int(0),
        song_pos_seconds: seconds(position),
        tempo: 120.0,
        tempo_inc: 0.0,
        loop_start_beats: FixedPoint::from_int(0),
        loop_end_beats: FixedPoint::from_int(0),
        loop_start_seconds: seconds(start),
        loop_end_seconds: seconds(end),
        bar_start: FixedPoint::from_int(0),
        bar_number: 0,
        time_signature_numerator: 4,
        time_signature_denominator: 4,
    }
}

/// How a run plays.
pub struct Run<'s> {
    /// Host sample rate.
    pub rate: f64,
    /// Audio to play.
    pub seconds: f64,
    /// Block lengths, cycled.
    pub sizes: &'s [usize],
}

/// What a run heard.
pub struct Heard {
    /// Left channel.
    pub left: Vec<f32>,
    /// Right channel.
    pub right: Vec<f32>,
    /// Blocks processed.
    pub blocks: usize,
    /// Main-thread callbacks the plugin asked for (and got).
    pub callbacks: u32,
}

impl Heard {
    /// The RMS level of both channels from `from` frames on.
    pub fn rms_from(&self, from: usize) -> f32 {
        let tail = self.left[from..].iter().chain(&self.right[from..]);
        let n = 2 * (self.left.len() - from);
        (tail.map(|v| v * v).sum::<f32>() / n as f32).sqrt()
    }

    /// Whether every sample is a finite number.
    pub fn all_finite(&self) -> bool {
        self.left.iter().chain(&self.right).all(|v| v.is_finite())
    }
}

/// Plays `run` at the host's pace (the runner makes audio in real time).
/// Before each block `events(block, len, song_frame, buffer)` adds the
/// block's events and `transport(song_frame)` gives its transport; each
/// `process` call runs inside `around` (the allocation check wraps it).
/// Main-thread callbacks the plugin asks for are served between blocks.
pub fn play(
    instance: &mut Instance,
    processor: &mut StartedPluginAudioProcessor<TestHost>,
    run: &Run,
    mut events: impl FnMut(usize, usize, u64, &mut EventBuffer),
    mut transport: impl FnMut(u64) -> Option<TransportEvent>,
    around: impl Fn(&mut dyn FnMut()),
) -> Heard {
    let max = *run.sizes.iter().max().unwrap();
    let (mut left, mut right) = (vec![0.0f32; max], vec![0.0f32; max]);
    let total = (run.seconds * run.rate) as u64;
    let mut heard = Heard {
        left: Vec::with_capacity(total as usize + max),
        right: Vec::with_capacity(total as usize + max),
        blocks: 0,
        callbacks: 0,
    };
    let mut in_events = EventBuffer::with_capacity(64);
    let mut out_events = EventBuffer::with_capacity(64);
    let mut ports = AudioPorts::with_capacity(2, 1);
    let start = Instant::now();
    let mut played = 0u64;
    for (block, &n) in run.sizes.iter().cycle().enumerate() {
        if played >= total {
            break;
        }
        let due = Duration::from_secs_f64(played as f64 / run.rate);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        in_events.clear();
        out_events.clear();
        events(block, n, played, &mut in_events);
        let block_transport = transport(played);
        let mut outputs = ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(
                [&mut left[..n], &mut right[..n]].into_iter(),
            ),
        }]);
        let input = in_events.as_input();
        let mut output = out_events.as_output();
        let mut status = None;
        around(&mut || {
            status = Some(processor.process(
                &InputAudioBuffers::empty(),
                &mut outputs,
                &input,
                &mut output,
                Some(played),
                block_transport.as_ref(),
            ));
        });
        assert!(status.unwrap().is_ok(), "block {block} failed");
        heard.left.extend_from_slice(&left[..n]);
        heard.right.extend_from_slice(&right[..n]);
        heard.blocks += 1;
        played += n as u64;
        let asked = instance.access_shared_handler(|h| h.callbacks.swap(0, Ordering::Relaxed));
        if asked > 0 {
            instance.call_on_main_thread_callback();
            heard.callbacks += asked;
        }
    }
    heard
}

/// Threads named like the engine's runner in this process (Linux; `None`
/// elsewhere). A new thread names itself once it runs, so this waits up to
/// a second for the count to reach `expected`.
pub fn runner_threads(expected: usize) -> Option<usize> {
    let count = || {
        let tasks = std::fs::read_dir("/proc/self/task").ok()?;
        Some(
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|name| name.trim() == "earshot-runner")
                .count(),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let n = count()?;
        if n == expected || Instant::now() > deadline {
            return Some(n);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
