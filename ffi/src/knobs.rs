//! The model's knobs, for a host that lists them (names, ranges, the index
//! `earshot_knob_rt` takes). Pure functions of the library: any thread,
//! real-time safe.

use crate::cstr::required_str;
use crate::entry::guarded;
use crate::error::FfiError;
use crate::status::EarshotStatus;
use earshot_audio_model::knobs::{KNOBS, knob_index};
use std::ffi::c_char;

/// Room for a knob's name in `EarshotKnobInfo`, NUL included.
pub const EARSHOT_KNOB_NAME_MAX: usize = 32;

/// One knob of the model.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EarshotKnobInfo {
    /// Its name, NUL-terminated: what `earshot_set_knob` takes.
    pub name: [c_char; EARSHOT_KNOB_NAME_MAX],
    /// Lowest accepted value.
    pub min: f32,
    /// Highest accepted value.
    pub max: f32,
    /// Value at start-up.
    pub default_value: f32,
}

/// How many knobs the model has; their indices are `0..count`.
#[unsafe(no_mangle)]
pub extern "C" fn earshot_knob_count() -> u32 {
    KNOBS.len() as u32
}

/// Describes knob `index` in `*out`.
///
/// Fails with `EARSHOT_ERR_NULL` or `EARSHOT_ERR_KNOB` (no such index).
///
/// # Safety
///
/// `out` is NULL or points to writable memory for one `EarshotKnobInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn earshot_knob_info(index: u32, out: *mut EarshotKnobInfo) -> EarshotStatus {
    guarded(|| {
        if out.is_null() {
            return Err(FfiError::Null("out"));
        }
        let spec = KNOBS
            .get(index as usize)
            .ok_or(FfiError::KnobIndex(index))?;
        let mut name = [0 as c_char; EARSHOT_KNOB_NAME_MAX];
        // Names are short ASCII; one byte stays 0 for the NUL.
        for (n, b) in name[..EARSHOT_KNOB_NAME_MAX - 1]
            .iter_mut()
            .zip(spec.name.bytes())
        {
            *n = b as c_char;
        }
        let info = EarshotKnobInfo {
            name,
            min: spec.min,
            max: spec.max,
            default_value: spec.default,
        };
        // SAFETY: non-NULL, and the caller's promise.
        unsafe { out.write(info) };
        Ok(EarshotStatus::EarshotOk)
    })
}

/// Writes the index of knob `name` to `*index`.
///
/// Fails with `EARSHOT_ERR_NULL`, `EARSHOT_ERR_INVALID_ARGUMENT` or
/// `EARSHOT_ERR_KNOB` (no such name).
///
/// # Safety
///
/// `name` is NULL or NUL-terminated; `index` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn earshot_knob_index(name: *const c_char, index: *mut u32) -> EarshotStatus {
    guarded(|| {
        // SAFETY: the caller's promise.
        let name = unsafe { required_str(name, "name") }?;
        if index.is_null() {
            return Err(FfiError::Null("index"));
        }
        let i = knob_index(name).ok_or_else(|| FfiError::KnobName(name.to_owned()))?;
        // SAFETY: non-NULL, and the caller's promise.
        unsafe { index.write(i as u32) };
        Ok(EarshotStatus::EarshotOk)
    })
}
