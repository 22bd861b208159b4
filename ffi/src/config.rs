//! The C config struct, its defaults, and its translation into the
//! embedded engine's config (every field checked, nothing trusted).

use crate::cstr::{optional_path, optional_str};
use crate::entry::guarded;
use crate::error::FfiError;
use crate::status::EarshotStatus;
use earshot_audio_model::ModelSize;
use earshot_audio_model::config::SAMPLE_RATE;
use earshot_embed::EngineConfig;
use earshot_embed::backend_choice::BackendKind;
use earshot_engine::frames::SampleFrames;
use earshot_engine::sampler::SamplerKind;
use std::ffi::c_char;

/// How to build an engine. Fill it with `earshot_config_default`, then
/// change what you need. Strings are read during `earshot_create` only;
/// NULL strings mean the default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EarshotConfig {
    /// A safetensors weights file (its model size comes from the file), or
    /// NULL for the reference weights of `size` generated from
    /// `weights_seed`.
    pub model_path: *const c_char,
    /// Size of generated weights: "tiny" (CPU real time), "small" or
    /// "base"; NULL is "tiny".
    pub size: *const c_char,
    /// Seed of generated weights.
    pub weights_seed: u64,
    /// Backend: "cpu" (the reference), "cuda" (GPU 0, bf16) or "cuda-fp32";
    /// NULL is "cpu".
    pub backend: *const c_char,
    /// The host's sample rate in Hz, 8000..=384000. The model runs at
    /// 48 kHz; any other rate is resampled inside `earshot_process`, with
    /// the delay reported in `EarshotStats.latency`.
    pub sample_rate: u32,
    /// The most frames one `earshot_process` call may ask for,
    /// 1..=65536.
    pub max_block: u32,
    /// Output channels: 2 (stereo) or 1 (a mix of both).
    pub channels: u32,
    /// Denoise steps, 1..=64.
    pub steps: u32,
    /// Sampler: "ode" or "sde"; NULL is "ode".
    pub sampler: *const c_char,
    /// Share of fresh noise of the "sde" sampler, in [0, 1].
    pub sde_churn: f32,
    /// Noise seed of the stream.
    pub seed: u64,
    /// Smallest lead of the frontier write in milliseconds, at most
    /// 10000: how far ahead of the playhead regular writes land.
    pub lead_floor_ms: u32,
    /// Knob changes `earshot_knob_rt` can queue between two runner ticks,
    /// 1..=65536.
    pub rt_knob_capacity: u32,
    /// Nonzero: keep ack events for `earshot_poll_ack` (they queue until
    /// polled, a few per change: a host that asks for them must poll).
    /// Zero (the default): none are kept.
    pub keep_acks: u32,
    /// The text encoder's model directory, tried before
    /// `$EARSHOT_TEXT_MODEL` and the default cache; NULL: only those two.
    /// Without an encoder the engine plays with the null conditioning and
    /// `earshot_set_prompt` returns `EARSHOT_ERR_NO_PROMPTS`.
    pub text_model_dir: *const c_char,
}

impl EarshotConfig {
    /// The defaults: generated tiny weights on the CPU, stereo at 48 kHz,
    /// blocks of up to 4096 frames, acks kept.
    pub fn defaults() -> Self {
        let d = EngineConfig::default();
        let churn = match SamplerKind::SDE {
            SamplerKind::Sde { churn } => churn,
            SamplerKind::Ode => 0.0,
        };
        Self {
            model_path: std::ptr::null(),
            size: std::ptr::null(),
            weights_seed: d.weights_seed,
            backend: std::ptr::null(),
            sample_rate: d.sample_rate,
            max_block: u32::try_from(d.max_block).unwrap_or(u32::MAX),
            channels: u32::try_from(d.channels).unwrap_or(u32::MAX),
            steps: d.steps,
            sampler: std::ptr::null(),
            sde_churn: churn,
            seed: d.seed,
            lead_floor_ms: u32::try_from(d.lead_floor.0 * 1000 / u64::from(SAMPLE_RATE))
                .unwrap_or(u32::MAX),
            rt_knob_capacity: u32::try_from(d.rt_knob_capacity).unwrap_or(u32::MAX),
            keep_acks: 0,
            text_model_dir: std::ptr::null(),
        }
    }

    /// The embedded engine's config.
    ///
    /// # Safety
    ///
    /// Each string field is NULL or a NUL-terminated string.
    pub unsafe fn to_engine(&self) -> Result<EngineConfig, FfiError> {
        // SAFETY: each string field is NULL or NUL-terminated (the
        // caller's promise); the same holds for the four reads below.
        let size = unsafe { optional_str(self.size, "size") }?;
        // SAFETY: as above.
        let backend = unsafe { optional_str(self.backend, "backend") }?;
        // SAFETY: as above.
        let sampler = unsafe { optional_str(self.sampler, "sampler") }?;
        // SAFETY: as above.
        let weights = unsafe { optional_path(self.model_path, "model_path") }?;
        // SAFETY: as above.
        let text_model = unsafe { optional_path(self.text_model_dir, "text_model_dir") }?;
        let size = match size {
            None => ModelSize::Tiny,
            Some(s) => s
                .parse()
                .map_err(|_| FfiError::Config(format!("size {s:?}: tiny, small or base")))?,
        };
        let backend = match backend {
            None => BackendKind::Cpu,
            Some(s) => s.parse().map_err(|e| FfiError::Config(format!("{e}")))?,
        };
        let sampler = match sampler {
            None | Some("ode") => SamplerKind::Ode,
            Some("sde") => SamplerKind::Sde {
                churn: self.sde_churn,
            },
            Some(s) => return Err(FfiError::Config(format!("sampler {s:?}: ode or sde"))),
        };
        if self.lead_floor_ms > 10_000 {
            return Err(FfiError::Config(format!(
                "lead floor {} ms is over 10 s",
                self.lead_floor_ms
            )));
        }
        let config = EngineConfig {
            weights,
            size,
            weights_seed: self.weights_seed,
            backend,
            sample_rate: self.sample_rate,
            max_block: self.max_block as usize,
            channels: self.channels as usize,
            steps: self.steps,
            sampler,
            seed: self.seed,
            lead_floor: SampleFrames(u64::from(self.lead_floor_ms) * u64::from(SAMPLE_RATE) / 1000),
            text_model,
            rt_knob_capacity: self.rt_knob_capacity as usize,
        };
        // The engine checks again; checking here names the field before
        // any weights are built.
        config.check().map_err(FfiError::Embed)?;
        Ok(config)
    }
}

/// Fills `*config` with the defaults (see `EarshotConfig`).
///
/// Any thread; not real-time (but allocates nothing). Returns
/// `EARSHOT_ERR_NULL` for a NULL `config`.
///
/// # Safety
///
/// `config` is NULL or points to writable memory for one `EarshotConfig`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn earshot_config_default(config: *mut EarshotConfig) -> EarshotStatus {
    guarded(|| {
        if config.is_null() {
            return Err(FfiError::Null("config"));
        }
        // SAFETY: non-NULL, and the caller's promise on the memory; `write`
        // does not read what was there.
        unsafe { config.write(EarshotConfig::defaults()) };
        Ok(EarshotStatus::EarshotOk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_embedded_engines() {
        // SAFETY: every string of the defaults is NULL.
        let config = unsafe { EarshotConfig::defaults().to_engine() }.unwrap();
        assert_eq!(config, EngineConfig::default());
    }

    #[test]
    fn names_are_parsed_and_unknown_ones_named() {
        let mut c = EarshotConfig::defaults();
        c.size = c"small".as_ptr();
        c.backend = c"cuda-fp32".as_ptr();
        c.sampler = c"sde".as_ptr();
        // SAFETY: the strings are C literals.
        let e = unsafe { c.to_engine() }.unwrap();
        assert_eq!(e.size, ModelSize::Small);
        assert_eq!(e.backend, BackendKind::CudaFp32);
        assert!(matches!(e.sampler, SamplerKind::Sde { .. }));
        for (field, bad) in [("size", 0), ("backend", 1), ("sampler", 2)] {
            let mut c = EarshotConfig::defaults();
            let name = c"nope".as_ptr();
            match bad {
                0 => c.size = name,
                1 => c.backend = name,
                _ => c.sampler = name,
            }
            // SAFETY: the strings are C literals.
            let e = unsafe { c.to_engine() }.unwrap_err();
            assert_eq!(e.status(), EarshotStatus::EarshotErrConfig, "{field}");
            assert!(e.to_string().contains("nope"), "{e}");
        }
    }
}
