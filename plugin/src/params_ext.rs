//! The CLAP params extension: every knob of the model as an automatable,
//! modulatable parameter. While the plugin is active the host flushes
//! changes on the audio thread (they go to the engine's real-time queue);
//! while inactive, on the main thread (they are kept, and given to the
//! engine when it is built).

use crate::audio::{AudioProcessor, param_change};
use crate::main_thread::MainThread;
use crate::params::{self, knob_of, param_id};
use crate::player::ParamChange;
use clack_extensions::params::{
    ParamDisplayWriter, ParamInfo, ParamInfoFlags, ParamInfoWriter, PluginAudioProcessorParams,
    PluginMainThreadParams,
};
use clack_plugin::prelude::*;
use clack_plugin::utils::Cookie;
use earshot_audio_model::config::KNOB_COUNT;
use std::ffi::CStr;

impl PluginMainThreadParams for MainThread<'_> {
    fn count(&self) -> u32 {
        KNOB_COUNT as u32
    }

    fn get_info(&self, param_index: u32, info: &mut ParamInfoWriter) {
        let Some(knob) = knob_of(param_index) else {
            return;
        };
        let spec = params::spec(knob);
        info.set(&ParamInfo {
            id: ClapId::new(param_id(knob)),
            flags: ParamInfoFlags::IS_AUTOMATABLE | ParamInfoFlags::IS_MODULATABLE,
            cookie: Cookie::empty(),
            name: spec.name.as_bytes(),
            module: b"",
            min_value: params::widen(spec.min),
            max_value: params::widen(spec.max),
            default_value: params::widen(spec.default),
        });
    }

    fn get_value(&self, param_id: ClapId) -> Option<f64> {
        knob_of(param_id.get()).map(|knob| self.shared().values.get(knob))
    }

    fn value_to_text(
        &self,
        param_id: ClapId,
        value: f64,
        writer: &mut ParamDisplayWriter,
    ) -> std::fmt::Result {
        let knob = knob_of(param_id.get()).ok_or(std::fmt::Error)?;
        params::format_value(knob, value, writer)
    }

    fn text_to_value(&self, param_id: ClapId, text: &CStr) -> Option<f64> {
        params::parse_value(knob_of(param_id.get())?, text.to_str().ok()?)
    }

    fn flush(&self, input_parameter_changes: &InputEvents, _output: &mut OutputEvents) {
        // Inactive: no engine to modulate, so only values are kept.
        for event in input_parameter_changes {
            if let Some(ParamChange::Value { knob, value }) = param_change(event)
                && let Some(value) = params::clamp(knob, value)
            {
                self.shared().values.set(knob, value);
            }
        }
    }
}

impl PluginAudioProcessorParams for AudioProcessor<'_> {
    fn flush(&mut self, input_parameter_changes: &InputEvents, _output: &mut OutputEvents) {
        for event in input_parameter_changes {
            self.apply(0, event);
        }
    }
}
