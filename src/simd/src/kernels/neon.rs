//! AArch64 NEON kernel over the `T2P16` layout (tested under qemu by
//! `scripts/test-neon.sh`).
//!
//! The 4-way byte dot product `sdot` is an optional extension whose Rust
//! intrinsic (`vdotq_s32`) is still unstable, so this path uses base NEON
//! only. A 64-byte chunk is four 16-byte quarters; quarter `q` (bytes
//! `16q .. 16q + 16`) holds rows `4q .. 4q + 4`, four bytes (inputs) per row.
//! For `j = 0..4`, `(quarter >> 2j) & 3` gives the codes of inputs
//! `16b + 4j .. + 4`, multiplied with those four activations broadcast:
//!
//! ```text
//! lo = sum_j smull(codes_j[0..8],  a_j)      i16: rows 4q, 4q+1 x 4 inputs
//! hi = sum_j smull2(codes_j[8..16], a_j)     i16: rows 4q+2, 4q+3
//! acc_q += sadalp(addp(lo, hi))              i32: rows 4q .. 4q+4
//! ```
//!
//! `addp` sums adjacent lanes of `lo:hi` (two inputs of one row) and
//! `sadalp` the next pair into i32, so one `int32x4` per quarter holds
//! exactly four consecutive output rows; no final shuffle. The i16 stages
//! are exact: `|c a| <= 2 * 128`, so `|lo|, |hi| <= 1024` and
//! `|addp| <= 2048`. As everywhere, the codes are `t + 1` and the row's
//! activation sum is subtracted at the end.
//!
//! Decode (one token row) walks two panels at once with eight independent
//! i32 accumulators (and sixteen short i16 chains per block), so the
//! multiply-accumulate latency never limits the load stream. Prefill
//! (several rows) unpacks each quarter once per block and reuses it for up
//! to four token rows.

// Index loops over small register arrays: they unroll to fixed registers
// and read closer to the instruction sequence than iterator chains.
#![allow(clippy::needless_range_loop)]

use std::arch::aarch64::*;

use super::Acts;
use crate::layout::{Chunk, PackedTernary, KBLOCK, PANEL};

/// The four activations at `p` broadcast to every 32-bit lane (unaligned).
#[inline(always)]
unsafe fn bcast4(p: *const i8) -> int8x16_t {
    vreinterpretq_s8_s32(vdupq_n_s32((p as *const i32).read_unaligned()))
}

/// Quarter `q` (rows `4q .. 4q + 4`) of chunk `c`.
#[inline(always)]
unsafe fn quarter(c: *const Chunk, q: usize) -> uint8x16_t {
    vld1q_u8((c as *const u8).add(16 * q))
}

/// The four code vectors of a quarter: `[j]` = bits `2j+1:2j` of each byte.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn unpack(raw: uint8x16_t) -> [int8x16_t; 4] {
    let m = vdupq_n_u8(3);
    [
        vreinterpretq_s8_u8(vandq_u8(raw, m)),
        vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8::<2>(raw), m)),
        vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8::<4>(raw), m)),
        // The top pair needs no mask.
        vreinterpretq_s8_u8(vshrq_n_u8::<6>(raw)),
    ]
}

/// One block of one quarter against one token row: `acc += rows 4q..4q+4`
/// of `sum_j codes[j] . av[j]` (see the module docs).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn dot_quarter(acc: int32x4_t, codes: &[int8x16_t; 4], av: &[int8x16_t; 4]) -> int32x4_t {
    let mut lo = vmull_s8(vget_low_s8(codes[0]), vget_low_s8(av[0]));
    let mut hi = vmull_high_s8(codes[0], av[0]);
    for j in 1..4 {
        lo = vmlal_s8(lo, vget_low_s8(codes[j]), vget_low_s8(av[j]));
        hi = vmlal_high_s8(hi, codes[j], av[j]);
    }
    vpadalq_s16(acc, vpaddq_s16(lo, hi))
}

/// Stores `acc - sum` for the 16 rows of one panel and one token row.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn store_panel(acc: &[int32x4_t; 4], sum: i32, out: *mut i32) {
    let s = vdupq_n_s32(sum);
    for q in 0..4 {
        vst1q_s32(out.add(4 * q), vsubq_s32(acc[q], s));
    }
}

/// One token row, `P` panels at once; `out` points at panel `p`'s block
/// (16 values per panel).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn gemv<const P: usize>(w: &PackedTernary, p: usize, a: &Acts, out: *mut i32) {
    let wp: [*const Chunk; P] = std::array::from_fn(|u| w.panel(p + u).as_ptr());
    let ap = a.data.as_ptr();
    let mut acc = [[vdupq_n_s32(0); 4]; P];
    for b in 0..w.kblocks() {
        let av: [int8x16_t; 4] = std::array::from_fn(|j| bcast4(ap.add(b * KBLOCK + 4 * j)));
        for u in 0..P {
            let c = wp[u].add(b);
            for q in 0..4 {
                acc[u][q] = dot_quarter(acc[u][q], &unpack(quarter(c, q)), &av);
            }
        }
    }
    for (u, acc) in acc.iter().enumerate() {
        store_panel(acc, a.sums[0], out.add(u * PANEL));
    }
}

/// One panel x `T` token rows from `r0`; `out` points at the panel's block
/// (`a.rows * 16` values).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn tile<const T: usize>(w: &PackedTernary, p: usize, a: &Acts, r0: usize, out: *mut i32) {
    let wp = w.panel(p).as_ptr();
    let ap: [*const i8; T] = std::array::from_fn(|t| a.data.as_ptr().add((r0 + t) * a.stride));
    let mut acc = [[vdupq_n_s32(0); 4]; T];
    for b in 0..w.kblocks() {
        let c = wp.add(b);
        for q in 0..4 {
            // Unpacked once, used by all T rows.
            let codes = unpack(quarter(c, q));
            for t in 0..T {
                let av: [int8x16_t; 4] =
                    std::array::from_fn(|j| bcast4(ap[t].add(b * KBLOCK + 4 * j)));
                acc[t][q] = dot_quarter(acc[t][q], &codes, &av);
            }
        }
    }
    for (t, acc) in acc.iter().enumerate() {
        store_panel(acc, a.sums[r0 + t], out.add((r0 + t) * PANEL));
    }
}

/// See [`super::ternary_panels`].
///
/// # Safety
/// NEON present; `a.check(w, p0, np, out)` holds.
#[target_feature(enable = "neon")]
pub unsafe fn panels_neon(w: &PackedTernary, p0: usize, np: usize, a: &Acts, out: &mut [i32]) {
    let o = out.as_mut_ptr();
    let blk = a.rows * PANEL;
    if a.rows == 1 {
        let mut q = 0;
        while q + 2 <= np {
            gemv::<2>(w, p0 + q, a, o.add(q * blk));
            q += 2;
        }
        if q < np {
            gemv::<1>(w, p0 + q, a, o.add(q * blk));
        }
        return;
    }
    for q in 0..np {
        let dst = o.add(q * blk);
        let mut r = 0;
        while r < a.rows {
            let t = (a.rows - r).min(4);
            match t {
                4 => tile::<4>(w, p0 + q, a, r, dst),
                3 => tile::<3>(w, p0 + q, a, r, dst),
                2 => tile::<2>(w, p0 + q, a, r, dst),
                _ => tile::<1>(w, p0 + q, a, r, dst),
            }
            r += t;
        }
    }
}
