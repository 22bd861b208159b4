//! Control calls on a live engine: knobs, curves, the prompt, the loop
//! band. From any thread but the audio thread (they take the engine's
//! state lock for microseconds; `earshot_set_prompt` encodes for
//! milliseconds), concurrently with each other. A refused call changes
//! nothing and the engine keeps playing.

use crate::cstr::required_str;
use crate::entry::guarded;
use crate::error::FfiError;
use crate::handle::{self, EarshotEngine};
use crate::status::EarshotStatus;
use earshot_engine::frames::SampleFrames;
use std::ffi::c_char;

/// Writes `value` to `out` when `out` is not NULL.
///
/// # Safety
///
/// `out` is NULL or points to writable memory for one `u64`.
unsafe fn maybe_write(out: *mut u64, value: u64) {
    if !out.is_null() {
        // SAFETY: non-NULL, and the caller's promise.
        unsafe { out.write(value) };
    }
}

/// Sets knob `name` (see `earshot_knob_info`) to `value`, a number in the
/// knob's range. Writes the knob epoch now in force to `*epoch` when
/// `epoch` is not NULL (acks of this change carry it).
///
/// Control call. Fails with `EARSHOT_ERR_INVALID_HANDLE`,
/// `EARSHOT_ERR_NULL` (`name`), `EARSHOT_ERR_INVALID_ARGUMENT` (not UTF-8)
/// or `EARSHOT_ERR_KNOB` (unknown name, NaN, infinite, out of range).
///
/// # Safety
///
/// `name` is NULL or NUL-terminated; `epoch` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn earshot_set_knob(
    engine: EarshotEngine,
    name: *const c_char,
    value: f32,
    epoch: *mut u64,
) -> EarshotStatus {
    guarded(|| {
        let live = handle::shared(engine)?;
        // SAFETY: the caller's promise.
        let name = unsafe { required_str(name, "name") }?;
        let commit = live.controller().set_knob(name, value)?;
        // SAFETY: the caller's promise.
        unsafe { maybe_write(epoch, commit.epoch) };
        Ok(EarshotStatus::EarshotOk)
    })
}

/// Sets knob `name`'s per-step curve: `count` values, one per denoise
/// step (`count` is the config's `steps`), each in the knob's range. Writes
/// the knob epoch to `*epoch` when `epoch` is not NULL.
///
/// Control call. Fails with `EARSHOT_ERR_INVALID_HANDLE`,
/// `EARSHOT_ERR_NULL` (`name`, `values`), `EARSHOT_ERR_INVALID_ARGUMENT`
/// or `EARSHOT_ERR_KNOB` (unknown name, a bad value, the wrong count).
///
/// # Safety
///
/// `name` is NULL or NUL-terminated; `values` is NULL or points to `count`
/// floats; `epoch` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn earshot_set_curve(
    engine: EarshotEngine,
    name: *const c_char,
    values: *const f32,
    count: u32,
    epoch: *mut u64,
) -> EarshotStatus {
    guarded(|| {
        let live = handle::shared(engine)?;
        // SAFETY: the caller's promise.
        let name = unsafe { required_str(name, "name") }?;
        if values.is_null() {
            return Err(FfiError::Null("values"));
        }
        // SAFETY: non-NULL, and the caller's promise of `count` floats.
        let values = unsafe { std::slice::from_raw_parts(values, count as usize) };
        let commit = live.controller().set_curve(name, values)?;
        // SAFETY: the caller's promise.
        unsafe { maybe_write(epoch, commit.epoch) };
        Ok(EarshotStatus::EarshotOk)
    })
}

/// Changes the prompt: encodes it on the calling thread (milliseconds),
/// then commits it; the next produces are made with it. Writes the
/// conditioning epoch to `*epoch` when `epoch` is not NULL.
///
/// Control call. Fails with `EARSHOT_ERR_INVALID_HANDLE`,
/// `EARSHOT_ERR_NULL` (`text`), `EARSHOT_ERR_INVALID_ARGUMENT`,
/// `EARSHOT_ERR_NO_PROMPTS` (no text encoder installed; the message says
/// why) or `EARSHOT_ERR_PROMPT`.
///
/// # Safety
///
/// `text` is NULL or NUL-terminated; `epoch` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn earshot_set_prompt(
    engine: EarshotEngine,
    text: *const c_char,
    epoch: *mut u64,
) -> EarshotStatus {
    guarded(|| {
        let live = handle::shared(engine)?;
        // SAFETY: the caller's promise.
        let text = unsafe { required_str(text, "text") }?;
        let committed = live.controller().set_prompt(text)?;
        // SAFETY: the caller's promise.
        unsafe { maybe_write(epoch, committed) };
        Ok(EarshotStatus::EarshotOk)
    })
}

/// Arms the loop band `[start, end)`, in the model's sample frames (48 kHz)
/// of the playback timeline, the unit of `EarshotStats.playhead`: the
/// playhead wraps inside it.
///
/// Control call. Fails with `EARSHOT_ERR_INVALID_HANDLE` or
/// `EARSHOT_ERR_BAND` (empty or reversed).
#[unsafe(no_mangle)]
pub extern "C" fn earshot_arm_band(engine: EarshotEngine, start: u64, end: u64) -> EarshotStatus {
    guarded(|| {
        let live = handle::shared(engine)?;
        live.controller()
            .arm_band(SampleFrames(start), SampleFrames(end))?;
        Ok(EarshotStatus::EarshotOk)
    })
}

/// Disarms the loop band (nothing happens when none is armed).
///
/// Control call. Fails with `EARSHOT_ERR_INVALID_HANDLE`.
#[unsafe(no_mangle)]
pub extern "C" fn earshot_disarm_band(engine: EarshotEngine) -> EarshotStatus {
    guarded(|| {
        handle::shared(engine)?.controller().disarm_band();
        Ok(EarshotStatus::EarshotOk)
    })
}
