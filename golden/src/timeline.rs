//! A scenario's actions expanded into single control events in time order:
//! a sweep becomes its moves, a burst its seeded random moves.

use crate::scenario::{ActionKind, Burst, Scenario, StallStage, Sweep};
use earshot_engine::description::{KnobSpec, knob_index};
use earshot_engine::frames::SampleFrames;

/// One control event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When.
    pub at: SampleFrames,
    /// Which scenario action it comes from (0-based).
    pub action: usize,
    /// What.
    pub what: EventKind,
}

/// What one event does.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// Set a knob.
    Knob {
        /// Knob name.
        name: String,
        /// Value.
        value: f32,
    },
    /// Set a knob's curve.
    Curve {
        /// Knob name.
        name: String,
        /// One value per step.
        values: Vec<f32>,
    },
    /// Change the prompt.
    Prompt(String),
    /// Change the seed.
    Seed(u64),
    /// Arm a band.
    Band(SampleFrames, SampleFrames),
    /// Disarm the band.
    Disarm,
    /// Stall the next call of a stage.
    Stall(StallStage, SampleFrames),
}

impl EventKind {
    /// The short name of the change kind, as the report groups them.
    pub fn label(&self) -> &'static str {
        match self {
            EventKind::Knob { .. } => "knob",
            EventKind::Curve { .. } => "curve",
            EventKind::Prompt(_) => "prompt",
            EventKind::Seed(_) => "seed",
            EventKind::Band(..) => "band",
            EventKind::Disarm => "disarm",
            EventKind::Stall(..) => "stall",
        }
    }
}

/// A small fixed generator for burst values (xorshift64*), so a burst is
/// the same on every machine.
fn next_unit(state: &mut u64) -> f32 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    let x = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
    (x >> 40) as f32 / (1u64 << 24) as f32
}

/// The events of `scenario`, sorted by time (stable: events at the same
/// time keep the order of their actions).
pub fn expand(scenario: &Scenario, knobs: &[KnobSpec]) -> Vec<Event> {
    let mut events = Vec::new();
    for (i, action) in scenario.actions.iter().enumerate() {
        let mut push = |at: SampleFrames, what: EventKind| {
            events.push(Event {
                at,
                action: i,
                what,
            })
        };
        match &action.what {
            ActionKind::Knob(k) => push(
                action.at,
                EventKind::Knob {
                    name: k.name.clone(),
                    value: k.value,
                },
            ),
            ActionKind::Sweep(Sweep {
                name,
                from,
                to,
                moves,
                over,
            }) => {
                let n = u64::from(*moves);
                for m in 0..n {
                    let at = action.at + SampleFrames(over.0 * m / (n - 1).max(1));
                    let f = if n == 1 {
                        1.0
                    } else {
                        m as f32 / (n - 1) as f32
                    };
                    push(
                        at,
                        EventKind::Knob {
                            name: name.clone(),
                            value: from + (to - from) * f,
                        },
                    );
                }
            }
            ActionKind::Burst(Burst {
                name,
                moves,
                over,
                seed,
            }) => {
                let (min, max) = knob_index(knobs, name)
                    .map(|k| (knobs[k].min, knobs[k].max))
                    .unwrap_or((0.0, 1.0));
                let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let n = u64::from(*moves);
                for m in 0..n {
                    let at = action.at + SampleFrames(over.0 * m / n);
                    let value = min + (max - min) * next_unit(&mut state);
                    push(
                        at,
                        EventKind::Knob {
                            name: name.clone(),
                            value,
                        },
                    );
                }
            }
            ActionKind::Curve(c) => push(
                action.at,
                EventKind::Curve {
                    name: c.name.clone(),
                    values: c.values.clone(),
                },
            ),
            ActionKind::Prompt(p) => push(action.at, EventKind::Prompt(p.text.clone())),
            ActionKind::Seed(s) => push(action.at, EventKind::Seed(s.value)),
            ActionKind::Band(b) => push(action.at, EventKind::Band(b.start, b.end)),
            ActionKind::Disarm(_) => push(action.at, EventKind::Disarm),
            ActionKind::Stall(s) => push(action.at, EventKind::Stall(s.stage, s.extra)),
        }
    }
    events.sort_by_key(|e| e.at);
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_and_bursts_expand_into_moves() {
        let s = Scenario::from_toml(
            r#"
name = "x"
about = "x"
duration = 200000
profile = "p"
[[action]]
at = 48000
burst = { name = "noise", moves = 100, over = 48000, seed = 3 }
[[action]]
at = 1000
sweep = { name = "brightness", from = 0.0, to = 1.0, moves = 5, over = 4000 }
"#,
            "x",
        )
        .unwrap();
        let events = expand(&s, &earshot_audio_model::knobs::knobs());
        assert_eq!(events.len(), 105);
        let sweep: Vec<_> = events[..5].iter().map(|e| e.at.0).collect();
        assert_eq!(sweep, [1000, 2000, 3000, 4000, 5000]);
        assert!(matches!(&events[4].what, EventKind::Knob { value, .. } if *value == 1.0));
        let burst = &events[5..];
        assert!(burst.windows(2).all(|w| w[0].at < w[1].at));
        assert_eq!(burst[99].at.0, 48_000 + 48_000 * 99 / 100);
        let values: Vec<f32> = burst
            .iter()
            .map(|e| match &e.what {
                EventKind::Knob { value, .. } => *value,
                _ => f32::NAN,
            })
            .collect();
        assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
        let distinct = values
            .iter()
            .map(|v| v.to_bits())
            .collect::<std::collections::BTreeSet<_>>();
        assert!(distinct.len() > 90, "seeded values spread out");
        assert_eq!(
            expand(&s, &earshot_audio_model::knobs::knobs()),
            events,
            "the same every time"
        );
    }
}
