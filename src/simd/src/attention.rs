//! Attention of one (query row, head) with AVX-512: the golden order of
//! [`tritium_golden::attention::attend_head`] on wider registers, so the same
//! bits.
//!
//! - Scores: element `i` of the head into lane `i % 16` of one register,
//!   a multiply then an add per step (never fused), the lanes combined by
//!   the golden [`reduce_lanes`], times the f32 scale. Four positions at a
//!   time for independent chains.
//! - Softmax: the golden one (its sum is a sequential chain).
//! - Output: `out[d] += p_j * v_j[d]` for `j` in order, `out` held in
//!   registers across positions (16 dimensions per register).
//!
//! AVX2 runs the same with each 16-lane register as two 256-bit halves
//! (lanes 0-7 and 8-15), the output in passes of 64 dimensions (eight
//! registers). Elsewhere (no AVX2, or a head size that is not a multiple of
//! 16) the golden function runs.
//!
//! An f16 cache ([`tritium_golden::kv`]) runs the same loops with each
//! load widened in the register (`vcvtph2ps`, exact): the golden order on
//! the widened values, from half the bytes (AVX2 needs F16C for it).

// Index loops over small register arrays: they unroll to fixed registers.
#![allow(clippy::needless_range_loop)]

use tritium_golden::attention::{attend_head, HeadFn, PairFn};
use tritium_golden::kv::f16;

use super::kernels::Isa;

/// The per-head attention function for `isa` (an f32 cache).
pub fn head_fn(isa: Isa) -> HeadFn {
    let isa = isa.vector();
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && isa.available() {
        return x86::attend_head_avx512::<f32>;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && isa.available() {
        return x86::attend_head_avx2::<f32>;
    }
    let _ = isa;
    attend_head::<f32>
}

/// Functions for two query heads of one KV head at once (f32 and f16
/// caches), where `isa` has them: AVX-512, each key and value row loaded
/// once for both heads (each head's operations in its own golden order).
pub fn pair_fns(isa: Isa) -> Option<(PairFn<f32>, PairFn<f16>)> {
    let isa = isa.vector();
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && isa.available() {
        return Some((
            x86::attend_pair_avx512::<f32>,
            x86::attend_pair_avx512::<f16>,
        ));
    }
    let _ = isa;
    None
}

/// The per-head attention function for `isa` and an f16 cache.
pub fn head_fn_f16(isa: Isa) -> HeadFn<f16> {
    let isa = isa.vector();
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && isa.available() {
        return x86::attend_head_avx512::<f16>;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && isa.available() && std::arch::is_x86_feature_detected!("f16c") {
        return x86::attend_head_avx2::<f16>;
    }
    let _ = isa;
    attend_head::<f16>
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use tritium_golden::attention::{attend_pair, HeadView};
    use tritium_golden::kv::KvElem;
    use tritium_golden::ops::{reduce_lanes, softmax, DOT_LANES};

    use super::*;

    /// A cache element the vector loops load: 16 (or 8) values at `p`,
    /// widened to f32 lanes.
    pub trait Lanes: KvElem {
        /// # Safety
        /// AVX-512F present; 16 values readable at `p`.
        unsafe fn load16(p: *const Self) -> __m512;
        /// # Safety
        /// AVX2 and F16C present; 8 values readable at `p`.
        unsafe fn load8(p: *const Self) -> __m256;
    }

    impl Lanes for f32 {
        #[inline(always)]
        unsafe fn load16(p: *const f32) -> __m512 {
            _mm512_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn load8(p: *const f32) -> __m256 {
            _mm256_loadu_ps(p)
        }
    }

    impl Lanes for f16 {
        #[inline(always)]
        unsafe fn load16(p: *const f16) -> __m512 {
            _mm512_cvtph_ps(_mm256_loadu_si256(p.cast()))
        }
        #[inline(always)]
        unsafe fn load8(p: *const f16) -> __m256 {
            _mm256_cvtph_ps(_mm_loadu_si128(p.cast()))
        }
    }

    /// Largest head dimension kept in registers (8 x 16).
    const MAX_REGS: usize = 8;

    pub fn attend_head_avx512<T: Lanes>(
        q: &[f32],
        k: HeadView<'_, T>,
        v: HeadView<'_, T>,
        scale: f32,
        sc: &mut [f32],
        o: &mut [f32],
    ) {
        if !fits(q, &k, &v, sc, o) {
            return attend_head(q, k, v, scale, sc, o);
        }
        let hd = q.len();
        // SAFETY: AVX-512F is present (head_fn checked it); every position
        // read is in bounds (checked above); q and o have hd elements.
        unsafe {
            match hd / DOT_LANES {
                1 => run::<T, 1>(q, k, v, scale, sc, o),
                2 => run::<T, 2>(q, k, v, scale, sc, o),
                3 => run::<T, 3>(q, k, v, scale, sc, o),
                4 => run::<T, 4>(q, k, v, scale, sc, o),
                5 => run::<T, 5>(q, k, v, scale, sc, o),
                6 => run::<T, 6>(q, k, v, scale, sc, o),
                7 => run::<T, 7>(q, k, v, scale, sc, o),
                _ => run::<T, 8>(q, k, v, scale, sc, o),
            }
        }
    }

    pub fn attend_pair_avx512<T: Lanes>(
        q: &[f32],
        k: HeadView<'_, T>,
        v: HeadView<'_, T>,
        scale: f32,
        [sa, sb]: [&mut [f32]; 2],
        [oa, ob]: [&mut [f32]; 2],
    ) {
        let hd = q.len() / 2;
        let qa = &q[..hd];
        if q.len() != 2 * hd || sa.len() != sb.len() || !fits(qa, &k, &v, sa, oa) || ob.len() != hd
        {
            return attend_pair(q, k, v, scale, [sa, sb], [oa, ob]);
        }
        // SAFETY: AVX-512F is present (pair_fns checked it); `fits` checked
        // the bounds for both heads (the same views and lengths); q holds
        // two heads of hd, each o has hd elements.
        unsafe {
            let (s, o) = ([sa, sb], [oa, ob]);
            match hd / DOT_LANES {
                1 => run_pair::<T, 1>(q, k, v, scale, s, o),
                2 => run_pair::<T, 2>(q, k, v, scale, s, o),
                3 => run_pair::<T, 3>(q, k, v, scale, s, o),
                4 => run_pair::<T, 4>(q, k, v, scale, s, o),
                5 => run_pair::<T, 5>(q, k, v, scale, s, o),
                6 => run_pair::<T, 6>(q, k, v, scale, s, o),
                7 => run_pair::<T, 7>(q, k, v, scale, s, o),
                _ => run_pair::<T, 8>(q, k, v, scale, s, o),
            }
        }
    }

    /// [`run`] for two heads sharing `k` and `v`: each key row's 16-value
    /// groups are loaded once and multiplied into both heads' accumulators
    /// (two positions at a time: 4 accumulators and 2 x S query registers),
    /// each value row's once and added into both heads' outputs.
    #[target_feature(enable = "avx512f")]
    unsafe fn run_pair<T: Lanes, const S: usize>(
        q: &[f32],
        k: HeadView<'_, T>,
        v: HeadView<'_, T>,
        scale: f32,
        [sa, sb]: [&mut [f32]; 2],
        [oa, ob]: [&mut [f32]; 2],
    ) {
        let hd = S * DOT_LANES;
        let qa: [__m512; S] =
            std::array::from_fn(|s| _mm512_loadu_ps(q.as_ptr().add(s * DOT_LANES)));
        let qb: [__m512; S] =
            std::array::from_fn(|s| _mm512_loadu_ps(q.as_ptr().add(hd + s * DOT_LANES)));
        let kp = k.data.as_ptr().add(k.off);
        let n = sa.len();
        let row_bytes = hd * std::mem::size_of::<T>();
        // Positions j, j + 1: both heads' lane sums.
        let dots2 = |j: usize| {
            if j + AHEAD + 2 <= n {
                prefetch_rows(kp.add((j + AHEAD) * k.stride), k.stride, row_bytes);
            }
            let mut acc = [_mm512_setzero_ps(); 4];
            for s in 0..S {
                for t in 0..2 {
                    let kv = T::load16(kp.add((j + t) * k.stride + s * DOT_LANES));
                    acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(qa[s], kv));
                    acc[2 + t] = _mm512_add_ps(acc[2 + t], _mm512_mul_ps(qb[s], kv));
                }
            }
            acc
        };
        let mut j = 0;
        let sv = _mm512_set1_ps(scale);
        while j + BLOCK <= n {
            let (mut pa, mut pb) = ([_mm512_setzero_ps(); BLOCK], [_mm512_setzero_ps(); BLOCK]);
            for t in (0..BLOCK).step_by(2) {
                let acc = dots2(j + t);
                (pa[t], pa[t + 1], pb[t], pb[t + 1]) = (acc[0], acc[1], acc[2], acc[3]);
            }
            _mm512_storeu_ps(sa.as_mut_ptr().add(j), _mm512_mul_ps(reduce16(&pa), sv));
            _mm512_storeu_ps(sb.as_mut_ptr().add(j), _mm512_mul_ps(reduce16(&pb), sv));
            j += BLOCK;
        }
        while j + 2 <= n {
            let acc = dots2(j);
            for t in 0..2 {
                sa[j + t] = reduce_lanes(lanes(acc[t])) * scale;
                sb[j + t] = reduce_lanes(lanes(acc[2 + t])) * scale;
            }
            j += 2;
        }
        if j < n {
            let (mut a, mut b) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            for s in 0..S {
                let kv = T::load16(kp.add(j * k.stride + s * DOT_LANES));
                a = _mm512_add_ps(a, _mm512_mul_ps(qa[s], kv));
                b = _mm512_add_ps(b, _mm512_mul_ps(qb[s], kv));
            }
            sa[j] = reduce_lanes(lanes(a)) * scale;
            sb[j] = reduce_lanes(lanes(b)) * scale;
        }
        softmax(sa);
        softmax(sb);
        let vp = v.data.as_ptr().add(v.off);
        let mut va: [__m512; S] =
            std::array::from_fn(|s| _mm512_loadu_ps(oa.as_ptr().add(s * DOT_LANES)));
        let mut vb: [__m512; S] =
            std::array::from_fn(|s| _mm512_loadu_ps(ob.as_ptr().add(s * DOT_LANES)));
        for (j, (&pa, &pb)) in sa.iter().zip(sb.iter()).enumerate() {
            if j % 2 == 0 && j + AHEAD + 2 <= n {
                prefetch_rows(vp.add((j + AHEAD) * v.stride), v.stride, row_bytes);
            }
            let (pa, pb) = (_mm512_set1_ps(pa), _mm512_set1_ps(pb));
            for s in 0..S {
                let vv = T::load16(vp.add(j * v.stride + s * DOT_LANES));
                va[s] = _mm512_add_ps(va[s], _mm512_mul_ps(pa, vv));
                vb[s] = _mm512_add_ps(vb[s], _mm512_mul_ps(pb, vv));
            }
        }
        for s in 0..S {
            _mm512_storeu_ps(oa.as_mut_ptr().add(s * DOT_LANES), va[s]);
            _mm512_storeu_ps(ob.as_mut_ptr().add(s * DOT_LANES), vb[s]);
        }
    }

    /// Positions ahead whose key and value rows a pair prefetches: a long
    /// context's rows come from memory (a head's rows are strided, one
    /// short run per position, which the hardware prefetchers follow late).
    const AHEAD: usize = 16;

    /// Prefetches two rows of `bytes` at `p` and `p + stride` elements.
    #[inline(always)]
    unsafe fn prefetch_rows<T>(p: *const T, stride: usize, bytes: usize) {
        for r in 0..2 {
            let row = p.add(r * stride).cast::<i8>();
            let mut off = 0;
            while off < bytes {
                _mm_prefetch::<_MM_HINT_T0>(row.add(off));
                off += 64;
            }
        }
    }

    /// Whether the vector loops can run: a head of whole 16-lane groups,
    /// at most [`MAX_REGS`] of them, and every position read in bounds
    /// (checked once, for the unchecked loops).
    fn fits<T>(q: &[f32], k: &HeadView<'_, T>, v: &HeadView<'_, T>, sc: &[f32], o: &[f32]) -> bool {
        let hd = q.len();
        let n = sc.len();
        let in_bounds =
            |h: &HeadView<'_, T>| n == 0 || (n - 1) * h.stride + h.off + h.len <= h.data.len();
        hd.is_multiple_of(DOT_LANES)
            && hd / DOT_LANES <= MAX_REGS
            && k.len == hd
            && v.len == hd
            && o.len() == hd
            && in_bounds(k)
            && in_bounds(v)
    }

    pub fn attend_head_avx2<T: Lanes>(
        q: &[f32],
        k: HeadView<'_, T>,
        v: HeadView<'_, T>,
        scale: f32,
        sc: &mut [f32],
        o: &mut [f32],
    ) {
        if !fits(q, &k, &v, sc, o) {
            return attend_head(q, k, v, scale, sc, o);
        }
        // SAFETY: AVX2 (and F16C for an f16 cache) is present (head_fn /
        // head_fn_f16 checked it); `fits` checked the bounds; q and o have
        // 16 * groups elements.
        unsafe { run256(q, k, v, scale, sc, o) }
    }

    /// The 16 lanes of a (low, high) pair of 256-bit registers.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn lanes256(lo: __m256, hi: __m256) -> [f32; DOT_LANES] {
        let mut l = [0.0f32; DOT_LANES];
        _mm256_storeu_ps(l.as_mut_ptr(), lo);
        _mm256_storeu_ps(l.as_mut_ptr().add(8), hi);
        l
    }

    /// [`run`] on 256-bit registers: 16-lane group `s` of a head is the pair
    /// of registers at `16 s` and `16 s + 8`.
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn run256<T: Lanes>(
        q: &[f32],
        k: HeadView<'_, T>,
        v: HeadView<'_, T>,
        scale: f32,
        sc: &mut [f32],
        o: &mut [f32],
    ) {
        let halves = q.len() / 8;
        let qp = q.as_ptr();
        let kp = k.data.as_ptr().add(k.off);
        let n = sc.len();
        let mut j = 0;
        while j + 2 <= n {
            let mut acc = [_mm256_setzero_ps(); 4];
            for s in 0..halves / 2 {
                for t in 0..2 {
                    let row = kp.add((j + t) * k.stride + s * DOT_LANES);
                    for h in 0..2 {
                        let qv = _mm256_loadu_ps(qp.add(s * DOT_LANES + 8 * h));
                        let kv = T::load8(row.add(8 * h));
                        acc[2 * t + h] = _mm256_add_ps(acc[2 * t + h], _mm256_mul_ps(qv, kv));
                    }
                }
            }
            for t in 0..2 {
                sc[j + t] = reduce_lanes(lanes256(acc[2 * t], acc[2 * t + 1])) * scale;
            }
            j += 2;
        }
        if j < n {
            let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let row = kp.add(j * k.stride);
            for s in 0..halves / 2 {
                let at = s * DOT_LANES;
                lo = _mm256_add_ps(
                    lo,
                    _mm256_mul_ps(_mm256_loadu_ps(qp.add(at)), T::load8(row.add(at))),
                );
                hi = _mm256_add_ps(
                    hi,
                    _mm256_mul_ps(_mm256_loadu_ps(qp.add(at + 8)), T::load8(row.add(at + 8))),
                );
            }
            sc[j] = reduce_lanes(lanes256(lo, hi)) * scale;
        }
        softmax(sc);
        // Output dimensions in passes of up to eight registers, each pass
        // over every position in order (each dimension's sum keeps the
        // golden order).
        let vp = v.data.as_ptr().add(v.off);
        let op = o.as_mut_ptr();
        let mut r0 = 0;
        while r0 < halves {
            let rest = halves - r0;
            let (vr, or) = (vp.add(r0 * 8), op.add(r0 * 8));
            match rest {
                2 => out_pass::<T, 2>(sc, vr, v.stride, or),
                4 => out_pass::<T, 4>(sc, vr, v.stride, or),
                6 => out_pass::<T, 6>(sc, vr, v.stride, or),
                _ => out_pass::<T, 8>(sc, vr, v.stride, or),
            }
            r0 += rest.min(8);
        }
    }

    /// `o[d] += p_j * v_j[d]` for the `8 R` dimensions at `o`, every
    /// position `j` in order, `o` held in `R` registers.
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn out_pass<T: Lanes, const R: usize>(
        p: &[f32],
        v: *const T,
        stride: usize,
        o: *mut f32,
    ) {
        let mut ov: [__m256; R] = std::array::from_fn(|r| _mm256_loadu_ps(o.add(r * 8)));
        for (j, &pj) in p.iter().enumerate() {
            let pv = _mm256_set1_ps(pj);
            let row = v.add(j * stride);
            for r in 0..R {
                ov[r] = _mm256_add_ps(ov[r], _mm256_mul_ps(pv, T::load8(row.add(r * 8))));
            }
        }
        for r in 0..R {
            _mm256_storeu_ps(o.add(r * 8), ov[r]);
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn lanes(acc: __m512) -> [f32; DOT_LANES] {
        let mut l = [0.0f32; DOT_LANES];
        _mm512_storeu_ps(l.as_mut_ptr(), acc);
        l
    }

    /// Positions whose scores the vector loops reduce at once ([`reduce16`]).
    const BLOCK: usize = 16;

    /// The 16 lane sums of 16 dot products (`acc[d]`: dot `d`'s lanes),
    /// each combined in the golden model's pinned tree order
    /// (`reduce_lanes`: lanes `l + 8`, then `l + 4`, `l + 2`, `l + 1` added
    /// into lane `l`), all at once: the same f32 additions of the same
    /// operands, on vectors that hold several dots' partial sums (15 adds
    /// and 30 shuffles, where one dot at a time took 15 scalar adds and 16
    /// loads each). Returns the sums in dot order.
    ///
    /// Level by level: two dots' halves (`shuffle_f32x4` 0x44 / 0xEE), then
    /// quarters (0x88 / 0xDD), then pairs within each 128-bit lane
    /// (`shuffle_ps` 0x44 / 0xEE), then single lanes (0x88 / 0xDD). The
    /// result comes out as a 4 x 4 transpose of the inputs' order, so dot
    /// `TRANSPOSE[s]` goes in as input `s` (the transpose is its own
    /// inverse).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn reduce16(acc: &[__m512; BLOCK]) -> __m512 {
        const TRANSPOSE: [usize; BLOCK] = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
        let a: [__m512; BLOCK] = std::array::from_fn(|s| acc[TRANSPOSE[s]]);
        let s1: [__m512; 8] = std::array::from_fn(|p| {
            let (x, y) = (a[2 * p], a[2 * p + 1]);
            _mm512_add_ps(
                _mm512_shuffle_f32x4::<0x44>(x, y),
                _mm512_shuffle_f32x4::<0xEE>(x, y),
            )
        });
        let s2: [__m512; 4] = std::array::from_fn(|p| {
            let (x, y) = (s1[2 * p], s1[2 * p + 1]);
            _mm512_add_ps(
                _mm512_shuffle_f32x4::<0x88>(x, y),
                _mm512_shuffle_f32x4::<0xDD>(x, y),
            )
        });
        let s3: [__m512; 2] = std::array::from_fn(|p| {
            let (x, y) = (s2[2 * p], s2[2 * p + 1]);
            _mm512_add_ps(
                _mm512_shuffle_ps::<0x44>(x, y),
                _mm512_shuffle_ps::<0xEE>(x, y),
            )
        });
        _mm512_add_ps(
            _mm512_shuffle_ps::<0x88>(s3[0], s3[1]),
            _mm512_shuffle_ps::<0xDD>(s3[0], s3[1]),
        )
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn run<T: Lanes, const S: usize>(
        q: &[f32],
        k: HeadView<'_, T>,
        v: HeadView<'_, T>,
        scale: f32,
        sc: &mut [f32],
        o: &mut [f32],
    ) {
        let qv: [__m512; S] =
            std::array::from_fn(|s| _mm512_loadu_ps(q.as_ptr().add(s * DOT_LANES)));
        let kp = k.data.as_ptr().add(k.off);
        let n = sc.len();
        // Positions j .. j + 4: their lane sums.
        let dots4 = |j: usize| {
            let mut acc = [_mm512_setzero_ps(); 4];
            for s in 0..S {
                for (t, a) in acc.iter_mut().enumerate() {
                    let kv = T::load16(kp.add((j + t) * k.stride + s * DOT_LANES));
                    *a = _mm512_add_ps(*a, _mm512_mul_ps(qv[s], kv));
                }
            }
            acc
        };
        let mut j = 0;
        let sv = _mm512_set1_ps(scale);
        while j + BLOCK <= n {
            let mut pend = [_mm512_setzero_ps(); BLOCK];
            for t in (0..BLOCK).step_by(4) {
                pend[t..t + 4].copy_from_slice(&dots4(j + t));
            }
            _mm512_storeu_ps(sc.as_mut_ptr().add(j), _mm512_mul_ps(reduce16(&pend), sv));
            j += BLOCK;
        }
        while j + 4 <= n {
            for (t, a) in dots4(j).iter().enumerate() {
                sc[j + t] = reduce_lanes(lanes(*a)) * scale;
            }
            j += 4;
        }
        while j < n {
            let mut a = _mm512_setzero_ps();
            for s in 0..S {
                let kv = T::load16(kp.add(j * k.stride + s * DOT_LANES));
                a = _mm512_add_ps(a, _mm512_mul_ps(qv[s], kv));
            }
            sc[j] = reduce_lanes(lanes(a)) * scale;
            j += 1;
        }
        softmax(sc);
        let vp = v.data.as_ptr().add(v.off);
        let mut ov: [__m512; S] =
            std::array::from_fn(|s| _mm512_loadu_ps(o.as_ptr().add(s * DOT_LANES)));
        for (j, &p) in sc.iter().enumerate() {
            let pv = _mm512_set1_ps(p);
            for s in 0..S {
                let vv = T::load16(vp.add(j * v.stride + s * DOT_LANES));
                ov[s] = _mm512_add_ps(ov[s], _mm512_mul_ps(pv, vv));
            }
        }
        for s in 0..S {
            _mm512_storeu_ps(o.as_mut_ptr().add(s * DOT_LANES), ov[s]);
        }
    }
}

#[cfg(test)]
mod tests {
    use tritium_golden::attention::HeadView;
    use tritium_golden::kv::KvElem;

    use super::*;

    /// Random heads of several sizes and lengths: the ISA's function and
    /// the golden one give the same bits (scores and outputs).
    #[test]
    fn attention_head_is_bitwise_golden_on_every_path() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 8.0
        };
        for isa in crate::present_kernels().unwrap() {
            let f = head_fn(isa);
            for &hd in &[16usize, 32, 48, 64, 80, 112, 128, 8, 40, 144] {
                for &n in &[1usize, 2, 3, 4, 5, 7, 16, 17, 34, 64, 131] {
                    let kvh = 3;
                    let stride = 5 * hd;
                    let kc: Vec<f32> = (0..n * stride).map(|_| rnd()).collect();
                    let vc: Vec<f32> = (0..n * stride).map(|_| rnd()).collect();
                    let q: Vec<f32> = (0..hd).map(|_| rnd()).collect();
                    let scale = (1.0 / (hd as f64).sqrt()) as f32;
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    // One head through `f` and through the golden loop:
                    // the same scores and outputs, bit for bit.
                    fn check<T: KvElem>(
                        f: HeadFn<T>,
                        q: &[f32],
                        (k, v): (HeadView<'_, T>, HeadView<'_, T>),
                        scale: f32,
                        what: &str,
                    ) -> (Vec<f32>, Vec<f32>) {
                        let (n, hd) = (k.data.len() / k.stride, q.len());
                        let (mut s1, mut o1) = (vec![0.0; n], vec![0.0; hd]);
                        let (mut s2, mut o2) = (vec![0.0; n], vec![0.0; hd]);
                        f(q, k, v, scale, &mut s1, &mut o1);
                        attend_head(q, k, v, scale, &mut s2, &mut o2);
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&s1), bits(&s2), "{what} scores");
                        assert_eq!(bits(&o1), bits(&o2), "{what} out");
                        (s1, o1)
                    }
                    let views = |k, v| {
                        (
                            HeadView::kv_head(k, stride, kvh, hd),
                            HeadView::kv_head(v, stride, kvh, hd),
                        )
                    };
                    let kv32 = views(&kc[..], &vc[..]);
                    check(f, &q, kv32, scale, &format!("{isa:?} hd {hd} n {n}"));
                    // The same from an f16 cache (values rounded once)...
                    let half = |c: &[f32]| c.iter().map(|&x| f16::narrow(x)).collect::<Vec<_>>();
                    let (kh, vh) = (half(&kc), half(&vc));
                    let kv16 = (
                        HeadView::kv_head(&kh[..], stride, kvh, hd),
                        HeadView::kv_head(&vh[..], stride, kvh, hd),
                    );
                    let what = format!("{isa:?} f16 hd {hd} n {n}");
                    let (s1, o1) = check(head_fn_f16(isa), &q, kv16, scale, &what);
                    // ... which is the f32 attention of the widened values.
                    let wide = |c: &[f16]| c.iter().map(|x| x.widen()).collect::<Vec<_>>();
                    let (kw, vw) = (wide(&kh), wide(&vh));
                    let (mut s2, mut o2) = (vec![0.0; n], vec![0.0; hd]);
                    let (k, v) = views(&kw[..], &vw[..]);
                    attend_head(&q, k, v, scale, &mut s2, &mut o2);
                    let what = format!("{isa:?} widened hd {hd} n {n}");
                    assert_eq!((bits(&s1), bits(&o1)), (bits(&s2), bits(&o2)), "{what}");
                    // Two heads at once: each head's bits, both cache types.
                    let Some((p32, p16)) = pair_fns(isa) else {
                        continue;
                    };
                    let q2: Vec<f32> = (0..2 * hd).map(|_| rnd()).collect();
                    fn check_pair<T: KvElem>(
                        pair: PairFn<T>,
                        q2: &[f32],
                        (k, v): (HeadView<'_, T>, HeadView<'_, T>),
                        scale: f32,
                        what: &str,
                    ) {
                        let (n, hd) = (k.data.len() / k.stride, q2.len() / 2);
                        let (mut sa, mut sb) = (vec![0.0; n], vec![0.0; n]);
                        let (mut oa, mut ob) = (vec![0.0; hd], vec![0.0; hd]);
                        pair(q2, k, v, scale, [&mut sa, &mut sb], [&mut oa, &mut ob]);
                        let (qa, qb) = q2.split_at(hd);
                        for (qh, sc, o, name) in [(qa, &sa, &oa, "a"), (qb, &sb, &ob, "b")] {
                            let (mut s2, mut o2) = (vec![0.0; n], vec![0.0; hd]);
                            attend_head(qh, k, v, scale, &mut s2, &mut o2);
                            let bits =
                                |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                            assert_eq!(bits(sc), bits(&s2), "{what} pair {name} scores");
                            assert_eq!(bits(o), bits(&o2), "{what} pair {name} out");
                        }
                    }
                    check_pair(p32, &q2, kv32, scale, &format!("{isa:?} hd {hd} n {n}"));
                    check_pair(p16, &q2, kv16, scale, &format!("{isa:?} f16 hd {hd} n {n}"));
                }
            }
        }
    }
}
