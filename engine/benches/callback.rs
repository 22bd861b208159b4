//! The output side's cost: one 128-frame `render` with a 1024-frame patch
//! pending (applied with its crossfade, then played), against the buffer
//! period of 128 frames at 48 kHz (2.67 ms).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use earshot_engine::epoch::Epochs;
use earshot_engine::frames::SampleFrames;
use earshot_engine::playback::{Patch, PlaybackConfig, playback};
use std::time::Instant;

const BLOCK: usize = 128;
const PATCH: u64 = 1024;

fn callback(c: &mut Criterion) {
    let (mut writer, mut output, stats) = playback(PlaybackConfig::default(), 2).unwrap();
    let mut block = vec![0.0f32; BLOCK * 2];
    let send = |writer: &mut earshot_engine::playback::PatchWriter, at: u64| {
        let mut buffer = writer
            .acquire()
            .expect("pool has room: every render returns it");
        buffer.as_mut_slice()[..PATCH as usize * 2].fill(0.1);
        let patch = Patch {
            start: SampleFrames(at),
            len: SampleFrames(PATCH),
            epochs: Epochs::default(),
            source: 0,
            landing: earshot_engine::playback::Landing::ready(buffer),
        };
        assert!(writer.send(patch).is_ok());
    };

    // The factor the issue asks for, over many callbacks.
    let rounds = 20_000u32;
    let started = Instant::now();
    for _ in 0..rounds {
        let at = stats.playhead().0 + 512;
        send(&mut writer, at);
        output.render(&mut block);
    }
    let per_call = started.elapsed().as_secs_f64() / f64::from(rounds);
    let period = BLOCK as f64 / 48_000.0;
    println!(
        "callback: {:.2} µs per {BLOCK}-frame render with a {PATCH}-frame patch pending (send included) = {:.3} % of the {:.2} ms buffer period",
        per_call * 1e6,
        100.0 * per_call / period,
        period * 1e3
    );

    c.bench_function("render_128_with_patch", |b| {
        b.iter_batched(
            || send(&mut writer, stats.playhead().0 + 512),
            |()| output.render(&mut block),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, callback);
criterion_main!(benches);
