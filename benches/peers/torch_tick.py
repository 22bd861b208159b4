#!/usr/bin/env python3
"""PyTorch peer of earshot's reference model and tick (a measuring tool).

It loads the same safetensors weights file earshot writes
(`earshot weights init --size tiny --seed 7 --out tiny.safetensors`) and runs
exactly the model of docs/reference-model.md, following the CPU reference
backend (backends/cpu) wherever the page leaves a detail open:

- generator: DiT with adaLN (shift1, scale1, gate1, shift2, scale2, gate2),
  LN without affine (eps 1e-6), tanh-GELU, sincos timestep (256 features of
  1000 t) and position (D features of the frame index) embeddings in DiT's
  [cos | sin] order, the conditioning tokens as L extra keys/values (the
  block's own W_k, W_v rows of W_qkv, with bias; precomputed per conditioning
  at `encode`, as the backends do), c = t_mlp + pool_proj(pooled) + knob_mlp,
  s = SiLU(c) feeding every adaLN;
- sampler: rectified-flow Euler ODE `x + (t_next - t)(x - x0)/t` and the SDE
  update of engine/src/sampler.rs. NOTE: earshot draws its noise (initial
  noise of a step-0 slot, SDE re-injection) from Philox4x32-10 keyed by
  (seed, slot, step, element) (engine/src/rng.rs); this peer draws it with
  torch's own generator instead. The cost is comparable, the values are not:
  parity (--check) is checked on the ODE path, which uses no noise;
- decoder: Vocos-style embedding conv (kernel 7, zero padding at the window
  edges) + affine LN, ConvNeXt blocks (depthwise conv 7, affine LN, W -> 3W
  -> W with tanh-GELU, layer scale gamma), affine LN + head to 8200 values per
  latent frame laid out ((r*2 + ch)*2 + part)*1025 + bin, magnitude
  min(exp(log_mag), 100), irfft(mag e^{i phase}) / N with the DC and Nyquist
  imaginary parts zeroed, periodic Hann, overlap-add of STFT frame j over
  local samples [512 j - 768, 512 j + 1280), each sample divided by
  max(sum of the squared windows of the window's frames 0..2T-1 covering it,
  1e-6) (backends/cpu/src/decoder.rs, istft.rs). A decode of samples [a, b)
  computes only the STFT frames overlapping [a, b), their latent frames, and
  3 (1 + blocks) latent frames of convolution context on each side (clipped
  to the window, where zero padding is the truth), like the CPU backend.

A "tick" is what earshot's `Backend::step` does for one batch: gather the
slots' latent windows from a pool of windows (the stream allocates
N + queue_cap + 1 = 10 of them), fill step-0 slots with initial noise, one
batched generator forward over `slots x T` rows with per-slot timesteps and
knob rows, the sampler update, and scatter back into the pool. The per-tick
host inputs (t, t_next, step-0 flags, knob rows) are copied to the device
inside the timed region, as an engine must each tick. In the benchmark slot i
is at denoise step i mod 8 (the stream's steady state) with the null
conditioning.

Timing: CUDA events around each tick / decode (the host synchronizes after
each, as an engine waiting for its produce would), perf_counter on the CPU;
median and p90 over --iters after --warmup. Modes: eager, and a CUDA graph of
the whole tick (torch.cuda.CUDAGraph over static input buffers, replayed).

Run `python3 benches/peers/torch_tick.py --help`; see benches/peers/README.md.
"""

import argparse
import json
import math
import os
import platform
import statistics
import struct
import sys
import time

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- constants
# engine/src/model/config.rs
SAMPLE_RATE = 48_000
CHANNELS = 2
HOP = 1024  # sample frames per latent frame
LATENT_CHANNELS = 64
KNOB_COUNT = 4
COND_TOKENS = 8
TEXT_EMBEDDING = 384
N_FFT = 2048
STFT_HOP = 512
STFT_PER_LATENT = HOP // STFT_HOP
BINS = N_FFT // 2 + 1
DECODER_KERNEL = 7
HALF = DECODER_KERNEL // 2
TIME_FREQ_DIM = 256
MLP_RATIO = 4
DECODER_MLP_RATIO = 3
LN_EPS = 1e-6  # backends/cpu/src/ops.rs
MAX_MAGNITUDE = 100.0  # backends/cpu/src/istft.rs
FRAME_OFFSET = (N_FFT - STFT_HOP) // 2  # 768: frame j starts at 512 j - 768
HEAD_OUTPUTS = STFT_PER_LATENT * CHANNELS * 2 * BINS  # 8200
DENOISE_STEPS = 8  # StreamConfig::default().steps
POOL_WINDOWS = DENOISE_STEPS + 1 + 1  # N + queue_cap + 1
FORMAT = "earshot-reference-v1"
CHECK_TOLERANCE = 1e-4  # relative L2

SIZES = {
    # width, depth, heads, window T, decoder width W, ConvNeXt blocks
    "tiny": (128, 4, 4, 32, 128, 2),
    "small": (384, 8, 6, 64, 256, 4),
    "base": (1024, 24, 16, 128, 512, 8),
}


class Geometry:
    def __init__(self, size):
        if size not in SIZES:
            raise SystemExit(f"unknown model size {size!r}: expected tiny, small or base")
        self.size = size
        (self.width, self.depth, self.heads, self.window, self.decoder_width,
         self.decoder_blocks) = SIZES[size]
        self.head_dim = self.width // self.heads
        # ModelConfig::decoder_margin: 1 + 3 (1 + blocks) latent frames.
        self.decoder_margin = 1 + HALF * (1 + self.decoder_blocks)

    def as_dict(self):
        return {
            "size": self.size, "width": self.width, "depth": self.depth,
            "heads": self.heads, "head_dim": self.head_dim,
            "window_latent_frames": self.window,
            "window_sample_frames": self.window * HOP,
            "latent_channels": LATENT_CHANNELS,
            "decoder_width": self.decoder_width,
            "decoder_blocks": self.decoder_blocks,
            "decoder_margin_latent_frames": self.decoder_margin,
            "cond_tokens": COND_TOKENS, "n_fft": N_FFT, "stft_hop": STFT_HOP,
        }


def manifest(g):
    """Every tensor's name and shape (engine/src/model/tensors.rs)."""
    d, w = g.width, g.decoder_width
    m = []

    def linear(name, out, inp):
        m.append((f"{name}.weight", (out, inp)))
        m.append((f"{name}.bias", (out,)))

    def norm(name, width):
        m.append((f"{name}.weight", (width,)))
        m.append((f"{name}.bias", (width,)))

    def conv(name, out, in_per_group):
        m.append((f"{name}.weight", (out, in_per_group, DECODER_KERNEL)))
        m.append((f"{name}.bias", (out,)))

    linear("gen.x_embed", d, LATENT_CHANNELS)
    linear("gen.t_embed.0", d, TIME_FREQ_DIM)
    linear("gen.t_embed.2", d, d)
    linear("gen.pool_proj", d, d)
    linear("gen.knob_embed.0", d, KNOB_COUNT)
    linear("gen.knob_embed.2", d, d)
    for i in range(g.depth):
        linear(f"gen.blocks.{i}.adaln", 6 * d, d)
        linear(f"gen.blocks.{i}.attn.qkv", 3 * d, d)
        linear(f"gen.blocks.{i}.attn.out", d, d)
        linear(f"gen.blocks.{i}.mlp.fc1", MLP_RATIO * d, d)
        linear(f"gen.blocks.{i}.mlp.fc2", d, MLP_RATIO * d)
    linear("gen.final.adaln", 2 * d, d)
    linear("gen.final.linear", LATENT_CHANNELS, d)
    conv("dec.embed", w, LATENT_CHANNELS)
    norm("dec.embed_norm", w)
    for i in range(g.decoder_blocks):
        conv(f"dec.blocks.{i}.dwconv", w, 1)
        norm(f"dec.blocks.{i}.norm", w)
        linear(f"dec.blocks.{i}.pwconv1", DECODER_MLP_RATIO * w, w)
        linear(f"dec.blocks.{i}.pwconv2", w, DECODER_MLP_RATIO * w)
        m.append((f"dec.blocks.{i}.gamma", (w,)))
    norm("dec.final_norm", w)
    linear("dec.head", HEAD_OUTPUTS, w)
    linear("cond.tokens", COND_TOKENS * d, TEXT_EMBEDDING)
    linear("cond.pooled", d, TEXT_EMBEDDING)
    return m


def load_weights(path):
    """A small safetensors reader (F32 only, as earshot writes): returns the
    geometry and a dict of CPU fp32 tensors, validated against the manifest."""
    try:
        with open(path, "rb") as f:
            data = bytearray(os.fstat(f.fileno()).st_size)
            f.readinto(data)
    except OSError as e:
        raise SystemExit(f"cannot read weights {path}: {e}")
    if len(data) < 8:
        raise SystemExit(f"{path}: not a safetensors file (too short)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise SystemExit(f"{path}: truncated safetensors header")
    header = json.loads(bytes(data[8:8 + n]))
    meta = header.pop("__metadata__", {}) or {}
    if meta.get("earshot.format") != FORMAT:
        raise SystemExit(f"{path}: metadata earshot.format is "
                         f"{meta.get('earshot.format')!r}, expected {FORMAT!r}")
    g = Geometry(meta.get("earshot.size"))
    expected = dict(manifest(g))
    unknown = sorted(set(header) - set(expected))
    if unknown:
        raise SystemExit(f"{path}: tensor {unknown[0]!r} is not in a {g.size} model")
    base = 8 + n
    tensors = {}
    for name, shape in expected.items():
        if name not in header:
            raise SystemExit(f"{path}: missing tensor {name!r} {list(shape)}")
        info = header[name]
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}, expected F32")
        if tuple(info["shape"]) != shape:
            raise SystemExit(f"{path}: {name} has shape {info['shape']}, expected {list(shape)}")
        a, b = info["data_offsets"]
        if b - a != 4 * math.prod(shape) or base + b > len(data):
            raise SystemExit(f"{path}: {name} has a bad byte range")
        # A view of the file's bytes (little-endian f32, as on x86/ARM hosts).
        t = torch.frombuffer(data, dtype=torch.float32, count=(b - a) // 4, offset=base + a)
        t = t.reshape(shape)
        if not torch.isfinite(t).all():
            raise SystemExit(f"{path}: {name} holds NaN or inf")
        tensors[name] = t
    return g, meta, tensors


def random_weights(size, seed=0):
    """Random weights of the right shapes, for timing a size whose file is
    not at hand (`--weights random:base`): weights N(0, 1/fan_in), biases
    zero, norm weights one, layer scales 0.1. Not the reference init and not
    calibrated; --check refuses them."""
    g = Geometry(size)
    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, shape in manifest(g):
        if name.endswith(".gamma"):
            t = torch.full(shape, 0.1)
        elif "norm" in name and name.endswith(".weight"):
            t = torch.ones(shape)
        elif name.endswith(".bias"):
            t = torch.zeros(shape)
        else:
            fan_in = math.prod(shape[1:])
            t = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
        tensors[name] = t
    meta = {"earshot.format": FORMAT, "earshot.size": size, "random": "timing only"}
    return g, meta, tensors


def sincos_table(x, dim):
    """`[cos(x f_i), sin(x f_i)]`, `f_i = 10000^(-i / (dim/2))`, computed the way
    the CPU backend does in f32 (ln 10000, the exponent and the product
    rounded to f32; exp, cos and sin correctly rounded via float64).
    `x` is a float32 tensor of any shape; the result has a trailing `dim`."""
    half = dim // 2
    ln = torch.tensor(math.log(10_000.0), dtype=torch.float32)
    i = torch.arange(half, dtype=torch.float32)
    expo = (-ln * i) / half  # f32 ops, as in Rust
    freq = torch.exp(expo.double()).float()
    arg = x.float().unsqueeze(-1) * freq.to(x.device)  # f32 product
    arg = arg.double()
    return torch.cat([torch.cos(arg), torch.sin(arg)], dim=-1).float()


def timestep_freqs(device):
    """The f32 frequencies of the 256 timestep features."""
    half = TIME_FREQ_DIM // 2
    ln = torch.tensor(math.log(10_000.0), dtype=torch.float32)
    i = torch.arange(half, dtype=torch.float32)
    return torch.exp(((-ln * i) / half).double()).float().to(device)


# ---------------------------------------------------------------- the model
class Peer:
    """The reference model on one torch device in one compute dtype. Latents,
    timesteps, the sampler update and the inverse STFT stay in fp32."""

    def __init__(self, g, tensors, device, dtype):
        self.g = g
        self.device = device
        self.dtype = dtype
        self.w = {k: v.to(device=device, dtype=dtype) for k, v in tensors.items()}
        # The conditioning projections run on host embeddings; not in a tick.
        self.pos = sincos_table(torch.arange(g.window, dtype=torch.float32),
                                g.width).to(device=device, dtype=dtype)
        self.t_freqs = timestep_freqs(device)
        self.hann = torch.hann_window(N_FFT, periodic=True, dtype=torch.float32,
                                      device=device)
        self.envelope = self._envelope()
        self.weight_bytes = sum(v.numel() * v.element_size() for v in self.w.values())

    def lin(self, x, name):
        return F.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    # -- conditioning (Backend::encode)
    def encode(self, tokens, pooled):
        """Per-block keys|values of the conditioning tokens `[depth, L, 2D]`
        and the pooled projection `[D]` (bias included, as the CPU does)."""
        d = self.g.width
        tokens = tokens.to(self.device, self.dtype)
        pooled = pooled.to(self.device, self.dtype)
        kv = torch.stack([self.lin(tokens, f"gen.blocks.{i}.attn.qkv")[:, d:]
                          for i in range(self.g.depth)])
        return kv, self.lin(pooled, "gen.pool_proj")

    def null_conditioning(self):
        return self.encode(torch.zeros(COND_TOKENS, self.g.width), torch.zeros(self.g.width))

    # -- generator
    def forward(self, x, t, knobs, cond_kv, cond_pooled):
        """x̂0 `[S, T, C]` (fp32) of latents `x [S, T, C]` at timesteps
        `t [S]` with knob rows `[S, K]`; conditioning keys|values
        `[depth, S, L, 2D]` and pooled projections `[S, D]`."""
        g, dt = self.g, self.dtype
        s_count, frames, _ = x.shape
        d, heads, dh = g.width, g.heads, g.head_dim
        arg = (t.float() * 1000.0).unsqueeze(-1) * self.t_freqs  # [S, 128] f32
        tf = torch.cat([torch.cos(arg), torch.sin(arg)], dim=-1).to(dt)
        c = self.lin(F.silu(self.lin(tf, "gen.t_embed.0")), "gen.t_embed.2")
        c = c + self.lin(F.silu(self.lin(knobs.to(dt), "gen.knob_embed.0")), "gen.knob_embed.2")
        c = c + cond_pooled
        s = F.silu(c)  # [S, D]

        h = self.lin(x.to(dt), "gen.x_embed") + self.pos  # [S, T, D]
        for i in range(g.depth):
            p = f"gen.blocks.{i}"
            mods = self.lin(s, f"{p}.adaln").unsqueeze(1)  # [S, 1, 6D]
            sh1, sc1, g1, sh2, sc2, g2 = mods.chunk(6, dim=-1)
            a = F.layer_norm(h, (d,), eps=LN_EPS) * (1 + sc1) + sh1
            q, k, v = self.lin(a, f"{p}.attn.qkv").split(d, dim=-1)
            ck, cv = cond_kv[i].split(d, dim=-1)  # [S, L, D]
            k = torch.cat([ck, k], dim=1)  # conditioning keys first
            v = torch.cat([cv, v], dim=1)
            q = q.view(s_count, frames, heads, dh).transpose(1, 2)
            k = k.view(s_count, COND_TOKENS + frames, heads, dh).transpose(1, 2)
            v = v.view(s_count, COND_TOKENS + frames, heads, dh).transpose(1, 2)
            o = F.scaled_dot_product_attention(q, k, v)  # scale 1/sqrt(dh)
            o = o.transpose(1, 2).reshape(s_count, frames, d)
            h = h + g1 * self.lin(o, f"{p}.attn.out")
            a = F.layer_norm(h, (d,), eps=LN_EPS) * (1 + sc2) + sh2
            y = F.gelu(self.lin(a, f"{p}.mlp.fc1"), approximate="tanh")
            h = h + g2 * self.lin(y, f"{p}.mlp.fc2")
        shift, scale = self.lin(s, "gen.final.adaln").unsqueeze(1).chunk(2, dim=-1)
        a = F.layer_norm(h, (d,), eps=LN_EPS) * (1 + scale) + shift
        return self.lin(a, "gen.final.linear").float()

    # -- decoder
    def _envelope(self):
        """Sum of squared windows at every local sample of a window over its
        STFT frames 0..2T-1 (istft.rs `envelope`), floored at 1e-6."""
        frames = self.g.window * STFT_PER_LATENT
        length = self.g.window * HOP
        env = torch.zeros(FRAME_OFFSET + length + N_FFT, dtype=torch.float32)
        w2 = (self.hann.cpu() ** 2)
        for j in range(frames):
            env[j * STFT_HOP:j * STFT_HOP + N_FFT] += w2  # offset by FRAME_OFFSET
        return env[FRAME_OFFSET:FRAME_OFFSET + length].clamp_min(LN_EPS).to(self.device)

    def decode_plan(self, start, end):
        """Which STFT frames, latent frames and context a decode of local
        samples [start, end) computes (decoder.rs)."""
        g = self.g
        if not (0 <= start < end <= g.window * HOP):
            raise ValueError(f"decode range {start}..{end} is not inside the window "
                             f"0..{g.window * HOP}")
        stft_frames = g.window * STFT_PER_LATENT
        j_lo = max((start - (N_FFT - FRAME_OFFSET)) // STFT_HOP + 1, 0)
        j_hi = min((end + FRAME_OFFSET - 1) // STFT_HOP, stft_frames - 1)
        f_lo, f_hi = j_lo // STFT_PER_LATENT, j_hi // STFT_PER_LATENT
        ctx = HALF * (1 + g.decoder_blocks)  # embedding conv + every block
        l0, l1 = max(f_lo - ctx, 0), min(f_hi + 1 + ctx, g.window)
        return dict(j_lo=j_lo, j_hi=j_hi, f_lo=f_lo, f_hi=f_hi, l0=l0, l1=l1)

    def decode(self, window, start, end):
        """Interleaved stereo `[(end - start) * 2]` (fp32) of local samples
        [start, end) of one latent window `[T, C]`.

        The convolutions run over latent frames [l0, l1) with zero padding;
        that padding is wrong only within 3 (1 + blocks) frames of a slice
        edge that is not a window edge, which is exactly the context dropped
        before the head, so frames f_lo..f_hi equal a full-window decode
        (where zero padding at the window's edges is the truth)."""
        g, dt = self.g, self.dtype
        p = self.decode_plan(start, end)
        wd = g.decoder_width
        z = window[p["l0"]:p["l1"]].to(dt).t().unsqueeze(0)  # [1, C, R]
        e = F.conv1d(z, self.w["dec.embed.weight"], self.w["dec.embed.bias"], padding=HALF)
        x = F.layer_norm(e.transpose(1, 2), (wd,), self.w["dec.embed_norm.weight"],
                         self.w["dec.embed_norm.bias"], eps=LN_EPS)  # [1, R, W]
        for i in range(g.decoder_blocks):
            b = f"dec.blocks.{i}"
            y = F.conv1d(x.transpose(1, 2), self.w[f"{b}.dwconv.weight"],
                         self.w[f"{b}.dwconv.bias"], padding=HALF, groups=wd)
            y = F.layer_norm(y.transpose(1, 2), (wd,), self.w[f"{b}.norm.weight"],
                             self.w[f"{b}.norm.bias"], eps=LN_EPS)
            y = F.gelu(self.lin(y, f"{b}.pwconv1"), approximate="tanh")
            y = self.lin(y, f"{b}.pwconv2")
            x = x + self.w[f"{b}.gamma"] * y
        r0 = p["f_lo"] - p["l0"]
        x = x[0, r0:r0 + p["f_hi"] - p["f_lo"] + 1]
        x = F.layer_norm(x, (wd,), self.w["dec.final_norm.weight"],
                         self.w["dec.final_norm.bias"], eps=LN_EPS)
        o = self.lin(x, "dec.head").float()  # [F, 8200]
        # [F, r, ch, part, bin] -> STFT frames j = 2 f + r
        o = o.view(-1, STFT_PER_LATENT, CHANNELS, 2, BINS).flatten(0, 1)
        first = p["j_lo"] - STFT_PER_LATENT * p["f_lo"]
        count = p["j_hi"] - p["j_lo"] + 1
        o = o[first:first + count]  # [J, ch, part, bin]
        mag = torch.exp(o[:, :, 0]).clamp_max(MAX_MAGNITUDE)
        phase = o[:, :, 1]
        re = mag * torch.cos(phase)
        im = mag * torch.sin(phase)
        im[..., 0] = 0.0  # DC and Nyquist keep their real part only
        im[..., BINS - 1] = 0.0
        frames = torch.fft.irfft(torch.complex(re, im), n=N_FFT, dim=-1)  # / N
        frames = frames * self.hann  # [J, ch, N]
        # Overlap-add: in u = s + 768, frame j covers cells j..j+3 of 512.
        cells = N_FFT // STFT_HOP
        parts = frames.view(count, CHANNELS, cells, STFT_HOP)
        acc = torch.zeros(count + cells - 1, CHANNELS, STFT_HOP,
                          dtype=torch.float32, device=frames.device)
        for k in range(cells):
            acc[k:k + count] += parts[:, :, k]
        first_sample = p["j_lo"] * STFT_HOP - FRAME_OFFSET
        acc = acc.transpose(0, 1).reshape(CHANNELS, -1)
        audio = acc[:, start - first_sample:end - first_sample] / self.envelope[start:end]
        return audio.t().reshape(-1)  # interleaved


def decode_flops(g, plan):
    """Matmul/convolution FLOPs (2 per multiply-add) of one windowed decode,
    from the rows it computes (the iFFT is not counted)."""
    rows = plan["l1"] - plan["l0"]
    heads = plan["f_hi"] - plan["f_lo"] + 1
    w = g.decoder_width
    fl = 2 * rows * w * LATENT_CHANNELS * DECODER_KERNEL
    fl += g.decoder_blocks * (2 * rows * w * DECODER_KERNEL
                              + 2 * 2 * rows * w * DECODER_MLP_RATIO * w)
    fl += 2 * heads * w * HEAD_OUTPUTS
    return fl


def tick_flops(g, slots):
    """Matmul FLOPs (2 per multiply-add) of one tick's generator forward,
    from the geometry: rows = slots x T, keys = L + T per query.

    per slot (c path):   t_mlp 256 D + D^2, knob_mlp K D + D^2, per block
                         adaLN 6 D^2, final adaLN 2 D^2
    per row:             x_embed C D; per block qkv 3 D^2, out D^2,
                         fc1 + fc2 8 D^2, attention q k^T and p v
                         2 (L + T) D; final linear D C
    The conditioning keys/values are precomputed at encode (not per tick);
    the sampler update, norms and activations are elementwise (not counted)."""
    d, t = g.width, g.window
    rows = slots * t
    per_slot = (TIME_FREQ_DIM * d + d * d + KNOB_COUNT * d + d * d
                 + g.depth * 6 * d * d + 2 * d * d)
    per_row = (LATENT_CHANNELS * d + d * LATENT_CHANNELS
               + g.depth * (12 * d * d + 2 * (COND_TOKENS + t) * d))
    return 2 * (slots * per_slot + rows * per_row)


# ---------------------------------------------------------------- the tick
_CAPTURE_STREAM = None


def capture_graph(body):
    """Warms `body` up on a side stream (cuBLAS handles and workspaces, cuFFT
    plans are made off-capture), then captures it into a CUDA graph. One side
    stream serves every capture, so its cuBLAS workspace is made once and
    does not pile up in the memory figures of later configurations."""
    global _CAPTURE_STREAM
    if _CAPTURE_STREAM is None:
        _CAPTURE_STREAM = torch.cuda.Stream()
    side = _CAPTURE_STREAM
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            body()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=side):
        body()
    torch.cuda.synchronize()
    return graph


class Tick:
    """Static buffers and one tick over `slots` slots; capturable as a CUDA
    graph (no host sync, no allocation that depends on values, no
    data-dependent control flow)."""

    def __init__(self, peer, slots, sampler, churn, seed):
        g, dev = peer.g, peer.device
        self.peer, self.slots, self.sampler, self.churn = peer, slots, sampler, churn
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        self.pool0 = torch.randn(POOL_WINDOWS, g.window, LATENT_CHANNELS, generator=gen)
        self.pool = self.pool0.to(dev)
        # Slot i in pool window i, at step i mod N (staggered, steady state).
        self.index = torch.arange(slots, device=dev) % POOL_WINDOWS
        steps = [i % DENOISE_STEPS for i in range(slots)]
        t = [1.0 - k / DENOISE_STEPS for k in steps]
        t_next = [1.0 - (k + 1) / DENOISE_STEPS for k in steps]
        fresh = [1.0 if k == 0 else 0.0 for k in steps]
        knobs = (torch.rand(slots, KNOB_COUNT, generator=gen) * 2 - 1).tolist()
        # Per-tick host inputs: [t, t_next, fresh, knobs...] per slot.
        host = torch.tensor([[a, b, c, *k] for a, b, c, k in zip(t, t_next, fresh, knobs)],
                            dtype=torch.float32)
        self.host = host.pin_memory() if dev.type == "cuda" else host
        self.inputs = torch.empty_like(host, device=dev)
        kv, pooled = peer.null_conditioning()
        self.cond_kv = kv.unsqueeze(1).expand(-1, slots, -1, -1).contiguous()
        self.cond_pooled = pooled.unsqueeze(0).expand(slots, -1).contiguous()
        self.graph = None

    def reset(self):
        self.pool.copy_(self.pool0)

    def body(self):
        """The device work of a tick (the graph captures exactly this)."""
        inp = self.inputs
        t, t_next, fresh, knobs = inp[:, 0], inp[:, 1], inp[:, 2], inp[:, 3:]
        x = self.pool.index_select(0, self.index)  # gather [S, T, C]
        fr = fresh.view(-1, 1, 1)
        x = x * (1 - fr) + torch.randn_like(x) * fr  # initial noise (torch RNG)
        x0 = self.peer.forward(x, t, knobs, self.cond_kv, self.cond_pooled)
        tt, tn = t.view(-1, 1, 1), t_next.view(-1, 1, 1)
        if self.sampler == "ode":
            x = x + (tn - tt) * (x - x0) / tt
        else:
            eps_hat = (x - (1 - tt) * x0) / tt
            z = torch.randn_like(x) * (tn > 0)  # no noise on the last step
            eps = math.sqrt(1 - self.churn ** 2) * eps_hat + self.churn * z
            x = (1 - tn) * x0 + tn * eps
        self.pool.index_copy_(0, self.index, x)  # scatter back

    def run(self):
        """One tick as timed: upload the per-tick inputs, then the body (or
        the graph's replay)."""
        self.inputs.copy_(self.host, non_blocking=True)
        if self.graph is None:
            self.body()
        else:
            self.graph.replay()

    def capture(self):
        if self.peer.device.type != "cuda":
            raise SystemExit("CUDA graphs need --device cuda")
        self.inputs.copy_(self.host)
        self.graph = capture_graph(self.body)
        self.reset()


class Decode:
    """One decode of `frames` sample frames from one window of the pool,
    starting at the decoder margin (earshot's frontier decodes start there)."""

    def __init__(self, peer, tick, frames):
        g = peer.g
        self.peer, self.tick = peer, tick
        self.start = g.decoder_margin * HOP
        self.end = self.start + frames
        limit = (g.window - g.decoder_margin) * HOP
        if self.end > limit:
            raise SystemExit(f"--decode-frames {frames} does not fit in the exact span "
                             f"{self.start}..{limit} of a {g.size} window")
        self.plan = peer.decode_plan(self.start, self.end)
        self.out = torch.empty((self.end - self.start) * CHANNELS, device=peer.device)
        self.graph = None

    def body(self):
        self.out.copy_(self.peer.decode(self.tick.pool[0], self.start, self.end))

    def run(self):
        if self.graph is None:
            self.body()
        else:
            self.graph.replay()

    def capture(self):
        self.graph = capture_graph(self.body)


# ---------------------------------------------------------------- timing
def time_it(fn, device, iters, warmup):
    """Per-iteration milliseconds: CUDA events on the device (the host waits
    after each iteration), perf_counter on the CPU; plus host wall times."""
    for _ in range(warmup):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    dev_ms, wall_ms = [], []
    for _ in range(iters):
        if device.type == "cuda":
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            w0 = time.perf_counter()
            a.record()
            fn()
            b.record()
            b.synchronize()
            wall_ms.append((time.perf_counter() - w0) * 1e3)
            dev_ms.append(a.elapsed_time(b))
        else:
            w0 = time.perf_counter()
            fn()
            ms = (time.perf_counter() - w0) * 1e3
            wall_ms.append(ms)
            dev_ms.append(ms)
    return dev_ms, wall_ms


def summary(ms):
    s = sorted(ms)
    p90 = s[min(len(s) - 1, math.ceil(0.9 * len(s)) - 1)]
    return {"median": statistics.median(s), "p90": p90, "mean": statistics.fmean(s),
            "min": s[0], "max": s[-1], "n": len(s)}


# ---------------------------------------------------------------- check
def compare(ours, ref):
    ours = ours.double().cpu().reshape(-1)
    ref = ref.double().cpu().reshape(-1)
    diff = ours - ref
    rel = (diff.norm() / ref.norm().clamp_min(1e-30)).item()
    return {"max_abs": diff.abs().max().item(), "rel_l2": rel,
            "ref_rms": (ref.norm() / math.sqrt(ref.numel())).item(), "n": ref.numel()}


def check(peer, path):
    """Reproduces examples/peer_reference.rs's computation and compares.
    Returns (report dict, passed)."""
    with open(path) as f:
        ref = json.load(f)
    g, dev = peer.g, peer.device
    if ref.get("size") != g.size:
        raise SystemExit(f"{path} was made with {ref.get('size')} weights, these are {g.size}")
    if ref.get("sampler") != "ode" or ref.get("conditioning") != "null":
        raise SystemExit(f"{path}: expected the ODE sampler and the null conditioning")
    slots = ref["slots"]
    s = len(slots)
    shape = (s, g.window, LATENT_CHANNELS)
    x = torch.tensor([sl["x_t"] for sl in slots], dtype=torch.float32).view(shape)
    x_next_ref = torch.tensor([sl["x_next"] for sl in slots], dtype=torch.float32).view(shape)
    t = torch.tensor([sl["t"] for sl in slots], dtype=torch.float32)
    tn = torch.tensor([sl["t_next"] for sl in slots], dtype=torch.float32)
    knobs = torch.tensor([sl["knobs"] for sl in slots], dtype=torch.float32)
    kv, pooled = peer.null_conditioning()
    kv = kv.unsqueeze(1).expand(-1, s, -1, -1)
    pooled = pooled.unsqueeze(0).expand(s, -1)
    xd, td, tnd = x.to(dev), t.to(dev).view(-1, 1, 1), tn.to(dev).view(-1, 1, 1)
    with torch.no_grad():
        x0 = peer.forward(xd, t.to(dev), knobs.to(dev), kv, pooled)
        x_next = xd + (tnd - td) * (xd - x0) / td  # the ODE update, f32
    # x̂0 of the reference, recovered from its update (float64):
    # x_next = x + (t_next - t)(x - x0)/t  =>  x0 = x - (x_next - x) t / (t_next - t)
    t64, tn64 = t.double().view(-1, 1, 1), tn.double().view(-1, 1, 1)
    x0_ref = x.double() - (x_next_ref.double() - x.double()) * t64 / (tn64 - t64)
    report = {"reference": os.path.abspath(path), "reference_backend": ref.get("backend"),
              "dtype": "fp32", "device": str(dev),
              "latents_next": compare(x_next, x_next_ref),
              "x0_hat": compare(x0, x0_ref),
              "per_slot": [], "decodes": []}
    for i in range(s):
        report["per_slot"].append({
            "step": slots[i]["step"], "t": slots[i]["t"], "t_next": slots[i]["t_next"],
            "latents_next": compare(x_next[i], x_next_ref[i]),
            "x0_hat": compare(x0[i], x0_ref[i])})
    for dcd in ref["decodes"]:
        i, a, b = dcd["slot"], dcd["start"], dcd["end"]
        audio_ref = torch.tensor(dcd["audio"], dtype=torch.float32)
        with torch.no_grad():
            # The decoder alone, on the reference's own updated latents ...
            iso = peer.decode(x_next_ref[i].to(dev), a, b)
            # ... and end to end, on the peer's updated latents.
            e2e = peer.decode(x_next[i], a, b)
        report["decodes"].append({"what": dcd.get("what"), "slot": i, "start": a, "end": b,
                                  "decoder": compare(iso, audio_ref),
                                  "end_to_end": compare(e2e, audio_ref)})
    gated = [report["latents_next"], report["x0_hat"]]
    gated += [d["decoder"] for d in report["decodes"]]
    gated += [d["end_to_end"] for d in report["decodes"]]
    passed = all(c["rel_l2"] <= CHECK_TOLERANCE for c in gated)
    report["tolerance_rel_l2"] = CHECK_TOLERANCE
    report["passed"] = passed
    return report, passed


def print_check(rep):
    print(f"parity with {rep['reference_backend']} reference {rep['reference']} "
          f"(fp32 on {rep['device']}; fail if relative L2 > {rep['tolerance_rel_l2']:g})")
    rows = [("latents x_next (all slots)", rep["latents_next"]),
            ("x0_hat (all slots)", rep["x0_hat"])]
    for ps in rep["per_slot"]:
        rows.append((f"  slot step {ps['step']} t={ps['t']:g} x_next", ps["latents_next"]))
        rows.append((f"  slot step {ps['step']} t={ps['t']:g} x0_hat", ps["x0_hat"]))
    for d in rep["decodes"]:
        tag = f"audio {d['what']} [{d['start']}, {d['end']})"
        rows.append((f"{tag} decoder", d["decoder"]))
        rows.append((f"{tag} end-to-end", d["end_to_end"]))
    width = max(len(r[0]) for r in rows)
    print(f"  {'what':<{width}}  {'max abs':>10}  {'rel L2':>10}  {'ref rms':>10}")
    for name, c in rows:
        print(f"  {name:<{width}}  {c['max_abs']:10.3e}  {c['rel_l2']:10.3e}  {c['ref_rms']:10.3e}")
    print("  PASS" if rep["passed"] else "  FAIL")


# ---------------------------------------------------------------- main
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True,
                    help="earshot safetensors weights file, or random:tiny|small|base "
                         "(random weights of that geometry, for timing only)")
    ap.add_argument("--device", choices=["cuda", "cpu"], default=None,
                    help="default: cuda when available, else cpu")
    ap.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16",
                    help="compute dtype of the network (latents, sampler and iSTFT stay fp32)")
    ap.add_argument("--slots", default="1,2,4,8", help="batch sizes, comma-separated")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--mode", choices=["eager", "graphs", "both"], default=None,
                    help="default: both on cuda, eager on cpu (graphs need cuda)")
    ap.add_argument("--decode-frames", type=int, default=4096,
                    help="sample frames per decode call (one window)")
    ap.add_argument("--sampler", choices=["ode", "sde"], default="ode")
    ap.add_argument("--churn", type=float, default=0.5, help="SDE churn")
    ap.add_argument("--tf32", action="store_true",
                    help="allow TF32 for fp32 matmuls/convs on CUDA (off by default)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--seed", type=int, default=0, help="seed of the benchmark inputs")
    ap.add_argument("--check", metavar="REF.json",
                    help="compare with examples/peer_reference.rs's output (fp32); "
                         "exit 1 when a relative L2 error exceeds 1e-4")
    ap.add_argument("--check-only", action="store_true", help="run --check, skip the benchmark")
    ap.add_argument("--json", metavar="OUT", help="write every figure as JSON")
    return ap.parse_args(argv)


def set_tf32(enabled):
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


def main(argv=None):
    args = parse_args(argv)
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.mode is None:
        args.mode = "both" if args.device == "cuda" else "eager"
    if args.mode != "eager" and args.device != "cuda":
        print(f"error: --mode {args.mode} captures CUDA graphs (torch.cuda.CUDAGraph), "
              f"which need --device cuda; use --mode eager on the CPU", file=sys.stderr)
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        slot_counts = [int(s) for s in args.slots.split(",") if s.strip()]
    except ValueError:
        print(f"error: --slots {args.slots!r} is not a comma-separated list", file=sys.stderr)
        return 2
    if not slot_counts or min(slot_counts) < 1 or max(slot_counts) > POOL_WINDOWS:
        print(f"error: slots must be 1..{POOL_WINDOWS}", file=sys.stderr)
        return 2
    if not 0.0 <= args.churn <= 1.0:
        print("error: --churn must be in [0, 1]", file=sys.stderr)
        return 2

    device = torch.device(args.device)
    if args.weights.startswith("random:"):
        if args.check:
            print("error: --check needs the weights file the reference was made with",
                  file=sys.stderr)
            return 2
        g, meta, tensors = random_weights(args.weights.split(":", 1)[1], args.seed)
    else:
        g, meta, tensors = load_weights(args.weights)
    if device.type == "cuda":
        device_name = torch.cuda.get_device_name(device)
    else:
        device_name = f"CPU {platform.processor() or platform.machine()} " \
                      f"({torch.get_num_threads()} torch threads)"
    doc = {
        "peer": "torch", "script": "benches/peers/torch_tick.py",
        "device": device_name, "device_type": device.type,
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "weights": args.weights if args.weights.startswith("random:")
                   else os.path.abspath(args.weights),
        "weights_metadata": meta,
        "geometry": g.as_dict(), "dtype": args.dtype, "sampler": args.sampler,
        "churn": args.churn if args.sampler == "sde" else None,
        "noise": "torch generator (earshot uses Philox4x32-10; values differ, cost comparable)",
        "tf32": bool(args.tf32), "iters": args.iters, "warmup": args.warmup,
        "mode": args.mode, "decode_frames": args.decode_frames,
        "timing": "cuda events, host sync after each call" if device.type == "cuda"
                  else "perf_counter",
    }
    print(f"torch {torch.__version__} (cuda {torch.version.cuda}) on {device_name}")
    print(f"model {g.size}: D={g.width} blocks={g.depth} heads={g.heads} T={g.window} "
          f"W={g.decoder_width} ConvNeXt={g.decoder_blocks}; dtype {args.dtype}, "
          f"sampler {args.sampler}")

    status = 0
    if args.check:
        set_tf32(False)
        fp32 = Peer(g, tensors, device, torch.float32)
        rep, passed = check(fp32, args.check)
        print_check(rep)
        doc["check"] = rep
        del fp32
        if not passed:
            status = 1
    if not args.check_only:
        set_tf32(bool(args.tf32))
        dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
        peer = Peer(g, tensors, device, dtype)
        doc["weight_bytes_on_device"] = peer.weight_bytes
        modes = ["eager", "graphs"] if args.mode == "both" else [args.mode]
        results = []
        for slots in slot_counts:
            for mode in modes:
                results.append(bench(peer, slots, mode, args))
        doc["results"] = results
        print_table(results, args, device)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"wrote {args.json}")
    return status


def bench(peer, slots, mode, args):
    g, dev = peer.g, peer.device
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated(dev)
    with torch.no_grad():
        tick = Tick(peer, slots, args.sampler, args.churn, args.seed)
        dec = Decode(peer, tick, args.decode_frames)
        if mode == "graphs":
            tick.capture()
            dec.capture()
        tick.reset()
        t_dev, t_wall = time_it(tick.run, dev, args.iters, args.warmup)
        d_dev, d_wall = time_it(dec.run, dev, args.iters, args.warmup)
        finite = bool(torch.isfinite(tick.pool).all().item())
    flops = tick_flops(g, slots)
    dflops = decode_flops(g, dec.plan)
    ts, ds = summary(t_dev), summary(d_dev)
    res = {
        "slots": slots, "mode": mode, "rows": slots * g.window,
        "tick_ms": ts, "tick_wall_ms": summary(t_wall),
        "tick_matmul_flops": flops,
        "tick_tflops_at_median": flops / (ts["median"] * 1e-3) / 1e12,
        "decode_range": [dec.start, dec.end],
        "decode_ms": ds, "decode_wall_ms": summary(d_wall),
        "decode_matmul_flops": dflops,
        "decode_tflops_at_median": dflops / (ds["median"] * 1e-3) / 1e12,
        "decode_realtime_factor": (args.decode_frames / SAMPLE_RATE) / (ds["median"] * 1e-3),
        "latents_finite": finite,
    }
    if dev.type == "cuda":
        # Peak of torch's allocator over this configuration (tick and decode,
        # capture included); it includes the weights and whatever earlier
        # configurations left allocated (cuBLAS workspaces), given as before.
        res["peak_vram_bytes"] = torch.cuda.max_memory_allocated(dev)
        res["vram_before_bytes"] = before
    del tick, dec
    return res


def print_table(results, args, device):
    cuda = device.type == "cuda"
    print()
    print(f"tick = gather + initial noise + generator forward over slots x T rows + "
          f"{args.sampler.upper()} update + scatter; decode = {args.decode_frames} "
          f"sample frames of one window; {args.iters} iters after {args.warmup} warmup; "
          f"{'CUDA events' if cuda else 'perf_counter (CPU)'}")
    head = (f"{'slots':>5} {'mode':>6} {'tick med ms':>11} {'tick p90 ms':>11} "
            f"{'TFLOP/s':>8} {'GFLOP':>7} {'dec med ms':>10} {'dec p90 ms':>10} "
            f"{'dec RTF':>8}")
    if cuda:
        head += f" {'peak MiB':>9}"
    print(head)
    for r in results:
        line = (f"{r['slots']:>5} {r['mode']:>6} {r['tick_ms']['median']:11.3f} "
                f"{r['tick_ms']['p90']:11.3f} {r['tick_tflops_at_median']:8.3f} "
                f"{r['tick_matmul_flops'] / 1e9:7.2f} {r['decode_ms']['median']:10.3f} "
                f"{r['decode_ms']['p90']:10.3f} {r['decode_realtime_factor']:7.1f}x")
        if cuda:
            line += f" {r['peak_vram_bytes'] / 2**20:9.1f}"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
