//! The reference model family's geometry: fixed audio constants and the
//! per-size transformer and decoder dimensions.

use earshot_engine::description::{ConditioningShape, ModelDescription};
use earshot_engine::frames::{LatentFrames, SampleFrames};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Output sample rate of the reference audio model.
pub const SAMPLE_RATE: u32 = 48_000;
/// Output channels (stereo).
pub const CHANNELS: usize = 2;
/// Sample frames per latent frame.
pub const HOP: SampleFrames = SampleFrames(1024);
/// Channels of one latent frame.
pub const LATENT_CHANNELS: usize = 64;
/// Knob inputs of the generator (see [`crate::knobs`]).
pub const KNOB_COUNT: usize = 4;
/// Conditioning tokens per prompt.
pub const COND_TOKENS: usize = 8;
/// Width of a text embedding (all-MiniLM-L6-v2) the conditioning
/// projection reads.
pub const TEXT_EMBEDDING: usize = 384;
/// STFT size of the decoder's inverse transform.
pub const N_FFT: usize = 2048;
/// STFT hop of the decoder: two STFT frames per latent frame.
pub const STFT_HOP: usize = 512;
/// STFT frames per latent frame.
pub const STFT_PER_LATENT: usize = HOP.0 as usize / STFT_HOP;
/// Frequency bins of one STFT frame.
pub const BINS: usize = N_FFT / 2 + 1;
/// Depthwise convolution kernel of the decoder's embedding and ConvNeXt blocks.
pub const DECODER_KERNEL: usize = 7;
/// Dimension of the sinusoidal timestep features fed to the timestep MLP.
pub const TIME_FREQ_DIM: usize = 256;
/// Hidden size of the MLP in a transformer block, as a multiple of the width.
pub const MLP_RATIO: usize = 4;
/// Hidden size of a ConvNeXt block, as a multiple of the decoder width.
pub const DECODER_MLP_RATIO: usize = 3;
/// Layer-norm epsilon of every norm in the reference model.
pub const LN_EPS: f32 = 1e-6;

/// Where a decoder head output lives within one latent frame's row:
/// `((r * CHANNELS + ch) * 2 + part) * BINS + bin` for STFT frame `r` of the
/// latent frame, output channel `ch`, part 0 (log-magnitude) or 1 (phase).
pub fn head_row(r: usize, ch: usize, part: usize, bin: usize) -> usize {
    ((r * CHANNELS + ch) * 2 + part) * BINS + bin
}

/// A named size of the reference model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelSize {
    /// For CI and CPU real time: ~3.1 M parameters.
    Tiny,
    /// ~27 M parameters.
    Small,
    /// ~480 M parameters (459 M in the generator), so GPU time dominates a tick.
    Base,
}

impl ModelSize {
    /// All sizes, smallest first.
    pub const ALL: [ModelSize; 3] = [ModelSize::Tiny, ModelSize::Small, ModelSize::Base];

    /// The name the engine knows this size's model by
    /// (`reference-audio-<size>`).
    pub fn model_name(self) -> String {
        format!("reference-audio-{}", self.name())
    }

    /// The size's name as used on the command line and in weights files.
    pub fn name(self) -> &'static str {
        match self {
            ModelSize::Tiny => "tiny",
            ModelSize::Small => "small",
            ModelSize::Base => "base",
        }
    }

    /// The dimensions of this size.
    pub fn config(self) -> ModelConfig {
        let (width, depth, heads, window, decoder_width, decoder_blocks) = match self {
            ModelSize::Tiny => (128, 4, 4, 32, 128, 2),
            ModelSize::Small => (384, 8, 6, 64, 256, 4),
            ModelSize::Base => (1024, 24, 16, 128, 512, 8),
        };
        ModelConfig {
            size: self,
            width,
            depth,
            heads,
            window: LatentFrames(window),
            decoder_width,
            decoder_blocks,
        }
    }
}

impl fmt::Display for ModelSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A size name that is not one of the family's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown model size {0:?}: expected tiny, small or base")]
pub struct UnknownModelSize(pub String);

impl FromStr for ModelSize {
    type Err = UnknownModelSize;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelSize::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownModelSize(s.to_owned()))
    }
}

/// The dimensions of one model of the family; everything not here is a
/// family-wide constant of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Which size this is.
    pub size: ModelSize,
    /// Transformer width `D` (also the conditioning token width).
    pub width: usize,
    /// Transformer blocks.
    pub depth: usize,
    /// Attention heads; `width / heads` is the head dimension.
    pub heads: usize,
    /// Latent frames the generator denoises at once (one slot's window).
    pub window: LatentFrames,
    /// ConvNeXt channels of the decoder.
    pub decoder_width: usize,
    /// ConvNeXt blocks of the decoder.
    pub decoder_blocks: usize,
}

impl ModelConfig {
    /// Dimension of one attention head.
    pub fn head_dim(&self) -> usize {
        self.width / self.heads
    }

    /// Latent frames on each side of a decoded range that the decoder's
    /// convolutions and overlap-add read: one for the STFT frames that
    /// overlap the range's edge cells, plus the receptive field of the
    /// embedding convolution and every ConvNeXt block.
    pub fn decoder_margin(&self) -> LatentFrames {
        LatentFrames((1 + (DECODER_KERNEL / 2) * (1 + self.decoder_blocks)) as u64)
    }

    /// Floats in one slot's latent window.
    pub fn window_len(&self) -> usize {
        self.window.0 as usize * LATENT_CHANNELS
    }

    /// What the engine is told about this model: 48 kHz stereo, hop 1024,
    /// 64 latent channels, this size's window and margin, the four knobs,
    /// [`COND_TOKENS`] conditioning tokens of the transformer's width.
    pub fn description(&self) -> ModelDescription {
        ModelDescription {
            name: self.size.model_name(),
            sample_rate: SAMPLE_RATE,
            channels: CHANNELS,
            hop: HOP,
            latent_channels: LATENT_CHANNELS,
            window: self.window,
            decoder_margin: self.decoder_margin(),
            knobs: crate::knobs::knobs(),
            conditioning: self.conditioning(),
        }
    }

    /// The conditioning the generator reads: [`COND_TOKENS`] tokens of the
    /// transformer's width.
    pub fn conditioning(&self) -> ConditioningShape {
        ConditioningShape {
            tokens: COND_TOKENS,
            width: self.width,
        }
    }

    /// Outputs of the decoder head per latent frame: STFT frames × channels
    /// × (log-magnitude, phase) × bins.
    pub fn head_outputs(&self) -> usize {
        STFT_PER_LATENT * CHANNELS * 2 * BINS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        for size in ModelSize::ALL {
            assert_eq!(size.name().parse::<ModelSize>(), Ok(size));
            let c = size.config();
            assert_eq!(c.width % c.heads, 0);
        }
        assert!("huge".parse::<ModelSize>().is_err());
    }

    #[test]
    fn every_size_describes_a_model_the_engine_accepts() {
        for size in ModelSize::ALL {
            let d = size.config().description();
            assert_eq!(d.validate(), Ok(()));
            assert_eq!(d.window_len(), size.config().window_len());
            assert_eq!(d.knob_count(), KNOB_COUNT);
        }
    }

    #[test]
    fn decoder_margins_are_the_documented_ones() {
        let margins = ModelSize::ALL.map(|s| s.config().decoder_margin().0);
        assert_eq!(
            margins,
            [10, 16, 28],
            "docs/reference-model.md states these"
        );
    }
}
