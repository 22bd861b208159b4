//! The one way into the library: every entry point runs its body through
//! [`guarded`], so no panic unwinds into C and every failure leaves its
//! message behind.

use crate::error::FfiError;
use crate::last_error;
use crate::status::EarshotStatus;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `body`, turning its error or panic into a status code and the
/// thread's last-error message. Allocates nothing unless `body` does or
/// panics.
pub fn guarded(body: impl FnOnce() -> Result<EarshotStatus, FfiError>) -> EarshotStatus {
    // Unwind safety: the state a body shares between calls is the engine
    // table, whose locks recover from poisoning and whose audio claim is
    // released by a drop guard, so a caught panic leaves nothing broken.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => fail(&e),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            fail(&FfiError::Panic(what))
        }
    }
}

/// Records `e` as the last error and returns its code.
fn fail(e: &FfiError) -> EarshotStatus {
    last_error::set(e);
    e.status()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: the buffer is this thread's, NUL-terminated.
        unsafe { CStr::from_ptr(last_error::as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_a_code_and_a_message() {
        let status = guarded(|| panic!("boom {}", 7));
        assert_eq!(status, EarshotStatus::EarshotErrPanic);
        assert!(last().contains("boom 7"), "{}", last());
    }

    #[test]
    fn an_error_sets_the_message_and_success_leaves_it() {
        assert_eq!(
            guarded(|| Err(FfiError::Null("out"))),
            EarshotStatus::EarshotErrNull
        );
        assert_eq!(last(), "out is NULL");
        assert_eq!(
            guarded(|| Ok(EarshotStatus::EarshotOk)),
            EarshotStatus::EarshotOk
        );
        assert_eq!(last(), "out is NULL");
    }
}
