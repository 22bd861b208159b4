// The generator's kernels (fp32, and the bf16 mode's tensor-core attention
// at the end). Every formula follows the CPU reference
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

// Tensor-core attention for the bf16 mode (FlashAttention-2 style). One
// warp serves 16 queries of one (slot, head); a block of blockDim.x / 32
// warps serves consecutive queries of it. Keys and values pass through
// shared memory as bf16, MMA_STAGE_KEYS at a time (K as rows [key][dim], V
// transposed [dim][key], rows padded by 8 so fragment reads hit 32
// different banks; keys past the last staged as zeros), each thread
// issuing MMA_STAGE_BATCH loads before it stores any. Q, K and V are
// rounded to bf16 (nearest even); S = Q·Kᵀ and O += P·V run on
// mma.m16n8k16 (bf16 in, fp32 accumulate) over MMA_KEY_TILE staged keys at
// a time; the softmax is online, in fp32 on the accumulator fragments:
// scores past the last key are masked, the probabilities are rounded to
// bf16 for P·V and the row sums add the rounded values, so the weights
// applied sum to exactly the divisor. The qkv bias is added here as the
// queries, keys and values are read (the product's output comes without
// it); the conditioning tokens' keys and values already carry theirs.
// Output as the other attention kernels.
#if HEAD_DIM % 16 == 0
#define MMA_STAGE_KEYS 128
#define MMA_KEY_TILE 64
#define MMA_STAGE_BATCH 4
#define MMA_K_STRIDE (HEAD_DIM + 8)
#define MMA_V_STRIDE (MMA_STAGE_KEYS + 8)

__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
    return (unsigned)bf16_bits(lo) | ((unsigned)bf16_bits(hi) << 16);
}

__device__ __forceinline__ float bf16_lo(unsigned pair) { return __uint_as_float(pair << 16); }

__device__ __forceinline__ float bf16_hi(unsigned pair) {
    return __uint_as_float(pair & 0xffff0000u);
}

// c += a · b for one m16n8k16 tile: a the 16x16 row-major A fragment, b
// the 16x8 column-major B fragment (two bf16 per register, the lower
// column or row in the low half), c the 16x8 fp32 accumulator.
__device__ __forceinline__ void mma_bf16(float c[4], const unsigned a[4], unsigned b0,
                                         unsigned b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

extern "C" __global__ void attention_mma(const float* qkv, const float* bias,
                                         const float* cond, const unsigned* p, float* out,
                                         int d, int heads, int frames, int depth,
                                         int block_index, unsigned short* outh, int half) {
    __shared__ __align__(16) unsigned short ks[MMA_STAGE_KEYS * MMA_K_STRIDE];
    __shared__ __align__(16) unsigned short vt[HEAD_DIM * MMA_V_STRIDE];
    const int per_block = (blockDim.x >> 5) * 16;
    int chunks = (frames + per_block - 1) / per_block;
    int chunk = blockIdx.x % chunks;
    int h = (blockIdx.x / chunks) % heads;
    int slot = blockIdx.x / (chunks * heads);
    int lane = threadIdx.x & 31;
    // Fragment coordinates: row group g (rows g and g + 8), column pair 2t.
    int g = lane >> 2, t = lane & 3;
    int q0 = chunk * per_block + (threadIdx.x >> 5) * 16;
    bool busy = q0 < frames;
    int keys = COND_TOKENS + frames;
    float scale = 1.0f / sqrtf((float)HEAD_DIM);
    const float* kv = cond + ((size_t)p[slot * PARAM_WORDS + 1] * depth + block_index) *
                                 COND_TOKENS * 2 * d;
    const float* own = qkv + (size_t)slot * frames * 3 * d;
    const float* bq = bias + h * HEAD_DIM;
    const float* bk = bias + d + h * HEAD_DIM;
    const float* bv = bias + 2 * d + h * HEAD_DIM;

    // The warp's queries as A fragments, one per 16 dimensions.
    unsigned qa[HEAD_DIM / 16][4];
#pragma unroll
    for (int kc = 0; kc < HEAD_DIM / 16; ++kc) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            int row = q0 + g + 8 * r;
            int e = kc * 16 + 2 * t;
            float2 lo = make_float2(0.0f, 0.0f), hi = make_float2(0.0f, 0.0f);
            if (row < frames) {
                const float* src = own + (size_t)row * 3 * d + h * HEAD_DIM + e;
                lo = *(const float2*)src;
                hi = *(const float2*)(src + 8);
                lo.x = lo.x + bq[e];
                lo.y = lo.y + bq[e + 1];
                hi.x = hi.x + bq[e + 8];
                hi.y = hi.y + bq[e + 9];
            }
            qa[kc][r] = pack_bf16(lo.x, lo.y);
            qa[kc][2 + r] = pack_bf16(hi.x, hi.y);
        }
    }
    float o[HEAD_DIM / 8][4];
#pragma unroll
    for (int nd = 0; nd < HEAD_DIM / 8; ++nd)
#pragma unroll
        for (int c = 0; c < 4; ++c) o[nd][c] = 0.0f;
    float m[2] = {-3.402823466e38f, -3.402823466e38f}, l[2] = {0.0f, 0.0f};

    for (int base = 0; base < keys; base += MMA_STAGE_KEYS) {
        int staged = min(MMA_STAGE_KEYS, keys - base);
        int total = ((staged + 15) & ~15) * (HEAD_DIM / 4);
        for (int first = threadIdx.x; first < total; first += MMA_STAGE_BATCH * blockDim.x) {
            float4 kx[MMA_STAGE_BATCH], vx[MMA_STAGE_BATCH];
#pragma unroll
            for (int u = 0; u < MMA_STAGE_BATCH; ++u) {
                int idx = first + u * blockDim.x;
                int j = idx / (HEAD_DIM / 4), e = (idx % (HEAD_DIM / 4)) * 4;
                int key = base + j;
                kx[u] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                vx[u] = kx[u];
                if (idx < total && j < staged && key < COND_TOKENS) {
                    const float* src = kv + key * 2 * d + h * HEAD_DIM + e;
                    kx[u] = *(const float4*)src;
                    vx[u] = *(const float4*)(src + d);
                } else if (idx < total && j < staged) {
                    const float* src =
                        own + (size_t)(key - COND_TOKENS) * 3 * d + d + h * HEAD_DIM + e;
                    float4 k4 = *(const float4*)src, v4 = *(const float4*)(src + d);
                    kx[u] = make_float4(k4.x + bk[e], k4.y + bk[e + 1], k4.z + bk[e + 2],
                                        k4.w + bk[e + 3]);
                    vx[u] = make_float4(v4.x + bv[e], v4.y + bv[e + 1], v4.z + bv[e + 2],
                                        v4.w + bv[e + 3]);
                }
            }
#pragma unroll
            for (int u = 0; u < MMA_STAGE_BATCH; ++u) {
                int idx = first + u * blockDim.x;
                if (idx < total) {
                    int j = idx / (HEAD_DIM / 4), e = (idx % (HEAD_DIM / 4)) * 4;
                    *(uint2*)&ks[j * MMA_K_STRIDE + e] =
                        make_uint2(pack_bf16(kx[u].x, kx[u].y), pack_bf16(kx[u].z, kx[u].w));
                    vt[(e + 0) * MMA_V_STRIDE + j] = bf16_bits(vx[u].x);
                    vt[(e + 1) * MMA_V_STRIDE + j] = bf16_bits(vx[u].y);
                    vt[(e + 2) * MMA_V_STRIDE + j] = bf16_bits(vx[u].z);
                    vt[(e + 3) * MMA_V_STRIDE + j] = bf16_bits(vx[u].w);
                }
            }
        }
        __syncthreads();
        for (int sub = 0; busy && sub < staged; sub += MMA_KEY_TILE) {
            // Keys of this tile, and those the products cover (to 16).
            int n = min(MMA_KEY_TILE, staged - sub);
            int n16 = (n + 15) & ~15;
            // S = Q·Kᵀ, eight keys per accumulator.
            float s[MMA_KEY_TILE / 8][4];
#pragma unroll
            for (int nb = 0; nb < MMA_KEY_TILE / 8; ++nb) {
#pragma unroll
                for (int c = 0; c < 4; ++c) s[nb][c] = 0.0f;
                if (nb * 8 < n16) {
                    const unsigned short* krow =
                        ks + (sub + nb * 8 + g) * MMA_K_STRIDE + 2 * t;
#pragma unroll
                    for (int kc = 0; kc < HEAD_DIM / 16; ++kc) {
                        unsigned b0 = *(const unsigned*)(krow + kc * 16);
                        unsigned b1 = *(const unsigned*)(krow + kc * 16 + 8);
                        mma_bf16(s[nb], qa[kc], b0, b1);
                    }
                }
            }
            // Scale, mask and the rows' new maxima (a row's scores lie in
            // the four lanes of its group).
            float mx[2] = {m[0], m[1]};
#pragma unroll
            for (int nb = 0; nb < MMA_KEY_TILE / 8; ++nb) {
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    int j = nb * 8 + 2 * t + (c & 1);
                    float v = j < n ? s[nb][c] * scale : -3.402823466e38f;
                    s[nb][c] = v;
                    mx[c >> 1] = fmaxf(mx[c >> 1], v);
                }
            }
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
                mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            }
            float corr[2] = {expf(m[0] - mx[0]), expf(m[1] - mx[1])};
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                l[r] = l[r] * corr[r];
                m[r] = mx[r];
            }
#pragma unroll
            for (int nd = 0; nd < HEAD_DIM / 8; ++nd) {
                o[nd][0] = o[nd][0] * corr[0];
                o[nd][1] = o[nd][1] * corr[0];
                o[nd][2] = o[nd][2] * corr[1];
                o[nd][3] = o[nd][3] * corr[1];
            }
            // P in bf16: the accumulators of keys 16kb.. and 16kb + 8..
            // are the A fragment of keys 16kb..16kb + 15.
#pragma unroll
            for (int kb = 0; kb < MMA_KEY_TILE / 16; ++kb) {
                if (kb * 16 < n16) {
                    unsigned pa[4];
#pragma unroll
                    for (int part = 0; part < 2; ++part) {
                        const float* sv = s[2 * kb + part];
                        unsigned top = pack_bf16(expf(sv[0] - mx[0]), expf(sv[1] - mx[0]));
                        unsigned bottom = pack_bf16(expf(sv[2] - mx[1]), expf(sv[3] - mx[1]));
                        l[0] = l[0] + bf16_lo(top) + bf16_hi(top);
                        l[1] = l[1] + bf16_lo(bottom) + bf16_hi(bottom);
                        pa[2 * part] = top;
                        pa[2 * part + 1] = bottom;
                    }
#pragma unroll
                    for (int nd = 0; nd < HEAD_DIM / 8; ++nd) {
                        const unsigned short* vrow =
                            vt + (nd * 8 + g) * MMA_V_STRIDE + sub + kb * 16 + 2 * t;
                        mma_bf16(o[nd], pa, *(const unsigned*)vrow,
                                 *(const unsigned*)(vrow + 8));
                    }
                }
            }
        }
        __syncthreads();
    }
    if (!busy) return;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        l[r] = l[r] + __shfl_xor_sync(0xffffffffu, l[r], 1);
        l[r] = l[r] + __shfl_xor_sync(0xffffffffu, l[r], 2);
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        int row = q0 + g + 8 * r;
        if (row >= frames) continue;
        size_t at = ((size_t)slot * frames + row) * d + h * HEAD_DIM + 2 * t;
#pragma unroll
        for (int nd = 0; nd < HEAD_DIM / 8; ++nd) {
            float x = o[nd][2 * r] / l[r], y = o[nd][2 * r + 1] / l[r];
            if (half) *(unsigned*)(outh + at + nd * 8) = pack_bf16(x, y);
            else *(float2*)(out + at + nd * 8) = make_float2(x, y);
        }
    }
}
#endif

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
