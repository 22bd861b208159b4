//! The knob list a host reads: names, ranges, indices.

use crate::common::last_error;
use earshot_audio_model::knobs::KNOBS;
use earshot_c::*;
use std::ffi::CStr;

#[test]
fn every_knob_is_listed_and_its_index_found_by_name() {
    assert_eq!(earshot_knob_count() as usize, KNOBS.len());
    for (i, spec) in KNOBS.iter().enumerate() {
        let mut info = std::mem::MaybeUninit::<EarshotKnobInfo>::uninit();
        // SAFETY: memory for one knob info.
        let status = unsafe { earshot_knob_info(i as u32, info.as_mut_ptr()) };
        assert_eq!(status, EarshotStatus::EarshotOk);
        // SAFETY: written on success.
        let info = unsafe { info.assume_init() };
        // SAFETY: `name` is NUL-terminated inside the struct.
        let name = unsafe { CStr::from_ptr(info.name.as_ptr()) };
        assert_eq!(name.to_str().unwrap(), spec.name);
        assert_eq!(
            (info.min, info.max, info.default_value),
            (spec.min, spec.max, spec.default)
        );
        let mut index = u32::MAX;
        // SAFETY: a NUL-terminated name and a pointer to one u32.
        let status = unsafe { earshot_knob_index(name.as_ptr(), &mut index) };
        assert_eq!((status, index as usize), (EarshotStatus::EarshotOk, i));
    }
    let mut info = std::mem::MaybeUninit::<EarshotKnobInfo>::uninit();
    // SAFETY: memory for one knob info.
    let status = unsafe { earshot_knob_info(KNOBS.len() as u32, info.as_mut_ptr()) };
    assert_eq!(status, EarshotStatus::EarshotErrKnob);
    let mut index = 0;
    // SAFETY: a C literal and a pointer to one u32.
    let status = unsafe { earshot_knob_index(c"volume".as_ptr(), &mut index) };
    assert_eq!(status, EarshotStatus::EarshotErrKnob);
    assert!(last_error().contains("volume"));
}

#[test]
fn the_version_is_the_crates() {
    // SAFETY: a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(earshot_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn the_last_error_belongs_to_the_thread_that_failed() {
    // SAFETY: NULL is refused before anything is read.
    let status = unsafe { earshot_knob_index(std::ptr::null(), std::ptr::null_mut()) };
    assert_eq!(status, EarshotStatus::EarshotErrNull);
    let other = std::thread::spawn(last_error).join().unwrap();
    assert_eq!(other, "", "a thread that never failed has no message");
    assert!(last_error().contains("name"));
}
