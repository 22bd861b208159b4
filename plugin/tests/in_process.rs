//! The plugin's real-time promise under an allocation check. The built
//! bundle brings its own allocator, which no test can watch, so this host
//! loads the same entry linked into the test binary (clack-host's
//! `load_from_clack`: the same factory, instance and extension function
//! tables a DAW gets from the bundle, without the dynamic loading). The
//! allocator below serves the whole binary, plugin included, and aborts on
//! an allocation or a free inside `assert_no_alloc`, which wraps every
//! `process` call and the audio-thread `flush`.

#[allow(dead_code)] // Shared with bundle.rs, which uses the rest.
mod host;

use clack_extensions::params::PluginParams;
use clack_host::prelude::*;
use earshot_clap::EarshotEntry;
use host::{Run, activate, instantiate};

#[global_allocator]
static A: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

#[test]
fn process_and_the_audio_thread_flush_never_allocate() {
    let entry = PluginEntry::load_from_clack::<EarshotEntry>(c"earshot-in-process").unwrap();
    let mut instance = instantiate(&entry);
    // 44.1 kHz: the resampler runs inside process too.
    let mut processor = activate(&mut instance, 44_100.0, 512);
    // Every block carries a value change and a modulation; the transport
    // turns its loop on and off every half second, so the band is armed
    // and disarmed again and again.
    let events = |block: usize, len: usize, _: u64, buffer: &mut EventBuffer| {
        let id = (block % 4) as u32;
        buffer.push(&host::value_event(
            (len / 3) as u32,
            id,
            (block % 7) as f64 / 7.0,
        ));
        buffer.push(&host::mod_event((len / 2) as u32, id, 0.1));
    };
    let transport = |played: u64| {
        let seconds = played as f64 / 44_100.0;
        let looping = ((seconds * 2.0) as u64 % 2 == 1).then_some((0.0, 4.0));
        Some(host::transport(seconds, looping))
    };
    let run = Run {
        rate: 44_100.0,
        seconds: 2.0,
        sizes: &[512, 33, 1, 200, 64],
    };
    let heard = host::play(
        &mut instance,
        &mut processor,
        &run,
        events,
        transport,
        |process| assert_no_alloc::assert_no_alloc(process),
    );
    assert!(heard.all_finite());
    assert!(heard.rms_from(22_050) > 1e-4, "audible after 0.5 s");
    assert!(heard.callbacks >= 3, "{} band requests", heard.callbacks);

    // Active but not processing: the host flushes on the audio thread.
    let mut stopped = processor.stop_processing();
    let params = instance
        .plugin_handle()
        .get_extension::<PluginParams>()
        .unwrap();
    let mut input = EventBuffer::with_capacity(4);
    input.push(&host::value_event(0, 2, 0.875));
    let mut output = EventBuffer::with_capacity(4);
    let (input, mut output) = (input.as_input(), output.as_output());
    let mut plugin = stopped.plugin_handle();
    assert_no_alloc::assert_no_alloc(|| params.flush_active(&mut plugin, &input, &mut output));
    assert_eq!(host::param_value(&mut instance, 2), 0.875);
    instance.deactivate(stopped);
    assert_eq!(host::logged(&instance), Vec::<String>::new());
}
