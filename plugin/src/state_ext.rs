//! The CLAP state extension: the host saves and restores the plugin's
//! [`SavedState`] with its project. A state that fails its checks is
//! refused and changes nothing.

use crate::main_thread::MainThread;
use crate::state::SavedState;
use clack_extensions::state::PluginStateImpl;
use clack_plugin::prelude::*;
use clack_plugin::stream::{InputStream, OutputStream};
use std::io::Write;

impl PluginStateImpl for MainThread<'_> {
    fn save(&self, output: &mut OutputStream) -> Result<(), PluginError> {
        output.write_all(&self.saved_state().to_bytes()?)?;
        Ok(())
    }

    fn load(&self, input: &mut InputStream) -> Result<(), PluginError> {
        self.apply_state(SavedState::read(input)?);
        Ok(())
    }
}
