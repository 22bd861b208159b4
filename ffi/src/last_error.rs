//! The thread-local last-error message.
//!
//! A fixed buffer per thread, not a `CString`: `earshot_process` sets it on
//! the audio thread, where making or freeing a string is not allowed. The
//! buffer has no destructor and a constant initializer, so touching it
//! registers nothing and allocates nothing (in a library a host loads with
//! `dlopen`, glibc may allocate the thread's block of dynamic TLS on the
//! first touch from each thread; the success path of `earshot_process`
//! never touches it).

use std::cell::RefCell;
use std::ffi::c_char;
use std::fmt::Write;

/// The longest message kept, NUL included; longer ones are cut at a
/// character boundary.
const CAPACITY: usize = 1024;

/// A NUL-terminated message in a fixed buffer; `repr(C)` puts `bytes` at
/// the start, where [`as_ptr`] points.
#[repr(C)]
struct Message {
    bytes: [u8; CAPACITY],
    len: usize,
}

impl Message {
    const fn empty() -> Self {
        Self {
            bytes: [0; CAPACITY],
            len: 0,
        }
    }
}

impl Write for Message {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        // Keep one byte for the NUL; cut at a character boundary.
        let room = CAPACITY - 1 - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

thread_local! {
    static LAST: RefCell<Message> = const { RefCell::new(Message::empty()) };
}

/// Makes `message` this thread's last error. Allocates nothing unless the
/// message's own `Display` does.
pub fn set(message: &dyn std::fmt::Display) {
    LAST.with(|last| {
        // A message being written while another is set cannot happen (the
        // entry points do not nest), but a RefCell already borrowed is
        // skipped rather than trusted.
        if let Ok(mut m) = last.try_borrow_mut() {
            m.len = 0;
            // `Message::write_str` never fails; a `Display` that fails
            // leaves what it wrote so far.
            let _ = write!(m, "{message}");
            let end = m.len;
            m.bytes[end] = 0;
        }
    });
}

/// This thread's last error as a C string, valid until the next earshot
/// call on this thread (which may overwrite the buffer in place).
pub fn as_ptr() -> *const c_char {
    LAST.with(|last| last.as_ptr().cast_const().cast::<c_char>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn read() -> String {
        // SAFETY: `as_ptr` points at this thread's buffer, NUL-terminated
        // by every `set` and all zeros before the first.
        unsafe { CStr::from_ptr(as_ptr()) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary_and_terminated() {
        set(&"é".repeat(CAPACITY));
        let m = read();
        assert_eq!(m.len(), CAPACITY - 2, "511 two-byte characters");
        set(&"short");
        assert_eq!(read(), "short");
    }

    #[test]
    fn each_thread_has_its_own_message() {
        set(&"main");
        std::thread::spawn(|| set(&"other")).join().unwrap();
        assert_eq!(read(), "main");
    }
}
