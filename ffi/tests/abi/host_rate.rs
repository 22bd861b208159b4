//! A host at 44.1 kHz through the C ABI: the model's 48 kHz is resampled
//! in `earshot_process`, its delay reported, and the playhead counts the
//! model's frames.

use crate::common::{config, create, play, rms, stats};
use earshot_c::*;

#[test]
fn a_host_at_44_1_khz_hears_the_model_resampled() {
    let mut c = config();
    c.sample_rate = 44_100;
    c.max_block = 441;
    let engine = create(&c);
    assert_eq!(earshot_start(engine), EarshotStatus::EarshotOk);
    let heard = play(engine, 44_100, 1.5, 441, |_| {});
    assert!(heard.iter().all(|v| v.is_finite()));
    assert!(rms(&heard) > 1e-4, "audible: rms {}", rms(&heard));
    let s = stats(engine);
    assert!(s.latency > 0, "the resampler's delay is reported: {s:?}");
    // 66150 host frames are 72000 model frames, give or take the
    // resampler's look-ahead.
    let model = heard.len() as u64 * 48_000 / 44_100;
    assert!(
        (model..model + 2048).contains(&s.playhead),
        "playhead {} for {model} model frames",
        s.playhead
    );
    assert_eq!(earshot_destroy(engine), EarshotStatus::EarshotOk);
}
