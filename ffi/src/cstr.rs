//! Reading C strings from the caller, with the argument's name in the
//! error.

use crate::error::FfiError;
use std::ffi::{CStr, c_char};
use std::path::PathBuf;

/// A string argument that must be there.
///
/// # Safety
///
/// `p` is NULL or a NUL-terminated string that outlives `'a`.
pub unsafe fn required_str<'a>(p: *const c_char, what: &'static str) -> Result<&'a str, FfiError> {
    if p.is_null() {
        return Err(FfiError::Null(what));
    }
    // SAFETY: non-NULL, and the caller's promise.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| FfiError::NotUtf8(what))
}

/// A string argument where NULL means the default.
///
/// # Safety
///
/// As [`required_str`].
pub unsafe fn optional_str<'a>(
    p: *const c_char,
    what: &'static str,
) -> Result<Option<&'a str>, FfiError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's promise.
    unsafe { required_str(p, what) }.map(Some)
}

/// A path argument where NULL means none; UTF-8 like every string here.
///
/// # Safety
///
/// As [`required_str`].
pub unsafe fn optional_path(
    p: *const c_char,
    what: &'static str,
) -> Result<Option<PathBuf>, FfiError> {
    // SAFETY: the caller's promise.
    unsafe { optional_str(p, what) }.map(|s| s.map(PathBuf::from))
}
