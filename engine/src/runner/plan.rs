//! Where the runner admits windows and writes patches: pure functions of
//! the playhead, the lead and the model's geometry, so they are tested on
//! their own.

use crate::description::ModelDescription;
use crate::frames::{LatentFrames, SampleFrames};
use std::ops::Range;

/// The sample frames of a window anchored at `anchor`: all of it, and the
/// part a margin inside its edges that the decoder renders exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpan {
    /// Every sample frame the window covers.
    pub full: Range<SampleFrames>,
    /// The sample frames at least the decoder margin inside its edges.
    pub exact: Range<SampleFrames>,
}

impl WindowSpan {
    /// The span of a window of `model` starting at latent frame `anchor`.
    pub fn new(model: &ModelDescription, anchor: LatentFrames) -> Self {
        let (margin, hop) = (model.decoder_margin, model.hop);
        let start = anchor.start_sample(hop);
        let end = (anchor + model.window).start_sample(hop);
        Self {
            full: start..end,
            exact: (anchor + margin).start_sample(hop)
                ..(anchor + model.window - margin).start_sample(hop),
        }
    }
}

/// The anchor for a slot admitted now that will complete `steps` ticks of
/// `interval` later: its exact span should start at the near repatch's
/// position then and must reach past the frontier's end; when it cannot do
/// both, the frontier wins.
pub fn admission_anchor(
    model: &ModelDescription,
    playhead: SampleFrames,
    steps: u32,
    interval: SampleFrames,
    near_lead: SampleFrames,
    frontier_end_lead: SampleFrames,
) -> LatentFrames {
    let at_completion = playhead + SampleFrames(interval.0 * u64::from(steps));
    let (margin, hop) = (model.decoder_margin, model.hop);
    let near = LatentFrames::containing(at_completion + near_lead, hop).saturating_sub(margin);
    let frontier_end = at_completion + frontier_end_lead;
    let last_frame = LatentFrames(frontier_end.0.div_ceil(hop.0));
    let latest_start = (last_frame + margin).saturating_sub(model.window);
    near.max(latest_start)
}

/// Clips `range` to `limit`; `None` when nothing is left.
pub fn clip(
    range: Range<SampleFrames>,
    limit: &Range<SampleFrames>,
) -> Option<Range<SampleFrames>> {
    let start = range.start.max(limit.start);
    let end = range.end.min(limit.end);
    (start < end).then_some(start..end)
}

/// A loop band `[a, b)`.
pub type Band = (SampleFrames, SampleFrames);

/// Where position `pos` falls once the playhead wraps inside `band`:
/// positions at or past `b` wrap back into it, earlier ones stay.
pub fn wrap(pos: SampleFrames, (a, b): Band) -> SampleFrames {
    if pos < b {
        pos
    } else {
        a + SampleFrames((pos - a).0 % (b - a).0)
    }
}

/// A write of `range` with `band` armed: its start wraps into the band and
/// its end is clamped at `b`; a write that clamping leaves shorter than
/// `min_len` is skipped. Without a band the range is unchanged.
pub fn band_range(
    range: Range<SampleFrames>,
    band: Option<Band>,
    min_len: SampleFrames,
) -> Option<Range<SampleFrames>> {
    let Some((a, b)) = band else {
        return Some(range);
    };
    let start = wrap(range.start, (a, b));
    let end = (start + (range.end - range.start)).min(b.max(start));
    (end - start >= min_len && start < end).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::signal::stereo;

    #[test]
    fn the_exact_span_is_a_margin_inside() {
        let c = stereo();
        let span = WindowSpan::new(&c, LatentFrames(5));
        assert_eq!(span.full, SampleFrames(5 * 1024)..SampleFrames(37 * 1024));
        assert_eq!(span.exact, SampleFrames(15 * 1024)..SampleFrames(27 * 1024));
    }

    #[test]
    fn the_anchor_covers_near_and_frontier_when_it_can() {
        let c = stereo();
        // 8 ticks of 10 ms; near lead 36 ms, frontier end 0.25 s + 10 ms.
        let playhead = SampleFrames(480_000);
        let anchor = admission_anchor(
            &c,
            playhead,
            8,
            SampleFrames(480),
            SampleFrames(1_744),
            SampleFrames(12_480),
        );
        let span = WindowSpan::new(&c, anchor);
        let done = playhead + SampleFrames(8 * 480);
        assert!(
            span.exact.start <= done + SampleFrames(1_744),
            "near repatch inside"
        );
        assert!(
            span.exact.end >= done + SampleFrames(12_480),
            "frontier inside"
        );
    }

    #[test]
    fn the_frontier_wins_when_the_window_is_short() {
        let c = stereo();
        let playhead = SampleFrames(480_000);
        let anchor = admission_anchor(
            &c,
            playhead,
            8,
            SampleFrames(480),
            SampleFrames(0),
            SampleFrames(30_000),
        );
        let span = WindowSpan::new(&c, anchor);
        assert!(span.exact.end >= playhead + SampleFrames(8 * 480 + 30_000));
    }

    #[test]
    fn writes_wrap_into_the_band_and_clamp_at_its_end() {
        let r = |a, b| SampleFrames(a)..SampleFrames(b);
        let band = Some((SampleFrames(1_000), SampleFrames(2_000)));
        let min = SampleFrames(10);
        assert_eq!(
            band_range(r(500, 800), band, min),
            Some(r(500, 800)),
            "before the band"
        );
        assert_eq!(
            band_range(r(1_900, 2_100), band, min),
            Some(r(1_900, 2_000)),
            "clamped"
        );
        assert_eq!(
            band_range(r(2_300, 2_400), band, min),
            Some(r(1_300, 1_400)),
            "wrapped"
        );
        assert_eq!(
            band_range(r(1_995, 2_100), band, min),
            None,
            "too short once clamped"
        );
        assert_eq!(band_range(r(5, 9), None, min), Some(r(5, 9)));
        assert_eq!(
            wrap(
                SampleFrames(4_500),
                (SampleFrames(1_000), SampleFrames(2_000))
            ),
            SampleFrames(1_500)
        );
    }

    #[test]
    fn clip_keeps_the_overlap() {
        let r = |a, b| SampleFrames(a)..SampleFrames(b);
        assert_eq!(clip(r(0, 10), &r(5, 20)), Some(r(5, 10)));
        assert_eq!(clip(r(0, 5), &r(5, 20)), None);
    }
}
