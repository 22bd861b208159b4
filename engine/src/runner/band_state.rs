//! The loop band as the runner sees it: what the control side asked for,
//! what the output has armed, and a band being left. Leaving is the one
//! subtle step: the output keeps looping until the audio past the band's
//! end is written a lead ahead (the windows in flight were planned inside
//! the band), so the disarm goes out only then and the listener never
//! hears a gap.

use super::plan::Band;
use crate::frames::SampleFrames;
use crate::playback::{BandError, PatchWriter};

/// Where band changes go: the output's end of the patch channel.
pub trait BandLink {
    /// Arms the band `[a, b)` at the output.
    fn arm_band(&mut self, a: SampleFrames, b: SampleFrames) -> Result<(), BandError>;
    /// Disarms the band at the output.
    fn disarm_band(&mut self) -> Result<(), BandError>;
}

impl BandLink for PatchWriter {
    fn arm_band(&mut self, a: SampleFrames, b: SampleFrames) -> Result<(), BandError> {
        PatchWriter::arm_band(self, a, b)
    }

    fn disarm_band(&mut self) -> Result<(), BandError> {
        PatchWriter::disarm_band(self)
    }
}

/// What a [`BandState::sync`] did that the runner must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandChange {
    /// Nothing the runner needs to know (no change, a change sent, or one
    /// waiting for room on the channel).
    Unchanged,
    /// The band was left: audio is written up to `written_until` past its
    /// end, where coverage continues.
    Exited {
        /// How far past the band's end audio is written.
        written_until: SampleFrames,
    },
    /// The output refused the change (a band longer than its ring).
    Refused,
}

/// The band state machine: requested, armed, exiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BandState {
    armed: Option<Band>,
    /// The last band the control side asked for, armed or refused.
    requested: Option<Band>,
    /// A band being left: disarm asked for, not yet sent to the output.
    exiting: Option<Band>,
    /// How far past the exiting band's end audio is written.
    exit_written: SampleFrames,
}

impl BandState {
    /// The band the output loops, if any.
    pub fn armed(&self) -> Option<Band> {
        self.armed
    }

    /// The band being left, while its disarm waits for the audio past it.
    pub fn exiting(&self) -> Option<Band> {
        self.exiting
    }

    /// How far past the exiting band's end audio is written.
    pub fn exit_written(&self) -> SampleFrames {
        self.exit_written
    }

    /// Notes audio written past the exiting band's end up to `end`.
    pub fn wrote_exit(&mut self, end: SampleFrames) {
        self.exit_written = self.exit_written.max(end);
    }

    /// Follows the band the control side wants (`band`): arms or disarms
    /// it at the output through `link`, or, when leaving an armed band,
    /// sends the disarm only once audio is written `lead` past its end.
    pub fn sync(
        &mut self,
        band: Option<Band>,
        lead: SampleFrames,
        link: &mut dyn BandLink,
    ) -> BandChange {
        if band == self.requested {
            return self.try_exit(lead, link);
        }
        if let (None, Some(old)) = (band, self.armed) {
            self.requested = None;
            self.exiting = Some(old);
            self.exit_written = old.1;
            return self.try_exit(lead, link);
        }
        self.exiting = None;
        let sent = match band {
            Some((a, b)) => link.arm_band(a, b),
            None => link.disarm_band(),
        };
        match sent {
            Ok(()) => {
                self.armed = band;
                self.requested = band;
                BandChange::Unchanged
            }
            // No room on the channel: tried again next tick.
            Err(BandError::Full) => BandChange::Unchanged,
            Err(_) => {
                self.requested = band;
                BandChange::Refused
            }
        }
    }

    /// Sends a pending disarm once the audio past the band's end reaches a
    /// lead beyond it.
    fn try_exit(&mut self, lead: SampleFrames, link: &mut dyn BandLink) -> BandChange {
        let Some((_, b)) = self.exiting else {
            return BandChange::Unchanged;
        };
        if self.exit_written < b + lead {
            return BandChange::Unchanged;
        }
        match link.disarm_band() {
            Ok(()) => {
                self.armed = None;
                self.exiting = None;
                BandChange::Exited {
                    written_until: self.exit_written,
                }
            }
            Err(BandError::Full) => BandChange::Unchanged,
            Err(_) => {
                self.exiting = None;
                BandChange::Refused
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what reached the output; refuses bands longer than `max`.
    #[derive(Default)]
    struct Link {
        sent: Vec<Option<Band>>,
        full: bool,
        max: u64,
    }

    impl BandLink for Link {
        fn arm_band(&mut self, a: SampleFrames, b: SampleFrames) -> Result<(), BandError> {
            if self.full {
                return Err(BandError::Full);
            }
            if b.0 - a.0 > self.max {
                return Err(BandError::LongerThanRing {
                    len: b.0 - a.0,
                    capacity: self.max,
                });
            }
            self.sent.push(Some((a, b)));
            Ok(())
        }

        fn disarm_band(&mut self) -> Result<(), BandError> {
            if self.full {
                return Err(BandError::Full);
            }
            self.sent.push(None);
            Ok(())
        }
    }

    fn band(a: u64, b: u64) -> Option<Band> {
        Some((SampleFrames(a), SampleFrames(b)))
    }

    const LEAD: SampleFrames = SampleFrames(100);

    #[test]
    fn arming_goes_out_once_and_leaving_waits_for_the_audio_past_the_end() {
        let mut link = Link {
            max: 10_000,
            ..Link::default()
        };
        let mut state = BandState::default();
        assert_eq!(
            state.sync(band(0, 1000), LEAD, &mut link),
            BandChange::Unchanged
        );
        assert_eq!(
            state.sync(band(0, 1000), LEAD, &mut link),
            BandChange::Unchanged
        );
        assert_eq!(link.sent, vec![band(0, 1000)], "sent once");
        assert_eq!(state.armed(), band(0, 1000));

        assert_eq!(state.sync(None, LEAD, &mut link), BandChange::Unchanged);
        assert_eq!(state.exiting(), band(0, 1000), "leaving, still armed");
        assert_eq!(link.sent.len(), 1, "no disarm before the audio past it");
        state.wrote_exit(SampleFrames(1050));
        assert_eq!(state.sync(None, LEAD, &mut link), BandChange::Unchanged);
        state.wrote_exit(SampleFrames(1100));
        assert_eq!(
            state.sync(None, LEAD, &mut link),
            BandChange::Exited {
                written_until: SampleFrames(1100)
            }
        );
        assert_eq!(link.sent, vec![band(0, 1000), None]);
        assert_eq!((state.armed(), state.exiting()), (None, None));
    }

    #[test]
    fn a_full_channel_retries_and_a_refused_band_is_not_asked_again() {
        let mut link = Link {
            full: true,
            max: 500,
            ..Link::default()
        };
        let mut state = BandState::default();
        assert_eq!(
            state.sync(band(0, 400), LEAD, &mut link),
            BandChange::Unchanged
        );
        assert_eq!(state.armed(), None, "the channel was full");
        link.full = false;
        assert_eq!(
            state.sync(band(0, 400), LEAD, &mut link),
            BandChange::Unchanged
        );
        assert_eq!(state.armed(), band(0, 400), "retried");

        assert_eq!(
            state.sync(band(0, 900), LEAD, &mut link),
            BandChange::Refused
        );
        assert_eq!(
            state.sync(band(0, 900), LEAD, &mut link),
            BandChange::Unchanged
        );
        assert_eq!(link.sent, vec![band(0, 400)], "refused once, not resent");
    }

    #[test]
    fn a_new_band_while_leaving_one_replaces_the_exit() {
        let mut link = Link {
            max: 10_000,
            ..Link::default()
        };
        let mut state = BandState::default();
        state.sync(band(0, 1000), LEAD, &mut link);
        state.sync(None, LEAD, &mut link);
        assert!(state.exiting().is_some());
        state.sync(band(2000, 3000), LEAD, &mut link);
        assert_eq!(state.exiting(), None);
        assert_eq!(state.armed(), band(2000, 3000));
    }
}
