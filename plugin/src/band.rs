//! The host's loop as the engine's loop band.
//!
//! The engine's playhead counts the model's sample frames (48 kHz) of its
//! playback timeline; the host's transport counts song time. At the start
//! of a block both describe the same instant, so the host's loop
//! `[start, end)` maps to the band `[P + (start - S), P + (end - S))` where
//! `P` is the engine's playhead and `S` the song position. From then on
//! both wrap at the same instant, so the mapping holds lap after lap: the
//! audio thread recomputes it every block and asks for a new band only when
//! the result moved by more than [`TOLERANCE`] (a relocation, a new loop),
//! not by whole laps.

use clack_plugin::events::event_types::{TransportEvent, TransportFlags};
use clack_plugin::utils::FixedPoint;
use earshot_audio_model::config::SAMPLE_RATE;
use earshot_engine::frames::SampleFrames;

/// How far a recomputed band may sit from the one asked for and still be
/// taken as the same: the resampler pulls the model's frames in chunks of
/// about 70, so the playhead read at a block's start wobbles by that much
/// against the host's position; a move of a loop point by more than this
/// (21 ms) is a real one.
pub const TOLERANCE: SampleFrames = SampleFrames(1024);

/// A loop band `[start, start + len)` in the model's sample frames of the
/// engine's playback timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    /// First frame of the lap.
    pub start: SampleFrames,
    /// Frames in one lap ([`HostLoop::band`] never makes an empty one; an
    /// empty one is never moved by laps).
    pub len: SampleFrames,
}

impl Band {
    /// The frame after the lap's last.
    pub fn end(&self) -> SampleFrames {
        self.start + self.len
    }

    /// Whether `other` is this band up to whole laps and `tolerance`
    /// frames: arming it would change nothing a listener could follow.
    pub fn same_lap(&self, other: &Band, tolerance: SampleFrames) -> bool {
        if self.len != other.len {
            return false;
        }
        if self.len.0 == 0 {
            return self.start == other.start;
        }
        let len = i128::from(self.len.0);
        let apart = (i128::from(self.start.0) - i128::from(other.start.0)).rem_euclid(len);
        let tolerance = i128::from(tolerance.0);
        apart <= tolerance || len - apart <= tolerance
    }

    /// This band moved on by whole laps to the first lap that ends after
    /// `playhead`: a request that reaches the main thread after the
    /// playhead passed its lap's end (the host looped meanwhile, the engine
    /// did not yet) still loops in step with the host.
    pub fn ahead_of(self, playhead: SampleFrames) -> Band {
        if self.end() > playhead || self.len.0 == 0 {
            return self;
        }
        let laps = (playhead - self.end()).0 / self.len.0 + 1;
        Band {
            start: SampleFrames(self.start.0 + laps * self.len.0),
            len: self.len,
        }
    }
}

/// The host's loop at a block's first frame, in CLAP's fixed-point seconds
/// (`FixedPoint::FACTOR` per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLoop {
    /// The song position.
    pub position: i64,
    /// The loop's start.
    pub start: i64,
    /// The loop's end.
    pub end: i64,
}

impl HostLoop {
    /// The host's loop when its transport is playing with the loop on and
    /// says where it is in seconds (or in beats with a tempo); `None`
    /// otherwise, which disarms the band.
    pub fn from_transport(transport: &TransportEvent) -> Option<Self> {
        let flags = transport.flags;
        if !flags.contains(TransportFlags::IS_PLAYING | TransportFlags::IS_LOOP_ACTIVE) {
            return None;
        }
        if flags.contains(TransportFlags::HAS_SECONDS_TIMELINE) {
            return Some(Self {
                position: transport.song_pos_seconds.to_bits(),
                start: transport.loop_start_seconds.to_bits(),
                end: transport.loop_end_seconds.to_bits(),
            });
        }
        let tempo = transport.tempo;
        if flags.contains(TransportFlags::HAS_BEATS_TIMELINE | TransportFlags::HAS_TEMPO)
            && tempo.is_finite()
            && tempo > 0.0
        {
            // At the block's tempo: a host that varies it inside the loop
            // should (and the big ones do) report seconds as well.
            let seconds = |beats: FixedPoint| (beats.to_bits() as f64 * 60.0 / tempo) as i64;
            return Some(Self {
                position: seconds(transport.song_pos_beats),
                start: seconds(transport.loop_start_beats),
                end: seconds(transport.loop_end_beats),
            });
        }
        None
    }

    /// The band this loop is on the engine's timeline when the engine's
    /// playhead is `playhead` at the same instant; `None` when the host
    /// will not loop from here (past the loop's end, an empty loop) or the
    /// loop is longer than the `capacity` the playback ring can replay.
    /// When the lap in progress began before the engine's timeline did, the
    /// band starts at the next lap.
    pub fn band(&self, playhead: SampleFrames, capacity: SampleFrames) -> Option<Band> {
        if self.end <= self.start || self.position >= self.end {
            return None;
        }
        let len = seconds_to_frames(i128::from(self.end) - i128::from(self.start));
        if len <= 0 || len > i128::from(capacity.0) {
            return None;
        }
        let mut start = i128::from(playhead.0)
            + seconds_to_frames(i128::from(self.start) - i128::from(self.position));
        if start < 0 {
            start += len;
        }
        Some(Band {
            start: SampleFrames(u64::try_from(start.max(0)).ok()?),
            len: SampleFrames(u64::try_from(len).ok()?),
        })
    }
}

/// Fixed-point seconds to the model's sample frames, rounded to nearest.
fn seconds_to_frames(fixed: i128) -> i128 {
    let factor = i128::from(FixedPoint::FACTOR);
    let scaled = fixed * i128::from(SAMPLE_RATE);
    (scaled + scaled.signum() * factor / 2) / factor
}

/// What the audio thread asks the main thread to do with the band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandRequest {
    /// Arm this band (moved on by laps to the playhead when it arrives).
    Arm(Band),
    /// Disarm the band.
    Disarm,
}

/// The audio thread's memory of the band it last asked for, so it asks
/// again only when the host's loop really changed.
#[derive(Debug, Default)]
pub struct LoopFollower {
    asked: Option<Band>,
}

impl LoopFollower {
    /// Compares `wanted` with what was asked for last and, when they
    /// differ, hands the request to `send`; it is remembered only when
    /// `send` took it (a full queue is retried next block). Returns whether
    /// a request was sent.
    pub fn follow(&mut self, wanted: Option<Band>, send: impl FnOnce(BandRequest) -> bool) -> bool {
        let request = match (self.asked, wanted) {
            (None, None) => return false,
            (Some(_), None) => BandRequest::Disarm,
            (Some(asked), Some(band)) if asked.same_lap(&band, TOLERANCE) => return false,
            (_, Some(band)) => BandRequest::Arm(band),
        };
        let sent = send(request);
        if sent {
            self.asked = wanted;
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clack_plugin::events::{EventFlags, EventHeader};

    const RING: SampleFrames = SampleFrames(1 << 18);

    fn seconds(s: f64) -> i64 {
        FixedPoint::from_float(s).to_bits()
    }

    fn host_loop(position: f64, start: f64, end: f64) -> HostLoop {
        HostLoop {
            position: seconds(position),
            start: seconds(start),
            end: seconds(end),
        }
    }

    fn band(start: u64, len: u64) -> Band {
        Band {
            start: SampleFrames(start),
            len: SampleFrames(len),
        }
    }

    fn transport(flags: TransportFlags) -> TransportEvent {
        TransportEvent {
            header: EventHeader::new_core(0, EventFlags::empty()),
            flags,
            song_pos_beats: FixedPoint::from_float(5.0),
            song_pos_seconds: FixedPoint::from_float(2.5),
            tempo: 120.0,
            tempo_inc: 0.0,
            loop_start_beats: FixedPoint::from_float(4.0),
            loop_end_beats: FixedPoint::from_float(8.0),
            loop_start_seconds: FixedPoint::from_float(2.0),
            loop_end_seconds: FixedPoint::from_float(4.0),
            bar_start: FixedPoint::from_float(4.0),
            bar_number: 1,
            time_signature_numerator: 4,
            time_signature_denominator: 4,
        }
    }

    #[test]
    fn the_loop_maps_to_frames_around_the_playhead() {
        let p = SampleFrames(1_000_000);
        // At the loop's start: the band starts at the playhead.
        assert_eq!(
            host_loop(2.0, 2.0, 4.0).band(p, RING),
            Some(band(1_000_000, 96_000))
        );
        // Half a second into it: the lap began half a second ago.
        assert_eq!(
            host_loop(2.5, 2.0, 4.0).band(p, RING),
            Some(band(1_000_000 - 24_000, 96_000))
        );
        // A second before it: the band lies ahead.
        assert_eq!(
            host_loop(1.0, 2.0, 4.0).band(p, RING),
            Some(band(1_048_000, 96_000))
        );
    }

    #[test]
    fn a_lap_older_than_the_timeline_loops_from_the_next_lap() {
        let band_now = host_loop(3.0, 2.0, 4.0).band(SampleFrames(10_000), RING);
        // The lap began 48 000 frames ago, before frame 0: the band is the
        // next lap, which begins where the host will wrap.
        assert_eq!(band_now, Some(band(10_000 + 48_000, 96_000)));
    }

    #[test]
    fn no_band_where_the_host_will_not_loop_or_the_ring_cannot_replay() {
        let p = SampleFrames(500_000);
        assert_eq!(host_loop(4.0, 2.0, 4.0).band(p, RING), None, "at the end");
        assert_eq!(host_loop(9.0, 2.0, 4.0).band(p, RING), None, "past it");
        assert_eq!(host_loop(1.0, 2.0, 2.0).band(p, RING), None, "empty");
        assert_eq!(host_loop(1.0, 2.0, 1.0).band(p, RING), None, "reversed");
        assert_eq!(host_loop(0.0, 0.0, 6.0).band(p, RING), None, "over 5.46 s");
    }

    #[test]
    fn the_transport_gives_a_loop_only_while_playing_it() {
        use TransportFlags as F;
        let seconds = F::IS_PLAYING | F::IS_LOOP_ACTIVE | F::HAS_SECONDS_TIMELINE;
        assert_eq!(
            HostLoop::from_transport(&transport(seconds | F::HAS_TEMPO)),
            Some(host_loop(2.5, 2.0, 4.0))
        );
        let beats = F::IS_PLAYING | F::IS_LOOP_ACTIVE | F::HAS_BEATS_TIMELINE | F::HAS_TEMPO;
        // At 120 BPM beat 5 is 2.5 s, beats 4..8 are 2 s..4 s.
        assert_eq!(
            HostLoop::from_transport(&transport(beats)),
            Some(host_loop(2.5, 2.0, 4.0))
        );
        for flags in [
            F::IS_LOOP_ACTIVE | F::HAS_SECONDS_TIMELINE,
            F::IS_PLAYING | F::HAS_SECONDS_TIMELINE,
            F::IS_PLAYING | F::IS_LOOP_ACTIVE | F::HAS_BEATS_TIMELINE,
        ] {
            assert_eq!(
                HostLoop::from_transport(&transport(flags)),
                None,
                "{flags:?}"
            );
        }
    }

    #[test]
    fn bands_a_whole_number_of_laps_apart_are_the_same() {
        let a = band(100_000, 96_000);
        assert!(a.same_lap(&band(100_000 + 2 * 96_000, 96_000), TOLERANCE));
        assert!(a.same_lap(&band(100_000 + 96_000 - 70, 96_000), TOLERANCE));
        assert!(!a.same_lap(&band(100_000 + 4_800, 96_000), TOLERANCE));
        assert!(!a.same_lap(&band(100_000, 95_000), TOLERANCE));
        assert_eq!(a.ahead_of(SampleFrames(150_000)), a);
        assert_eq!(a.ahead_of(SampleFrames(196_000)), band(196_000, 96_000));
        assert_eq!(a.ahead_of(SampleFrames(400_000)), band(388_000, 96_000));
    }

    #[test]
    fn the_follower_asks_once_per_change_and_retries_a_full_queue() {
        let mut follower = LoopFollower::default();
        let mut sent = Vec::new();
        let mut follow = |f: &mut LoopFollower, wanted, room: bool| {
            f.follow(wanted, |r| {
                if room {
                    sent.push(r);
                }
                room
            })
        };
        let lap = band(100_000, 96_000);
        assert!(!follow(&mut follower, None, true), "nothing to disarm");
        assert!(!follow(&mut follower, Some(lap), false), "queue full");
        assert!(follow(&mut follower, Some(lap), true), "retried");
        // Later blocks: a wobble, then the next lap after both wrapped.
        assert!(!follow(&mut follower, Some(band(100_060, 96_000)), true));
        assert!(!follow(&mut follower, Some(band(196_000, 96_000)), true));
        // The host relocated by half a second: a new band.
        let moved = band(124_000, 96_000);
        assert!(follow(&mut follower, Some(moved), true));
        assert!(follow(&mut follower, None, true), "loop off");
        assert!(!follow(&mut follower, None, true));
        assert_eq!(
            sent,
            [
                BandRequest::Arm(lap),
                BandRequest::Arm(moved),
                BandRequest::Disarm
            ]
        );
    }
}
