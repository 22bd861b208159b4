//! The built `earshot.clap` (this crate's cdylib, which cargo builds next
//! to this test) loaded by a clack-host test host, as a DAW loads it: its
//! descriptor and extensions, playing at 48 and 44.1 kHz with parameter
//! events inside blocks and a looping transport, state round trips into a
//! fresh instance, and deactivation joining the engine's runner.
//!
//! The library has its own allocator, so this host cannot see allocations
//! inside it; `in_process.rs` runs the same CLAP calls on the plugin linked
//! into the test, under an allocator that aborts on any allocation in
//! `process`.

mod host;

use clack_extensions::audio_ports::{AudioPortInfoBuffer, PluginAudioPorts};
use clack_extensions::note_ports::PluginNotePorts;
use clack_extensions::params::{ParamInfoBuffer, ParamInfoFlags, PluginParams};
use clack_host::prelude::*;
use earshot_audio_model::config::KNOB_COUNT;
use earshot_audio_model::knobs::KNOBS;
use earshot_clap::params::widen;
use earshot_clap::settings::{EngineSettings, Settings};
use earshot_clap::state::SavedState;
use host::{Run, activate, deactivate, instantiate};
use std::path::PathBuf;
use std::sync::Mutex;

/// Tests that run an engine take turns: they count runner threads, and a
/// CI machine has two cores for the runner and the test's pacing.
static ENGINE: Mutex<()> = Mutex::new(());

fn engine_turn() -> std::sync::MutexGuard<'static, ()> {
    ENGINE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The cdylib cargo built for this test run (`cargo test` builds the
/// library with all its crate types next to the test executables), or the
/// file `EARSHOT_CLAP_BUNDLE` names (to run these checks on a packed
/// `earshot.clap`).
fn bundle_path() -> PathBuf {
    if let Some(path) = std::env::var_os("EARSHOT_CLAP_BUNDLE") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let name = format!(
        "{}earshot_clap{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let path = exe.parent().unwrap().join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

fn load_bundle() -> PluginEntry {
    // SAFETY: the library is this crate's own cdylib, whose only export is
    // the CLAP entry clack-plugin generates; the entry keeps it loaded.
    unsafe { PluginEntry::load(bundle_path()) }.unwrap()
}

#[test]
fn the_bundle_is_a_stereo_instrument_with_a_parameter_per_knob() {
    let entry = load_bundle();
    let factory = entry.get_plugin_factory().unwrap();
    let descriptors: Vec<_> = factory.plugin_descriptors().collect();
    assert_eq!(descriptors.len(), 1);
    let descriptor = &descriptors[0];
    assert_eq!(
        descriptor.id().unwrap().to_str(),
        Ok(earshot_clap::PLUGIN_ID)
    );
    let features: Vec<_> = descriptor.features().map(|f| f.to_bytes()).collect();
    assert!(features.contains(&&b"instrument"[..]), "{features:?}");

    let mut instance = instantiate(&entry);
    let plugin = instance.plugin_handle();
    let ports = plugin.get_extension::<PluginAudioPorts>().unwrap();
    assert_eq!(ports.count(&plugin, true), 0, "no audio input");
    assert_eq!(ports.count(&plugin, false), 1);
    let mut buffer = AudioPortInfoBuffer::new();
    let output = ports.get(&plugin, 0, false, &mut buffer).unwrap();
    assert_eq!(output.channel_count, 2);
    let notes = plugin.get_extension::<PluginNotePorts>().unwrap();
    assert_eq!(
        (notes.count(&plugin, true), notes.count(&plugin, false)),
        (0, 0)
    );

    let params = plugin.get_extension::<PluginParams>().unwrap();
    assert_eq!(params.count(&plugin) as usize, KNOB_COUNT);
    for (index, spec) in KNOBS.iter().enumerate() {
        let mut buffer = ParamInfoBuffer::new();
        let info = params.get_info(&plugin, index as u32, &mut buffer).unwrap();
        assert_eq!(info.name, spec.name.as_bytes());
        assert_eq!(info.id.get(), index as u32, "ids are the knob order");
        assert_eq!(
            (info.min_value, info.max_value, info.default_value),
            (widen(spec.min), widen(spec.max), widen(spec.default))
        );
        assert!(
            info.flags
                .contains(ParamInfoFlags::IS_AUTOMATABLE | ParamInfoFlags::IS_MODULATABLE)
        );
        assert_eq!(
            params.get_value(&plugin, info.id),
            Some(widen(spec.default))
        );
        // Value to text and back, as a host's parameter field does.
        for value in [spec.min, spec.default, spec.max].map(widen) {
            let mut text = [0u8; 64];
            let text = params
                .value_to_text(&plugin, info.id, value, &mut text)
                .unwrap();
            let text = std::ffi::CString::new(&text[..]).unwrap();
            assert_eq!(params.text_to_value(&plugin, info.id, &text), Some(value));
        }
        assert_eq!(params.text_to_value(&plugin, info.id, c"loud"), None);
    }
    let mut buffer = ParamInfoBuffer::new();
    assert!(
        params
            .get_info(&plugin, KNOB_COUNT as u32, &mut buffer)
            .is_none()
    );
    assert_eq!(
        params.get_value(&plugin, ClapId::new(KNOB_COUNT as u32)),
        None
    );
}

/// Plays the bundle at `rate` for 2.5 s: a parameter value change every
/// 25 blocks (in the middle of the block) and modulation of `density`
/// (at the block's last frame); the transport loops from 0.8 s to 2.2 s.
fn play_at(rate: f64) {
    let _turn = engine_turn();
    let entry = load_bundle();
    let mut instance = instantiate(&entry);
    let runners_before = host::runner_threads(0);
    let mut processor = activate(&mut instance, rate, 256);
    if let Some(before) = runners_before {
        assert_eq!(
            host::runner_threads(before + 1),
            Some(before + 1),
            "activate starts it"
        );
    }
    let latency = host::latency(&mut instance);
    if rate == 48_000.0 {
        assert_eq!(latency, 0, "no resampler at the model's rate");
    } else {
        assert!(latency > 0, "the resampler's delay is reported");
    }

    let mut last = [None; KNOB_COUNT];
    let events = |block: usize, len: usize, _: u64, buffer: &mut EventBuffer| {
        if block.is_multiple_of(25) {
            let id = (block / 25) % KNOB_COUNT;
            let value = ((block / 25) % 11) as f64 / 10.0;
            buffer.push(&host::value_event((len / 2) as u32, id as u32, value));
            last[id] = Some(value);
        }
        if block.is_multiple_of(40) {
            let amount = if block.is_multiple_of(80) { 0.3 } else { -0.3 };
            buffer.push(&host::mod_event(len as u32 - 1, 2, amount));
        }
    };
    // The host loops [0.5 s, 1.5 s) of its song while the wall clock is
    // between 0.8 s and 2.2 s, wrapping at block boundaries.
    let (mut song, mut previous) = (0u64, 0u64);
    let transport = |played: u64| {
        song += played - previous;
        previous = played;
        let now = played as f64 / rate;
        let looping = (0.8..2.2).contains(&now).then_some((0.5, 1.5));
        if looping.is_some() && song as f64 / rate >= 1.5 {
            song -= rate as u64;
        }
        Some(host::transport(song as f64 / rate, looping))
    };
    let run = Run {
        rate,
        seconds: 2.5,
        sizes: &[64, 17, 256, 1, 128, 100],
    };
    let heard = host::play(
        &mut instance,
        &mut processor,
        &run,
        events,
        transport,
        |process| process(),
    );

    assert!(heard.blocks > 1000, "{} blocks", heard.blocks);
    assert!(heard.all_finite());
    let rms = heard.rms_from(rate as usize);
    assert!(rms > 1e-4, "the last 1.5 s are audible: rms {rms}");
    assert!(
        heard.callbacks >= 2,
        "the loop was armed and disarmed through main-thread callbacks"
    );
    for (id, value) in last.iter().enumerate() {
        let expected = value.unwrap_or(widen(KNOBS[id].default));
        assert_eq!(
            host::param_value(&mut instance, id as u32),
            expected,
            "parameter {id} holds its last value, without modulation"
        );
    }
    deactivate(&mut instance, processor);
    if let Some(before) = runners_before {
        assert_eq!(
            host::runner_threads(before),
            Some(before),
            "deactivate joins it"
        );
    }
    assert_eq!(host::latency(&mut instance), 0);
    assert_eq!(host::logged(&instance), Vec::<String>::new());
}

#[test]
fn the_bundle_plays_at_48_khz() {
    play_at(48_000.0);
}

#[test]
fn the_bundle_plays_at_44_1_khz() {
    play_at(44_100.0);
}

fn saved(prompt: &str, steps: u32, knobs: [f64; KNOB_COUNT]) -> Vec<u8> {
    SavedState {
        settings: Settings {
            prompt: prompt.to_owned(),
            engine: EngineSettings {
                steps,
                ..EngineSettings::default()
            },
        },
        knobs,
    }
    .to_bytes()
    .unwrap()
}

#[test]
fn a_saved_state_loads_into_a_fresh_instance_unchanged() {
    let entry = load_bundle();
    let mut first = instantiate(&entry);
    let state = saved("glassy drones over a low hum", 6, [0.9, 0.1, 0.25, 0.6]);
    assert!(host::load_state(&mut first, &state));
    assert_eq!(host::save_state(&mut first), state, "the same bytes back");
    assert_eq!(host::param_value(&mut first, 0), 0.9);

    // The host moves a parameter of the inactive plugin (a main-thread
    // flush), then saves: the state carries the new value.
    {
        let mut plugin = first.inactive_plugin_handle().unwrap();
        let params = plugin.get_extension::<PluginParams>().unwrap();
        let mut input = EventBuffer::new();
        input.push(&host::value_event(0, 3, 0.125));
        let mut output = EventBuffer::new();
        params.flush(&mut plugin, &input.as_input(), &mut output.as_output());
    }
    let moved = host::save_state(&mut first);
    assert_eq!(
        moved,
        saved("glassy drones over a low hum", 6, [0.9, 0.1, 0.25, 0.125])
    );

    let mut fresh = instantiate(&entry);
    assert_eq!(
        host::save_state(&mut fresh),
        saved("", 8, KNOBS.map(|k| widen(k.default))),
        "a fresh instance saves the defaults"
    );
    assert!(host::load_state(&mut fresh, &moved));
    assert_eq!(host::save_state(&mut fresh), moved);
    for (id, value) in [0.9, 0.1, 0.25, 0.125].into_iter().enumerate() {
        assert_eq!(host::param_value(&mut fresh, id as u32), value);
    }

    // Bad states are refused, change nothing, and the host hears why.
    let text = String::from_utf8(moved.clone()).unwrap();
    let bad_states = [
        (Vec::new(), "not an earshot state"),
        (b"not a state".to_vec(), "not an earshot state"),
        (
            text.replace(r#""version":1"#, r#""version":7"#)
                .into_bytes(),
            "state version 7",
        ),
        (
            text.replace(r#""warmth":0.125"#, r#""warmth":2.0"#)
                .into_bytes(),
            "warmth = 2",
        ),
        (moved[..moved.len() / 2].to_vec(), "EOF"),
    ];
    for (bad, _) in &bad_states {
        assert!(!host::load_state(&mut fresh, bad));
        assert_eq!(host::save_state(&mut fresh), moved);
    }
    let log = host::logged(&fresh);
    assert_eq!(log.len(), bad_states.len(), "{log:?}");
    for (line, (_, reason)) in log.iter().zip(&bad_states) {
        assert!(line.contains(reason), "{line:?} should say {reason:?}");
    }
}

/// Whether the plugin's log is empty, or holds only the warning that the
/// prompt could not be played (the text model is not installed): these
/// tests pass with or without it.
fn only_prompt_warnings(log: &[String]) -> bool {
    log.iter()
        .all(|line| line.contains("prompt is kept in the state but not played"))
}

#[test]
fn a_state_loaded_while_active_goes_to_the_engine_or_asks_for_a_restart() {
    let _turn = engine_turn();
    let entry = load_bundle();
    let mut instance = instantiate(&entry);
    let processor = activate(&mut instance, 48_000.0, 512);
    let mut knobs = KNOBS.map(|k| widen(k.default));
    knobs[1] = 0.75;
    assert!(host::load_state(&mut instance, &saved("", 8, knobs)));
    assert_eq!(host::restarts(&instance), 0, "knobs go to the engine");
    assert_eq!(host::param_value(&mut instance, 1), 0.75);
    assert!(host::load_state(
        &mut instance,
        &saved("soft rain", 8, knobs)
    ));
    assert_eq!(host::restarts(&instance), 0, "a prompt goes to the engine");
    assert!(host::load_state(&mut instance, &saved("", 8, knobs)));
    assert_eq!(host::restarts(&instance), 1, "no prompt: a fresh engine");
    assert!(host::load_state(&mut instance, &saved("", 5, knobs)));
    assert_eq!(host::restarts(&instance), 2, "new steps: a new engine");
    deactivate(&mut instance, processor);
    // The restart: the next activation builds the engine with 5 steps and
    // the saved prompt.
    assert!(host::load_state(
        &mut instance,
        &saved("soft rain", 5, knobs)
    ));
    let processor = activate(&mut instance, 48_000.0, 512);
    deactivate(&mut instance, processor);
    assert_eq!(host::restarts(&instance), 2, "inactive: nothing to restart");
    let log = host::logged(&instance);
    assert!(only_prompt_warnings(&log), "{log:?}");
}

#[test]
fn a_loaded_engine_that_cannot_start_falls_back_to_the_last_that_did() {
    let _turn = engine_turn();
    let entry = load_bundle();
    let mut instance = instantiate(&entry);
    let processor = activate(&mut instance, 48_000.0, 512);
    deactivate(&mut instance, processor);
    let good = host::save_state(&mut instance);
    // A weights file that exists but is not safetensors: the state's check
    // (the file is there) passes, the engine's load does not.
    let bad_file =
        std::env::temp_dir().join(format!("earshot-bad-{}.safetensors", std::process::id()));
    std::fs::write(&bad_file, b"not a weights file").unwrap();
    let bad = SavedState {
        settings: Settings {
            prompt: String::new(),
            engine: EngineSettings {
                weights: Some(bad_file.clone()),
                ..EngineSettings::default()
            },
        },
        knobs: KNOBS.map(|k| widen(k.default)),
    }
    .to_bytes()
    .unwrap();
    assert!(host::load_state(&mut instance, &bad));
    let processor = activate(&mut instance, 48_000.0, 512);
    deactivate(&mut instance, processor);
    std::fs::remove_file(&bad_file).unwrap();
    assert_eq!(
        host::save_state(&mut instance),
        good,
        "back to the settings that worked"
    );
    let log = host::logged(&instance);
    assert!(
        log.iter().any(|l| l.contains("do not start")),
        "said in the host's log: {log:?}"
    );
}
