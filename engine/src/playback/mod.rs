//! The playback buffer and the patch channel: the runner writes rendered
//! slices ahead of the playhead, the output (sound card callback, plugin
//! host `process()`, file writer) plays them.
//!
//! [`playback`] allocates everything once and splits it in two handles,
//! the way `rtrb` does: the [`PatchWriter`] for the runner thread and the
//! [`PlaybackOutput`] for the output thread, each `Send` and not `Sync`,
//! plus [`PlaybackStats`] for anyone. The output only does real-time-safe
//! things: it applies patches as they arrive, crossfading each into what
//! is there and never writing behind the playhead (contract 5), plays
//! from the ring, fades through underruns, and sends every spent buffer
//! back to the runner instead of freeing it.
//!
//! ```
//! use earshot_engine::playback::{Landing, Patch, PlaybackConfig, playback};
//! use earshot_engine::{Epochs, SampleFrames};
//!
//! let (mut writer, mut output, stats) = playback(PlaybackConfig::default(), 2)?;
//! let mut buffer = writer.acquire().expect("a fresh pool has buffers");
//! buffer.as_mut_slice()[..2 * 480].fill(0.25);
//! let patch = Patch {
//!     start: SampleFrames(0),
//!     len: SampleFrames(480),
//!     epochs: Epochs::default(),
//!     source: 0,
//!     landing: Landing::ready(buffer),
//! };
//! writer.send(patch).expect("the channel has room");
//!
//! let mut block = [0.0f32; 2 * 128];
//! output.render(&mut block);
//! assert_eq!(stats.playhead(), SampleFrames(128));
//! assert_eq!(block[200], 0.25);
//! # Ok::<(), earshot_engine::playback::PlaybackError>(())
//! ```
//!
//! The handles move to their threads but belong to one thread each:
//!
//! ```
//! fn moves<T: Send>() {}
//! moves::<earshot_engine::playback::PatchWriter>();
//! moves::<earshot_engine::playback::PlaybackOutput>();
//! ```
//!
//! ```compile_fail
//! fn shared<T: Sync>() {}
//! shared::<earshot_engine::playback::PlaybackOutput>();
//! ```

mod arrivals;
mod config;
mod landing;
mod message;
mod output;
mod ring;
mod stats;
mod writer;

#[cfg(test)]
mod landing_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod rt_tests;
#[cfg(test)]
mod testing;

pub use arrivals::Arrivals;
pub use config::{PlaybackConfig, PlaybackError};
pub use landing::{Landing, Ticket};
pub use message::{Patch, PatchBuffer};
pub use output::{FrameMark, NO_SOURCE, PlaybackOutput};
pub use stats::PlaybackStats;
pub use writer::{BandError, PatchWriter, SendError};

use crate::epoch::Epochs;
use message::ToOutput;
use ring::Ring;
use stats::Shared;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Tells pools apart, so a buffer can only circulate in its own.
static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(0);

/// Allocates a playback buffer for `channels`-channel audio with all its
/// patch buffers and rings, and splits it into the runner's writer, the
/// output's handle and the shared counters.
pub fn playback(
    config: PlaybackConfig,
    channels: usize,
) -> Result<(PatchWriter, PlaybackOutput, PlaybackStats), PlaybackError> {
    let (_, patch_values) = config.validate(channels)?;
    let pool_id = NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed);
    let (to_output, from_runner) = rtrb::RingBuffer::<ToOutput>::new(config.pool + 4);
    let (returning, returned) = rtrb::RingBuffer::<PatchBuffer>::new(config.pool);
    let mut free = Vec::with_capacity(config.pool);
    free.extend((0..config.pool).map(|_| PatchBuffer::new(patch_values, pool_id)));
    let shared = Arc::new(Shared::default());
    let writer = PatchWriter {
        to_output,
        returned,
        free,
        pool_id,
        capacity: config.capacity,
        max_patch: config.max_patch,
        shared: Arc::clone(&shared),
    };
    let underrun_fade = config.underrun_fade.as_usize();
    let output = PlaybackOutput {
        ring: Ring::new(config.capacity.as_usize(), channels),
        from_runner,
        returning,
        stash: Vec::with_capacity(config.pool),
        parked: std::collections::VecDeque::with_capacity(config.pool + 4),
        parked_cap: config.pool + 4,
        channels,
        fade: config.fade.as_usize(),
        underrun_fade,
        playhead: 0,
        band: None,
        level: underrun_fade,
        was_valid: true,
        primed: false,
        last: vec![0.0; channels].into_boxed_slice(),
        seam: vec![0.0; channels].into_boxed_slice(),
        frames_played: 0,
        audible: Epochs::default(),
        knob_heard_at: 0,
        conditioning_heard_at: 0,
        shared: Arc::clone(&shared),
    };
    Ok((writer, output, PlaybackStats { shared }))
}
