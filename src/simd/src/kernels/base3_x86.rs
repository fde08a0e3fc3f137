//! x86-64 single-token kernels over the base-3 `T3P16` layout
//! ([`crate::base3`]), per 64-byte chunk (16 rows x 20 inputs):
//! - AVX-512: the byte form (`gemv512`): per digit two byte adds step
//!   the remainders `r_m`, and two `vpdpbusd` multiply them with the
//!   token's own int8 activations (21 GB/s of weights per thread in cache
//!   on a Sapphire Rapids-class Xeon, against 18 for the 16-bit form).
//! - AVX2 (no byte dot product that does not saturate here): a shift and
//!   an AND split the bytes into the high halves of 16-bit lanes, then per
//!   digit `m` two `vpmulhuw` by `3^(m+1)` give `N_m` and `vpmaddwd` plus
//!   an add multiply them with the token's coefficient pairs.

#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::x86::{prefetch_streams, step_after, PREFETCH_CHUNKS};
use crate::base3::{B3Acts, B3Matrix, GROUP, POW3, TABLE_PER_GROUP};
use crate::layout::{Chunk, PANEL};

/// `vpmulhuw` as written. Through the intrinsic, LLVM sees the generic
/// widen-multiply-shift and, knowing the multiplier is a small constant,
/// rewrote it into 32-bit lane conversions at a third of the speed.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn mulhi256(a: __m256i, b: __m256i) -> __m256i {
    let o;
    std::arch::asm!(
        "vpmulhuw {o}, {a}, {b}",
        o = lateout(ymm_reg) o, a = in(ymm_reg) a, b = in(ymm_reg) b,
        options(pure, nomem, nostack, preserves_flags),
    );
    o
}

/// Groups per exact segment of [`gemv512`]: its two byte-product sums wrap
/// freely in i32, but `3 A - B = 256 D` must not, so `|D| <= 2 * 128 *
/// GROUP * SEGMENT_GROUPS = 2^22 * 1.25 < 2^23` (see [`gemv512`]).
const SEGMENT_GROUPS: usize = 1024;

/// `vpdpbusd` as written (kept from being split into `vpmaddubsw`-style
/// sequences; the operands are plain registers).
#[inline]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn dpbusd512(acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
    let mut acc = acc;
    std::arch::asm!(
        "vpdpbusd {acc}, {a}, {b}",
        acc = inout(zmm_reg) acc, a = in(zmm_reg) a, b = in(zmm_reg) b,
        options(pure, nomem, nostack, preserves_flags),
    );
    acc
}

/// One token, `P` panels from `p`, in the byte form of the identity: with
/// `r_0 = q` and `r_(m+1) = 3 r_m mod 256` (two byte adds, wrapping), digit
/// `m` is `floor(3 r_m / 256)` and `256 d_m = 3 r_m - r_(m+1)` exactly, so
///
/// ```text
/// 256 sum_m d_m a_m = 3 A - B,   A = sum_m r_m a_m,   B = sum_m r_(m+1) a_m
/// ```
///
/// and every product is an unsigned byte times the token's own int8
/// activation: one `vpdpbusd` each for `A` and `B` per digit over all 64
/// bytes of a chunk (16 rows x 4 bytes, the 4 bytes of row `i` meeting
/// activations `20g + 4m + j`), no shift, mask or coefficient table. Per
/// chunk 10 `vpdpbusd` and 10 byte adds (the 16-bit form needed 10
/// multiplies, 10 `vpdpwssd` and 2 splits).
///
/// Exact: `A` and `B` wrap in i32 (`vpdpbusd` does not saturate), but
/// `3 A - B` equals `256 D` modulo 2^32, and per segment of
/// [`SEGMENT_GROUPS`] `|256 D| < 2^31`, so it is `256 D` itself and an
/// arithmetic shift recovers `D`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn gemv512<const P: usize>(
    w: &B3Matrix,
    p: usize,
    a: &B3Acts,
    out: *mut i32,
    next: *const Chunk,
) {
    let groups = w.groups();
    let wp: [*const Chunk; P] = std::array::from_fn(|q| w.panel(p + q).as_ptr());
    let ap = a.raw().as_ptr();
    let mut total = [_mm512_set1_epi32(a.sum().wrapping_neg()); P];
    let mut g0 = 0;
    while g0 < groups {
        let g1 = (g0 + SEGMENT_GROUPS).min(groups);
        let mut sa = [_mm512_setzero_si512(); P];
        let mut sb = [_mm512_setzero_si512(); P];
        for g in g0..g1 {
            prefetch_streams::<P, PREFETCH_CHUNKS>(&wp, g, groups, next);
            let mut r: [__m512i; P] =
                std::array::from_fn(|q| _mm512_load_si512(wp[q].add(g) as *const __m512i));
            for m in 0..5 {
                let am =
                    _mm512_set1_epi32((ap.add(GROUP * g + 4 * m) as *const i32).read_unaligned());
                for q in 0..P {
                    sa[q] = dpbusd512(sa[q], r[q], am);
                    let twice = _mm512_add_epi8(r[q], r[q]);
                    r[q] = _mm512_add_epi8(twice, r[q]);
                    sb[q] = dpbusd512(sb[q], r[q], am);
                }
            }
        }
        for q in 0..P {
            let x = _mm512_sub_epi32(
                _mm512_add_epi32(_mm512_slli_epi32::<1>(sa[q]), sa[q]),
                sb[q],
            );
            total[q] = _mm512_add_epi32(total[q], _mm512_srai_epi32::<8>(x));
        }
        g0 = g1;
    }
    for (q, t) in total.iter().enumerate() {
        _mm512_storeu_si512(out.add(q * PANEL) as *mut __m512i, *t);
    }
}

/// Panels `p0 .. p0 + np` of `w` for one token, 4 at a time; then the
/// thread streams from `next` ([`crate::kernels::NextStep`]).
///
/// # Safety
/// AVX-512 F/BW/VNNI present; `p0 + np <= w.panels()`, `a` holds
/// `w.groups()` groups and `out` `np * 16` values (checked by the caller).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn panels_avx512(
    w: &B3Matrix,
    p0: usize,
    np: usize,
    a: &B3Acts,
    out: &mut [i32],
    next: *const Chunk,
) {
    let o = out.as_mut_ptr();
    let panel = |p: usize| w.panel(p).as_ptr();
    let mut lp = 0;
    while lp + 4 <= np {
        let then = step_after(panel, p0 + lp + 4, p0 + np, next);
        gemv512::<4>(w, p0 + lp, a, o.add(lp * PANEL), then);
        lp += 4;
    }
    while lp < np {
        let then = step_after(panel, p0 + lp + 1, p0 + np, next);
        gemv512::<1>(w, p0 + lp, a, o.add(lp * PANEL), then);
        lp += 1;
    }
}

/// One token, `P` panels from `p`; a chunk is two 256-bit halves (rows
/// 0-7 and 8-15), each with an even and an odd accumulator.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn gemv256<const P: usize>(
    w: &B3Matrix,
    p: usize,
    a: &B3Acts,
    out: *mut i32,
    next: *const Chunk,
) {
    let groups = w.groups();
    let wp: [*const Chunk; P] = std::array::from_fn(|q| w.panel(p + q).as_ptr());
    let hi = _mm256_set1_epi16(0xff00u16 as i16);
    let mut acc = [[_mm256_setzero_si256(); 4]; P];
    let tp = a.table().as_ptr();
    for g in 0..groups {
        prefetch_streams::<P, PREFETCH_CHUNKS>(&wp, g, groups, next);
        let t = tp.add(g * TABLE_PER_GROUP);
        for q in 0..P {
            let base = wp[q].add(g) as *const __m256i;
            for h in 0..2 {
                let raw = _mm256_load_si256(base.add(h));
                let even = _mm256_slli_epi16::<8>(raw);
                let odd = _mm256_and_si256(raw, hi);
                for m in 0..5 {
                    let pw = _mm256_set1_epi16(POW3[m] as i16);
                    let ce = _mm256_set1_epi32(*t.add(2 * m));
                    let co = _mm256_set1_epi32(*t.add(2 * m + 1));
                    let de = _mm256_madd_epi16(mulhi256(even, pw), ce);
                    let d_o = _mm256_madd_epi16(mulhi256(odd, pw), co);
                    acc[q][2 * h] = _mm256_add_epi32(acc[q][2 * h], de);
                    acc[q][2 * h + 1] = _mm256_add_epi32(acc[q][2 * h + 1], d_o);
                }
            }
        }
    }
    let s = _mm256_set1_epi32(a.sum());
    for (q, a) in acc.iter().enumerate() {
        for h in 0..2 {
            let v = _mm256_sub_epi32(_mm256_add_epi32(a[2 * h], a[2 * h + 1]), s);
            _mm256_storeu_si256(out.add(q * PANEL + 8 * h) as *mut __m256i, v);
        }
    }
}

/// The AVX2 twin of [`panels_avx512`], 2 panels at a time.
///
/// # Safety
/// AVX2 present; bounds as for [`panels_avx512`].
#[target_feature(enable = "avx2")]
pub unsafe fn panels_avx2(
    w: &B3Matrix,
    p0: usize,
    np: usize,
    a: &B3Acts,
    out: &mut [i32],
    next: *const Chunk,
) {
    let o = out.as_mut_ptr();
    let panel = |p: usize| w.panel(p).as_ptr();
    let mut lp = 0;
    while lp + 2 <= np {
        let then = step_after(panel, p0 + lp + 2, p0 + np, next);
        gemv256::<2>(w, p0 + lp, a, o.add(lp * PANEL), then);
        lp += 2;
    }
    while lp < np {
        let then = step_after(panel, p0 + lp + 1, p0 + np, next);
        gemv256::<1>(w, p0 + lp, a, o.add(lp * PANEL), then);
        lp += 1;
    }
}
