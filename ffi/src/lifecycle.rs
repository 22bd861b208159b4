//! Creating, starting, stopping and destroying an engine: control calls,
//! from any thread but the audio thread (they build models, spawn and join
//! threads, and wait for an audio call in flight).

use crate::config::EarshotConfig;
use crate::entry::guarded;
use crate::error::FfiError;
use crate::handle::{self, EarshotEngine};
use crate::live::Live;
use crate::status::EarshotStatus;
use earshot_embed::{EmbedError, Engine};
use std::time::Duration;

/// How long `earshot_destroy` waits for a running runner.
const DESTROY_STOP: Duration = Duration::from_secs(2);

/// Builds an engine from `*config` (checks it, loads or generates the
/// weights, makes the backend, loads the text encoder when it can) and
/// writes its handle to `*out`. Slow (milliseconds for `tiny`, seconds for
/// big models); the engine is not started.
///
/// Control call. Fails with `EARSHOT_ERR_NULL`, `EARSHOT_ERR_CONFIG`,
/// `EARSHOT_ERR_INVALID_ARGUMENT` (a string that is not UTF-8),
/// `EARSHOT_ERR_MODEL`, `EARSHOT_ERR_BACKEND` or
/// `EARSHOT_ERR_TOO_MANY_ENGINES`; `*out` is written only on success.
///
/// # Safety
///
/// `config` is NULL or points to an `EarshotConfig` whose strings are NULL
/// or NUL-terminated; `out` is NULL or points to writable memory for one
/// `EarshotEngine`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn earshot_create(
    config: *const EarshotConfig,
    out: *mut EarshotEngine,
) -> EarshotStatus {
    guarded(|| {
        if config.is_null() {
            return Err(FfiError::Null("config"));
        }
        if out.is_null() {
            return Err(FfiError::Null("out"));
        }
        // SAFETY: non-NULL, and the caller's promise on the struct.
        let config = unsafe { &*config };
        // SAFETY: the caller's promise on the strings.
        let engine = Engine::new(unsafe { config.to_engine() }?)?;
        let handle = handle::insert(Live::new(engine, config.keep_acks != 0))?;
        // SAFETY: non-NULL, and the caller's promise on the memory.
        unsafe { out.write(handle) };
        Ok(EarshotStatus::EarshotOk)
    })
}

/// Starts the engine: builds the backend and playback buffer, spawns the
/// runner thread and hands a fresh processor to `earshot_process` (after
/// any audio call in flight finishes). Knob values, curves and the prompt
/// carry over from before a stop.
///
/// Control call. Fails with `EARSHOT_ERR_INVALID_HANDLE`,
/// `EARSHOT_ERR_ALREADY_RUNNING`, `EARSHOT_ERR_BACKEND` or
/// `EARSHOT_ERR_RUNTIME`.
#[unsafe(no_mangle)]
pub extern "C" fn earshot_start(engine: EarshotEngine) -> EarshotStatus {
    guarded(|| {
        let mut live = handle::exclusive(engine)?;
        let processor = live.engine_mut().start()?;
        live.latency = processor.latency();
        live.stats = Some(processor.stats().clone());
        // The replaced processor (of an earlier start) is dropped here, on
        // this control thread.
        drop(live.install(processor));
        Ok(EarshotStatus::EarshotOk)
    })
}

/// Stops the runner, waiting at most `timeout_ms` (a runner stuck in a
/// stalled tick is left behind, and the call fails with
/// `EARSHOT_ERR_STOP`). `earshot_process` keeps playing what was already
/// written (at most the lead), then silence, with `EARSHOT_OK`: no click
/// at the stop.
///
/// Control call. Fails with `EARSHOT_ERR_INVALID_HANDLE` or
/// `EARSHOT_ERR_NOT_RUNNING` (nothing changed), or `EARSHOT_ERR_STOP`: the
/// one failure that still changes something — the engine counts as stopped
/// (it can be started again), its runner thread left behind.
#[unsafe(no_mangle)]
pub extern "C" fn earshot_stop(engine: EarshotEngine, timeout_ms: u32) -> EarshotStatus {
    guarded(|| {
        let mut live = handle::exclusive(engine)?;
        live.engine_mut()
            .stop(Duration::from_millis(u64::from(timeout_ms)))?;
        Ok(EarshotStatus::EarshotOk)
    })
}

/// Destroys the engine: waits for an audio call in flight to finish,
/// kills the handle (every later call with it gets
/// `EARSHOT_ERR_INVALID_HANDLE`, from any thread), stops a running runner
/// (waiting at most 2 s) and frees everything.
///
/// Control call. Fails with `EARSHOT_ERR_INVALID_HANDLE` (nothing done),
/// or `EARSHOT_ERR_STOP` when the runner did not stop cleanly (the handle
/// is dead all the same).
#[unsafe(no_mangle)]
pub extern "C" fn earshot_destroy(engine: EarshotEngine) -> EarshotStatus {
    guarded(|| {
        let (mut live, processor) = handle::remove(engine)?;
        // The runner first: dropping the processor waits for patches still
        // landing, which a running runner would keep sending.
        let stopped = live.engine_mut().stop(DESTROY_STOP);
        drop(processor);
        match stopped {
            Ok(_) | Err(EmbedError::NotRunning) => Ok(EarshotStatus::EarshotOk),
            Err(e) => Err(e.into()),
        }
    })
}
