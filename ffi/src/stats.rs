//! The playback counters of an engine, for a host's meters and tests.

use crate::entry::guarded;
use crate::error::FfiError;
use crate::handle::{self, EarshotEngine};
use crate::status::EarshotStatus;

/// Counters of an engine's latest start (all zero before the first).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EarshotStats {
    /// The next frame the output plays, in the model's sample frames
    /// (48 kHz) of the playback timeline (the loop band's unit).
    pub playhead: u64,
    /// Model frames played since the start, underruns and laps of the loop
    /// band included.
    pub frames_played: u64,
    /// Times the output ran dry.
    pub underruns: u64,
    /// Model frames played as silence because the output ran dry.
    pub underrun_frames: u64,
    /// The fixed delay of the audio path in host frames (the resampler's;
    /// 0 at 48 kHz): what a host reports as the plugin latency.
    pub latency: u32,
    /// 1 while the runner runs, else 0.
    pub running: u32,
}

/// Reads the engine's counters into `*out`. Each counter is read on its
/// own, so two of them may be a block apart.
///
/// Control call. Fails with `EARSHOT_ERR_INVALID_HANDLE` or
/// `EARSHOT_ERR_NULL`.
///
/// # Safety
///
/// `out` is NULL or points to writable memory for one `EarshotStats`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn earshot_stats(
    engine: EarshotEngine,
    out: *mut EarshotStats,
) -> EarshotStatus {
    guarded(|| {
        let live = handle::shared(engine)?;
        if out.is_null() {
            return Err(FfiError::Null("out"));
        }
        let mut stats = EarshotStats {
            latency: u32::try_from(live.latency).unwrap_or(u32::MAX),
            running: u32::from(live.is_running()),
            ..EarshotStats::default()
        };
        if let Some(s) = &live.stats {
            stats.playhead = s.playhead().0;
            stats.frames_played = s.frames_played().0;
            stats.underruns = s.underruns();
            stats.underrun_frames = s.underrun_frames();
        }
        // SAFETY: non-NULL, and the caller's promise.
        unsafe { out.write(stats) };
        Ok(EarshotStatus::EarshotOk)
    })
}
