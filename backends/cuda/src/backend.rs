//! [`CudaBackend`]: the engine's `Backend` on the GPU. Latent windows live
//! in one device pool indexed by handle, conditionings in one device store;
//! a step enqueues one forward with one staged host-to-device copy and no
//! host sync; the runner's decodes render on the device and read the slice
//! back asynchronously through pinned memory (see [`crate::landing`]): the
//! output waits for it, not the runner, whose one wait is at the tick
//! boundary ([`Backend::settle`]). The synchronous `decode` (offline
//! renders, tests) waits for its read-back.

use crate::decoder::GpuDecoder;
use crate::device::{Device, Precision};
use crate::error::CudaError;
use crate::generator::{CondStore, GpuGenerator};
use crate::landing::LandingQueue;
use cudarc::driver::{CudaEvent, CudaSlice, PinnedHostSlice};
use earshot_audio_model::config::{CHANNELS, HOP};
use earshot_audio_model::{ModelConfig, ModelWeights};
use earshot_engine::backend::StepTiming;
use earshot_engine::backend::{ConditioningHandle, LatentHandle};
use earshot_engine::backend::{DeviceServices, Generator, LandingFailed, Renderer};
use earshot_engine::conditioning::ConditioningInput;
use earshot_engine::playback::{Arrivals, Landing, PatchBuffer};
use earshot_engine::stream::MAX_QUEUE_CAP;
use earshot_engine::{
    BackendCounters, BackendError, DecodeRequest, ModelDescription, SampleFrames, StepBatch,
};

/// The CUDA backend.
pub struct CudaBackend {
    dev: Device,
    cfg: ModelConfig,
    description: ModelDescription,
    generator: GpuGenerator,
    decoder: GpuDecoder,
    pool: CudaSlice<f32>,
    pool_capacity: usize,
    latents: usize,
    store: CondStore,
    live: Vec<bool>,
    rendered: CudaSlice<f32>,
    readback: PinnedHostSlice<f32>,
    landing: LandingQueue,
    timing: StepTimer,
}

/// Timing events around steps, in rotation; each finished step is
/// reported once, oldest first, without waiting.
struct StepTimer {
    marks: Vec<(CudaEvent, CudaEvent, usize)>,
    /// Steps recorded so far, and reported so far.
    recorded: usize,
    reported: usize,
}

/// Steps timed in rotation.
const TIMED_STEPS: usize = 4;

impl StepTimer {
    fn new(dev: &Device) -> Result<Self, CudaError> {
        let flags = Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT);
        let marks = (0..TIMED_STEPS)
            .map(|_| Ok((dev.ctx.new_event(flags)?, dev.ctx.new_event(flags)?, 0)))
            .collect::<Result<Vec<_>, CudaError>>()?;
        Ok(Self {
            marks,
            recorded: 0,
            reported: 0,
        })
    }

    fn start(&mut self, dev: &Device) -> Result<(), CudaError> {
        // A step whose timing was never read is overwritten: dropped.
        self.reported = self
            .reported
            .max(self.recorded.saturating_sub(TIMED_STEPS - 1));
        let (start, _, _) = &self.marks[self.recorded % TIMED_STEPS];
        start.record(&dev.stream)?;
        Ok(())
    }

    fn end(&mut self, dev: &Device, slots: usize) -> Result<(), CudaError> {
        let mark = &mut self.marks[self.recorded % TIMED_STEPS];
        mark.1.record(&dev.stream)?;
        mark.2 = slots;
        self.recorded += 1;
        Ok(())
    }

    /// The oldest unreported step's device time, in sample frames at
    /// `sample_rate`.
    fn poll(&mut self, sample_rate: u32) -> StepTiming {
        if self.reported == self.recorded {
            return StepTiming::Pending;
        }
        let (start, end, slots) = &self.marks[self.reported % TIMED_STEPS];
        if !end.is_complete() {
            return StepTiming::Pending;
        }
        self.reported += 1;
        match start.elapsed_ms(end) {
            Ok(ms) => StepTiming::Device {
                slots: *slots,
                took: SampleFrames((f64::from(ms) * f64::from(sample_rate) / 1000.0).round() as u64),
            },
            Err(_) => StepTiming::Pending,
        }
    }
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend")
            .field("device", &self.dev)
            .field("latents", &self.latents)
            .finish_non_exhaustive()
    }
}

impl CudaBackend {
    /// The reference model's geometry this backend was built for.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// Opens GPU `ordinal`, compiles the kernels and uploads `weights`
    /// (fp32). Without a GPU: [`CudaError::NoDriver`].
    pub fn new(weights: &ModelWeights, ordinal: usize) -> Result<Self, CudaError> {
        Self::with_precision(weights, ordinal, Precision::Fp32)
    }

    /// [`CudaBackend::new`] with the generator's products in `precision`.
    pub fn with_precision(
        weights: &ModelWeights,
        ordinal: usize,
        precision: Precision,
    ) -> Result<Self, CudaError> {
        let mut dev = Device::new(ordinal)?;
        dev.precision = precision;
        let cfg = *weights.config();
        let generator = GpuGenerator::new(&mut dev, weights)?;
        let decoder = GpuDecoder::new(&mut dev, weights)?;
        let window_frames = cfg.window.0 as usize * HOP.as_usize();
        let capacity = 2;
        let store = CondStore {
            kv: dev.zeros(capacity * generator.cond_kv_len())?,
            pooled: dev.zeros(capacity * cfg.width)?,
            capacity,
        };
        Ok(Self {
            pool: dev.zeros(cfg.window_len())?,
            rendered: dev.zeros(window_frames * CHANNELS)?,
            // SAFETY: plain f32 read-back memory.
            // Not write-combined: the host reads it.
            readback: unsafe {
                dev.ctx
                    .alloc_pinned_with_flags::<f32>(window_frames * CHANNELS, 0)
            }?,
            landing: LandingQueue::new(&dev, window_frames * CHANNELS)?,
            pool_capacity: 1,
            latents: 0,
            store,
            live: Vec::new(),
            timing: StepTimer::new(&dev)?,
            description: cfg.description(),
            cfg,
            generator,
            decoder,
            dev,
        })
    }

    /// The device's name.
    pub fn device_name(&self) -> String {
        self.dev.name()
    }

    /// Captures and replays steps as CUDA graphs (the default) or launches
    /// them kernel by kernel.
    pub fn set_graphs(&mut self, on: bool) {
        self.generator.set_graphs(on);
    }

    /// Why graphs were given up for plain launches, if they were.
    pub fn graph_fallback(&self) -> Option<&str> {
        self.generator.graph_fallback()
    }

    /// Forces the CUDA-core attention kernel with 4 or 8 threads per
    /// query, in bf16 too (for comparisons); `None` (the default): the
    /// tensor-core kernel in bf16, and in fp32 the CUDA-core one with its
    /// threads per query chosen per batch size.
    pub fn set_attention_lanes(&mut self, lanes: Option<u32>) {
        self.generator.set_attention_lanes(lanes);
    }

    /// Waits for everything enqueued (for benchmarks and tests; counted as
    /// a host sync).
    pub fn synchronize(&mut self) -> Result<(), CudaError> {
        self.dev.sync()
    }

    fn grow_pool(&mut self, capacity: usize) -> Result<(), CudaError> {
        if capacity <= self.pool_capacity {
            return Ok(());
        }
        let n = self.cfg.window_len();
        let mut bigger = self.dev.zeros::<f32>(capacity * n)?;
        let used = self.latents * n;
        if used > 0 {
            self.dev
                .stream
                .memcpy_dtod(&self.pool.slice(..used), &mut bigger.slice_mut(..used))?;
        }
        self.pool = bigger;
        self.pool_capacity = capacity;
        Ok(())
    }

    fn grow_store(&mut self, capacity: usize) -> Result<(), CudaError> {
        if capacity <= self.store.capacity {
            return Ok(());
        }
        let (kv_len, d) = (self.generator.cond_kv_len(), self.cfg.width);
        let mut kv = self.dev.zeros::<f32>(capacity * kv_len)?;
        let mut pooled = self.dev.zeros::<f32>(capacity * d)?;
        let (old_kv, old_pooled) = (self.store.capacity * kv_len, self.store.capacity * d);
        self.dev
            .stream
            .memcpy_dtod(&self.store.kv, &mut kv.slice_mut(..old_kv))?;
        self.dev
            .stream
            .memcpy_dtod(&self.store.pooled, &mut pooled.slice_mut(..old_pooled))?;
        self.store = CondStore {
            kv,
            pooled,
            capacity,
        };
        Ok(())
    }

    /// Renders `request` (`len` interleaved values) into `rendered` on the
    /// device, without reading it back.
    fn render(&mut self, request: &DecodeRequest, len: usize) -> Result<(), BackendError> {
        let local = earshot_engine::backend::check_decode(&self.description, request, len)?;
        let i = self.check_latent(request.latents)?;
        let n = self.cfg.window_len();
        let window = self.pool.slice(i * n..(i + 1) * n);
        let mut target = self.rendered.slice_mut(..len);
        self.decoder
            .decode(&mut self.dev, &window, local, &mut target)
            .map_err(BackendError::from)
    }

    fn check_latent(&self, h: LatentHandle) -> Result<usize, BackendError> {
        let i = h.index() as usize;
        if i < self.latents {
            Ok(i)
        } else {
            Err(BackendError::UnknownHandle {
                kind: "latent",
                index: h.index(),
            })
        }
    }

    fn check_conditioning(&self, h: ConditioningHandle) -> Result<usize, BackendError> {
        let i = h.index() as usize;
        if self.live.get(i).copied().unwrap_or(false) {
            Ok(i)
        } else {
            Err(BackendError::UnknownHandle {
                kind: "conditioning",
                index: h.index(),
            })
        }
    }
}

impl DeviceServices for CudaBackend {
    fn name(&self) -> &str {
        "cuda"
    }

    fn description(&self) -> &ModelDescription {
        &self.description
    }

    fn reserve(&mut self, max_slots: usize) -> Result<(), BackendError> {
        self.generator.reserve(&mut self.dev, max_slots)?;
        self.grow_pool(max_slots + MAX_QUEUE_CAP + 1)?;
        self.grow_store(4)?;
        Ok(())
    }

    fn settle(&mut self) -> Result<(), BackendError> {
        self.dev.stream.synchronize().map_err(CudaError::from)?;
        self.dev.counters.boundary_waits += 1;
        Ok(())
    }

    fn counters(&self) -> BackendCounters {
        self.dev.counters
    }

    fn step_device_time(&mut self) -> StepTiming {
        self.timing.poll(self.description.sample_rate)
    }
}

impl Generator for CudaBackend {
    fn alloc_latents(&mut self) -> Result<LatentHandle, BackendError> {
        if self.latents == self.pool_capacity {
            self.grow_pool(self.pool_capacity * 2)?;
        }
        self.latents += 1;
        Ok(LatentHandle::from_index(self.latents as u32 - 1))
    }

    fn encode(&mut self, input: &ConditioningInput) -> Result<ConditioningHandle, BackendError> {
        earshot_engine::backend::check_conditioning(&self.description, input)?;
        let index = match self.live.iter().position(|l| !l) {
            Some(i) => i,
            None => {
                self.live.push(false);
                self.live.len() - 1
            }
        };
        if index >= self.store.capacity {
            self.grow_store(self.store.capacity * 2)?;
        }
        self.generator.encode(
            &mut self.dev,
            &input.tokens,
            &input.pooled,
            &mut self.store,
            index,
        )?;
        self.live[index] = true;
        Ok(ConditioningHandle::from_index(index as u32))
    }

    fn release_conditioning(&mut self, handle: ConditioningHandle) -> Result<(), BackendError> {
        let i = self.check_conditioning(handle)?;
        self.live[i] = false;
        Ok(())
    }

    fn step(&mut self, batch: &StepBatch) -> Result<(), BackendError> {
        earshot_engine::backend::check_knob_rows(&self.description, batch)?;
        for slot in &batch.slots {
            self.check_latent(slot.latents)?;
            self.check_conditioning(slot.conditioning)?;
        }
        self.timing.start(&self.dev)?;
        self.generator.step(
            &mut self.dev,
            batch,
            &mut self.pool,
            &self.store,
            &|i| batch.slots[i].latents.index(),
            &|i| batch.slots[i].conditioning.index(),
        )?;
        self.timing.end(&self.dev, batch.slots.len())?;
        Ok(())
    }

    fn read_latents(&mut self, handle: LatentHandle, out: &mut [f32]) -> Result<(), BackendError> {
        let i = self.check_latent(handle)?;
        earshot_engine::backend::check_window_len(
            &self.description,
            "latent read-back",
            out.len(),
        )?;
        let n = self.cfg.window_len();
        self.dev
            .stream
            .memcpy_dtoh(&self.pool.slice(i * n..(i + 1) * n), out)
            .map_err(CudaError::from)?;
        self.dev.counters.d2h_copies += 1;
        self.dev.sync()?;
        Ok(())
    }

    fn write_latents(&mut self, handle: LatentHandle, values: &[f32]) -> Result<(), BackendError> {
        let i = self.check_latent(handle)?;
        earshot_engine::backend::check_window_len(&self.description, "latent write", values.len())?;
        let n = self.cfg.window_len();
        self.dev
            .stream
            .memcpy_htod(values, &mut self.pool.slice_mut(i * n..(i + 1) * n))
            .map_err(CudaError::from)?;
        self.dev.counters.h2d_copies += 1;
        self.dev.sync()?;
        Ok(())
    }
}

impl Renderer for CudaBackend {
    fn decode(&mut self, request: &DecodeRequest, out: &mut [f32]) -> Result<(), BackendError> {
        let len = out.len();
        self.render(request, len)?;
        self.dev
            .stream
            .memcpy_dtoh(&self.rendered.slice(..len), &mut self.readback)
            .map_err(CudaError::from)?;
        self.dev.counters.d2h_copies += 1;
        self.dev.sync()?;
        let host = self.readback.as_slice().map_err(CudaError::from)?;
        out.copy_from_slice(&host[..len]);
        self.dev.counters.decodes += 1;
        Ok(())
    }

    fn decode_landing(
        &mut self,
        request: &DecodeRequest,
        buffer: PatchBuffer,
        arrivals: &std::sync::Arc<Arrivals>,
    ) -> Result<Landing, LandingFailed> {
        let rendered = earshot_engine::backend::landing_len(&self.description, request, &buffer)
            .and_then(|len| self.render(request, len).map(|()| len));
        let len = match rendered {
            Ok(len) => len,
            Err(error) => return Err(LandingFailed::untouched(error, buffer)),
        };
        let landing =
            self.landing
                .queue(&mut self.dev, &self.rendered.slice(..len), buffer, arrivals)?;
        self.dev.counters.decodes += 1;
        Ok(landing)
    }
}

impl Drop for CudaBackend {
    /// Read-backs may still be landing into patch buffers and pinned slots:
    /// let them finish before the slots and the callbacks' jobs go.
    fn drop(&mut self) {
        let _ = self.dev.stream.synchronize();
    }
}
