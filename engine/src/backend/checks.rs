//! The argument checks every backend runs first, so each refuses a bad
//! request the same way, before touching a buffer.

use super::{BackendError, DecodeRequest, StepBatch};
use crate::conditioning::ConditioningInput;
use crate::description::ModelDescription;

/// Checks a conditioning input against the model's shape (every backend's
/// `encode` calls this first).
pub fn check_conditioning(
    model: &ModelDescription,
    input: &ConditioningInput,
) -> Result<(), BackendError> {
    for (what, expected, found) in [
        (
            "conditioning tokens",
            model.conditioning_tokens_len(),
            input.tokens.len(),
        ),
        (
            "pooled conditioning",
            model.conditioning.width,
            input.pooled.len(),
        ),
    ] {
        if expected != found {
            return Err(BackendError::WrongLength {
                what,
                expected,
                found,
            });
        }
    }
    Ok(())
}

/// Checks that a host buffer for a whole latent window (`what`: read-back
/// or write) holds `model.window_len()` values.
pub fn check_window_len(
    model: &ModelDescription,
    what: &'static str,
    found: usize,
) -> Result<(), BackendError> {
    let expected = model.window_len();
    if found != expected {
        return Err(BackendError::WrongLength {
            what,
            expected,
            found,
        });
    }
    Ok(())
}

/// Checks a batch's knob rows: one row of the model's knobs per slot.
pub fn check_knob_rows(model: &ModelDescription, batch: &StepBatch) -> Result<(), BackendError> {
    let expected = batch.slots.len() * model.knob_count();
    if batch.knob_rows.len() != expected {
        return Err(BackendError::WrongLength {
            what: "knob rows",
            expected,
            found: batch.knob_rows.len(),
        });
    }
    Ok(())
}

/// Checks a decode request and its output length; returns the range in
/// sample frames from the window's first one.
pub fn check_decode(
    model: &ModelDescription,
    request: &DecodeRequest,
    out_len: usize,
) -> Result<std::ops::Range<usize>, BackendError> {
    let window_start = request.anchor.start_sample(model.hop).0;
    let window_end = window_start + model.window_frames().0;
    let (start, end) = (request.range.start.0, request.range.end.0);
    if start >= end || start < window_start || end > window_end {
        return Err(BackendError::RangeOutsideWindow {
            start,
            end,
            window_start,
            window_end,
        });
    }
    let expected = ((end - start) as usize) * model.channels;
    if out_len != expected {
        return Err(BackendError::WrongLength {
            what: "decode output",
            expected,
            found: out_len,
        });
    }
    Ok((start - window_start) as usize..(end - window_start) as usize)
}
