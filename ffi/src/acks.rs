//! Ack events through the C ABI: each accepted change reports received,
//! committed, first produce, first audible (or dropped); the host polls
//! them one at a time.

use crate::entry::guarded;
use crate::error::FfiError;
use crate::handle::{self, EarshotEngine};
use crate::status::EarshotStatus;
use earshot_engine::ack::{AckEvent, AckKind, AckStage};

/// What changed.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// The header's names are the variants' names in SCREAMING_SNAKE_CASE.
#[allow(clippy::enum_variant_names)]
pub enum EarshotAckKind {
    /// A knob value or curve (the knob epoch).
    EarshotAckKnob = 0,
    /// The prompt (the conditioning epoch).
    EarshotAckConditioning = 1,
}

/// How far a change has come.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub enum EarshotAckStage {
    /// The control side took the request.
    EarshotAckReceived = 0,
    /// The change is in the state the runner reads.
    EarshotAckCommitted = 1,
    /// The first produce made with it was delivered.
    EarshotAckFirstProduce = 2,
    /// The output played the first frame made with it.
    EarshotAckFirstAudible = 3,
    /// It was given up; what was in force stays.
    EarshotAckDropped = 4,
}

/// One stage of one change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarshotAck {
    /// What changed.
    pub kind: EarshotAckKind,
    /// The stage reached.
    pub stage: EarshotAckStage,
    /// The change's epoch (the value `earshot_set_knob` or
    /// `earshot_set_prompt` wrote); at first produce and first audible, the
    /// newest epoch that got there, which covers every older one.
    pub epoch: u64,
    /// When the stage was reached, in the model's sample frames (48 kHz)
    /// since the engine was created.
    pub at: u64,
}

impl From<AckEvent> for EarshotAck {
    fn from(e: AckEvent) -> Self {
        Self {
            kind: match e.kind {
                AckKind::Knob => EarshotAckKind::EarshotAckKnob,
                AckKind::Conditioning => EarshotAckKind::EarshotAckConditioning,
            },
            stage: match e.stage {
                AckStage::Received => EarshotAckStage::EarshotAckReceived,
                AckStage::Committed => EarshotAckStage::EarshotAckCommitted,
                AckStage::FirstProduce => EarshotAckStage::EarshotAckFirstProduce,
                AckStage::FirstAudible => EarshotAckStage::EarshotAckFirstAudible,
                AckStage::Dropped => EarshotAckStage::EarshotAckDropped,
            },
            epoch: e.epoch,
            at: e.at.0,
        }
    }
}

/// Takes the oldest pending ack event into `*out`: `EARSHOT_OK` when there
/// was one, `EARSHOT_NO_ACK` when none is pending (`*out` untouched). Events
/// queue from `earshot_create` on, in order, until polled.
///
/// Control call (it may wait for another thread polling the same engine).
/// Fails with `EARSHOT_ERR_INVALID_HANDLE`, `EARSHOT_ERR_NULL` or
/// `EARSHOT_ERR_ACKS_OFF` (created with `keep_acks = 0`).
///
/// # Safety
///
/// `out` is NULL or points to writable memory for one `EarshotAck`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn earshot_poll_ack(
    engine: EarshotEngine,
    out: *mut EarshotAck,
) -> EarshotStatus {
    guarded(|| {
        let live = handle::shared(engine)?;
        if out.is_null() {
            return Err(FfiError::Null("out"));
        }
        match live.next_ack().ok_or(FfiError::AcksOff)? {
            Some(event) => {
                // SAFETY: non-NULL, and the caller's promise.
                unsafe { out.write(event.into()) };
                Ok(EarshotStatus::EarshotOk)
            }
            None => Ok(EarshotStatus::EarshotNoAck),
        }
    })
}
