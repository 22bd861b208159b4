//! The audio thread's calls: play a block, queue a knob change from inside
//! it. Real-time safe: they claim the engine's audio side with one CAS
//! (never waiting), and neither they nor the processor lock, allocate,
//! free, block or log, on success or on failure.

use crate::entry::guarded;
use crate::error::FfiError;
use crate::handle::{self, EarshotEngine};
use crate::status::EarshotStatus;
use earshot_audio_model::config::CHANNELS;
use earshot_embed::{MAX_BLOCK, ProcessError};

/// Fills `channels` host buffers of `frames` floats each (`out[c]` is
/// channel `c`, planar) with the next frames from the playhead, and
/// advances it. Any block length from 0 to the config's `max_block`; the
/// engine's audio is resampled to the config's sample rate.
///
/// Real-time safe; call it from one audio thread at a time (a second
/// thread calling at once gets `EARSHOT_ERR_BUSY`). The playhead stays
/// where it was on every failure. A block of the wrong shape is left
/// untouched, and `out` is not even read when `channels` is not 1 or 2 or
/// `frames` is over 65536: `EARSHOT_ERR_CHANNELS`, `EARSHOT_ERR_FRAMES`.
/// On the other failures every non-NULL channel buffer is filled with
/// silence: `EARSHOT_ERR_NULL` (a channel pointer; `out` itself NULL
/// touches nothing), `EARSHOT_ERR_INVALID_HANDLE`,
/// `EARSHOT_ERR_NOT_STARTED` (before the first `earshot_start`),
/// `EARSHOT_ERR_INVALID_ARGUMENT` (the two channel buffers overlap),
/// `EARSHOT_ERR_BUSY`.
///
/// # Safety
///
/// `out` is NULL or points to `channels` pointers, each NULL or pointing
/// to `frames` writable floats that nothing else touches during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn earshot_process(
    engine: EarshotEngine,
    out: *const *mut f32,
    channels: u32,
    frames: u32,
) -> EarshotStatus {
    guarded(|| {
        if out.is_null() {
            return Err(FfiError::Null("out"));
        }
        // Shapes no engine takes are refused before `out` is read or
        // written: a wrong count must give a code, not a wild access.
        if !(1..=CHANNELS as u32).contains(&channels) {
            return Err(ProcessError::Channels {
                expected: CHANNELS,
                got: channels as usize,
            }
            .into());
        }
        if frames as usize > MAX_BLOCK {
            return Err(ProcessError::BlockTooLong {
                max: MAX_BLOCK,
                got: frames as usize,
            }
            .into());
        }
        // SAFETY: non-NULL, and the caller's promise of `channels` (1 or 2)
        // pointers.
        let channels = unsafe { std::slice::from_raw_parts(out, channels as usize) };
        let frames = frames as usize;
        // SAFETY: the caller's promise on each channel pointer.
        let played = unsafe { play(engine, channels, frames) };
        // Silence where the block had the engine's shape and could not be
        // played; a block of the wrong shape is left untouched.
        if let Err(e) = &played
            && !matches!(
                e,
                FfiError::Process(
                    ProcessError::Channels { .. } | ProcessError::BlockTooLong { .. }
                )
            )
        {
            for &c in channels.iter().filter(|c| !c.is_null()) {
                // SAFETY: the caller's promise: `frames` writable floats;
                // raw writes, so overlapping buffers are fine here. All-zero
                // bits are 0.0.
                unsafe { c.write_bytes(0, frames) };
            }
        }
        played
    })
}

/// Plays one block into checked channel buffers.
///
/// # Safety
///
/// Each non-NULL pointer in `channels` points to `frames` writable floats
/// that nothing else touches during the call.
unsafe fn play(
    engine: EarshotEngine,
    channels: &[*mut f32],
    frames: usize,
) -> Result<EarshotStatus, FfiError> {
    if channels.iter().any(|c| c.is_null()) {
        return Err(FfiError::Null("a channel buffer"));
    }
    let mut audio = handle::audio(engine)?;
    let processor = audio.processor().ok_or(FfiError::NotStarted)?;
    if channels.len() != processor.channels() {
        return Err(ProcessError::Channels {
            expected: processor.channels(),
            got: channels.len(),
        }
        .into());
    }
    if frames > processor.max_block() {
        return Err(ProcessError::BlockTooLong {
            max: processor.max_block(),
            got: frames,
        }
        .into());
    }
    match *channels {
        [mono] => {
            // SAFETY: non-NULL, `frames` floats nothing else touches (the
            // caller's promise).
            let mono = unsafe { std::slice::from_raw_parts_mut(mono, frames) };
            processor.process(&mut [mono])?;
        }
        [left, right] => {
            if overlap(left, right, frames) {
                return Err(FfiError::Overlap);
            }
            // SAFETY: as for mono, and the two do not overlap, so the two
            // `&mut` slices do not alias.
            let left = unsafe { std::slice::from_raw_parts_mut(left, frames) };
            // SAFETY: as for `left`.
            let right = unsafe { std::slice::from_raw_parts_mut(right, frames) };
            processor.process(&mut [left, right])?;
        }
        _ => unreachable!("the config allows 1 or 2 channels and the count was checked"),
    }
    Ok(EarshotStatus::EarshotOk)
}

/// Whether two buffers of `frames` floats share any float.
fn overlap(a: *mut f32, b: *mut f32, frames: usize) -> bool {
    let bytes = frames * size_of::<f32>();
    let (a, b) = (a as usize, b as usize);
    frames > 0 && a < b.wrapping_add(bytes) && b < a.wrapping_add(bytes)
}

/// Queues a change of knob `knob` (its index, see `earshot_knob_info`) to
/// `value`, meant for the frame `offset` host frames into the block about
/// to be processed: its received ack carries that time, and the runner
/// commits it at its next tick. For automation from inside the host's
/// block; `earshot_set_knob` is the control-thread way.
///
/// Real-time safe; call it from the thread that calls `earshot_process`.
/// Fails, queuing nothing, with `EARSHOT_ERR_INVALID_HANDLE`,
/// `EARSHOT_ERR_NOT_STARTED`, `EARSHOT_ERR_KNOB` (no such knob, NaN,
/// infinite or out of range), `EARSHOT_ERR_QUEUE_FULL` or
/// `EARSHOT_ERR_BUSY`.
#[unsafe(no_mangle)]
pub extern "C" fn earshot_knob_rt(
    engine: EarshotEngine,
    offset: u32,
    knob: u32,
    value: f32,
) -> EarshotStatus {
    guarded(|| {
        let mut audio = handle::audio(engine)?;
        let processor = audio.processor().ok_or(FfiError::NotStarted)?;
        processor.knob(offset as usize, knob as usize, value)?;
        Ok(EarshotStatus::EarshotOk)
    })
}

#[cfg(test)]
mod tests {
    use super::overlap;

    #[test]
    fn buffers_overlap_only_when_they_share_a_float() {
        let mut both = [0.0f32; 8];
        let p = both.as_mut_ptr();
        // SAFETY: offsets inside `both`.
        let (q, r) = unsafe { (p.add(4), p.add(3)) };
        assert!(!overlap(p, q, 4), "adjacent");
        assert!(overlap(p, r, 4), "one float shared");
        assert!(overlap(p, p, 1), "the same buffer");
        assert!(!overlap(p, p, 0), "empty blocks share nothing");
    }
}
