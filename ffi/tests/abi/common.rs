//! What every test here needs: a config, an engine, the last error, and
//! a host that plays at its own pace.

use earshot_c::*;
use std::ffi::CStr;
use std::time::{Duration, Instant};

/// The defaults through `earshot_config_default`, as a C host gets them.
pub fn config() -> EarshotConfig {
    let mut config = std::mem::MaybeUninit::<EarshotConfig>::uninit();
    // SAFETY: a pointer to memory for one config.
    let status = unsafe { earshot_config_default(config.as_mut_ptr()) };
    assert_eq!(status, EarshotStatus::EarshotOk);
    // SAFETY: `earshot_config_default` wrote every field.
    let mut config = unsafe { config.assume_init() };
    config.keep_acks = 1;
    config
}

/// Creates an engine from `config`, which must succeed.
pub fn create(config: &EarshotConfig) -> EarshotEngine {
    let mut engine = EarshotEngine::default();
    // SAFETY: valid pointers; the config's strings are NULL or C literals.
    let status = unsafe { earshot_create(config, &mut engine) };
    assert_eq!(status, EarshotStatus::EarshotOk, "{}", last_error());
    engine
}

/// This thread's last-error message.
pub fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated, valid until the next call here.
    unsafe { CStr::from_ptr(earshot_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// `earshot_process` on planar buffers.
pub fn process(engine: EarshotEngine, channels: &mut [&mut [f32]], frames: u32) -> EarshotStatus {
    let ptrs: Vec<*mut f32> = channels.iter_mut().map(|c| c.as_mut_ptr()).collect();
    // SAFETY: each pointer is a buffer of at least `frames` floats (the
    // callers' buffers are that long) that nothing else touches.
    unsafe { earshot_process(engine, ptrs.as_ptr(), ptrs.len() as u32, frames) }
}

/// The engine's counters.
pub fn stats(engine: EarshotEngine) -> EarshotStats {
    let mut stats = EarshotStats::default();
    // SAFETY: a pointer to one stats struct.
    let status = unsafe { earshot_stats(engine, &mut stats) };
    assert_eq!(status, EarshotStatus::EarshotOk, "{}", last_error());
    stats
}

/// Plays `seconds` of stereo at the host's pace in blocks of `block`
/// frames, calling `each` with the block's index before each block; the
/// left channel of what was heard.
pub fn play(
    engine: EarshotEngine,
    rate: u32,
    seconds: f64,
    block: usize,
    mut each: impl FnMut(usize),
) -> Vec<f32> {
    let (mut left, mut right) = (vec![0.0f32; block], vec![0.0f32; block]);
    let total = (seconds * f64::from(rate)) as usize;
    let mut heard = Vec::with_capacity(total + block);
    let start = Instant::now();
    for i in 0.. {
        if heard.len() >= total {
            break;
        }
        // A host's callback comes when the card needs it, not sooner.
        let due = Duration::from_secs_f64(heard.len() as f64 / f64::from(rate));
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        each(i);
        let status = process(engine, &mut [&mut left, &mut right], block as u32);
        assert_eq!(status, EarshotStatus::EarshotOk, "{}", last_error());
        heard.extend_from_slice(&left);
    }
    heard
}

/// Root mean square of `x`.
pub fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}
