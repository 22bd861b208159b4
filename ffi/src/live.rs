//! What the control side of one engine handle holds.

use earshot_embed::{Controller, Engine};
use earshot_engine::ack::AckEvent;
use earshot_engine::playback::PlaybackStats;
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One created engine, as the control calls see it. The processor is not
/// here: it lives in the handle's audio cell, which only the audio side
/// and the calls that swap it touch.
///
/// The engine itself is not `Sync` (its runner thread's handle), so calls
/// that share the handle go through its [`Controller`], which is: a knob
/// set from one thread never waits for a prompt encoding on another.
#[derive(Debug)]
pub struct Live {
    /// The embedded engine: start and stop (under the handle's write lock),
    /// `is_running` (briefly locked).
    engine: Mutex<Engine>,
    /// The engine's control calls, shared by every control thread.
    controller: Controller,
    /// Ack events since create, when the config kept them. A mutex because
    /// a receiver serves one thread at a time.
    acks: Option<Mutex<Receiver<AckEvent>>>,
    /// The counters of the latest start's processor (they outlive a stop).
    pub stats: Option<PlaybackStats>,
    /// The latest start's processor delay, in host frames.
    pub latency: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Live {
    /// A created engine, not started; subscribes to its acks when asked.
    pub fn new(engine: Engine, keep_acks: bool) -> Self {
        Self {
            controller: engine.controller().clone(),
            acks: keep_acks.then(|| Mutex::new(engine.subscribe_acks())),
            engine: Mutex::new(engine),
            stats: None,
            latency: 0,
        }
    }

    /// The engine, for start and stop (the caller holds the handle alone).
    pub fn engine_mut(&mut self) -> &mut Engine {
        self.engine
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the runner runs.
    pub fn is_running(&self) -> bool {
        lock(&self.engine).is_running()
    }

    /// The engine's control calls (knobs, curves, prompt, band).
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// The oldest pending ack event; `None` when acks are off.
    pub fn next_ack(&self) -> Option<Option<AckEvent>> {
        // The engine owns the sending side, so a closed channel cannot
        // happen while the handle lives; either way nothing is pending.
        self.acks.as_ref().map(|rx| lock(rx).try_recv().ok())
    }
}
