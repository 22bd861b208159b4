//! The control calls of an embedded engine as a cheap, `Sync` handle: any
//! number of control threads (a UI, an OSC server, a C caller's threads)
//! can hold one, and a knob set on one thread never waits for a prompt
//! encoding on another. Never for the audio thread: these take the state
//! lock for microseconds (see [`crate::Processor::knob`] instead).

use crate::error::EmbedError;
use earshot_engine::ack::AckEvent;
use earshot_engine::control::{Control, KnobCommit};
use earshot_engine::frames::SampleFrames;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

/// Knobs, curves, prompts and the loop band of one engine.
#[derive(Debug, Clone)]
pub struct Controller {
    control: Control,
    /// Why prompts are off, when they are.
    prompts_off: Option<Arc<str>>,
}

impl Controller {
    pub(crate) fn new(control: Control, prompts_off: Option<String>) -> Self {
        Self {
            control,
            prompts_off: prompts_off.map(Arc::from),
        }
    }

    /// Sets a knob by name (see `earshot_audio_model::knobs::KNOBS`).
    pub fn set_knob(&self, name: &str, value: f32) -> Result<KnobCommit, EmbedError> {
        Ok(self.control.set_knob(name, value)?)
    }

    /// Sets a knob's per-step curve (one value per denoise step).
    pub fn set_curve(&self, name: &str, values: &[f32]) -> Result<KnobCommit, EmbedError> {
        Ok(self.control.set_curve(name, values)?)
    }

    /// Changes the prompt: encodes on the calling thread (milliseconds),
    /// then commits; returns the conditioning epoch. Refused with the
    /// reason when prompts are off.
    pub fn set_prompt(&self, prompt: &str) -> Result<u64, EmbedError> {
        if let Some(why) = &self.prompts_off {
            return Err(EmbedError::NoPrompts(why.to_string()));
        }
        Ok(self.control.set_prompt(prompt)?)
    }

    /// Why prompts are off, when they are.
    pub fn prompts_off(&self) -> Option<&str> {
        self.prompts_off.as_deref()
    }

    /// Arms the loop band `[a, b)` in the model's sample frames of the
    /// playback timeline (the processor's playhead counts them).
    pub fn arm_band(&self, a: SampleFrames, b: SampleFrames) -> Result<bool, EmbedError> {
        Ok(self.control.arm_band(a, b)?)
    }

    /// Disarms the loop band; returns whether one was armed.
    pub fn disarm_band(&self) -> bool {
        self.control.disarm_band()
    }

    /// Ack events of every change from now on.
    pub fn subscribe_acks(&self) -> Receiver<AckEvent> {
        self.control.subscribe_acks()
    }

    /// The control plane, for what this handle does not wrap.
    pub fn control(&self) -> &Control {
        &self.control
    }
}
