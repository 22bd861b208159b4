//! From one OSC message to one control change.

use earshot_engine::ack::AckKind;
use earshot_engine::control::{Control, KnobCommit};
use earshot_engine::frames::SampleFrames;
use rosc::{OscMessage, OscType};

/// Address prefix of every earshot message.
pub const PREFIX: &str = "/earshot/";

/// Why a message was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OscError {
    /// No such address.
    #[error("unknown address")]
    UnknownAddress,
    /// Arguments of the wrong number or type.
    #[error("expected {expected}, got {got}")]
    BadArguments {
        /// What the address takes.
        expected: &'static str,
        /// What came.
        got: String,
    },
    /// The control side refused the value.
    #[error("{0}")]
    Refused(String),
}

/// What a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatched {
    /// A change whose acks the sender wants: its kind, its epoch, and
    /// whether it changed anything (a request for the value in force is
    /// acknowledged up to Committed only).
    Change(AckKind, u64, bool),
    /// Applied, with no epoch to acknowledge (loop band, seed).
    Applied,
    /// Answer with `/earshot/pong`.
    Pong,
}

fn number(arg: &OscType) -> Option<f32> {
    match *arg {
        OscType::Float(v) => Some(v),
        OscType::Double(v) => Some(v as f32),
        OscType::Int(v) => Some(v as f32),
        OscType::Long(v) => Some(v as f32),
        _ => None,
    }
}

fn frames(arg: &OscType) -> Option<SampleFrames> {
    match *arg {
        OscType::Int(v) if v >= 0 => Some(SampleFrames(v as u64)),
        OscType::Long(v) if v >= 0 => Some(SampleFrames(v as u64)),
        _ => None,
    }
}

fn bad(expected: &'static str, args: &[OscType]) -> OscError {
    OscError::BadArguments {
        expected,
        got: format!("{args:?}"),
    }
}

/// Applies one message to `control`.
pub fn dispatch(message: &OscMessage, control: &Control) -> Result<Dispatched, OscError> {
    let rest = message
        .addr
        .strip_prefix(PREFIX)
        .ok_or(OscError::UnknownAddress)?;
    let args = &message.args;
    let knob_change = |r: Result<KnobCommit, earshot_engine::knobs::KnobError>| {
        let commit = r.map_err(|e| OscError::Refused(e.to_string()))?;
        Ok(Dispatched::Change(
            AckKind::Knob,
            commit.epoch,
            commit.changed,
        ))
    };
    if let Some(name) = rest.strip_prefix("knob/") {
        let [value] = args.as_slice() else {
            return Err(bad("one number", args));
        };
        let value = number(value).ok_or_else(|| bad("one number", args))?;
        return knob_change(control.set_knob(name, value));
    }
    if let Some(name) = rest.strip_prefix("curve/") {
        let values = args
            .iter()
            .map(number)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("one number per denoise step", args))?;
        return knob_change(control.set_curve(name, &values));
    }
    match rest {
        "band/arm" => {
            let [a, b] = args.as_slice() else {
                return Err(bad("two integers a b (sample frames)", args));
            };
            let (a, b) = frames(a)
                .zip(frames(b))
                .ok_or_else(|| bad("two integers a b (sample frames)", args))?;
            control
                .arm_band(a, b)
                .map_err(|e| OscError::Refused(e.to_string()))?;
            Ok(Dispatched::Applied)
        }
        "band/disarm" if args.is_empty() => {
            control.disarm_band();
            Ok(Dispatched::Applied)
        }
        "band/disarm" => Err(bad("no arguments", args)),
        "ping" => Ok(Dispatched::Pong),
        "seed" => match args.as_slice() {
            [OscType::Int(v)] if *v >= 0 => {
                control.set_seed(*v as u64);
                Ok(Dispatched::Applied)
            }
            [OscType::Long(v)] if *v >= 0 => {
                control.set_seed(*v as u64);
                Ok(Dispatched::Applied)
            }
            _ => Err(bad("one non-negative integer", args)),
        },
        "prompt" => match args.as_slice() {
            [OscType::String(text)] => {
                let epoch = control
                    .set_prompt(text)
                    .map_err(|e| OscError::Refused(e.to_string()))?;
                Ok(Dispatched::Change(AckKind::Conditioning, epoch, true))
            }
            _ => Err(bad("one string", args)),
        },
        _ => Err(OscError::UnknownAddress),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_engine::clock::VirtualClock;
    use std::sync::Arc;

    fn control() -> Control {
        Control::new(
            earshot_audio_model::knobs::knobs(),
            8,
            Arc::new(VirtualClock::new()),
        )
    }

    fn msg(addr: &str, args: Vec<OscType>) -> OscMessage {
        OscMessage {
            addr: addr.into(),
            args,
        }
    }

    #[test]
    fn knobs_curves_and_bands_reach_the_control_state() {
        let c = control();
        let r = dispatch(
            &msg("/earshot/knob/brightness", vec![OscType::Float(0.8)]),
            &c,
        );
        assert_eq!(r, Ok(Dispatched::Change(AckKind::Knob, 1, true)));
        let r = dispatch(&msg("/earshot/knob/noise", vec![OscType::Int(1)]), &c);
        assert_eq!(r, Ok(Dispatched::Change(AckKind::Knob, 2, true)));
        let curve = (0..8).map(|i| OscType::Float(i as f32 / 8.0)).collect();
        assert_eq!(
            dispatch(&msg("/earshot/curve/warmth", curve), &c),
            Ok(Dispatched::Change(AckKind::Knob, 3, true))
        );
        let band = vec![OscType::Int(48_000), OscType::Long(96_000)];
        assert_eq!(
            dispatch(&msg("/earshot/band/arm", band), &c),
            Ok(Dispatched::Applied)
        );
        assert_eq!(
            c.lock().band,
            Some((SampleFrames(48_000), SampleFrames(96_000)))
        );
        assert_eq!(
            dispatch(&msg("/earshot/band/disarm", vec![]), &c),
            Ok(Dispatched::Applied)
        );
        assert_eq!(c.lock().band, None);
        assert_eq!(
            dispatch(&msg("/earshot/ping", vec![]), &c),
            Ok(Dispatched::Pong)
        );
    }

    #[test]
    fn bad_messages_are_refused_and_change_nothing() {
        let c = control();
        let cases = [
            msg("/other/knob/brightness", vec![OscType::Float(0.5)]),
            msg("/earshot/nope", vec![]),
            msg("/earshot/knob/brightness", vec![]),
            msg(
                "/earshot/knob/brightness",
                vec![OscType::String("x".into())],
            ),
            msg("/earshot/knob/brightness", vec![OscType::Float(f32::NAN)]),
            msg("/earshot/knob/brightness", vec![OscType::Float(7.0)]),
            msg("/earshot/knob/bogus", vec![OscType::Float(0.5)]),
            msg("/earshot/curve/brightness", vec![OscType::Float(0.5)]),
            msg("/earshot/band/arm", vec![OscType::Int(10), OscType::Int(5)]),
            msg("/earshot/band/arm", vec![OscType::Int(-1), OscType::Int(5)]),
            msg("/earshot/band/disarm", vec![OscType::Int(1)]),
        ];
        for m in &cases {
            assert!(dispatch(m, &c).is_err(), "{m:?}");
        }
        assert_eq!(c.lock().knobs.epoch(), 0);
        assert_eq!(c.lock().band, None);
    }
}
