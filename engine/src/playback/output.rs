//! The output's end: applies patches and plays the buffer from the
//! playhead. Runs in the audio callback or a plugin host's `process()`, so
//! nothing here locks, allocates, frees, blocks or logs.

use super::message::{Patch, PatchBuffer, ToOutput};
use super::ring::Ring;
use super::stats::Shared;
use crate::epoch::Epochs;
use crate::frames::SampleFrames;
use crate::patch::fade_in_gain;
use rtrb::{Consumer, Producer, PushError};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The source [`PlaybackOutput::render_observed`] reports for a frame
/// nothing was written for.
pub const NO_SOURCE: u64 = u64::MAX;

/// What one played frame was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameMark {
    /// Its timeline position.
    pub position: SampleFrames,
    /// The produce it was rendered from, or [`NO_SOURCE`].
    pub source: u64,
}

/// The output side's handle: `Send`, not `Sync`; the one thread that plays
/// owns it and calls [`render`](Self::render) once per block.
#[derive(Debug)]
pub struct PlaybackOutput {
    pub(super) ring: Ring,
    pub(super) from_runner: Consumer<ToOutput>,
    pub(super) returning: Producer<PatchBuffer>,
    /// Buffers the return ring had no room for, kept rather than freed
    /// here. Sized to the pool at start; stays empty while every buffer in
    /// circulation comes from this pool, which the writer enforces.
    pub(super) stash: Vec<PatchBuffer>,
    /// Messages taken off the ring behind a patch whose samples are still
    /// landing, in order; allocated once with room for `parked_cap`.
    pub(super) parked: VecDeque<ToOutput>,
    pub(super) parked_cap: usize,
    pub(super) channels: usize,
    pub(super) fade: usize,
    pub(super) underrun_fade: usize,
    pub(super) playhead: u64,
    pub(super) band: Option<(u64, u64)>,
    /// Step of the underrun envelope: 0 is silent, `underrun_fade` is full
    /// gain. Moving one step per frame makes the fade-out and the fade-in
    /// the same curve, and a short underrun reverses it mid-way without a
    /// jump.
    pub(super) level: usize,
    /// Whether the frame before held content; starts true so the first
    /// gap after priming counts.
    pub(super) was_valid: bool,
    /// Whether any patch was ever written: before that the output plays
    /// silence that is start-up, not an underrun.
    pub(super) primed: bool,
    /// The last frame played from content, the value an underrun fades
    /// from.
    pub(super) last: Box<[f32]>,
    /// One frame of scratch for the loop seam's crossfade.
    pub(super) seam: Box<[f32]>,
    /// Frames played since the start, bands and underruns included: the
    /// output's own time.
    pub(super) frames_played: u64,
    /// The newest epochs heard so far.
    pub(super) audible: Epochs,
    /// `frames_played` when `audible.knob` was first heard.
    pub(super) knob_heard_at: u64,
    /// `frames_played` when `audible.conditioning` was first heard.
    pub(super) conditioning_heard_at: u64,
    pub(super) shared: Arc<Shared>,
}

impl PlaybackOutput {
    /// Applies every pending message, then fills `out` (interleaved,
    /// `channels` per frame) with `out.len() / channels` frames from the
    /// playhead and publishes the new playhead. A ragged tail is zeroed.
    ///
    /// A patch is written only where the output has yet to play: with no
    /// band, from the playhead on. A patch that ends at or before the
    /// playhead is dropped, one that starts before it is trimmed to start
    /// there (contract 5). With a band `[a, b)` armed and the playhead in
    /// it, `[a, playhead)` plays again next lap, so a patch wholly inside
    /// it is written whole (one that reaches back before `a` is cut at `a`);
    /// a patch the playhead is inside is still cut at the playhead so the
    /// frame just played and the next one stay continuous.
    pub fn render(&mut self, out: &mut [f32]) {
        self.render_inner(out, None);
    }

    /// [`render`](Self::render), also writing what each frame played was:
    /// its timeline position and its source (the serial of the produce it
    /// was rendered from, [`NO_SOURCE`] where nothing was written), for an
    /// observer such as the golden harness. `marks` shorter than the block
    /// gets the first frames only.
    pub fn render_observed(&mut self, out: &mut [f32], marks: &mut [FrameMark]) {
        self.render_inner(out, Some(marks));
    }

    fn render_inner(&mut self, out: &mut [f32], mut observed: Option<&mut [FrameMark]>) {
        self.return_stash();
        self.take_messages();
        let ch = self.channels;
        let frames = out.len() / ch;
        let (mut underruns, mut underrun_frames) = (0, 0);
        for (i, dst) in out[..frames * ch].chunks_exact_mut(ch).enumerate() {
            let marks = self.ring.marks(self.playhead);
            if let Some((epochs, _)) = marks {
                self.hear(epochs);
            }
            if let Some(mark) = observed.as_deref_mut().and_then(|m| m.get_mut(i)) {
                *mark = FrameMark {
                    position: SampleFrames(self.playhead),
                    source: marks.map_or(NO_SOURCE, |(_, source)| source),
                };
            }
            self.frames_played += 1;
            let frame = match seam_partner(&self.ring, self.band, self.fade, self.playhead) {
                Some((partner, g)) => self.ring.frame(self.playhead).map(|src| {
                    // Approaching the band's end, blend in what precedes its
                    // start, so the jump back to it continues that sound.
                    for ((m, &s), &p) in self.seam.iter_mut().zip(src).zip(partner) {
                        *m = (1.0 - g) * s + g * p;
                    }
                    &self.seam[..]
                }),
                None => self.ring.frame(self.playhead),
            };
            match frame {
                Some(src) => {
                    self.last.copy_from_slice(src);
                    if self.level < self.underrun_fade {
                        let g = fade_in_gain(self.level, self.underrun_fade);
                        self.level += 1;
                        for (d, &s) in dst.iter_mut().zip(src) {
                            *d = g * s;
                        }
                    } else {
                        dst.copy_from_slice(src);
                    }
                    self.was_valid = true;
                }
                None => {
                    if self.primed {
                        underruns += u64::from(self.was_valid);
                        underrun_frames += 1;
                    }
                    self.was_valid = false;
                    if self.level > 0 {
                        self.level -= 1;
                        let g = fade_in_gain(self.level, self.underrun_fade);
                        for (d, &s) in dst.iter_mut().zip(self.last.iter()) {
                            *d = g * s;
                        }
                    } else {
                        dst.fill(0.0);
                    }
                }
            }
            self.playhead += 1;
            self.wrap_into_band();
        }
        out[frames * ch..].fill(0.0);
        self.shared.publish_audible(
            self.frames_played,
            self.audible,
            self.knob_heard_at,
            self.conditioning_heard_at,
        );
        Shared::add(&self.shared.underruns, underruns);
        Shared::add(&self.shared.underrun_frames, underrun_frames);
        self.shared.playhead.store(self.playhead, Ordering::Release);
    }

    /// Applies the runner's messages in the order they were sent: first
    /// those parked behind a patch whose samples had not landed, then the
    /// ring's. A patch still landing parks itself and everything after it
    /// (a later patch may overlap it, a band change must not overtake it)
    /// until a later block; while the parking is full the rest waits on
    /// the ring.
    fn take_messages(&mut self) {
        while let Some(front) = self.parked.front() {
            if !self.landed(front) {
                return;
            }
            if let Some(message) = self.parked.pop_front() {
                self.handle(message);
            }
        }
        while let Ok(front) = self.from_runner.peek() {
            if !self.landed(front) {
                while self.parked.len() < self.parked_cap {
                    match self.from_runner.pop() {
                        Ok(message) => self.parked.push_back(message),
                        Err(_) => break,
                    }
                }
                return;
            }
            if let Ok(message) = self.from_runner.pop() {
                self.handle(message);
            }
        }
    }

    fn landed(&self, message: &ToOutput) -> bool {
        match message {
            ToOutput::Patch(p) => p.landing.has_landed(&self.shared.arrivals),
            ToOutput::Band(_) => true,
        }
    }

    fn handle(&mut self, message: ToOutput) {
        match message {
            ToOutput::Band(band) => self.set_band(band),
            ToOutput::Patch(patch) => self.apply(patch),
        }
    }

    /// Notes the epochs of a frame being played: the newest knob and
    /// conditioning epochs heard so far, and when each was first heard.
    fn hear(&mut self, epochs: Epochs) {
        if epochs.knob > self.audible.knob {
            self.audible.knob = epochs.knob;
            self.knob_heard_at = self.frames_played;
        }
        if epochs.conditioning > self.audible.conditioning {
            self.audible.conditioning = epochs.conditioning;
            self.conditioning_heard_at = self.frames_played;
        }
    }

    /// The number of channels per frame `render` fills.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Within an armed band the playhead never rests at or past its end:
    /// the next frame to play is then its start.
    fn wrap_into_band(&mut self) {
        if let Some((a, b)) = self.band
            && self.playhead >= b
        {
            self.playhead = a;
        }
    }

    fn set_band(&mut self, band: Option<(SampleFrames, SampleFrames)>) {
        self.band = band.map(|(a, b)| (a.0, b.0));
        self.wrap_into_band();
        self.shared.set_band(band);
    }

    fn apply(&mut self, patch: Patch) {
        let Patch {
            start,
            len,
            epochs,
            source,
            landing,
        } = patch;
        // Applied only once landed (`landed`): an error here cannot happen,
        // and dropping the landing leaks its buffer rather than free it.
        let Ok(buffer) = landing.take(&self.shared.arrivals) else {
            return;
        };
        let (start, end, p) = (start.0, (start + len).0, self.playhead);
        let floor = match self.band {
            Some((a, _)) if p >= a => a,
            _ => p,
        };
        let from = if start >= p {
            start
        } else if end <= p {
            start.max(floor)
        } else {
            p
        };
        if from >= end {
            Shared::add(&self.shared.late_dropped, 1);
        } else {
            if from > start {
                Shared::add(&self.shared.patches_trimmed, 1);
                Shared::add(&self.shared.trimmed_frames, from - start);
            }
            let ch = self.channels;
            let skip = (from - start) as usize * ch;
            let used = len.as_usize() * ch;
            self.ring.write(
                from,
                &buffer.as_slice()[skip..used],
                self.fade,
                (epochs, source),
            );
            Shared::add(&self.shared.patches_applied, 1);
            self.primed = true;
        }
        self.give_back(buffer);
    }

    fn give_back(&mut self, buffer: PatchBuffer) {
        if let Err(PushError::Full(buffer)) = self.returning.push(buffer) {
            self.keep(buffer);
        }
    }

    fn keep(&mut self, buffer: PatchBuffer) {
        if self.stash.len() < self.stash.capacity() {
            self.stash.push(buffer);
        } else {
            // Unreachable while the pool invariant holds (the writer refuses
            // foreign buffers); leaking beats freeing, or panicking, on the
            // audio thread.
            std::mem::forget(buffer);
        }
    }

    fn return_stash(&mut self) {
        while let Some(buffer) = self.stash.pop() {
            if let Err(PushError::Full(buffer)) = self.returning.push(buffer) {
                self.stash.push(buffer);
                break;
            }
        }
    }
}

/// Within the last `fade` frames before an armed band's end (at most half
/// the band): the frame as far before the band's start as the playhead is
/// before its end, and its weight (equal-gain raised cosine, reaching one
/// at the end).
fn seam_partner(
    ring: &Ring,
    band: Option<(u64, u64)>,
    fade: usize,
    pos: u64,
) -> Option<(&[f32], f32)> {
    let (a, b) = band?;
    let len = b - a;
    let fade = (fade as u64).min(len / 2);
    if fade == 0 || pos < b - fade || pos >= b || pos < len {
        return None;
    }
    let k = (pos - (b - fade)) as usize;
    ring.frame(pos - len)
        .map(|p| (p, fade_in_gain(k, fade as usize)))
}

/// How long dropping the output waits for samples still landing in its
/// patches' buffers.
const LANDING_WAIT: Duration = Duration::from_secs(1);

impl Drop for PlaybackOutput {
    /// A device may still be copying into a parked patch's buffer: wait
    /// (bounded) for the copy to land before the buffer is freed, and leak
    /// the buffer rather than free it under a copy that never landed.
    /// Never on the audio thread's block path: only where the output is
    /// dropped.
    fn drop(&mut self) {
        while let Ok(message) = self.from_runner.pop() {
            self.parked.push_back(message);
        }
        let pending = |o: &Self| o.parked.iter().any(|m| !o.landed(m));
        let deadline = Instant::now() + LANDING_WAIT;
        while pending(self) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        for message in std::mem::take(&mut self.parked) {
            if let ToOutput::Patch(patch) = message {
                // A landed buffer is freed; one still landing is leaked by
                // its `Landing`'s drop.
                let _ = patch.landing.take(&self.shared.arrivals);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{CH, constant, ramp, render, send, small};
    use crate::frames::SampleFrames;
    use crate::patch::crossfade_into;

    #[test]
    fn render_drives_the_playhead_by_the_frames_rendered() {
        let (writer, mut output, stats) = small(256, 64, 8, 4);
        render(&mut output, 64);
        render(&mut output, 100);
        assert_eq!(stats.playhead(), SampleFrames(164));
        let mut ragged = [f32::NAN; 2 * 3 + 1];
        output.render(&mut ragged);
        assert_eq!(stats.playhead(), SampleFrames(167));
        assert_eq!(ragged[6], 0.0, "the ragged tail is zeroed");
        assert_eq!(writer.playhead(), SampleFrames(167));
    }

    #[test]
    fn a_patch_ahead_plays_sample_exact() {
        let (mut writer, mut output, stats) = small(256, 200, 16, 4);
        send(&mut writer, 0, &ramp(0, 10));
        render(&mut output, 10);
        send(&mut writer, 10, &ramp(10, 200));
        send(&mut writer, 210, &ramp(210, 50));
        let played = render(&mut output, 250);
        assert_eq!(played, ramp(10, 250));
        assert_eq!(stats.patches_applied(), 3);
        assert_eq!(stats.underruns(), 0);
    }

    #[test]
    fn a_patch_over_content_crossfades_then_replaces() {
        let (mut writer, mut output, _) = small(512, 200, 32, 4);
        send(&mut writer, 0, &constant(200, 1.0));
        send(&mut writer, 200, &constant(200, 1.0));
        send(&mut writer, 100, &ramp(100, 200));
        let played = render(&mut output, 400);

        let mut expect = constant(200, 1.0);
        crossfade_into(&mut expect, &ramp(100, 200), CH, 32);
        assert_eq!(&played[100 * CH..268 * CH], &expect[..168 * CH]);
        for f in 100..132 {
            let (old, new, got) = (1.0, f as f32, played[f * CH]);
            assert!(got > old && got < new, "frame {f} blends: {got}");
        }
        assert_eq!(&played[132 * CH..268 * CH], &ramp(132, 136)[..]);
        // Old content goes on after the patch: its last 32 frames fade back.
        for f in 268..300 {
            let (old, new, got) = (1.0, f as f32, played[f * CH]);
            assert!(got > old && got < new, "frame {f} blends back: {got}");
        }
        assert!(
            played[298 * CH] < played[270 * CH],
            "towards the old content"
        );
        assert!(played[..100 * CH].iter().all(|&v| v == 1.0));
        assert!(played[300 * CH..].iter().all(|&v| v == 1.0));
    }

    #[test]
    fn the_output_reports_the_newest_epochs_it_played_and_when() {
        use crate::epoch::Epochs;
        use crate::playback::Patch;
        let (mut writer, mut output, stats) = small(512, 200, 8, 4);
        let mut patch = |start: u64, len: usize, knob: u64| {
            let mut buffer = writer.acquire().unwrap();
            buffer.as_mut_slice()[..len * CH].fill(1.0);
            let p = Patch {
                start: SampleFrames(start),
                len: SampleFrames(len as u64),
                epochs: Epochs {
                    knob,
                    conditioning: 0,
                },
                source: 0,
                landing: crate::playback::Landing::ready(buffer),
            };
            assert!(writer.send(p).is_ok());
        };
        patch(0, 100, 1);
        patch(60, 40, 2);
        render(&mut output, 50);
        assert_eq!(stats.audible().knob, 1);
        assert_eq!(stats.knob_heard_at(), SampleFrames(0));
        render(&mut output, 50);
        assert_eq!(stats.audible().knob, 2);
        assert_eq!(
            stats.knob_heard_at(),
            SampleFrames(60),
            "first frame of the newer patch"
        );
        assert_eq!(stats.frames_played(), SampleFrames(100));
        // An older epoch played later does not lower what was heard.
        patch(100, 10, 1);
        render(&mut output, 20);
        assert_eq!(stats.audible().knob, 2);
        assert_eq!(
            stats.frames_played(),
            SampleFrames(120),
            "underrun frames count as time"
        );
    }

    #[test]
    fn a_late_start_is_trimmed_to_the_playhead() {
        let (mut writer, mut output, stats) = small(512, 200, 8, 4);
        send(&mut writer, 0, &constant(200, 1.0));
        render(&mut output, 100);
        send(&mut writer, 50, &constant(100, 2.0));
        let played = render(&mut output, 100);
        assert_eq!((stats.patches_trimmed(), stats.trimmed_frames()), (1, 50));
        assert_eq!(stats.patches_applied(), 2);
        assert!(
            played[0] > 1.0 && played[0] < 2.0,
            "fades in at the playhead"
        );
        assert!(played[8 * CH..42 * CH].iter().all(|&v| v == 2.0));
        assert!(
            played[42 * CH..50 * CH].iter().all(|&v| v > 1.0 && v < 2.0),
            "fades back into the old content that goes on"
        );
        assert!((50..100).all(|p| output.ring.frame(p) == Some(&[1.0, 1.0][..])));
    }

    #[test]
    fn a_patch_wholly_behind_is_dropped_and_its_buffer_returned() {
        let (mut writer, mut output, stats) = small(512, 200, 8, 4);
        send(&mut writer, 0, &constant(200, 1.0));
        render(&mut output, 100);
        send(&mut writer, 10, &constant(90, 2.0));
        render(&mut output, 10);
        assert_eq!((stats.late_dropped(), stats.patches_applied()), (1, 1));
        assert!((10..100).all(|p| output.ring.frame(p) == Some(&[1.0, 1.0][..])));
        let back: Vec<_> = std::iter::from_fn(|| writer.acquire()).collect();
        assert_eq!(back.len(), 8, "every buffer came back");
    }

    #[test]
    fn an_underrun_fades_out_counts_once_and_fades_back_in() {
        let (mut writer, mut output, stats) = small(512, 200, 8, 16);
        send(&mut writer, 0, &constant(100, 1.0));
        let played = render(&mut output, 300);
        assert!(played[..100 * CH].iter().all(|&v| v == 1.0));
        let fade: Vec<f32> = (100..116).map(|f| played[f * CH]).collect();
        assert!(fade.windows(2).all(|w| w[0] > w[1]), "falls: {fade:?}");
        assert!(fade[0] < 1.0 && fade[15] > 0.0);
        assert!(played[116 * CH..].iter().all(|&v| v == 0.0), "then silence");
        assert_eq!((stats.underruns(), stats.underrun_frames()), (1, 200));

        send(&mut writer, 300, &constant(100, 0.5));
        let played = render(&mut output, 100);
        let rise: Vec<f32> = (0..16).map(|f| played[f * CH]).collect();
        assert!(rise.windows(2).all(|w| w[0] < w[1]), "rises: {rise:?}");
        assert!(rise[0] > 0.0 && rise[15] < 0.5);
        assert!(played[16 * CH..].iter().all(|&v| v == 0.5));
        assert_eq!((stats.underruns(), stats.underrun_frames()), (1, 200));
    }

    #[test]
    fn a_dry_start_is_silent_start_up_not_an_underrun() {
        let (mut writer, mut output, stats) = small(256, 64, 8, 16);
        let played = render(&mut output, 500);
        assert!(played.iter().all(|&v| v == 0.0));
        assert_eq!((stats.underruns(), stats.underrun_frames()), (0, 0));
        // Once primed, a gap counts.
        send(&mut writer, 500, &ramp(0, 10));
        render(&mut output, 20);
        assert_eq!((stats.underruns(), stats.underrun_frames()), (1, 10));
    }

    #[test]
    fn the_band_wraps_the_playhead_and_replays_each_lap() {
        let (mut writer, mut output, stats) = small(512, 200, 8, 4);
        send(&mut writer, 0, &ramp(0, 200));
        send(&mut writer, 200, &ramp(200, 200));
        writer
            .arm_band(SampleFrames(100), SampleFrames(200))
            .unwrap();
        let played = render(&mut output, 450);
        assert_eq!(stats.band(), Some((SampleFrames(100), SampleFrames(200))));
        // The last 8 frames before b blend towards what precedes a, so the
        // jump back to a continues it (the loop seam).
        let seam = |played: &[f32], at: usize| {
            for f in 0..8 {
                let (pos, got) = ((192 + f) as f32, played[(at + f) * CH]);
                assert!(got < pos && got > pos - 100.0, "seam frame {f}: {got}");
            }
        };
        assert_eq!(&played[..192 * CH], &ramp(0, 192)[..]);
        seam(&played, 192);
        for lap in 0..2 {
            let at = (200 + lap * 100) * CH;
            assert_eq!(&played[at..at + 92 * CH], &ramp(100, 92)[..], "lap {lap}");
            seam(&played, 200 + lap * 100 + 92);
        }
        assert_eq!(&played[400 * CH..], &ramp(100, 50)[..]);
        assert_eq!(stats.playhead(), SampleFrames(150));
        assert_eq!(stats.underruns(), 0);

        // Behind the playhead but inside the band is next lap's audio.
        send(&mut writer, 110, &constant(20, 7.0));
        let played = render(&mut output, 100);
        assert_eq!(stats.late_dropped(), 0);
        assert_eq!(&played[..42 * CH], &ramp(150, 42)[..]);
        assert_eq!(&played[(50 + 18) * CH..72 * CH], &constant(4, 7.0)[..]);
        assert!(
            played[72 * CH..80 * CH].iter().all(|&v| v != 7.0),
            "tail fades back"
        );

        writer.disarm_band().unwrap();
        let played = render(&mut output, 100);
        assert_eq!(stats.band(), None);
        assert_eq!(&played[50 * CH..], &ramp(200, 50)[..], "plays on past b");
    }

    #[test]
    fn arming_a_band_behind_the_playhead_jumps_to_its_start() {
        let (mut writer, mut output, stats) = small(512, 200, 8, 4);
        send(&mut writer, 0, &ramp(0, 200));
        render(&mut output, 150);
        writer.arm_band(SampleFrames(20), SampleFrames(40)).unwrap();
        let played = render(&mut output, 30);
        assert_eq!(&played[..12 * CH], &ramp(20, 12)[..]);
        assert!(played[12 * CH] < 32.0, "the seam blends towards 12..20");
        assert_eq!(&played[20 * CH..], &ramp(20, 10)[..]);
        assert_eq!(stats.playhead(), SampleFrames(30));
    }
}
