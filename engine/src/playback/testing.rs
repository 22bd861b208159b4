//! Helpers shared by the playback tests: a small stereo buffer, sending a
//! slice as a patch, rendering a run of frames.

use super::{
    Landing, Patch, PatchWriter, PlaybackConfig, PlaybackOutput, PlaybackStats, Ticket, playback,
};
use crate::epoch::Epochs;
use crate::frames::SampleFrames;

/// Channels of every test buffer.
pub(super) const CH: usize = 2;

/// A stereo playback buffer of `capacity` frames, `max_patch`-frame patches
/// and the given fades, with a pool of 8.
pub(super) fn small(
    capacity: u64,
    max_patch: u64,
    fade: u64,
    underrun_fade: u64,
) -> (PatchWriter, PlaybackOutput, PlaybackStats) {
    let config = PlaybackConfig {
        capacity: SampleFrames(capacity),
        pool: 8,
        max_patch: SampleFrames(max_patch),
        fade: SampleFrames(fade),
        underrun_fade: SampleFrames(underrun_fade),
    };
    playback(config, CH).unwrap()
}

/// Sends interleaved `data` as a patch at `start`.
pub(super) fn send(writer: &mut PatchWriter, start: u64, data: &[f32]) {
    send_landing(writer, start, data, None);
}

/// Sends interleaved `data` as a patch at `start` whose samples are marked
/// as still landing with `ticket` (`None`: there).
pub(super) fn send_landing(
    writer: &mut PatchWriter,
    start: u64,
    data: &[f32],
    ticket: Option<Ticket>,
) {
    let mut buffer = writer.acquire().expect("a free buffer");
    buffer.as_mut_slice()[..data.len()].copy_from_slice(data);
    let landing = match ticket {
        // SAFETY: the data is written above; nothing writes it later.
        Some(ticket) => unsafe { Landing::in_flight(buffer, ticket) },
        None => Landing::ready(buffer),
    };
    let patch = Patch {
        start: SampleFrames(start),
        len: SampleFrames((data.len() / CH) as u64),
        epochs: Epochs::default(),
        source: 0,
        landing,
    };
    writer.send(patch).expect("room in the channel");
}

/// `frames` frames of the same value on both channels.
pub(super) fn constant(frames: usize, value: f32) -> Vec<f32> {
    vec![value; frames * CH]
}

/// Frames whose left channel is their index from `first` and right channel
/// its negation, so a played frame names its position.
pub(super) fn ramp(first: u64, frames: usize) -> Vec<f32> {
    (0..frames)
        .flat_map(|i| {
            let v = (first + i as u64) as f32;
            [v, -v]
        })
        .collect()
}

/// Renders `frames` frames in one block.
pub(super) fn render(output: &mut PlaybackOutput, frames: usize) -> Vec<f32> {
    let mut out = vec![f32::NAN; frames * CH];
    output.render(&mut out);
    out
}
