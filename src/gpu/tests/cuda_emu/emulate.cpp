// Runs src/gpu/src/shaders/bitlinear.cu on the CPU, for machines without
// CUDA: a block at a time, its 64 threads as std::threads, __syncthreads as
// a std::barrier, __shared__ arrays as function statics (one block runs at
// a time), __dp4a and atomicAdd emulated (wrapping). Checks both kernels
// against a naive i64 reference on ragged shapes and the worst case.
// Not a CUDA compiler: it checks the kernels' logic (indices, unpacking,
// the code/row-sum correction, split K), not NVRTC's acceptance of them.
// Run: src/gpu/tests/cuda_emu/run.sh
#include <barrier>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

struct Dim3 { unsigned x, y, z; };
thread_local Dim3 threadIdx;
Dim3 blockIdx;
std::barrier<>* block_barrier;
std::mutex atomic_mutex;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(x)
#define __restrict__ __restrict

inline void __syncthreads() { block_barrier->arrive_and_wait(); }

inline int __dp4a(int a, int b, int c) {
    uint32_t r = (uint32_t)c;
    for (int i = 0; i < 4; ++i) {
        int x = (int8_t)((uint32_t)a >> (8 * i));
        int y = (int8_t)((uint32_t)b >> (8 * i));
        r += (uint32_t)(x * y);
    }
    return (int)r;
}

inline unsigned atomicAdd(unsigned* p, unsigned v) {
    std::lock_guard<std::mutex> g(atomic_mutex);
    unsigned o = *p;
    *p = o + v;
    return o;
}

#include "../../src/shaders/bitlinear.cu"

template <class F>
static void launch(Dim3 grid, F body) {
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                blockIdx = {x, y, z};
                std::barrier<> bar(64);
                block_barrier = &bar;
                std::vector<std::thread> ts;
                for (unsigned t = 0; t < 64; ++t)
                    ts.emplace_back([t, &body] { threadIdx = {t, 0, 0}; body(); });
                for (auto& th : ts) th.join();
            }
}

// G16 (layout.rs): weight 16w + 4j + b at bits 8b + 2j, code t + 1;
// rows of kw = ceil(k / 64) * 4 words, padding code 1.
static std::vector<uint32_t> pack_g16(const std::vector<int8_t>& w, size_t n, size_t k, size_t kw) {
    std::vector<uint32_t> out(n * kw, 0x55555555u);
    for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < k; ++c) {
            size_t word = c / 16, j = (c % 16) / 4, b = c % 4;
            uint32_t& d = out[r * kw + word];
            unsigned shift = 8 * b + 2 * j;
            d = (d & ~(3u << shift)) | ((uint32_t)(w[r * k + c] + 1) << shift);
        }
    return out;
}

// Activation rows padded to 4 kw words, then the row sums.
static std::vector<uint32_t> pack_acts(const std::vector<int8_t>& a, size_t rows, size_t k, size_t kw) {
    std::vector<uint32_t> out(rows * kw * 4 + rows, 0);
    for (size_t r = 0; r < rows; ++r) {
        int32_t sum = 0;
        for (size_t c = 0; c < k; ++c) {
            out[r * kw * 4 + c / 4] |= (uint32_t)(uint8_t)a[r * k + c] << (8 * (c % 4));
            sum += a[r * k + c];
        }
        out[rows * kw * 4 + r] = (uint32_t)sum;
    }
    return out;
}

static int check(size_t n, size_t k, size_t rows, std::mt19937& rng, int wfix, int afix) {
    size_t kw = (k + 63) / 64 * 4;
    std::vector<int8_t> w(n * k), a(rows * k);
    for (auto& x : w) x = wfix ? wfix : (int8_t)(rng() % 3) - 1;
    for (auto& x : a) {
        unsigned s = rng() % 4;
        x = afix ? afix : s == 0 ? -128 : s == 1 ? 127 : (int8_t)rng();
    }
    auto wts = pack_g16(w, n, k, kw);
    auto acts = pack_acts(a, rows, k, kw);
    std::vector<uint32_t> out(rows * n + 3, 0xDEADBEEFu);
    unsigned off = 3;  // a group's later job: out_off
    unsigned sums_off = rows * kw * 4;
    if (rows == 1) {
        launch({(unsigned)((n + 3) / 4), 1, 1}, [&] {
            tritium_gemv(wts.data(), acts.data(), out.data(), n, kw, sums_off, off);
        });
    } else {
        for (size_t i = off; i < out.size(); ++i) out[i] = 0;
        unsigned chunks = kw / 4;
        launch({(unsigned)((n + 63) / 64), (unsigned)((rows + 15) / 16), (chunks + 255) / 256}, [&] {
            tritium_gemm(wts.data(), acts.data(), out.data(), n, kw, sums_off, off, rows);
        });
    }
    for (size_t r = 0; r < rows; ++r)
        for (size_t j = 0; j < n; ++j) {
            int64_t want = 0;
            for (size_t c = 0; c < k; ++c) want += (int64_t)w[j * k + c] * a[r * k + c];
            int32_t got = (int32_t)out[off + r * n + j];
            if (got != want) {
                std::printf("FAIL n %zu k %zu rows %zu at (%zu, %zu): %d != %lld\n", n, k, rows, r, j, got,
                            (long long)want);
                return 1;
            }
        }
    if (out[0] != 0xDEADBEEFu || out[2] != 0xDEADBEEFu) {
        std::printf("FAIL n %zu k %zu rows %zu: wrote before out_off\n", n, k, rows);
        return 1;
    }
    std::printf("ok   n %zu k %zu rows %zu\n", n, k, rows);
    return 0;
}

int main() {
    std::mt19937 rng(7);
    int fails = 0;
    const size_t shapes[][3] = {{1, 1, 1},   {5, 17, 1},  {70, 1000, 1}, {3, 1100, 1},  {67, 63, 2},
                                {1, 65, 17}, {65, 300, 16}, {70, 1030, 33}, {9, 20000, 3}, {2, 16400, 1}};
    for (auto& s : shapes) fails += check(s[0], s[1], s[2], rng, 0, 0);
    // Worst case |acc| = 128 K with K past 2^23: sum c a leaves i32.
    fails += check(1, (1 << 23) + 4096, 1, rng, 1, -128);
    fails += check(1, (1 << 23) + 4096, 2, rng, -1, 127);
    std::printf(fails ? "FAILED\n" : "all ok\n");
    return fails ? 1 : 0;
}
