//! The library's version and the last-error message: the two calls that
//! cannot fail, so they return a string instead of a status.

use crate::last_error;
use std::ffi::c_char;

/// The library's version, "MAJOR.MINOR.PATCH", a static string. Any
/// thread; real-time safe.
#[unsafe(no_mangle)]
pub extern "C" fn earshot_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the latest call on this thread that returned a negative
/// code ("" when none failed yet): NUL-terminated, owned by the library,
/// valid until the next earshot call on this thread. Never NULL. Any
/// thread.
#[unsafe(no_mangle)]
pub extern "C" fn earshot_last_error() -> *const c_char {
    last_error::as_ptr()
}
