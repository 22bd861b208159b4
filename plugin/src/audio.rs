//! The plugin's audio-thread part in CLAP's terms: `activate` builds the
//! engine (on the main thread, as CLAP calls it), `process` hands the
//! block's parameter events to the [`Player`] at their sample offsets and
//! plays the block, `deactivate` stops the engine.

use crate::band::HostLoop;
use crate::main_thread::MainThread;
use crate::params::knob_of;
use crate::player::{ParamChange, Player};
use crate::plugin::Shared;
use clack_plugin::events::UnknownEvent;
use clack_plugin::events::spaces::CoreEventSpace;
use clack_plugin::prelude::*;
use earshot_engine::playback::PlaybackConfig;

/// The plugin while active: the engine's player and the host handle it
/// wakes the main thread with.
pub struct AudioProcessor<'a> {
    player: Player<'a>,
    host: HostAudioProcessorHandle<'a>,
}

impl std::fmt::Debug for AudioProcessor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioProcessor")
            .field("player", &self.player)
            .finish_non_exhaustive()
    }
}

/// The parameter change an event carries, if it is one for a knob of this
/// plugin aimed at every note (the plugin has no per-note parameters).
pub fn param_change(event: &UnknownEvent) -> Option<ParamChange> {
    match event.as_core_event()? {
        CoreEventSpace::ParamValue(e) if e.pckn().matches_all() => Some(ParamChange::Value {
            knob: knob_of(e.param_id()?.get())?,
            value: e.value(),
        }),
        CoreEventSpace::ParamMod(e) if e.pckn().matches_all() => Some(ParamChange::Modulation {
            knob: knob_of(e.param_id()?.get())?,
            amount: e.amount(),
        }),
        _ => None,
    }
}

impl<'a> PluginAudioProcessor<'a, Shared, MainThread<'a>> for AudioProcessor<'a> {
    fn activate(
        host: HostAudioProcessorHandle<'a>,
        main_thread: &MainThread<'a>,
        shared: &'a Shared,
        audio_config: PluginAudioConfiguration,
    ) -> Result<Self, PluginError> {
        let started = main_thread.start(audio_config.sample_rate, audio_config.max_frames_count)?;
        Ok(Self {
            player: Player::new(
                started.processor,
                &shared.values,
                started.bands,
                // The engine's playback ring; a longer band cannot replay.
                PlaybackConfig::default().capacity,
            ),
            host,
        })
    }

    fn process(
        &mut self,
        process: Process,
        mut audio: Audio,
        events: Events,
    ) -> Result<ProcessStatus, PluginError> {
        let band_request = self
            .player
            .follow_loop(process.transport.and_then(HostLoop::from_transport));
        // Running dry: the main thread looks at whether the runner is still
        // alive (a backend error ends it) and asks for a restart if not.
        if band_request || self.player.ran_dry() {
            self.host.request_callback();
        }
        let mut events = events.input.iter().peekable();
        // A host that breaks the one-stereo-f32-output layout gets silence
        // (where it gave buffers) and its events still land; an error
        // return would make the plugin wrapper log from the audio thread.
        let Some(mut port) = audio.output_port(0) else {
            events.for_each(|e| self.apply(0, e));
            return Ok(ProcessStatus::Continue);
        };
        let Some(mut channels) = port.channels().ok().and_then(|c| c.into_f32()) else {
            events.for_each(|e| self.apply(0, e));
            return Ok(ProcessStatus::Continue);
        };
        let (mut first, mut rest) = channels.split_at_mut(1);
        let (Some(left), Some(right)) = (first.channel_mut(0), rest.channel_mut(0)) else {
            if let Some(mono) = first.channel_mut(0) {
                mono.fill(0.0);
            }
            events.for_each(|e| self.apply(0, e));
            return Ok(ProcessStatus::Continue);
        };
        let frames = left.len().min(right.len());
        let max_block = self.player.max_block();
        let mut start = 0;
        loop {
            let end = (start + max_block).min(frames);
            let last = end == frames;
            // Events are sorted by time; the last piece also takes any
            // stamped past the block's end.
            while let Some(event) = events.next_if(|e| last || (e.header().time() as usize) < end) {
                let offset = (event.header().time() as usize).clamp(start, end) - start;
                self.apply(offset, event);
            }
            // The piece has two channels of one length within the max block,
            // the shape the processor was configured with, so it is played.
            let _ = self
                .player
                .play(&mut left[start..end], &mut right[start..end]);
            if last {
                return Ok(ProcessStatus::Continue);
            }
            start = end;
        }
    }

    fn deactivate(self, main_thread: &MainThread<'a>) {
        main_thread.stop();
    }
}

impl AudioProcessor<'_> {
    /// Applies `event` if it is a parameter change, `offset` frames into
    /// the next piece played.
    pub fn apply(&mut self, offset: usize, event: &UnknownEvent) {
        if let Some(change) = param_change(event) {
            self.player.change(offset, change);
        }
    }
}
