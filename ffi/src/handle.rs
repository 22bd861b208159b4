//! Engine handles that can be checked after their engine is gone.
//!
//! A handle is not a pointer: it is `(generation << 32) | (slot + 1)` into
//! a fixed table of [`EARSHOT_MAX_ENGINES`] slots that lives as long as the
//! library. Checking a handle reads the slot, never freed memory, so any
//! stale, made-up or zero handle gets `EARSHOT_ERR_INVALID_HANDLE`.
//!
//! Each slot has one atomic word, `(generation << 32) | phase`:
//!
//! - `FREE`: no engine; `earshot_create` claims the slot with a CAS.
//! - `IDLE`: an engine lives here and no thread is on its audio side.
//! - `AUDIO`: `earshot_process` or `earshot_knob_rt` holds the processor.
//!   It gets there with one CAS from `IDLE` of the handle's generation,
//!   which checks the handle and claims the processor at once, and goes
//!   back with a store: no lock, no wait. A CAS that fails because another
//!   thread holds the slot returns `EARSHOT_ERR_BUSY` at once.
//! - `EXCLUSIVE`: a control call swaps the processor (`earshot_start`) or
//!   tears the engine down (`earshot_destroy`). It waits for an `AUDIO`
//!   holder to finish its block (bounded: one block) by yielding.
//!
//! The engine's control side sits behind a per-slot `RwLock`: control calls
//! read it (they run concurrently), `start`, `stop` and `destroy` write it,
//! and a control call always takes the lock before the phase, never the
//! other way round. `destroy` bumps the generation before it lets the lock
//! go, so a call that was waiting for the lock then sees a stale handle.
//! A generation wraps after 2^32 engines in one slot; a handle that old
//! could alias a new engine.

use crate::error::FfiError;
use crate::live::Live;
use earshot_embed::Processor;
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How many engines can live at once in one process.
pub const EARSHOT_MAX_ENGINES: usize = 64;

/// An engine, as C sees it: an opaque 64-bit value from `earshot_create`.
/// 0 is never a valid handle, so it can mean "no engine".
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EarshotEngine(pub u64);

const FREE: u64 = 0;
const IDLE: u64 = 1;
const AUDIO: u64 = 2;
const EXCLUSIVE: u64 = 3;

const fn word(generation: u32, phase: u64) -> u64 {
    ((generation as u64) << 32) | phase
}

fn generation_of(word: u64) -> u32 {
    (word >> 32) as u32
}

fn phase_of(word: u64) -> u64 {
    word & 0xffff_ffff
}

/// The processor of one slot. Only the thread that moved the slot's word
/// into `AUDIO` or `EXCLUSIVE` touches it, until it moves the word out.
struct AudioCell(UnsafeCell<Option<Processor>>);

// SAFETY: the cell is only read or written by the one thread whose CAS put
// the slot's word into `AUDIO` or `EXCLUSIVE` (Acquire), until its store
// takes the word back out (Release); `Processor` is `Send`, so handing it
// from thread to thread that way is sound.
unsafe impl Sync for AudioCell {}

struct Slot {
    state: AtomicU64,
    live: RwLock<Option<Box<Live>>>,
    audio: AudioCell,
}

impl Slot {
    const fn new() -> Self {
        Self {
            state: AtomicU64::new(word(0, FREE)),
            live: RwLock::new(None),
            audio: AudioCell(UnsafeCell::new(None)),
        }
    }

    /// Whether the slot holds the engine of `generation`; only meaningful
    /// while its `live` lock is held.
    fn holds(&self, generation: u32, live: &Option<Box<Live>>) -> bool {
        let w = self.state.load(Ordering::Acquire);
        live.is_some() && generation_of(w) == generation && phase_of(w) != FREE
    }

    /// Takes the audio side of `generation`, waiting out an audio call in
    /// flight. Only called with the slot's `live` lock held for writing
    /// and the handle checked, so only audio calls move the word meanwhile.
    fn claim_exclusive(&self, generation: u32) {
        while self
            .state
            .compare_exchange_weak(
                word(generation, IDLE),
                word(generation, EXCLUSIVE),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            std::thread::yield_now();
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, Option<Box<Live>>> {
        self.live.write().unwrap_or_else(PoisonError::into_inner)
    }
}

static SLOTS: [Slot; EARSHOT_MAX_ENGINES] = [const { Slot::new() }; EARSHOT_MAX_ENGINES];

fn decode(handle: EarshotEngine) -> Result<(&'static Slot, u32), FfiError> {
    let index = (handle.0 & 0xffff_ffff) as usize;
    index
        .checked_sub(1)
        .and_then(|i| SLOTS.get(i))
        .map(|slot| (slot, generation_of(handle.0)))
        .ok_or(FfiError::InvalidHandle)
}

/// Puts a created engine in a free slot and returns its handle.
pub fn insert(live: Live) -> Result<EarshotEngine, FfiError> {
    for (index, slot) in SLOTS.iter().enumerate() {
        let w = slot.state.load(Ordering::Acquire);
        if phase_of(w) != FREE {
            continue;
        }
        let generation = generation_of(w);
        let claimed = word(generation, EXCLUSIVE);
        if slot
            .state
            .compare_exchange(w, claimed, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        // Published under the write lock: a control call sees the engine
        // and the idle phase together.
        let mut cell = slot.write();
        *cell = Some(Box::new(live));
        slot.state.store(word(generation, IDLE), Ordering::Release);
        drop(cell);
        return Ok(EarshotEngine(word(generation, index as u64 + 1)));
    }
    Err(FfiError::TooManyEngines(EARSHOT_MAX_ENGINES))
}

/// Takes the engine of `handle` out of its slot, with its processor, after
/// any audio call in flight has finished; the handle is dead from here on.
pub fn remove(handle: EarshotEngine) -> Result<(Box<Live>, Option<Processor>), FfiError> {
    let (slot, generation) = decode(handle)?;
    let mut live = slot.write();
    if !slot.holds(generation, &live) {
        return Err(FfiError::InvalidHandle);
    }
    let engine = live.take().ok_or(FfiError::InvalidHandle)?;
    slot.claim_exclusive(generation);
    // SAFETY: this thread holds the slot's word in `EXCLUSIVE`.
    let processor = unsafe { (*slot.audio.0.get()).take() };
    slot.state
        .store(word(generation.wrapping_add(1), FREE), Ordering::Release);
    Ok((engine, processor))
}

/// The control side of a live engine, shared with other control calls.
pub struct Shared {
    guard: RwLockReadGuard<'static, Option<Box<Live>>>,
}

impl Deref for Shared {
    type Target = Live;

    fn deref(&self) -> &Live {
        // `shared` made this only for a slot that holds an engine, and the
        // read lock keeps it there.
        self.guard.as_deref().expect("a live slot")
    }
}

/// The control side of a live engine, for a control call.
pub fn shared(handle: EarshotEngine) -> Result<Shared, FfiError> {
    let (slot, generation) = decode(handle)?;
    let guard = slot.live.read().unwrap_or_else(PoisonError::into_inner);
    if !slot.holds(generation, &guard) {
        return Err(FfiError::InvalidHandle);
    }
    Ok(Shared { guard })
}

/// The control side of a live engine, alone: for start and stop.
pub struct Exclusive {
    slot: &'static Slot,
    generation: u32,
    guard: RwLockWriteGuard<'static, Option<Box<Live>>>,
}

impl Exclusive {
    /// Puts `processor` in the audio cell, after any audio call in flight
    /// has finished, and hands back the one it replaces (to be dropped
    /// here, on the control thread).
    pub fn install(&mut self, processor: Processor) -> Option<Processor> {
        self.slot.claim_exclusive(self.generation);
        // SAFETY: this thread holds the slot's word in `EXCLUSIVE`.
        let old = unsafe { (*self.slot.audio.0.get()).replace(processor) };
        self.slot
            .state
            .store(word(self.generation, IDLE), Ordering::Release);
        old
    }
}

impl Deref for Exclusive {
    type Target = Live;

    fn deref(&self) -> &Live {
        self.guard.as_deref().expect("a live slot")
    }
}

impl DerefMut for Exclusive {
    fn deref_mut(&mut self) -> &mut Live {
        self.guard.as_deref_mut().expect("a live slot")
    }
}

/// The control side of a live engine, alone.
pub fn exclusive(handle: EarshotEngine) -> Result<Exclusive, FfiError> {
    let (slot, generation) = decode(handle)?;
    let guard = slot.write();
    if !slot.holds(generation, &guard) {
        return Err(FfiError::InvalidHandle);
    }
    Ok(Exclusive {
        slot,
        generation,
        guard,
    })
}

/// The audio side of a live engine, held by one thread until dropped.
pub struct Audio {
    slot: &'static Slot,
    generation: u32,
}

impl Audio {
    /// The processor, once the engine has been started.
    pub fn processor(&mut self) -> Option<&mut Processor> {
        // SAFETY: this guard's thread put the slot's word in `AUDIO` and
        // holds it until the guard drops; `&mut self` keeps the borrow
        // inside the guard's life.
        unsafe { (*self.slot.audio.0.get()).as_mut() }
    }
}

impl Drop for Audio {
    fn drop(&mut self) {
        self.slot
            .state
            .store(word(self.generation, IDLE), Ordering::Release);
    }
}

/// Claims the audio side of `handle` with one CAS, without waiting: a
/// handle of no live engine is invalid, a slot another thread holds is busy.
pub fn audio(handle: EarshotEngine) -> Result<Audio, FfiError> {
    let (slot, generation) = decode(handle)?;
    match slot.state.compare_exchange(
        word(generation, IDLE),
        word(generation, AUDIO),
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => Ok(Audio { slot, generation }),
        Err(w) if generation_of(w) == generation && phase_of(w) != FREE => Err(FfiError::Busy),
        Err(_) => Err(FfiError::InvalidHandle),
    }
}
