//! The audio thread's side of the plugin, free of CLAP's types so it can be
//! driven directly: parameter changes go to the engine's real-time knob
//! queue with their offset in the block, the host's loop becomes band
//! requests for the main thread, and the engine's processor fills the
//! host's buffers. Nothing here locks, allocates, frees, blocks or logs.

use crate::band::{BandRequest, HostLoop, LoopFollower};
use crate::params::{self, ParamValues};
use earshot_audio_model::config::KNOB_COUNT;
use earshot_embed::{ProcessError, Processor};
use earshot_engine::frames::SampleFrames;

/// A parameter change from the host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamChange {
    /// The parameter's value (automation or a user's move).
    Value {
        /// The knob.
        knob: usize,
        /// Its new value.
        value: f64,
    },
    /// The parameter's modulation: an amount added to the value until the
    /// next modulation event replaces it.
    Modulation {
        /// The knob.
        knob: usize,
        /// The amount.
        amount: f64,
    },
}

/// Plays the engine on the host's audio thread.
#[derive(Debug)]
pub struct Player<'a> {
    processor: Processor,
    values: &'a ParamValues,
    modulation: [f64; KNOB_COUNT],
    /// Knobs whose latest value the engine's full queue refused: sent again
    /// at the start of the next block, so the engine never keeps a value
    /// the host has left.
    unsent: [bool; KNOB_COUNT],
    /// The output's underrun count as last seen.
    underruns: u64,
    follower: LoopFollower,
    bands: rtrb::Producer<BandRequest>,
    /// The longest band the playback ring replays.
    ring: SampleFrames,
}

impl<'a> Player<'a> {
    /// A player for `processor`, writing the host's parameter values into
    /// `values` and band requests into `bands` (read on the main thread);
    /// `ring` is the longest band the engine can replay.
    pub fn new(
        processor: Processor,
        values: &'a ParamValues,
        bands: rtrb::Producer<BandRequest>,
        ring: SampleFrames,
    ) -> Self {
        Self {
            processor,
            values,
            modulation: [0.0; KNOB_COUNT],
            unsent: [false; KNOB_COUNT],
            underruns: 0,
            follower: LoopFollower::default(),
            bands,
            ring,
        }
    }

    /// Applies `change`, meant for the frame `offset` host frames into the
    /// next [`Player::play`] call (0 outside processing). A value that is
    /// not a number changes nothing; a value outside the range is clamped.
    pub fn change(&mut self, offset: usize, change: ParamChange) {
        let knob = match change {
            ParamChange::Value { knob, value } => {
                let Some(value) = params::clamp(knob, value) else {
                    return;
                };
                self.values.set(knob, value);
                knob
            }
            ParamChange::Modulation { knob, amount } => {
                if !amount.is_finite() {
                    return;
                }
                self.modulation[knob] = amount;
                knob
            }
        };
        self.send(offset, knob);
    }

    /// Sends knob `knob`'s current value (with its modulation) to the
    /// engine; a full queue (over a thousand changes between two runner
    /// ticks) marks it to be sent again at the next block.
    fn send(&mut self, offset: usize, knob: usize) {
        if let Some(value) = params::modulated(knob, self.values.get(knob), self.modulation[knob]) {
            self.unsent[knob] = self.processor.knob(offset, knob, value).is_err();
        }
    }

    /// Sends again the values a full queue refused (at the block's start).
    fn resend(&mut self) {
        for knob in 0..KNOB_COUNT {
            if self.unsent[knob] {
                self.send(0, knob);
            }
        }
    }

    /// Follows the host's loop at the start of a block: computes the band it
    /// maps to from the engine's playhead and queues a request for the main
    /// thread when that changed. Returns whether one was queued (the caller
    /// then asks the host for a main-thread callback).
    pub fn follow_loop(&mut self, host_loop: Option<HostLoop>) -> bool {
        let playhead = self.processor.stats().playhead();
        let wanted = host_loop.and_then(|l| l.band(playhead, self.ring));
        let bands = &mut self.bands;
        self.follower
            .follow(wanted, |request| bands.push(request).is_ok())
    }

    /// Fills `left` and `right` (same length, at most the engine's max
    /// block) from the engine and advances its playhead.
    pub fn play(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<(), ProcessError> {
        self.processor.process(&mut [left, right])?;
        self.resend();
        Ok(())
    }

    /// Whether the output underran since the last call (a count the output
    /// publishes; one atomic load).
    pub fn ran_dry(&mut self) -> bool {
        let underruns = self.processor.stats().underruns();
        let dry = underruns > self.underruns;
        self.underruns = underruns;
        dry
    }

    /// The longest block [`Player::play`] takes.
    pub fn max_block(&self) -> usize {
        self.processor.max_block()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::band::Band;
    use earshot_audio_model::knobs::KNOBS;
    use earshot_embed::{Engine, EngineConfig};
    use std::time::Duration;

    #[test]
    fn changes_and_loops_reach_the_engine_without_allocating() {
        let mut engine = Engine::new(EngineConfig {
            max_block: 256,
            ..EngineConfig::default()
        })
        .unwrap();
        let values = ParamValues::default();
        let (producer, mut consumer) = rtrb::RingBuffer::new(4);
        let mut player = Player::new(
            engine.start().unwrap(),
            &values,
            producer,
            SampleFrames(1 << 18),
        );
        let (mut left, mut right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
        let one_second_loop = HostLoop {
            position: 0,
            start: 0,
            end: clack_plugin::utils::FixedPoint::FACTOR,
        };
        assert_no_alloc::assert_no_alloc(|| {
            player.change(
                10,
                ParamChange::Value {
                    knob: 0,
                    value: 0.75,
                },
            );
            player.change(
                20,
                ParamChange::Modulation {
                    knob: 0,
                    amount: 0.5,
                },
            );
            player.change(
                30,
                ParamChange::Value {
                    knob: 1,
                    value: f64::NAN,
                },
            );
            assert!(player.follow_loop(Some(one_second_loop)));
            player.play(&mut left, &mut right).unwrap();
            assert!(!player.follow_loop(Some(one_second_loop)), "same loop");
            assert!(player.follow_loop(None), "loop off");
        });
        assert_eq!(values.get(0), 0.75, "the value, not value + modulation");
        assert_eq!(
            values.get(1),
            params::widen(KNOBS[1].default),
            "NaN ignored"
        );
        assert_eq!(
            consumer.pop(),
            Ok(BandRequest::Arm(Band {
                start: SampleFrames(0),
                len: SampleFrames(48_000)
            }))
        );
        assert_eq!(consumer.pop(), Ok(BandRequest::Disarm));
        // A snapshot commits the queued changes, as the runner's next tick
        // does: brightness went to 0.75, then 0.75 + 0.5 clamped to 1.
        let mut snapshot =
            earshot_engine::control::ControlState::new(earshot_audio_model::knobs::knobs(), 8);
        engine.control().snapshot(&mut snapshot);
        assert_eq!(snapshot.knobs.epoch(), 2, "two committed changes");
        let mut row = [0.0f32; KNOB_COUNT];
        snapshot.knobs.row(0, &mut row);
        assert_eq!(row[0], KNOBS[0].normalize(1.0));
        engine.stop(Duration::from_secs(2)).unwrap();
    }

    #[test]
    fn a_value_the_full_queue_refused_reaches_the_engine_at_the_next_block() {
        let mut engine = Engine::new(EngineConfig {
            max_block: 64,
            rt_knob_capacity: 1,
            ..EngineConfig::default()
        })
        .unwrap();
        // Stopped right away: only the snapshots below drain the queue.
        let processor = engine.start().unwrap();
        engine.stop(Duration::from_secs(2)).unwrap();
        let values = ParamValues::default();
        let (producer, _consumer) = rtrb::RingBuffer::new(4);
        let mut player = Player::new(processor, &values, producer, SampleFrames(1 << 18));
        let (mut left, mut right) = (vec![0.0f32; 64], vec![0.0f32; 64]);
        player.change(
            0,
            ParamChange::Value {
                knob: 0,
                value: 0.9,
            },
        );
        player.change(
            1,
            ParamChange::Value {
                knob: 1,
                value: 0.8,
            },
        );
        let mut snapshot =
            earshot_engine::control::ControlState::new(earshot_audio_model::knobs::knobs(), 8);
        engine.control().snapshot(&mut snapshot);
        assert_eq!(snapshot.knobs.epoch(), 1, "the queue held one change");
        assert_no_alloc::assert_no_alloc(|| player.play(&mut left, &mut right).unwrap());
        engine.control().snapshot(&mut snapshot);
        assert_eq!(snapshot.knobs.epoch(), 2, "the refused one was sent again");
        let mut row = [0.0f32; KNOB_COUNT];
        snapshot.knobs.row(0, &mut row);
        assert_eq!(row[1], KNOBS[1].normalize(0.8));
        player.play(&mut left, &mut right).unwrap();
        engine.control().snapshot(&mut snapshot);
        assert_eq!(snapshot.knobs.epoch(), 2, "and only once");
    }

    #[test]
    fn running_dry_is_noticed_once_per_underrun() {
        let mut engine = Engine::new(EngineConfig {
            max_block: 480,
            ..EngineConfig::default()
        })
        .unwrap();
        let values = ParamValues::default();
        let (producer, _consumer) = rtrb::RingBuffer::new(4);
        let processor = engine.start().unwrap();
        let mut player = Player::new(processor, &values, producer, SampleFrames(1 << 18));
        let (mut left, mut right) = (vec![0.0f32; 480], vec![0.0f32; 480]);
        // Real time for 0.5 s: the runner keeps ahead.
        for _ in 0..50 {
            player.play(&mut left, &mut right).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!player.ran_dry(), "covered while the runner runs");
        // The runner goes (as a backend error would end it): the output
        // plays out what was written, then runs dry.
        engine.stop(Duration::from_secs(2)).unwrap();
        let mut noticed = 0;
        for _ in 0..200 {
            player.play(&mut left, &mut right).unwrap();
            noticed += usize::from(player.ran_dry());
        }
        assert_eq!(noticed, 1, "one underrun, noticed once");
    }
}
