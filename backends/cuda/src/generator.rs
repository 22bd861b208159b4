//! The generator on the GPU (fp32): one batched forward over the slots of a
//! tick and the sampler update, enqueued on the device's stream without a
//! host sync. Per-slot inputs (buffer and conditioning indices, timesteps,
//! noise keys, knob rows) travel in one pinned staging buffer with one
//! async copy per forward; everything else stays on the device.

use crate::device::{Device, Precision};
use crate::error::CudaError;
use cudarc::driver::sys::{CUgraphInstantiate_flags, CUstreamCaptureMode};
use cudarc::driver::{
    CudaEvent, CudaFunction, CudaGraph, CudaModule, CudaSlice, DevicePtr, LaunchConfig,
    PinnedHostSlice, PushKernelArg,
};
use earshot_audio_model::config::{COND_TOKENS, KNOB_COUNT, LATENT_CHANNELS, TIME_FREQ_DIM};
use earshot_audio_model::tensors::block;
use earshot_audio_model::{ModelConfig, ModelWeights};
use earshot_engine::backend::StepBatch;
use earshot_engine::sampler::SamplerKind;
use std::collections::HashMap;
use std::sync::Arc;

/// 32-bit words of one slot's inputs in the staging buffer (generator.cu).
pub const PARAM_WORDS: usize = 16;
/// Staging buffers in rotation: a buffer is rewritten only after the copy
/// made from it three forwards earlier has certainly run.
const STAGING_RING: usize = 4;

const SOURCE: &str = include_str!("kernels/generator.cu");

/// A linear layer on the device: `[out, inp]` weight and `[out]` bias.
pub(crate) struct DeviceLinear {
    pub(crate) w: CudaSlice<f32>,
    pub(crate) b: CudaSlice<f32>,
    /// The weight in bf16, when the forward runs its products in bf16.
    pub(crate) wh: Option<CudaSlice<u16>>,
}

impl DeviceLinear {
    pub(crate) fn load(
        dev: &mut Device,
        weights: &ModelWeights,
        name: &str,
    ) -> Result<Self, CudaError> {
        let get = |suffix: &str| {
            let full = format!("{name}.{suffix}");
            weights
                .get(&full)
                .ok_or_else(|| CudaError::Weights(format!("missing tensor {full}")))
        };
        let (w, b) = (get("weight")?, get("bias")?);
        if b.is_empty() || w.len() % b.len() != 0 {
            return Err(CudaError::Weights(format!(
                "{name}: weight and bias disagree"
            )));
        }
        Ok(Self {
            wh: match dev.precision {
                Precision::Bf16 => Some(dev.upload_bf16(w)?),
                Precision::Fp32 => None,
            },
            w: dev.upload(w)?,
            b: dev.upload(b)?,
        })
    }
}

struct Block {
    adaln: DeviceLinear,
    qkv: DeviceLinear,
    out: DeviceLinear,
    fc1: DeviceLinear,
    fc2: DeviceLinear,
}

struct Kernels {
    noise_init: CudaFunction,
    gather: CudaFunction,
    slot_features: CudaFunction,
    bias_act: CudaFunction,
    combine_c: CudaFunction,
    embed_finish: CudaFunction,
    modulate: CudaFunction,
    gated_residual: CudaFunction,
    cond_kv: CudaFunction,
    attention: CudaFunction,
    attention_wide: CudaFunction,
    /// The tensor-core kernel (bf16 mode), when the head dimension is a
    /// multiple of 16.
    attention_mma: Option<CudaFunction>,
    sampler_update: CudaFunction,
    to_bf16: CudaFunction,
}

impl Kernels {
    fn load(m: &Arc<CudaModule>, head_dim: usize) -> Result<Self, CudaError> {
        Ok(Self {
            noise_init: m.load_function("noise_init")?,
            gather: m.load_function("gather")?,
            slot_features: m.load_function("slot_features")?,
            bias_act: m.load_function("bias_act")?,
            combine_c: m.load_function("combine_c")?,
            embed_finish: m.load_function("embed_finish")?,
            modulate: m.load_function("modulate")?,
            gated_residual: m.load_function("gated_residual")?,
            cond_kv: m.load_function("cond_kv")?,
            attention: m.load_function("attention")?,
            attention_wide: m.load_function("attention_wide")?,
            attention_mma: if head_dim.is_multiple_of(16) {
                Some(m.load_function("attention_mma")?)
            } else {
                None
            },
            sampler_update: m.load_function("sampler_update")?,
            to_bf16: m.load_function("to_bf16")?,
        })
    }
}

/// Activations of a forward, sized for the most slots at `reserve`.
struct Scratch {
    slots: usize,
    params: CudaSlice<u32>,
    x: CudaSlice<f32>,
    h: CudaSlice<f32>,
    a: CudaSlice<f32>,
    qkv: CudaSlice<f32>,
    attn: CudaSlice<f32>,
    proj: CudaSlice<f32>,
    hidden: CudaSlice<f32>,
    x0: CudaSlice<f32>,
    c: CudaSlice<f32>,
    tmp: CudaSlice<f32>,
    tmp2: CudaSlice<f32>,
    tfeat: CudaSlice<f32>,
    knobs: CudaSlice<f32>,
    mods: CudaSlice<f32>,
    /// bf16 copy of a product's input (the largest: the MLP hidden rows).
    xh: CudaSlice<u16>,
}

/// Pinned staging buffers in rotation, each with the event recorded after
/// its last copy.
struct Staging {
    host: Vec<PinnedHostSlice<u32>>,
    /// Recorded after each buffer's copy (made once; re-recorded).
    copied: Vec<CudaEvent>,
    used: Vec<bool>,
    next: usize,
}

/// The device-side conditioning store: per conditioning, every block's
/// token keys and values, and the pooled projection.
pub(crate) struct CondStore {
    pub(crate) kv: CudaSlice<f32>,
    pub(crate) pooled: CudaSlice<f32>,
    pub(crate) capacity: usize,
}

/// The generator's weights, kernels and buffers.
pub struct GpuGenerator {
    cfg: ModelConfig,
    k: Kernels,
    x_embed: DeviceLinear,
    t0: DeviceLinear,
    t2: DeviceLinear,
    pool_proj: DeviceLinear,
    knob0: DeviceLinear,
    knob2: DeviceLinear,
    blocks: Vec<Block>,
    final_adaln: DeviceLinear,
    final_linear: DeviceLinear,
    pos: CudaSlice<f32>,
    scratch: Option<Scratch>,
    staging: Staging,
    tokens: CudaSlice<f32>,
    pooled_in: CudaSlice<f32>,
    /// Pinned staging of a conditioning's tokens and pooled vector: a copy
    /// from pageable memory would wait for the step in flight, a host sync
    /// inside the tick that commits a prompt.
    cond_staging: (PinnedHostSlice<f32>, PinnedHostSlice<f32>),
    cond_qkv: CudaSlice<f32>,
    /// A stand-in for kernels' bf16 output when they write f32.
    no_half: CudaSlice<u16>,
    /// The CUDA-core attention kernel with 4 or 8 threads per query, or
    /// (`None`) the kernel chosen per precision and batch size.
    attention_lanes: Option<u32>,
    use_graphs: bool,
    graphs: HashMap<(usize, i32, u32), OwnedGraph>,
    graph_pointers: [u64; 3],
    graph_fallback: Option<String>,
}

fn grid(n: usize, block: u32) -> u32 {
    n.div_ceil(block as usize) as u32
}

fn cfg1(n: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (grid(n, 256), 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    }
}

impl GpuGenerator {
    /// Compiles the kernels and uploads the generator's weights.
    pub fn new(dev: &mut Device, weights: &ModelWeights) -> Result<Self, CudaError> {
        let cfg = *weights.config();
        // The head dimension is a compile-time constant of the attention
        // kernel, so its per-thread query and output rows stay in registers.
        let source = format!("#define HEAD_DIM {}\n{SOURCE}", cfg.head_dim());
        let module = dev.compile("generator", &source)?;
        let k = Kernels::load(&module, cfg.head_dim())?;
        let blocks = (0..cfg.depth)
            .map(|i| {
                Ok(Block {
                    adaln: DeviceLinear::load(dev, weights, &block(i, "adaln"))?,
                    qkv: DeviceLinear::load(dev, weights, &block(i, "attn.qkv"))?,
                    out: DeviceLinear::load(dev, weights, &block(i, "attn.out"))?,
                    fc1: DeviceLinear::load(dev, weights, &block(i, "mlp.fc1"))?,
                    fc2: DeviceLinear::load(dev, weights, &block(i, "mlp.fc2"))?,
                })
            })
            .collect::<Result<Vec<_>, CudaError>>()?;
        let d = cfg.width;
        let frames = cfg.window.0 as usize;
        let mut pos = vec![0.0f32; frames * d];
        let half = d / 2;
        for (f, row) in pos.chunks_exact_mut(d).enumerate() {
            for i in 0..half {
                let freq = (-(10_000f32.ln()) * i as f32 / half as f32).exp();
                let arg = f as f32 * freq;
                row[i] = arg.cos();
                row[half + i] = arg.sin();
            }
        }
        let mut host = Vec::new();
        for _ in 0..STAGING_RING {
            // SAFETY: plain u32 staging memory, written only through
            // as_mut_slice.
            host.push(unsafe { dev.ctx.alloc_pinned::<u32>(PARAM_WORDS) }?);
        }
        Ok(Self {
            cfg,
            k,
            x_embed: DeviceLinear::load(dev, weights, "gen.x_embed")?,
            t0: DeviceLinear::load(dev, weights, "gen.t_embed.0")?,
            t2: DeviceLinear::load(dev, weights, "gen.t_embed.2")?,
            pool_proj: DeviceLinear::load(dev, weights, "gen.pool_proj")?,
            knob0: DeviceLinear::load(dev, weights, "gen.knob_embed.0")?,
            knob2: DeviceLinear::load(dev, weights, "gen.knob_embed.2")?,
            blocks,
            final_adaln: DeviceLinear::load(dev, weights, "gen.final.adaln")?,
            final_linear: DeviceLinear::load(dev, weights, "gen.final.linear")?,
            pos: dev.upload(&pos)?,
            scratch: None,
            staging: Staging {
                host,
                copied: (0..STAGING_RING)
                    .map(|_| dev.ctx.new_event(None))
                    .collect::<Result<Vec<_>, _>>()?,
                used: vec![false; STAGING_RING],
                next: 0,
            },
            tokens: dev.zeros(COND_TOKENS * d)?,
            pooled_in: dev.zeros(d)?,
            // SAFETY: plain f32 staging memory, written by the host, read
            // by copies.
            cond_staging: unsafe {
                (
                    dev.ctx.alloc_pinned::<f32>(COND_TOKENS * d)?,
                    dev.ctx.alloc_pinned::<f32>(d)?,
                )
            },
            cond_qkv: dev.zeros(COND_TOKENS * 3 * d)?,
            no_half: dev.zeros(1)?,
            attention_lanes: None,
            use_graphs: true,
            graphs: HashMap::new(),
            graph_pointers: [0; 3],
            graph_fallback: None,
        })
    }

    /// Floats one conditioning takes in the store's `kv`.
    pub(crate) fn cond_kv_len(&self) -> usize {
        self.cfg.depth * COND_TOKENS * 2 * self.cfg.width
    }

    /// Sizes every activation for batches of up to `slots` slots (the only
    /// allocations; a steady state makes none).
    pub fn reserve(&mut self, dev: &mut Device, slots: usize) -> Result<(), CudaError> {
        if self.scratch.as_ref().is_some_and(|s| s.slots >= slots) {
            return Ok(());
        }
        let (d, t) = (self.cfg.width, self.cfg.window.0 as usize);
        let rows = slots * t;
        self.scratch = Some(Scratch {
            slots,
            params: dev.zeros(slots * PARAM_WORDS)?,
            x: dev.zeros(rows * LATENT_CHANNELS)?,
            h: dev.zeros(rows * d)?,
            a: dev.zeros(rows * d)?,
            qkv: dev.zeros(rows * 3 * d)?,
            attn: dev.zeros(rows * d)?,
            proj: dev.zeros(rows * d)?,
            hidden: dev.zeros(rows * 4 * d)?,
            x0: dev.zeros(rows * LATENT_CHANNELS)?,
            c: dev.zeros(slots * d)?,
            tmp: dev.zeros(slots * d)?,
            tmp2: dev.zeros(slots * d)?,
            tfeat: dev.zeros(slots * TIME_FREQ_DIM)?,
            knobs: dev.zeros(slots * KNOB_COUNT)?,
            mods: dev.zeros(slots * 6 * d)?,
            xh: match dev.precision {
                Precision::Bf16 => dev.zeros(rows * 4 * d)?,
                Precision::Fp32 => dev.zeros(1)?,
            },
        });
        for host in &mut self.staging.host {
            // SAFETY: as in `new`.
            *host = unsafe { dev.ctx.alloc_pinned::<u32>(slots * PARAM_WORDS) }?;
        }
        Ok(())
    }

    /// Precomputes conditioning `index`'s per-block token keys and values
    /// and its pooled projection into `store`.
    pub(crate) fn encode(
        &mut self,
        dev: &mut Device,
        tokens: &[f32],
        pooled: &[f32],
        store: &mut CondStore,
        index: usize,
    ) -> Result<(), CudaError> {
        let d = self.cfg.width;
        // Each waits only while the previous conditioning's copy from it is
        // still in flight (two prompts within a step).
        let (staged_tokens, staged_pooled) = &mut self.cond_staging;
        staged_tokens.as_mut_slice()?.copy_from_slice(tokens);
        staged_pooled.as_mut_slice()?.copy_from_slice(pooled);
        dev.stream.memcpy_htod(staged_tokens, &mut self.tokens)?;
        dev.stream.memcpy_htod(staged_pooled, &mut self.pooled_in)?;
        dev.counters.h2d_copies += 2;
        let per_block = COND_TOKENS * 2 * d;
        for (bi, blk) in self.blocks.iter().enumerate() {
            dev.linear(
                &self.tokens,
                &blk.qkv.w,
                &mut self.cond_qkv,
                COND_TOKENS,
                d,
                3 * d,
                0.0,
            )?;
            let off = (index * self.cfg.depth + bi) * per_block;
            let mut kv = store.kv.slice_mut(off..off + per_block);
            let n = per_block as i32;
            let di = d as i32;
            // SAFETY: cond_kv reads COND_TOKENS·3d values of cond_qkv and
            // 3d of the bias and writes n values of kv.
            unsafe {
                dev.stream
                    .launch_builder(&self.k.cond_kv)
                    .arg(&self.cond_qkv)
                    .arg(&blk.qkv.b)
                    .arg(&mut kv)
                    .arg(&di)
                    .launch(cfg1(n as usize))?;
            }
        }
        let mut pooled_out = store.pooled.slice_mut(index * d..(index + 1) * d);
        dev.linear(
            &self.pooled_in,
            &self.pool_proj.w,
            &mut pooled_out,
            1,
            d,
            d,
            0.0,
        )?;
        let (one, di, none) = (1i32, d as i32, 0i32);
        // SAFETY: d values of pooled_out and of the bias.
        unsafe {
            dev.stream
                .launch_builder(&self.k.bias_act)
                .arg(&mut pooled_out)
                .arg(&self.pool_proj.b)
                .arg(&one)
                .arg(&di)
                .arg(&none)
                .arg(&mut self.no_half)
                .arg(&none)
                .launch(cfg1(d))?;
        }
        Ok(())
    }

    /// Fills the next staging buffer with the batch's inputs and copies it
    /// to the device: the forward's one host-to-device copy.
    fn stage(
        &mut self,
        dev: &mut Device,
        batch: &StepBatch,
        buffer_index: &dyn Fn(usize) -> u32,
        cond_index: &dyn Fn(usize) -> u32,
    ) -> Result<(), CudaError> {
        let i = self.staging.next;
        self.staging.next = (i + 1) % STAGING_RING;
        let ev = &self.staging.copied[i];
        if self.staging.used[i] && !ev.is_complete() {
            dev.counters.host_syncs += 1;
            ev.synchronize()?;
        }
        let host = self.staging.host[i].as_mut_slice()?;
        for (s, slot) in batch.slots.iter().enumerate() {
            let w = &mut host[s * PARAM_WORDS..(s + 1) * PARAM_WORDS];
            w[0] = buffer_index(s);
            w[1] = cond_index(s);
            w[2] = slot.t.to_bits();
            w[3] = slot.t_next.to_bits();
            w[4] = slot.noise.seed as u32;
            w[5] = (slot.noise.seed >> 32) as u32;
            w[6] = slot.noise.slot as u32;
            w[7] = (slot.noise.slot >> 32) as u32;
            w[8] = slot.step;
            for k in 0..KNOB_COUNT {
                w[9 + k] = batch.knob_rows[s * KNOB_COUNT + k].to_bits();
            }
        }
        let scratch = self
            .scratch
            .as_mut()
            .ok_or(CudaError::NotReserved("step"))?;
        dev.stream
            .memcpy_htod(&self.staging.host[i], &mut scratch.params)?;
        dev.counters.h2d_copies += 1;
        self.staging.copied[i].record(&dev.stream)?;
        self.staging.used[i] = true;
        Ok(())
    }

    /// One batched forward and sampler update of every slot of `batch`, in
    /// place in `pool` (latent windows by buffer index).
    pub(crate) fn step(
        &mut self,
        dev: &mut Device,
        batch: &StepBatch,
        pool: &mut CudaSlice<f32>,
        store: &CondStore,
        buffer_index: &dyn Fn(usize) -> u32,
        cond_index: &dyn Fn(usize) -> u32,
    ) -> Result<(), CudaError> {
        let s = batch.slots.len();
        if s == 0 {
            return Ok(());
        }
        self.reserve(dev, s)?;
        self.stage(dev, batch, buffer_index, cond_index)?;
        let sampler = match batch.sampler {
            SamplerKind::Ode => (0i32, 0.0f32),
            SamplerKind::Sde { churn } => (1, churn),
        };
        if !self.use_graphs {
            self.forward(dev, s, sampler, pool, store)?;
            dev.counters.forwards += 1;
            return Ok(());
        }
        // A graph bakes in every pointer: a moved pool or store (grown)
        // makes the captured ones stale.
        let pointers = [
            device_address(dev, pool),
            device_address(dev, &store.kv),
            device_address(dev, &store.pooled),
        ];
        if pointers != self.graph_pointers {
            self.graphs.clear();
            self.graph_pointers = pointers;
        }
        let key = (s, sampler.0, sampler.1.to_bits());
        if !self.graphs.contains_key(&key) {
            match self.capture(dev, s, sampler, pool, store) {
                Ok(graph) => {
                    self.graphs.insert(key, OwnedGraph(graph));
                }
                Err(e) => {
                    // Plain launches from now on, and why.
                    self.use_graphs = false;
                    self.graph_fallback = Some(e.to_string());
                    self.forward(dev, s, sampler, pool, store)?;
                    dev.counters.forwards += 1;
                    return Ok(());
                }
            }
        }
        if let Some(graph) = self.graphs.get(&key) {
            graph.0.launch()?;
            dev.counters.graph_replays += 1;
        }
        dev.counters.forwards += 1;
        Ok(())
    }

    /// Captures the forward over `s` slots as a CUDA graph (enqueues
    /// nothing that runs).
    fn capture(
        &mut self,
        dev: &mut Device,
        s: usize,
        sampler: (i32, f32),
        pool: &mut CudaSlice<f32>,
        store: &CondStore,
    ) -> Result<CudaGraph, CudaError> {
        dev.stream
            .begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)?;
        let enqueued = self.forward(dev, s, sampler, pool, store);
        let graph = dev
            .stream
            .end_capture(CUgraphInstantiate_flags::CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH);
        enqueued?;
        graph?.ok_or(CudaError::NoGraph)
    }

    /// Enqueues the forward and sampler update of `s` staged slots.
    fn forward(
        &mut self,
        dev: &mut Device,
        s: usize,
        sampler: (i32, f32),
        pool: &mut CudaSlice<f32>,
        store: &CondStore,
    ) -> Result<(), CudaError> {
        let cfg = self.cfg;
        let (d, t) = (cfg.width, cfg.window.0 as usize);
        let rows = s * t;
        let n = cfg.window_len();
        let sc = self
            .scratch
            .as_mut()
            .ok_or(CudaError::NotReserved("forward"))?;
        let k = &self.k;
        let st = &dev.stream;
        let (ni, di, ti, si, ri) = (n as i32, d as i32, t as i32, s as i32, rows as i32);
        let per_slot = LaunchConfig {
            grid_dim: (grid(n, 256), s as u32, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        // Every launch below reads and writes within the sizes `reserve`
        // gave the buffers for `s` slots of `t` frames of width `d`, and
        // within `pool` at the buffer indices the staging buffer names
        // (checked by the backend before the call).
        // SAFETY: as just said.
        unsafe {
            st.launch_builder(&k.noise_init)
                .arg(&mut *pool)
                .arg(&sc.params)
                .arg(&ni)
                .launch(per_slot)?;
            st.launch_builder(&k.gather)
                .arg(&*pool)
                .arg(&sc.params)
                .arg(&mut sc.x)
                .arg(&ni)
                .launch(per_slot)?;
            st.launch_builder(&k.slot_features)
                .arg(&sc.params)
                .arg(&mut sc.tfeat)
                .arg(&mut sc.knobs)
                .arg(&si)
                .launch(LaunchConfig {
                    grid_dim: (s as u32, 1, 1),
                    block_dim: (128, 1, 1),
                    shared_mem_bytes: 0,
                })?;
        }
        // In bf16 the kernels that feed a product write its input as bf16
        // into `xh` themselves (no separate cast).
        let half = i32::from(self.x_embed.wh.is_some());
        let bias_act = |y: &mut CudaSlice<f32>,
                        b: &CudaSlice<f32>,
                        r: usize,
                        c: usize,
                        act: i32,
                        yh: &mut CudaSlice<u16>,
                        to_half: i32| {
            let (ri, ci) = (r as i32, c as i32);
            // SAFETY: y holds r·c values, b holds c, yh (when written) r·c.
            unsafe {
                st.launch_builder(&k.bias_act)
                    .arg(y)
                    .arg(b)
                    .arg(&ri)
                    .arg(&ci)
                    .arg(&act)
                    .arg(yh)
                    .arg(&to_half)
                    .launch(cfg1(r * c))
            }
        };
        lin(
            dev,
            &k.to_bf16,
            &mut sc.xh,
            &sc.tfeat,
            &self.t0,
            &mut sc.tmp,
            s,
            TIME_FREQ_DIM,
            d,
            0.0,
        )?;
        bias_act(&mut sc.tmp, &self.t0.b, s, d, 1, &mut sc.xh, 0)?;
        lin(
            dev, &k.to_bf16, &mut sc.xh, &sc.tmp, &self.t2, &mut sc.c, s, d, d, 0.0,
        )?;
        lin(
            dev,
            &k.to_bf16,
            &mut sc.xh,
            &sc.knobs,
            &self.knob0,
            &mut sc.tmp2,
            s,
            KNOB_COUNT,
            d,
            0.0,
        )?;
        bias_act(&mut sc.tmp2, &self.knob0.b, s, d, 1, &mut sc.xh, 0)?;
        lin(
            dev,
            &k.to_bf16,
            &mut sc.xh,
            &sc.tmp2,
            &self.knob2,
            &mut sc.c,
            s,
            d,
            d,
            1.0,
        )?;
        // SAFETY: see above.
        unsafe {
            st.launch_builder(&k.combine_c)
                .arg(&mut sc.c)
                .arg(&self.t2.b)
                .arg(&self.knob2.b)
                .arg(&store.pooled)
                .arg(&sc.params)
                .arg(&si)
                .arg(&di)
                .launch(cfg1(s * d))?;
        }
        lin(
            dev,
            &k.to_bf16,
            &mut sc.xh,
            &sc.x,
            &self.x_embed,
            &mut sc.h,
            rows,
            LATENT_CHANNELS,
            d,
            0.0,
        )?;
        // SAFETY: see above.
        unsafe {
            st.launch_builder(&k.embed_finish)
                .arg(&mut sc.h)
                .arg(&self.x_embed.b)
                .arg(&self.pos)
                .arg(&ri)
                .arg(&di)
                .arg(&ti)
                .launch(cfg1(rows * d))?;
        }
        // generator.cu: in bf16, the tensor-core kernel (a warp per 16
        // queries, up to eight warps per block: one block per (slot, head)
        // for every model's window, keys and values staged once), which
        // adds the qkv bias itself.
        // Otherwise four threads per query and one block per (slot, head)
        // for full batches; eight threads per query and up to 64 queries
        // per block (more, smaller blocks) while those still fit in one
        // wave over the device's multiprocessors.
        let mma = match (&k.attention_mma, self.attention_lanes) {
            (Some(f), None) if half == 1 => Some(f),
            _ => None,
        };
        let (attention, attn_cfg) = if let Some(f) = mma {
            let tiles = t.div_ceil(16);
            let warps = tiles.min(8);
            (
                f,
                LaunchConfig {
                    grid_dim: ((s * cfg.heads * tiles.div_ceil(warps)) as u32, 1, 1),
                    block_dim: ((32 * warps) as u32, 1, 1),
                    shared_mem_bytes: 0,
                },
            )
        } else {
            let wide_per_block = t.min(64);
            let wide_blocks = s * cfg.heads * t.div_ceil(wide_per_block);
            let wide = match self.attention_lanes {
                Some(lanes) => lanes == 8,
                None => wide_blocks <= dev.multiprocessors,
            };
            if wide {
                (
                    &k.attention_wide,
                    LaunchConfig {
                        grid_dim: (wide_blocks as u32, 1, 1),
                        block_dim: ((8 * wide_per_block) as u32, 1, 1),
                        shared_mem_bytes: 0,
                    },
                )
            } else {
                (
                    &k.attention,
                    LaunchConfig {
                        grid_dim: ((s * cfg.heads) as u32, 1, 1),
                        block_dim: ((4 * t) as u32, 1, 1),
                        shared_mem_bytes: 0,
                    },
                )
            }
        };
        let (hi, depth) = (cfg.heads as i32, cfg.depth as i32);
        for (bi, blk) in self.blocks.iter().enumerate() {
            lin(
                dev,
                &k.to_bf16,
                &mut sc.xh,
                &sc.c,
                &blk.adaln,
                &mut sc.mods,
                s,
                d,
                6 * d,
                0.0,
            )?;
            bias_act(&mut sc.mods, &blk.adaln.b, s, 6 * d, 0, &mut sc.xh, 0)?;
            // SAFETY: see above.
            unsafe {
                modulate(
                    st,
                    &k.modulate,
                    &sc.h,
                    &sc.mods,
                    &mut sc.a,
                    &mut sc.xh,
                    (rows, d, t, 6, 0, half),
                )?;
            }
            lin_ready(
                dev,
                &sc.xh,
                &sc.a,
                &blk.qkv,
                &mut sc.qkv,
                rows,
                d,
                3 * d,
                0.0,
            )?;
            if mma.is_none() {
                bias_act(&mut sc.qkv, &blk.qkv.b, rows, 3 * d, 0, &mut sc.xh, 0)?;
            }
            let bidx = bi as i32;
            let mut launch = st.launch_builder(attention);
            launch.arg(&sc.qkv);
            if mma.is_some() {
                launch.arg(&blk.qkv.b);
            }
            // SAFETY: see above; the conditioning store holds `depth`
            // blocks of keys and values per conditioning index; the qkv
            // bias holds 3d values.
            unsafe {
                launch
                    .arg(&store.kv)
                    .arg(&sc.params)
                    .arg(&mut sc.attn)
                    .arg(&di)
                    .arg(&hi)
                    .arg(&ti)
                    .arg(&depth)
                    .arg(&bidx)
                    .arg(&mut sc.xh)
                    .arg(&half)
                    .launch(attn_cfg)?;
            }
            lin_ready(
                dev,
                &sc.xh,
                &sc.attn,
                &blk.out,
                &mut sc.proj,
                rows,
                d,
                d,
                0.0,
            )?;
            // SAFETY: see above.
            unsafe {
                gated_residual(
                    st,
                    &k.gated_residual,
                    &mut sc.h,
                    &sc.proj,
                    &blk.out.b,
                    &sc.mods,
                    (rows, d, t, 2),
                )?;
                modulate(
                    st,
                    &k.modulate,
                    &sc.h,
                    &sc.mods,
                    &mut sc.a,
                    &mut sc.xh,
                    (rows, d, t, 6, 3, half),
                )?;
            }
            lin_ready(
                dev,
                &sc.xh,
                &sc.a,
                &blk.fc1,
                &mut sc.hidden,
                rows,
                d,
                4 * d,
                0.0,
            )?;
            bias_act(&mut sc.hidden, &blk.fc1.b, rows, 4 * d, 2, &mut sc.xh, half)?;
            lin_ready(
                dev,
                &sc.xh,
                &sc.hidden,
                &blk.fc2,
                &mut sc.proj,
                rows,
                4 * d,
                d,
                0.0,
            )?;
            // SAFETY: see above.
            unsafe {
                gated_residual(
                    st,
                    &k.gated_residual,
                    &mut sc.h,
                    &sc.proj,
                    &blk.fc2.b,
                    &sc.mods,
                    (rows, d, t, 5),
                )?;
            }
        }
        lin(
            dev,
            &k.to_bf16,
            &mut sc.xh,
            &sc.c,
            &self.final_adaln,
            &mut sc.mods,
            s,
            d,
            2 * d,
            0.0,
        )?;
        bias_act(
            &mut sc.mods,
            &self.final_adaln.b,
            s,
            2 * d,
            0,
            &mut sc.xh,
            0,
        )?;
        // SAFETY: see above.
        unsafe {
            modulate(
                st,
                &k.modulate,
                &sc.h,
                &sc.mods,
                &mut sc.a,
                &mut sc.xh,
                (rows, d, t, 2, 0, half),
            )?;
        }
        lin_ready(
            dev,
            &sc.xh,
            &sc.a,
            &self.final_linear,
            &mut sc.x0,
            rows,
            d,
            LATENT_CHANNELS,
            0.0,
        )?;
        let (sde, churn) = sampler;
        let ci = LATENT_CHANNELS as i32;
        // SAFETY: see above.
        unsafe {
            st.launch_builder(&k.sampler_update)
                .arg(&mut *pool)
                .arg(&sc.params)
                .arg(&sc.x0)
                .arg(&self.final_linear.b)
                .arg(&ni)
                .arg(&ci)
                .arg(&sde)
                .arg(&churn)
                .launch(per_slot)?;
        }
        Ok(())
    }

    /// Why graphs were given up for plain launches, if they were.
    pub fn graph_fallback(&self) -> Option<&str> {
        self.graph_fallback.as_deref()
    }

    /// Forces the CUDA-core attention kernel with 4 or 8 threads per query
    /// (also in bf16, where the tensor-core kernel is the default); `None`:
    /// chosen per precision and batch size. For tests of every variant.
    pub fn set_attention_lanes(&mut self, lanes: Option<u32>) {
        self.attention_lanes = lanes;
        self.graphs.clear();
    }

    /// Captures and replays the step as CUDA graphs (on by default) or
    /// launches it kernel by kernel.
    pub fn set_graphs(&mut self, on: bool) {
        self.use_graphs = on;
        self.graphs.clear();
    }
}

/// `y = x · lᵀ` on the layer's precision: in bf16, `x` is first cast into
/// `xh` and the product runs on tensor cores with fp32 accumulation.
#[allow(clippy::too_many_arguments)]
fn lin(
    dev: &Device,
    to_bf16: &CudaFunction,
    xh: &mut CudaSlice<u16>,
    x: &CudaSlice<f32>,
    l: &DeviceLinear,
    y: &mut CudaSlice<f32>,
    rows: usize,
    inp: usize,
    out: usize,
    beta: f32,
) -> Result<(), CudaError> {
    let Some(wh) = &l.wh else {
        return dev.linear(x, &l.w, y, rows, inp, out, beta);
    };
    let n = (rows * inp) as i32;
    // SAFETY: x holds rows·inp values and xh at least as many (sized for
    // the largest layer input at reserve).
    unsafe {
        dev.stream
            .launch_builder(to_bf16)
            .arg(x)
            .arg(&mut *xh)
            .arg(&n)
            .launch(cfg1(rows * inp))?;
    }
    dev.linear_bf16(&*xh, wh, y, rows, inp, out, beta)
}

/// Launches `modulate` over every row: `a = LN(h)·(1 + scale) + shift` with
/// shift and scale at chunks `first`, `first + 1` of each slot's modulation
/// row of `chunks · d` (written as bf16 into `xh` when `half`).
///
/// # Safety
/// `h` and `a` hold at least `rows · d` values, `mods`
/// `slots · chunks · d`, `xh` at least `rows · d`.
unsafe fn modulate(
    st: &cudarc::driver::CudaStream,
    f: &CudaFunction,
    h: &CudaSlice<f32>,
    mods: &CudaSlice<f32>,
    a: &mut CudaSlice<f32>,
    xh: &mut CudaSlice<u16>,
    (rows, d, frames, chunks, first, half): (usize, usize, usize, i32, i32, i32),
) -> Result<(), CudaError> {
    let (di, ti) = (d as i32, frames as i32);
    let cfg = LaunchConfig {
        grid_dim: (rows as u32, 1, 1),
        block_dim: (128, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: as the caller promised.
    unsafe {
        st.launch_builder(f)
            .arg(h)
            .arg(mods)
            .arg(a)
            .arg(&di)
            .arg(&ti)
            .arg(&chunks)
            .arg(&first)
            .arg(xh)
            .arg(&half)
            .launch(cfg)?;
    }
    Ok(())
}

/// Launches `h += gate · (y + b)` with the gate at chunk `chunk` of each
/// slot's `[6d]` modulation row.
///
/// # Safety
/// `h` and `y` hold at least `rows · d` values, `b` `d`, `mods` the rows'
/// slots' modulation rows.
unsafe fn gated_residual(
    st: &cudarc::driver::CudaStream,
    f: &CudaFunction,
    h: &mut CudaSlice<f32>,
    y: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    mods: &CudaSlice<f32>,
    (rows, d, frames, chunk): (usize, usize, usize, i32),
) -> Result<(), CudaError> {
    let (ri, di, ti) = (rows as i32, d as i32, frames as i32);
    // SAFETY: as the caller promised.
    unsafe {
        st.launch_builder(f)
            .arg(h)
            .arg(y)
            .arg(b)
            .arg(mods)
            .arg(&ri)
            .arg(&di)
            .arg(&ti)
            .arg(&chunk)
            .launch(cfg1(rows * d))?;
    }
    Ok(())
}

/// `y = x · lᵀ` where, in bf16, the producing kernel already wrote `x` as
/// bf16 into `xh`.
#[allow(clippy::too_many_arguments)]
fn lin_ready(
    dev: &Device,
    xh: &CudaSlice<u16>,
    x: &CudaSlice<f32>,
    l: &DeviceLinear,
    y: &mut CudaSlice<f32>,
    rows: usize,
    inp: usize,
    out: usize,
    beta: f32,
) -> Result<(), CudaError> {
    match &l.wh {
        Some(wh) => dev.linear_bf16(xh, wh, y, rows, inp, out, beta),
        None => dev.linear(x, &l.w, y, rows, inp, out, beta),
    }
}

/// A captured graph owned by one backend.
struct OwnedGraph(CudaGraph);

// SAFETY: a graph is only launched by the backend that owns it, from
// whichever single thread holds the backend at the time; cudarc binds the
// context to the calling thread before every launch. The raw handles are
// never shared.
unsafe impl Send for OwnedGraph {}

/// The device address of `buf`, to tell when a captured graph is stale.
fn device_address(dev: &Device, buf: &CudaSlice<f32>) -> u64 {
    let (ptr, _sync) = buf.device_ptr(&dev.stream);
    ptr
}
