// The generator's kernels (fp32). Every formula follows the CPU reference
// (backends/cpu/src/generator.rs, ops.rs, engine/src/sampler.rs,
// engine/src/rng.rs); compiled without FMA contraction and with IEEE
// division and square root so the fp32 mode tracks it closely.
//
// Per-slot inputs come in one buffer of PARAM_WORDS 32-bit words per slot,
// copied from pinned host memory once per forward:
//   0 latent buffer index   1 conditioning index   2 t (f32 bits)
//   3 t_next (f32 bits)     4 seed lo   5 seed hi   6 serial lo   7 serial hi
//   8 step                  9..12 knob row (f32 bits)

#define PARAM_WORDS 16
#define KNOBS 4
#define COND_TOKENS 8
#define TIME_FREQ 256

__device__ __forceinline__ float param_f(const unsigned* p, int slot, int word) {
    return __uint_as_float(p[slot * PARAM_WORDS + word]);
}

// Philox4x32-10, exactly engine/src/rng.rs.
__device__ void philox(unsigned c[4], unsigned k0, unsigned k1) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        unsigned long long p0 = (unsigned long long)0xD2511F53u * c[0];
        unsigned long long p1 = (unsigned long long)0xCD9E8D57u * c[2];
        unsigned hi0 = (unsigned)(p0 >> 32), lo0 = (unsigned)p0;
        unsigned hi1 = (unsigned)(p1 >> 32), lo1 = (unsigned)p1;
        unsigned n0 = hi1 ^ c[1] ^ k0;
        unsigned n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0;
        c[1] = lo1;
        c[2] = n2;
        c[3] = lo0;
    }
}

__device__ void box_muller(unsigned a, unsigned b, float* x, float* y) {
    const double inv = 1.0 / 16777216.0;
    double u1 = ((double)(a >> 8) + 1.0) * inv;
    double u2 = (double)(b >> 8) * inv;
    double r = sqrt(-2.0 * log(u1));
    double theta = 6.283185307179586 * u2;
    *x = (float)(r * cos(theta));
    *y = (float)(r * sin(theta));
}

// The normal draw for element e of stream (seed, serial, step).
__device__ float normal(unsigned seed_lo, unsigned seed_hi, unsigned ser_lo, unsigned ser_hi,
                        unsigned step, unsigned e) {
    unsigned c[4] = {e / 4, step, ser_lo, ser_hi};
    philox(c, seed_lo, seed_hi);
    float n0, n1, n2, n3;
    box_muller(c[0], c[1], &n0, &n1);
    box_muller(c[2], c[3], &n2, &n3);
    switch (e % 4) {
        case 0: return n0;
        case 1: return n1;
        case 2: return n2;
        default: return n3;
    }
}

// Slots at step 0 start from their initial noise. grid.y = slot.
extern "C" __global__ void noise_init(float* pool, const unsigned* p, int window_len) {
    int slot = blockIdx.y;
    if (p[slot * PARAM_WORDS + 8] != 0) return;
    int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= window_len) return;
    const unsigned* q = p + slot * PARAM_WORDS;
    float* x = pool + (size_t)q[0] * window_len;
    x[e] = normal(q[4], q[5], q[6], q[7], 0u, (unsigned)e);
}

// x[slot] = pool[buffer of slot]. grid.y = slot.
extern "C" __global__ void gather(const float* pool, const unsigned* p, float* x, int window_len) {
    int slot = blockIdx.y;
    int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= window_len) return;
    x[(size_t)slot * window_len + e] = pool[(size_t)p[slot * PARAM_WORDS] * window_len + e];
}

// Timestep features sincos(1000 t) [slots, 256] and knob rows [slots, 4].
extern "C" __global__ void slot_features(const unsigned* p, float* tfeat, float* knobs, int slots) {
    int slot = blockIdx.x;
    if (slot >= slots) return;
    float x = param_f(p, slot, 2) * 1000.0f;
    const int half = TIME_FREQ / 2;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float freq = expf(-(9.21034049987793f) * (float)i / (float)half);
        float arg = x * freq;
        tfeat[slot * TIME_FREQ + i] = cosf(arg);
        tfeat[slot * TIME_FREQ + half + i] = sinf(arg);
    }
    if (threadIdx.x < KNOBS) knobs[slot * KNOBS + threadIdx.x] = param_f(p, slot, 9 + threadIdx.x);
}

__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }

__device__ __forceinline__ float gelu(float x) {
    const float c2 = 2.0f * 0.7978846f;
    return x / (1.0f + expf(-c2 * (x + 0.044715f * x * x * x)));
}

// The bf16 bits of x, rounded to nearest even (NaN stays NaN).
__device__ __forceinline__ unsigned short bf16_bits(float x) {
    unsigned u = __float_as_uint(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}

// act(y[r, c] + b[c]); act 0 none, 1 silu, 2 gelu. Written back into y, or
// as bf16 into yh when `half` (the next product's input, cast here).
extern "C" __global__ void bias_act(float* y, const float* b, int rows, int cols, int act,
                                    unsigned short* yh, int half) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)rows * cols) return;
    float v = y[i] + b[i % cols];
    if (act == 1) v = silu(v);
    else if (act == 2) v = gelu(v);
    if (half) yh[i] = bf16_bits(v);
    else y[i] = v;
}

// c = silu(c + b_t2 + b_k2 + pooled[conditioning of slot]); c already holds
// the t_mlp and knob_mlp products without their last biases.
extern "C" __global__ void combine_c(float* c, const float* bt, const float* bk,
                                     const float* pooled, const unsigned* p, int slots, int d) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= slots * d) return;
    int slot = i / d, j = i % d;
    const float* pv = pooled + (size_t)p[slot * PARAM_WORDS + 1] * d;
    float v = c[i] + bt[j];
    v = v + bk[j];
    v = v + pv[j];
    c[i] = silu(v);
}

// h[r] += b + pos[r % frames].
extern "C" __global__ void embed_finish(float* h, const float* b, const float* pos, int rows,
                                        int d, int frames) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)rows * d) return;
    int r = (int)(i / d), j = (int)(i % d);
    float v = h[i] + b[j];
    h[i] = v + pos[(r % frames) * d + j];
}

// Block-wide sum (blockDim.x a multiple of 32, at most 1024).
__device__ float block_sum(float v, float* shared) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = threadIdx.x < warps ? shared[threadIdx.x] : 0.0f;
    if (warp == 0)
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) shared[0] = v;
    __syncthreads();
    float total = shared[0];
    __syncthreads();
    return total;
}

// a[r] = LN(h[r]) * (1 + scale) + shift, with shift and scale at chunks
// `first` and `first + 1` of the slot's modulation row of row_chunks * d.
// One block per row.
extern "C" __global__ void modulate(const float* h, const float* mods, float* a, int d,
                                    int frames, int row_chunks, int first, unsigned short* ah,
                                    int half) {
    __shared__ float shared[32];
    int r = blockIdx.x;
    int slot = r / frames;
    const float* x = h + (size_t)r * d;
    float s = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) s += x[j];
    float mean = block_sum(s, shared) / (float)d;
    float v = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float t = x[j] - mean;
        v += t * t;
    }
    float var = block_sum(v, shared) / (float)d;
    float inv = 1.0f / sqrtf(var + 1e-6f);
    const float* m = mods + (size_t)slot * row_chunks * d;
    const float* shift = m + first * d;
    const float* scale = m + (first + 1) * d;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float n = (x[j] - mean) * inv;
        float v = n * (1.0f + scale[j]) + shift[j];
        if (half) ah[(size_t)r * d + j] = bf16_bits(v);
        else a[(size_t)r * d + j] = v;
    }
}

// h += gate * (y + b), the gate at chunk `chunk` of the slot's [6d] row.
extern "C" __global__ void gated_residual(float* h, const float* y, const float* b,
                                          const float* mods, int rows, int d, int frames,
                                          int chunk) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)rows * d) return;
    int r = (int)(i / d), j = (int)(i % d);
    int slot = r / frames;
    float g = mods[(size_t)slot * 6 * d + chunk * d + j];
    h[i] = h[i] + g * (y[i] + b[j]);
}

// Keys and values of the conditioning tokens of one block: from qkv rows
// [COND_TOKENS, 3d] (with bias) into kv [COND_TOKENS, 2d].
extern "C" __global__ void cond_kv(const float* qkv, const float* b, float* kv, int d) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= COND_TOKENS * 2 * d) return;
    int tok = i / (2 * d), j = i % (2 * d);
    kv[i] = qkv[tok * 3 * d + d + j] + b[d + j];
}

// Attention. Every query frame is served by L adjacent threads, each
// holding every L-th of its dimensions (neighbouring threads read
// neighbouring shared-memory words; partial dot products meet through
// shuffles). A block serves blockDim.x / L consecutive queries of one
// (slot, head). Keys and values pass through shared memory KEY_TILE at a
// time, read once for all the block's queries; per tile each query takes
// its scores' maximum, rescales its running sums once and adds the tile
// (online softmax). Keys: the slot's conditioning tokens, then its own
// frames. HEAD_DIM is defined by the host for the model being run. Four
// threads per query suit full batches; eight, with more blocks, small ones.
#ifndef HEAD_DIM
#define HEAD_DIM 64
#endif
#define KEY_TILE 32
template <int L>
__device__ __forceinline__ void attention_impl(const float* qkv, const float* cond,
                                               const unsigned* p, float* out, int d, int heads,
                                               int frames, int depth, int block_index,
                                               unsigned short* outh, int half) {
    const int part = HEAD_DIM / L;
    __shared__ float ks[KEY_TILE][HEAD_DIM];
    __shared__ float vs[KEY_TILE][HEAD_DIM];
    int per_block = blockDim.x / L;
    int chunks = (frames + per_block - 1) / per_block;
    int chunk = blockIdx.x % chunks;
    int h = (blockIdx.x / chunks) % heads;
    int slot = blockIdx.x / (chunks * heads);
    int lane = threadIdx.x % L;
    int i = chunk * per_block + threadIdx.x / L;
    int keys = COND_TOKENS + frames;
    float scale = 1.0f / sqrtf((float)HEAD_DIM);
    const float* kv = cond + ((size_t)p[slot * PARAM_WORDS + 1] * depth + block_index) *
                                 COND_TOKENS * 2 * d;
    const float* own = qkv + (size_t)slot * frames * 3 * d;
    bool active = i < frames;
    float q[HEAD_DIM / L], o[HEAD_DIM / L];
#pragma unroll
    for (int e = 0; e < part; ++e) {
        q[e] = active ? own[(size_t)i * 3 * d + h * HEAD_DIM + e * L + lane] : 0.0f;
        o[e] = 0.0f;
    }
    float m = -3.402823466e38f, l = 0.0f;
    for (int base = 0; base < keys; base += KEY_TILE) {
        int n = min(KEY_TILE, keys - base);
        for (int idx = threadIdx.x; idx < n * HEAD_DIM; idx += blockDim.x) {
            int j = idx / HEAD_DIM, e = idx % HEAD_DIM;
            int key = base + j;
            const float* src = key < COND_TOKENS
                                   ? kv + key * 2 * d + h * HEAD_DIM
                                   : own + (size_t)(key - COND_TOKENS) * 3 * d + d + h * HEAD_DIM;
            ks[j][e] = src[e];
            vs[j][e] = src[d + e];
        }
        __syncthreads();
        float s[KEY_TILE];
        float mx = m;
#pragma unroll
        for (int j = 0; j < KEY_TILE; ++j) {
            float acc = 0.0f;
#pragma unroll
            for (int e = 0; e < part; ++e) acc += q[e] * ks[j][e * L + lane];
#pragma unroll
            for (int w = 1; w < L; w <<= 1) acc += __shfl_xor_sync(0xffffffffu, acc, w);
            s[j] = j < n ? acc * scale : -3.402823466e38f;
            mx = fmaxf(mx, s[j]);
        }
        float corr = expf(m - mx);
        l = l * corr;
#pragma unroll
        for (int e = 0; e < part; ++e) o[e] = o[e] * corr;
#pragma unroll
        for (int j = 0; j < KEY_TILE; ++j) {
            if (j < n) {
                float pj = expf(s[j] - mx);
                l += pj;
#pragma unroll
                for (int e = 0; e < part; ++e) o[e] += pj * vs[j][e * L + lane];
            }
        }
        m = mx;
        __syncthreads();
    }
    if (active) {
        size_t at = ((size_t)slot * frames + i) * d + h * HEAD_DIM + lane;
#pragma unroll
        for (int e = 0; e < part; ++e) {
            float v = o[e] / l;
            if (half) outh[at + e * L] = bf16_bits(v);
            else out[at + e * L] = v;
        }
    }
}

extern "C" __global__ void attention(const float* qkv, const float* cond, const unsigned* p,
                                     float* out, int d, int heads, int frames, int depth,
                                     int block_index, unsigned short* outh, int half) {
    attention_impl<4>(qkv, cond, p, out, d, heads, frames, depth, block_index, outh, half);
}

extern "C" __global__ void attention_wide(const float* qkv, const float* cond,
                                          const unsigned* p, float* out, int d, int heads,
                                          int frames, int depth, int block_index,
                                          unsigned short* outh, int half) {
    attention_impl<8>(qkv, cond, p, out, d, heads, frames, depth, block_index, outh, half);
}

// The sampler update of every slot, in place in its latent buffer:
// x0 is the prediction with its output bias not yet added.
extern "C" __global__ void sampler_update(float* pool, const unsigned* p, const float* x0,
                                          const float* b_out, int window_len, int channels,
                                          int sde, float churn) {
    int slot = blockIdx.y;
    int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= window_len) return;
    const unsigned* q = p + slot * PARAM_WORDS;
    float* x = pool + (size_t)q[0] * window_len;
    float pred = x0[(size_t)slot * window_len + e] + b_out[e % channels];
    float t = __uint_as_float(q[2]), tn = __uint_as_float(q[3]);
    float v = x[e];
    if (!sde) {
        x[e] = v + (tn - t) * (v - pred) / t;
    } else {
        float z = tn > 0.0f ? normal(q[4], q[5], q[6], q[7], q[8] + 1u, (unsigned)e) : 0.0f;
        float eps_hat = (v - (1.0f - t) * pred) / t;
        float eps = sqrtf(1.0f - churn * churn) * eps_hat + churn * z;
        x[e] = (1.0f - tn) * pred + tn * eps;
    }
}

// y = bf16(x), round to nearest even (NaN stays NaN).
extern "C" __global__ void to_bf16(const float* x, unsigned short* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    y[i] = bf16_bits(x[i]);
}
