//! Writing 48 kHz stereo float WAV files.

use earshot_audio_model::config::{CHANNELS, SAMPLE_RATE};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// A WAV file being written, 32-bit float, the reference model's format.
pub struct WavOut {
    writer: hound::WavWriter<BufWriter<File>>,
}

impl WavOut {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> Result<Self, hound::Error> {
        let spec = hound::WavSpec {
            channels: CHANNELS as u16,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        Ok(Self {
            writer: hound::WavWriter::create(path, spec)?,
        })
    }

    /// Appends interleaved samples.
    pub fn write(&mut self, interleaved: &[f32]) -> Result<(), hound::Error> {
        for &s in interleaved {
            self.writer.write_sample(s)?;
        }
        Ok(())
    }

    /// Finishes the header.
    pub fn finish(self) -> Result<(), hound::Error> {
        self.writer.finalize()
    }
}

/// Reads a WAV file written by [`WavOut`] back as interleaved samples.
pub fn read(path: &Path) -> Result<(hound::WavSpec, Vec<f32>), hound::Error> {
    let mut reader = hound::WavReader::open(path)?;
    let spec = reader.spec();
    let samples = reader.samples::<f32>().collect::<Result<Vec<_>, _>>()?;
    Ok((spec, samples))
}
