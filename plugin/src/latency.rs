//! The CLAP latency extension: the audio path's fixed delay, which a host
//! compensates. The time a knob or prompt change takes to be heard is not
//! a fixed delay (it follows the runner's ticks), so it is not reported;
//! see `docs/clap.md`.

use crate::main_thread::MainThread;
use clack_extensions::latency::PluginLatencyImpl;

impl PluginLatencyImpl for MainThread<'_> {
    fn get(&self) -> u32 {
        self.latency()
    }
}
