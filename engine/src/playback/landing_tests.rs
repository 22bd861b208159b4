//! Patches whose samples are still landing (an asynchronous device copy):
//! the output parks them, and everything sent after them, until their
//! ticket arrives, then applies all in the order sent; parking never
//! touches the allocator.

use super::testing::{CH, constant, render, send, send_landing, small};
use crate::frames::SampleFrames;

#[test]
fn a_patch_still_landing_waits_and_keeps_its_place_in_line() {
    let (mut writer, mut output, stats) = small(1 << 12, 1 << 10, 16, 16);
    let arrivals = writer.arrivals().clone();
    send(&mut writer, 0, &constant(512, 0.25));
    let ticket = arrivals.issue();
    // Still landing: over frames 256.., then a ready patch over part of it
    // (sent later, so it must win), then a band change.
    send_landing(&mut writer, 256, &constant(512, 0.5), Some(ticket));
    send(&mut writer, 384, &constant(64, 1.0));
    writer
        .arm_band(SampleFrames(0), SampleFrames(2048))
        .unwrap();
    let first = render(&mut output, 128);
    assert!(first.iter().all(|&v| v == 0.25));
    assert_eq!(
        stats.patches_applied(),
        1,
        "the rest waits behind the landing one"
    );
    assert_eq!(stats.band(), None, "the band waits too");
    let again = render(&mut output, 64);
    assert!(again.iter().all(|&v| v == 0.25));
    assert_eq!(stats.patches_applied(), 1);
    arrivals.arrive(ticket);
    let rest = render(&mut output, 512 - 192);
    assert_eq!(stats.patches_applied(), 3);
    assert!(stats.band().is_some());
    // Frame 384 on (64 frames of 1.0, after a 16-frame fade) is the later
    // patch's, not the landed one's.
    let at = |frame: usize| rest[(frame - 192) * CH];
    assert_eq!(at(300), 0.5);
    assert_eq!(at(384 + 16 + 8), 1.0);
    assert_eq!(at(470), 0.5);
}

#[test]
fn parking_never_allocates() {
    let (mut writer, mut output, stats) = small(1 << 12, 1 << 10, 16, 16);
    let arrivals = writer.arrivals().clone();
    let mut block = vec![0.0f32; 128 * CH];
    send(&mut writer, 0, &constant(256, 0.5));
    let ticket = arrivals.issue();
    for i in 0..7 {
        send_landing(&mut writer, 256 + 64 * i, &constant(64, 0.5), Some(ticket));
    }
    assert_no_alloc::assert_no_alloc(|| {
        output.render(&mut block);
        output.render(&mut block);
    });
    assert_eq!(stats.patches_applied(), 1);
    arrivals.arrive(ticket);
    assert_no_alloc::assert_no_alloc(|| output.render(&mut block));
    assert_eq!(stats.patches_applied(), 8);
    assert_eq!(stats.underruns(), 0);
}
