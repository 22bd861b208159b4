//! The plugin type the host instantiates: its descriptor, its three parts
//! (CLAP's thread model: audio thread, main thread, shared) and the
//! extensions it offers.

use crate::audio::AudioProcessor;
use crate::main_thread::MainThread;
use crate::params::ParamValues;
use clack_extensions::audio_ports::PluginAudioPorts;
use clack_extensions::latency::PluginLatency;
use clack_extensions::note_ports::PluginNotePorts;
use clack_extensions::params::PluginParams;
use clack_extensions::state::PluginState;
use clack_plugin::plugin::features::{INSTRUMENT, STEREO, SYNTHESIZER};
use clack_plugin::prelude::*;

/// The plugin's CLAP id; hosts key saved projects by it, so it never
/// changes.
pub const PLUGIN_ID: &str = "org.earshot.generator";

/// earshot as a CLAP instrument: no audio input, one stereo output, every
/// knob a parameter.
#[derive(Debug)]
pub struct EarshotPlugin;

/// What the main thread and the audio thread share: the parameter values.
#[derive(Debug, Default)]
pub struct Shared {
    /// The values the host set, one atomic per knob.
    pub values: ParamValues,
}

impl PluginShared<'_> for Shared {}

impl Plugin for EarshotPlugin {
    type AudioProcessor<'a> = AudioProcessor<'a>;
    type Shared<'a> = Shared;
    type MainThread<'a> = MainThread<'a>;

    fn declare_extensions(builder: &mut PluginExtensions<Self>, _shared: Option<&Shared>) {
        builder
            .register::<PluginAudioPorts>()
            .register::<PluginNotePorts>()
            .register::<PluginParams>()
            .register::<PluginState>()
            .register::<PluginLatency>();
    }
}

impl DefaultPluginFactory for EarshotPlugin {
    fn get_descriptor() -> PluginDescriptor {
        PluginDescriptor::new(PLUGIN_ID, "earshot")
            .with_vendor("earshot")
            .with_version(env!("CARGO_PKG_VERSION"))
            .with_description(
                "Real-time generative audio: a diffusion model you play with knobs and a prompt",
            )
            .with_features([INSTRUMENT, SYNTHESIZER, STEREO])
    }

    fn new_shared(_host: HostSharedHandle<'_>) -> Result<Shared, PluginError> {
        Ok(Shared::default())
    }

    fn new_main_thread<'a>(
        host: HostMainThreadHandle<'a>,
        shared: &'a Shared,
    ) -> Result<MainThread<'a>, PluginError> {
        Ok(MainThread::new(host, shared))
    }
}
