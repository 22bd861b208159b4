//! The runner's trace: what happened when, as JSON lines. Cheap enough to be
//! on by default: one small enum per event, written by the sink the caller
//! chose.

use crate::epoch::Epochs;
use crate::frames::{LatentFrames, SampleFrames};
use serde::Serialize;
use std::io::Write;

/// One event of a run, timestamped on the run's clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
// A produce carries its knob marks inline (up to `MAX_KNOBS`): boxing them
// would allocate on the runner thread once per produce, and events are
// handed to the sink by reference, never moved in bulk.
#[allow(clippy::large_enum_variant)]
pub enum TraceEvent {
    /// A tick began.
    TickStart {
        /// Tick number.
        tick: u64,
        /// Clock time.
        at: SampleFrames,
    },
    /// A tick ended.
    TickEnd {
        /// Tick number.
        tick: u64,
        /// Clock time.
        at: SampleFrames,
        /// Slots in its batch.
        slots: usize,
    },
    /// A slot reached its last step.
    Produce {
        /// Tick that completed it.
        tick: u64,
        /// Clock time.
        at: SampleFrames,
        /// The slot's serial.
        slot: u64,
        /// Window start.
        anchor: LatentFrames,
        /// The changes that shaped it (see [`crate::stream::Produce`]).
        epochs: Epochs,
        /// Per knob, the newest change that altered a step it ran.
        shaped: crate::description::KnobMarks,
        /// The seed its noise was keyed with.
        seed: u64,
        /// The tick that admitted it.
        admitted_tick: u64,
    },
    /// A rendered slice was written into the output.
    Patch {
        /// Why it was written.
        kind: PatchKind,
        /// Clock time.
        at: SampleFrames,
        /// First sample frame written.
        position: SampleFrames,
        /// Sample frames written.
        length: SampleFrames,
        /// Epochs the slice carries.
        epochs: Epochs,
        /// Serial of the produce it was rendered from.
        source: u64,
        /// Whether the playhead had already passed its start.
        late: bool,
        /// Sample frames cut from its front because they were behind the playhead.
        trimmed: SampleFrames,
        /// The lead it was placed at.
        lead: SampleFrames,
    },
}

impl TraceEvent {
    /// The event of `produce` delivered at `at`.
    pub fn produced(produce: &crate::stream::Produce, at: SampleFrames) -> Self {
        TraceEvent::Produce {
            tick: produce.tick,
            at,
            slot: produce.slot,
            anchor: produce.anchor,
            epochs: produce.epochs,
            shaped: produce.shaped,
            seed: produce.seed,
            admitted_tick: produce.admitted_tick,
        }
    }
}

/// Why a patch was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchKind {
    /// The regular write at playhead + lead after a produce.
    Frontier,
    /// The second write nearer the playhead after a produce during control activity.
    Near,
    /// A write from the existing timeline because no fresh produce came in time.
    GapFill,
    /// An offline render's segment.
    Offline,
}

/// Where trace events go.
pub trait TraceSink: Send {
    /// Records one event. Failures are counted by the sink, never raised
    /// into the runner.
    fn emit(&mut self, event: &TraceEvent);
}

/// Drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullTrace;

impl TraceSink for NullTrace {
    fn emit(&mut self, _event: &TraceEvent) {}
}

/// Keeps events in memory, for tests and the golden harness.
#[derive(Debug, Default, Clone)]
pub struct MemoryTrace {
    /// Events in order.
    pub events: Vec<TraceEvent>,
}

impl TraceSink for MemoryTrace {
    fn emit(&mut self, event: &TraceEvent) {
        self.events.push(event.clone());
    }
}

/// Writes one JSON object per line.
#[derive(Debug)]
pub struct JsonLinesTrace<W: Write + Send> {
    out: W,
    failures: u64,
}

impl<W: Write + Send> JsonLinesTrace<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        Self { out, failures: 0 }
    }

    /// Events that could not be written.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> W {
        if self.out.flush().is_err() {
            self.failures += 1;
        }
        self.out
    }
}

impl<W: Write + Send> TraceSink for JsonLinesTrace<W> {
    fn emit(&mut self, event: &TraceEvent) {
        let ok = serde_json::to_writer(&mut self.out, event).is_ok()
            && self.out.write_all(b"\n").is_ok();
        if !ok {
            self.failures += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_tagged_objects() {
        let mut t = JsonLinesTrace::new(Vec::new());
        t.emit(&TraceEvent::TickStart {
            tick: 3,
            at: SampleFrames(480),
        });
        t.emit(&TraceEvent::TickEnd {
            tick: 3,
            at: SampleFrames(960),
            slots: 8,
        });
        let text = String::from_utf8(t.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"event":"tick_start","tick":3,"at":480}"#);
        assert_eq!(
            lines[1],
            r#"{"event":"tick_end","tick":3,"at":960,"slots":8}"#
        );
    }
}
