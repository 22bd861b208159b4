//! Randomized check of the output against a plain model: a timeline of
//! absolute positions with no ring, no wrap and no tags. Whatever the
//! patch starts, lengths and block sizes, what is played must match the
//! model, which never writes behind the playhead at apply time
//! (contract 5).

use super::testing::{CH, render, send, small};
use crate::patch::fade_in_gain;
use std::collections::HashMap;

const CAPACITY: u64 = 128;
const MAX_PATCH: u64 = 48;
const FADE: usize = 8;
const UNDERRUN_FADE: usize = 5;

/// Marsaglia's xorshift64: fixed seeds, no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default)]
struct Model {
    timeline: HashMap<u64, [f32; CH]>,
    playhead: u64,
    level: usize,
    was_valid: bool,
    primed: bool,
    last: [f32; CH],
    applied: u64,
    trimmed: u64,
    trimmed_frames: u64,
    dropped: u64,
    underruns: u64,
    underrun_frames: u64,
}

impl Model {
    fn new() -> Self {
        Self {
            level: UNDERRUN_FADE,
            was_valid: true,
            ..Self::default()
        }
    }

    fn apply(&mut self, start: u64, data: &[f32]) {
        let end = start + (data.len() / CH) as u64;
        if end <= self.playhead {
            self.dropped += 1;
            return;
        }
        let from = start.max(self.playhead);
        if from > start {
            self.trimmed += 1;
            self.trimmed_frames += from - start;
        }
        self.applied += 1;
        self.primed = true;
        let n = (end - from) as usize;
        let tail = if self.timeline.contains_key(&end) {
            FADE.min(n / 2)
        } else {
            0
        };
        for pos in from..end {
            let k = (pos - from) as usize;
            let i = (pos - start) as usize * CH;
            let new = [data[i], data[i + 1]];
            let frame = match self.timeline.get(&pos) {
                Some(old) => {
                    let mut g_new = 1.0f32;
                    if k < FADE {
                        g_new = fade_in_gain(k, FADE);
                    }
                    if k + tail >= n {
                        g_new = g_new.min(fade_in_gain(n - 1 - k, tail));
                    }
                    let g_old = 1.0 - g_new;
                    if g_new < 1.0 {
                        [0, 1].map(|c| g_old * old[c] + g_new * new[c])
                    } else {
                        new
                    }
                }
                None => new,
            };
            self.timeline.insert(pos, frame);
        }
    }

    fn play(&mut self, frames: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(frames * CH);
        for _ in 0..frames {
            match self.timeline.get(&self.playhead) {
                Some(&frame) => {
                    self.last = frame;
                    self.was_valid = true;
                    let g = if self.level < UNDERRUN_FADE {
                        self.level += 1;
                        fade_in_gain(self.level - 1, UNDERRUN_FADE)
                    } else {
                        1.0
                    };
                    out.extend(frame.map(|v| g * v));
                }
                None => {
                    if self.primed {
                        self.underruns += u64::from(self.was_valid);
                        self.underrun_frames += 1;
                    }
                    self.was_valid = false;
                    if self.level > 0 {
                        self.level -= 1;
                        let g = fade_in_gain(self.level, UNDERRUN_FADE);
                        out.extend(self.last.map(|v| g * v));
                    } else {
                        out.extend([0.0; CH]);
                    }
                }
            }
            self.playhead += 1;
        }
        out
    }
}

#[test]
fn random_patches_never_change_what_was_played() {
    let mut patches = 0;
    for seed in 1..=40u64 {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ seed);
        let (mut writer, mut output, stats) =
            small(CAPACITY, MAX_PATCH, FADE as u64, UNDERRUN_FADE as u64);
        let mut model = Model::new();
        for step in 0..300 {
            let p = stats.playhead().0;
            assert_eq!(p, model.playhead);
            for _ in 0..rng.below(4) {
                // From two patches behind the playhead to as far ahead as
                // the ring holds without clobbering unplayed frames.
                let lo = p.saturating_sub(2 * MAX_PATCH);
                let start = lo + rng.below(p + CAPACITY - MAX_PATCH - lo + 1);
                let len = 1 + rng.below(MAX_PATCH) as usize;
                let data: Vec<f32> = (0..len * CH)
                    .map(|_| rng.below(1 << 20) as f32 / (1 << 19) as f32 - 1.0)
                    .collect();
                send(&mut writer, start, &data);
                model.apply(start, &data);
                patches += 1;
            }
            let frames = 1 + rng.below(64) as usize;
            let got = render(&mut output, frames);
            let want = model.play(frames);
            assert_eq!(got, want, "seed {seed} step {step} at playhead {p}");
        }
        assert_eq!(stats.patches_applied(), model.applied);
        assert_eq!(stats.patches_trimmed(), model.trimmed);
        assert_eq!(stats.trimmed_frames(), model.trimmed_frames);
        assert_eq!(stats.late_dropped(), model.dropped);
        assert_eq!(stats.underruns(), model.underruns);
        assert_eq!(stats.underrun_frames(), model.underrun_frames);
        assert!(
            model.trimmed > 0 && model.dropped > 0,
            "seed {seed} covers both"
        );
    }
    assert!(patches > 10_000, "{patches} patches");
}
