// tritium's ternary x int8 kernels in CUDA C, compiled at run time by NVRTC
// (src/gpu/src/cuda.rs). The same design as shaders/gemv.wgsl and
// shaders/gemm.wgsl, and the same G16 layout (src/gpu/src/layout.rs):
// weights as codes t + 1, 16 to a u32, weight 16w + 4j + b at bits 8b + 2j,
// so `(word >> 2j) & 0x03030303` lines four codes up with the four int8
// activations of activation word 4w + j; `__dp4a` multiplies and adds them;
// each row's activation sum is subtracted at the end (sum t a = sum c a -
// sum a).
//
// Exactness: every add that may leave i32 on the way (codes up to 2 make
// sum c a up to 256 K) is modulo 2^32 by definition: the accumulate inside
// __dp4a (PTX dp4a, 32-bit wrapping), and the reductions, the subtraction
// and the split-K atomicAdd on unsigned int. The final value fits in i32,
// so the host's bit cast of the u32 result is the exact accumulator.
// Needs compute capability 6.1 (__dp4a). No #include: NVRTC has no C
// library headers, so only builtin types (64-bit offsets as unsigned long
// long).

#define ZERO_WORD 0x55555555u

// Codes of slot j of a packed word: four bytes, codes of weights
// 16w + 4j + 0..3.
__device__ __forceinline__ unsigned int unpack(unsigned int word, unsigned int j) {
    return (word >> (2u * j)) & 0x03030303u;
}

// acc + four int8 x int8 products (signed x signed), wrapping.
__device__ __forceinline__ int dot4(unsigned int c, unsigned int a, int acc) {
    return __dp4a((int)c, (int)a, acc);
}

// Decode GEMV: one token row. A block of 64 threads owns 4 output rows and
// walks K in chunks of 64 packed words (1024 weights) per row:
//   load   : thread t copies word t of each of its 4 rows and the 4
//            activation words under it into shared memory;
//   unpack : thread t expands its packed words into 4 code words each;
//   compute: thread t takes code words t, t + 64, t + 128, t + 192 of each
//            row (words other threads unpacked) and dot4s them with the
//            matching activation words.
// The 64 partial sums of a row are added by a tree in shared memory.
#define WG 64u
#define GR 4u

extern "C" __global__ void __launch_bounds__(64) tritium_gemv(
    const unsigned int* __restrict__ wts,
    const unsigned int* __restrict__ acts,
    unsigned int* __restrict__ out,
    unsigned int n,
    unsigned int kw,
    unsigned int sums_off,
    unsigned int out_off)
{
    __shared__ unsigned int wpk[GR * WG];
    __shared__ unsigned int wun[GR * 4u * WG];
    __shared__ unsigned int xs[4u * WG];
    __shared__ unsigned int red[GR * WG];
    const unsigned int t = threadIdx.x;
    const unsigned int r0 = blockIdx.x * GR;
    int acc[GR] = {0, 0, 0, 0};
    const unsigned int chunks = (kw + WG - 1u) / WG;
    for (unsigned int c = 0; c < chunks; ++c) {
        const unsigned int wi = c * WG + t;
        for (unsigned int g = 0; g < GR; ++g) {
            const unsigned int row = r0 + g;
            unsigned int v = ZERO_WORD;
            if (row < n && wi < kw) {
                v = wts[(unsigned long long)row * kw + wi];
            }
            wpk[g * WG + t] = v;
        }
        for (unsigned int j = 0; j < 4u; ++j) {
            xs[t * 4u + j] = wi < kw ? acts[(unsigned long long)wi * 4u + j] : 0u;
        }
        __syncthreads();
        for (unsigned int g = 0; g < GR; ++g) {
            const unsigned int word = wpk[g * WG + t];
            for (unsigned int j = 0; j < 4u; ++j) {
                wun[g * 4u * WG + t * 4u + j] = unpack(word, j);
            }
        }
        __syncthreads();
        for (unsigned int s = 0; s < 4u; ++s) {
            const unsigned int q = t + s * WG;
            const unsigned int a = xs[q];
            for (unsigned int g = 0; g < GR; ++g) {
                acc[g] = dot4(wun[g * 4u * WG + q], a, acc[g]);
            }
        }
        __syncthreads();
    }
    for (unsigned int g = 0; g < GR; ++g) {
        red[g * WG + t] = (unsigned int)acc[g];
    }
    __syncthreads();
    for (unsigned int s = WG / 2u; s > 0u; s /= 2u) {
        if (t < s) {
            for (unsigned int g = 0; g < GR; ++g) {
                red[g * WG + t] += red[g * WG + t + s];
            }
        }
        __syncthreads();
    }
    if (t < GR) {
        const unsigned int row = r0 + t;
        if (row < n) {
            out[(unsigned long long)out_off + row] = red[t * WG] - acts[sums_off];
        }
    }
}

// Prefill GEMM: a block of 64 threads owns a tile of 64 output rows x 16
// token rows and walks K in chunks of 4 packed words (64 weights):
//   load   : the tile's 64 x 4 packed words and 16 x 16 activation words
//            into shared memory (4 + 4 per thread);
//   unpack : thread t expands packed words t, t + 64, t + 128, t + 192 into
//            4 code words each;
//   compute: thread t owns output row t of the tile: each of its 16 code
//            words meets the 16 token rows' activation words (256 dp4a per
//            chunk, 16 accumulators).
// Split K: block z covers chunks z * SEG .. (z + 1) * SEG and adds its sums
// to the zeroed accumulators with atomicAdd (exact and order-free: adds
// modulo 2^32); block z = 0 also subtracts the row sums.
#define SEG 256u
#define TN 64u
#define TM 16u
#define KC 4u
// Row stride of the unpacked tile: 16 code words + 1 (no bank conflicts).
#define US 17u

extern "C" __global__ void __launch_bounds__(64) tritium_gemm(
    const unsigned int* __restrict__ wts,
    const unsigned int* __restrict__ acts,
    unsigned int* __restrict__ out,
    unsigned int n,
    unsigned int kw,
    unsigned int sums_off,
    unsigned int out_off,
    unsigned int rows)
{
    __shared__ unsigned int gpk[TN * KC];
    __shared__ unsigned int gun[TN * US];
    __shared__ unsigned int gx[TM * 16u];
    const unsigned int t = threadIdx.x;
    const unsigned int n0 = blockIdx.x * TN;
    const unsigned int m0 = blockIdx.y * TM;
    int acc[TM];
    for (unsigned int m = 0; m < TM; ++m) {
        acc[m] = 0;
    }
    const unsigned int c0 = blockIdx.z * SEG;
    const unsigned int c1 = c0 + SEG < kw / KC ? c0 + SEG : kw / KC;
    for (unsigned int c = c0; c < c1; ++c) {
        for (unsigned int s = 0; s < 4u; ++s) {
            const unsigned int i = t + s * 64u;
            const unsigned int row = n0 + i / KC;
            unsigned int v = ZERO_WORD;
            if (row < n) {
                v = wts[(unsigned long long)row * kw + c * KC + i % KC];
            }
            gpk[i] = v;
            const unsigned int tok = m0 + i / 16u;
            unsigned int a = 0u;
            if (tok < rows) {
                a = acts[(unsigned long long)tok * kw * 4u + c * 16u + i % 16u];
            }
            gx[i] = a;
        }
        __syncthreads();
        for (unsigned int s = 0; s < 4u; ++s) {
            const unsigned int i = t + s * 64u;
            const unsigned int word = gpk[i];
            for (unsigned int j = 0; j < 4u; ++j) {
                gun[(i / KC) * US + (i % KC) * 4u + j] = unpack(word, j);
            }
        }
        __syncthreads();
        for (unsigned int q = 0; q < 16u; ++q) {
            const unsigned int cw = gun[t * US + q];
            for (unsigned int m = 0; m < TM; ++m) {
                acc[m] = dot4(cw, gx[m * 16u + q], acc[m]);
            }
        }
        __syncthreads();
    }
    const unsigned int row = n0 + t;
    if (row < n) {
        for (unsigned int m = 0; m < TM; ++m) {
            const unsigned int tok = m0 + m;
            if (tok < rows) {
                unsigned int v = (unsigned int)acc[m];
                if (blockIdx.z == 0u) {
                    v -= acts[sums_off + tok];
                }
                atomicAdd(&out[(unsigned long long)out_off + (unsigned long long)tok * n + row], v);
            }
        }
    }
}
