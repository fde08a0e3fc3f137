// Shared part of tritium's ternary x int8 kernels (src/gpu/src/layout.rs
// describes the G16 weight layout; the dot4 function is prepended by the
// host: dot4I8Packed, or the shift/mask fallback).

struct Params {
    // Output rows (N) of this BitLinear.
    n: u32,
    // Packed words per weight row (a multiple of 4); activation words per
    // token row are 4 * kw.
    kw: u32,
    // Token rows of this call.
    rows: u32,
    // Where this call's accumulators start in `acc_out` (grouped calls).
    out_off: u32,
    // Where the token rows' activation sums start in `acts`.
    sums_off: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// G16 weights, n * kw words.
@group(0) @binding(1) var<storage, read> wts: array<u32>;
// rows * kw * 4 words of int8 activations (4 per word), then rows sums.
@group(0) @binding(2) var<storage, read> acts: array<u32>;
// (binding 3, the accumulators, is declared by each kernel: plain i32 for
// gemv, atomic for gemm's split-K adds.)

// Codes of slot j of a packed word: four bytes, codes of weights
// 16w + 4j + 0..3, lined up with activation word 4w + j.
fn unpack(word: u32, j: u32) -> u32 {
    return (word >> (2u * j)) & 0x03030303u;
}

fn act_sum(row: u32) -> i32 {
    return bitcast<i32>(acts[p.sums_off + row]);
}
