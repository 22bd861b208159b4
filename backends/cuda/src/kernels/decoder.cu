// The Vocos-style decoder's kernels (earshot CUDA backend).
//
// Plain CUDA C for NVRTC: no includes. The Rust side prepends the model
// constants as #defines (LATENT_CHANNELS, DECODER_KERNEL, N_FFT, STFT_HOP,
// STFT_PER_LATENT, BINS, CHANNELS, HEAD_OUTPUTS, FRAME_OFFSET, LN_EPS,
// MAX_MAGNITUDE, NORM_THREADS) so they cannot drift from the engine's.
// Compiled without FMA contraction, with IEEE division and square root:
// each expression below is written in the CPU reference's order.
//
// The pointwise convolutions, the embedding convolution (after im2col) and
// the head are cuBLAS GEMMs without bias; each bias is added by the kernel
// that consumes the GEMM's output.

// Defaults (the engine's values) so the file also compiles on its own; the
// Rust side defines every one of them first, and a unit test checks that
// these defaults equal the engine's constants.
#ifndef LATENT_CHANNELS
#define LATENT_CHANNELS 64
#endif
#ifndef DECODER_KERNEL
#define DECODER_KERNEL 7
#endif
#ifndef N_FFT
#define N_FFT 2048
#endif
#ifndef STFT_HOP
#define STFT_HOP 512
#endif
#ifndef STFT_PER_LATENT
#define STFT_PER_LATENT 2
#endif
#ifndef BINS
#define BINS 1025
#endif
#ifndef CHANNELS
#define CHANNELS 2
#endif
#ifndef HEAD_OUTPUTS
#define HEAD_OUTPUTS 8200
#endif
#ifndef FRAME_OFFSET
#define FRAME_OFFSET 768
#endif
#ifndef LN_EPS
#define LN_EPS 1e-6f
#endif
#ifndef MAX_MAGNITUDE
#define MAX_MAGNITUDE 1e2f
#endif
#ifndef NORM_THREADS
#define NORM_THREADS 128
#endif

#define HALF_KERNEL (DECODER_KERNEL / 2)
#define HALF_N (N_FFT / 2)
#define LOG2_HALF_N 10
#define INV_N (1.0f / (float)N_FFT)

#if (1 << LOG2_HALF_N) != HALF_N
#error "the irfft kernel is written for N_FFT = 2048"
#endif

// floor(a / b) for b > 0 (C division truncates toward zero).
__device__ __forceinline__ int floor_div(int a, int b) {
    int q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

// Sum of one value per thread over the block (blockDim.x == NORM_THREADS,
// a power of two). Every thread gets the total.
__device__ float block_sum(float v, float* red) {
    red[threadIdx.x] = v;
    __syncthreads();
    for (int s = NORM_THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) {
            red[threadIdx.x] += red[threadIdx.x + s];
        }
        __syncthreads();
    }
    float total = red[0];
    __syncthreads();
    return total;
}

// Affine layer norm of the `width` values in shared `row` into `out`, as
// ops.rs: mean, mean squared deviation, 1 / sqrt(var + eps), then
// ((v - mean) * inv) * weight + bias.
__device__ void block_layer_norm(const float* row, int width, const float* weight,
                                 const float* bias, float* out, float* red) {
    float s = 0.0f;
    for (int c = threadIdx.x; c < width; c += NORM_THREADS) {
        s += row[c];
    }
    float mean = block_sum(s, red) / (float)width;
    float q = 0.0f;
    for (int c = threadIdx.x; c < width; c += NORM_THREADS) {
        float d = row[c] - mean;
        q += d * d;
    }
    float var = block_sum(q, red) / (float)width;
    float inv = 1.0f / sqrtf(var + LN_EPS);
    for (int c = threadIdx.x; c < width; c += NORM_THREADS) {
        float n = (row[c] - mean) * inv;
        out[c] = n * weight[c] + bias[c];
    }
}

// Embedding convolution as a product: col[r, c * K + tap] is latent frame
// g0 + r + tap - K/2, channel c, or zero outside the window [0, t_len).
extern "C" __global__ void dec_im2col(const float* latents, float* col, int g0, int rows,
                                      int t_len) {
    const int k = LATENT_CHANNELS * DECODER_KERNEL;
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= rows * k) {
        return;
    }
    int r = idx / k;
    int rem = idx - r * k;
    int c = rem / DECODER_KERNEL;
    int tap = rem - c * DECODER_KERNEL;
    int src = g0 + r + tap - HALF_KERNEL;
    col[idx] = (src >= 0 && src < t_len) ? latents[src * LATENT_CHANNELS + c] : 0.0f;
}

// out[out_row0 + r] = LN_affine(in[in_row0 + r] + in_bias), one block per
// row, `width` floats of dynamic shared memory.
extern "C" __global__ void dec_layer_norm(const float* in, const float* in_bias,
                                          const float* weight, const float* bias, float* out,
                                          int in_row0, int out_row0, int width) {
    extern __shared__ float row[];
    __shared__ float red[NORM_THREADS];
    const float* src = in + (size_t)(in_row0 + blockIdx.x) * width;
    for (int c = threadIdx.x; c < width; c += NORM_THREADS) {
        row[c] = src[c] + in_bias[c];
    }
    __syncthreads();
    block_layer_norm(row, width, weight, bias, out + (size_t)(out_row0 + blockIdx.x) * width,
                     red);
}

// A ConvNeXt block's depthwise convolution (kernel K, zero padding at the
// window's edges) and affine layer norm for frames nlo + blockIdx.x. `x`
// and `out` hold rows from latent frame g0 on. Accumulates bias first, then
// the taps in order, skipping those outside the window, as the CPU does.
extern "C" __global__ void dec_dwconv_norm(const float* x, const float* dw_weight,
                                           const float* dw_bias, const float* weight,
                                           const float* bias, float* out, int g0, int nlo,
                                           int t_len, int width) {
    extern __shared__ float row[];
    __shared__ float red[NORM_THREADS];
    int f = nlo + blockIdx.x;
    for (int c = threadIdx.x; c < width; c += NORM_THREADS) {
        float acc = dw_bias[c];
        for (int tap = 0; tap < DECODER_KERNEL; ++tap) {
            int src = f + tap - HALF_KERNEL;
            if (src < 0 || src >= t_len) {
                continue;
            }
            acc += dw_weight[c * DECODER_KERNEL + tap] * x[(size_t)(src - g0) * width + c];
        }
        row[c] = acc;
    }
    __syncthreads();
    block_layer_norm(row, width, weight, bias, out + (size_t)(f - g0) * width, red);
}

// h = GELU(h + bias) over n values of rows `width` wide; the CPU's tanh
// GELU written as x / (1 + e^(-2z)).
extern "C" __global__ void dec_bias_gelu(float* h, const float* bias, int n, int width) {
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= n) {
        return;
    }
    const float c2 = 2.0f * 0.7978846f;
    float x = h[idx] + bias[idx % width];
    h[idx] = x / (1.0f + expf(-c2 * (x + 0.044715f * x * x * x)));
}

// x[first + i] += gamma * (y[i] + bias): layer scale and residual of a
// ConvNeXt block, n = rows * width values.
extern "C" __global__ void dec_residual(float* x, const float* y, const float* bias,
                                        const float* gamma, int first, int n, int width) {
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= n) {
        return;
    }
    int c = idx % width;
    float v = y[idx] + bias[c];
    x[(size_t)first * width + idx] += gamma[c] * v;
}

// One STFT frame of one channel per block (grid: frames j_lo.., CHANNELS;
// HALF_N / 2 threads): spectrum from the head row (+ bias), magnitude
// min(e^lm, MAX_MAGNITUDE), DC and Nyquist imaginary parts zeroed, then the
// real inverse DFT of length N_FFT (unnormalized, as realfft) through one
// complex inverse FFT of length N_FFT / 2 (radix 2 in shared memory),
// times window[n] / N_FFT.
//
// twiddle[2k], twiddle[2k + 1] = cos, sin(2 pi k / N_FFT), k < N_FFT / 2.
extern "C" __global__ void dec_irfft(const float* head, const float* head_bias,
                                     const float* twiddle, const float* window,
                                     float* frames, int j_lo, int f_lo) {
    __shared__ float sre[BINS];
    __shared__ float sim[BINS];
    __shared__ float zr[HALF_N];
    __shared__ float zi[HALF_N];
    const int tid = threadIdx.x;
    const int nt = blockDim.x;
    const int jl = blockIdx.x;
    const int ch = blockIdx.y;
    const int j = j_lo + jl;
    const int f = j / STFT_PER_LATENT - f_lo;
    const int r = j % STFT_PER_LATENT;
    const float* row = head + (size_t)f * HEAD_OUTPUTS;
    const int lm0 = ((r * CHANNELS + ch) * 2 + 0) * BINS;
    const int ph0 = ((r * CHANNELS + ch) * 2 + 1) * BINS;

    for (int k = tid; k < BINS; k += nt) {
        float lm = row[lm0 + k] + head_bias[lm0 + k];
        float ph = row[ph0 + k] + head_bias[ph0 + k];
        float mag = fminf(expf(lm), MAX_MAGNITUDE);
        float s, c;
        sincosf(ph, &s, &c);
        sre[k] = mag * c;
        sim[k] = (k == 0 || k == BINS - 1) ? 0.0f : mag * s;
    }
    __syncthreads();

    // Pack the Hermitian spectrum X of the real frame x into
    // Z[k] = (X[k] + conj(X[M-k])) + i w^k (X[k] - conj(X[M-k])), w = e^(2 pi i / N),
    // M = N/2, whose inverse DFT of length M is x[2m] + i x[2m+1] (times N,
    // the same unnormalized scale as realfft's inverse). Stored bit-reversed.
    for (int k = tid; k < HALF_N; k += nt) {
        float ar = sre[k], ai = sim[k];
        float br = sre[HALF_N - k], bi = sim[HALF_N - k];
        float er = ar + br, ei = ai - bi;
        float odr = ar - br, odi = ai + bi;
        float wc = twiddle[2 * k], ws = twiddle[2 * k + 1];
        float tr = wc * odr - ws * odi;
        float ti = wc * odi + ws * odr;
        int dst = (int)(__brev((unsigned int)k) >> (32 - LOG2_HALF_N));
        zr[dst] = er - ti;
        zi[dst] = ei + tr;
    }
    __syncthreads();

    // Iterative radix-2 decimation in time, inverse sign (e^{+i}).
    for (int len = 2; len <= HALF_N; len <<= 1) {
        int half = len >> 1;
        int step = N_FFT / len;
        for (int t = tid; t < HALF_N / 2; t += nt) {
            int pos = t & (half - 1);
            int i0 = (t - pos) * 2 + pos;
            int i1 = i0 + half;
            float wc = twiddle[2 * pos * step], ws = twiddle[2 * pos * step + 1];
            float vr = zr[i1] * wc - zi[i1] * ws;
            float vi = zr[i1] * ws + zi[i1] * wc;
            float ur = zr[i0], ui = zi[i0];
            zr[i0] = ur + vr;
            zi[i0] = ui + vi;
            zr[i1] = ur - vr;
            zi[i1] = ui - vi;
        }
        __syncthreads();
    }

    float* out = frames + ((size_t)jl * CHANNELS + ch) * N_FFT;
    for (int m = tid; m < HALF_N; m += nt) {
        out[2 * m] = zr[m] * (window[2 * m] * INV_N);
        out[2 * m + 1] = zi[m] * (window[2 * m + 1] * INV_N);
    }
}

// Overlap-add of frames j_lo..=j_hi into interleaved stereo out[len, CHANNELS]
// for local samples start.., in ascending frame order from zero, then divided
// by the window-sum envelope env[s] (already clamped below by LN_EPS).
// Frame j spans local samples [j * STFT_HOP - FRAME_OFFSET, + N_FFT).
extern "C" __global__ void dec_overlap_add(const float* frames, const float* env, float* out,
                                           int start, int len, int j_lo, int j_hi) {
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= len * CHANNELS) {
        return;
    }
    int i = idx / CHANNELS;
    int ch = idx - i * CHANNELS;
    int s = start + i;
    int first = floor_div(s + FRAME_OFFSET - N_FFT, STFT_HOP) + 1;
    int last = floor_div(s + FRAME_OFFSET, STFT_HOP);
    if (first < j_lo) {
        first = j_lo;
    }
    if (last > j_hi) {
        last = j_hi;
    }
    float acc = 0.0f;
    for (int j = first; j <= last; ++j) {
        int n = s - (j * STFT_HOP - FRAME_OFFSET);
        acc += frames[((size_t)(j - j_lo) * CHANNELS + ch) * N_FFT + n];
    }
    out[idx] = acc / env[s];
}
