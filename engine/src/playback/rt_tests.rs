//! The output's block never touches the allocator, even while applying a
//! full pool of patches (whole, crossfaded, wrapped, trimmed and dropped),
//! changing the band, running dry and returning every buffer.
//!
//! The allocator below serves this whole test binary but only objects
//! inside `assert_no_alloc`, where any allocation or free aborts.

use super::testing::{CH, constant, ramp, send, small};
use crate::frames::SampleFrames;

#[global_allocator]
static A: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

#[test]
fn render_never_allocates() {
    let (mut writer, mut output, stats) = small(1 << 12, 1 << 10, 64, 16);
    let mut block = vec![0.0f32; 256 * CH];
    send(&mut writer, 0, &constant(1 << 10, 0.5));
    output.render(&mut block);

    send(&mut writer, 256, &ramp(256, 512)); // over content: crossfades
    send(&mut writer, 1024, &ramp(1024, 1024)); // into empty frames
    send(&mut writer, 4000, &ramp(4000, 200)); // wraps the ring
    send(&mut writer, 100, &ramp(100, 300)); // trimmed at the playhead
    send(&mut writer, 0, &ramp(0, 200)); // wholly behind: dropped
    send(&mut writer, 300, &constant(8, 1.0));
    send(&mut writer, 5000, &constant(8, 1.0));
    send(&mut writer, 600, &constant(1 << 10, 0.25)); // the whole pool in flight
    writer
        .arm_band(SampleFrames(256), SampleFrames(3000))
        .unwrap();
    assert!(writer.acquire().is_none());

    assert_no_alloc::assert_no_alloc(|| output.render(&mut block));
    writer.disarm_band().unwrap();
    assert_no_alloc::assert_no_alloc(|| {
        for _ in 0..40 {
            output.render(&mut block); // plays through an underrun
        }
    });

    assert_eq!(stats.patches_applied(), 7 + 1);
    assert_eq!(stats.patches_trimmed(), 1);
    assert_eq!(stats.late_dropped(), 1);
    assert!(stats.underruns() >= 1);
    let back: Vec<_> = std::iter::from_fn(|| writer.acquire()).collect();
    assert_eq!(back.len(), 8, "every buffer came back");
}
