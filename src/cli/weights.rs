//! `earshot weights init | check`.

use anyhow::Context;
use clap::Subcommand;
use earshot::audio_model::tensors::parameter_count;
use earshot::audio_model::{ModelSize, ModelWeights};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum WeightsCommand {
    /// Generate deterministic weights from a seed.
    Init {
        /// Model size: tiny, small or base.
        #[arg(long, default_value = "tiny")]
        size: ModelSize,
        /// Seed; the same seed gives the same tensors.
        #[arg(long, default_value_t = earshot::model::DEFAULT_WEIGHTS_SEED)]
        seed: u64,
        /// Output safetensors file.
        #[arg(long)]
        out: PathBuf,
        /// Skip the calibration of the output layer (seconds instead of
        /// minutes for base on the CPU; the tensors then make no usable
        /// sound, but time and compare the same as calibrated ones).
        #[arg(long)]
        uncalibrated: bool,
    },
    /// Validate a weights file and print its size.
    Check {
        /// The safetensors file.
        path: PathBuf,
    },
}

pub fn run(cmd: WeightsCommand) -> anyhow::Result<()> {
    match cmd {
        WeightsCommand::Init {
            size,
            seed,
            out,
            uncalibrated,
        } => {
            let weights = if uncalibrated {
                earshot::audio_model::init_weights(size, seed)
            } else {
                earshot::model::reference_weights(size, seed)?
            };
            weights
                .save(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} ({size}, seed {seed}, {} parameters)",
                out.display(),
                parameter_count(weights.config())
            );
        }
        WeightsCommand::Check { path } => {
            let weights = ModelWeights::load(&path)?;
            let c = weights.config();
            println!(
                "{}: valid {} model, {} parameters, seed {}",
                path.display(),
                c.size,
                parameter_count(c),
                weights.seed().map_or("unknown".into(), |s| s.to_string())
            );
        }
    }
    Ok(())
}
