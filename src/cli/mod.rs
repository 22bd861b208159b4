//! Command definitions and dispatch.

mod golden;
mod golden_dir;
mod knobs;
mod play;
mod render;
mod render_config;
mod send;
mod weights;

use clap::{Parser, Subcommand};

/// earshot: a real-time engine for generative audio.
#[derive(Debug, Parser)]
#[command(name = "earshot", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Play the reference model live: on the sound card, or into a
    /// real-time-paced WAV file without one (the default command).
    Play(play::PlayArgs),
    /// Render the reference model offline into a WAV file.
    Render(render::RenderArgs),
    /// Make or inspect weights files.
    #[command(subcommand)]
    Weights(weights::WeightsCommand),
    /// List the reference model's knobs.
    Knobs,
    /// Send one OSC message to a playing earshot and print its acks.
    Send(send::SendArgs),
    /// The golden latency harness: run scenarios, report, profile.
    #[command(subcommand)]
    Golden(golden::GoldenCommand),
}

/// Runs one command; no command plays with every default.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => play::run(&play::PlayArgs::default()),
        Some(Command::Play(args)) => play::run(&args),
        Some(Command::Render(args)) => render::run(&args),
        Some(Command::Weights(cmd)) => weights::run(cmd),
        Some(Command::Send(args)) => send::run(&args),
        Some(Command::Golden(cmd)) => golden::run(cmd),
        Some(Command::Knobs) => {
            knobs::print();
            Ok(())
        }
    }
}
