//! The AVX2 attention loops: one head, two query heads of one KV head at
//! once (each key and value row loaded once for both), two token rows of
//! such a pair (once for the four), or a decode step's scores and outputs
//! by KV head groups ([`tritium_golden::grouped`]: once for the group's
//! heads), each head's operations in the
//! golden order ([`tritium_golden::attention::attend_head`]) on 256-bit
//! registers: 16-lane group `s` of a head is the pair of registers at
//! `16 s` (lanes 0-7) and `16 s + 8` (lanes 8-15). f16 caches are widened
//! in the register (F16C, exact).
//!
//! - Scores: two positions at a time (4 accumulators per head: 8 with
//!   two heads, for independent add chains; one position for four
//!   heads), their lanes reduced eight positions at once ([`reduce8`]) in
//!   the golden tree order; key rows [`AHEAD`] positions on are
//!   prefetched (a long context's rows come from memory).
//! - Softmax: the golden one.
//! - Output: `out[d] += p_j * v_j[d]` for `j` in order, in passes of up
//!   to 64 dimensions (32 with two heads, 16 with four: eight
//!   accumulators), each value row loaded once per pass for the heads;
//!   the passes go over blocks of positions whose value rows stay in L1
//!   ([`OUT_BLOCK_BYTES`]), so a row comes from L2 or memory once; in a
//!   decode step each pass prefetches its share of the next block.

// Index loops over small register arrays: they unroll to fixed registers.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use tritium_golden::attention::{attend_head, attend_pair, attend_quad, HeadView};
use tritium_golden::grouped::{group_outputs, group_rows, group_scores};
use tritium_golden::ops::{reduce_lanes, softmax, DOT_LANES};

use super::x86::{fits, prefetch_row, prefetch_row_to, quad_fits, reads, Lanes, AHEAD};

/// Positions whose scores [`reduce8`] combines at once.
const BLOCK: usize = 8;

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
    // SAFETY: AVX2 and F16C are present (head_fn / head_fn_f16 checked
    // them); `fits` checked that every position read is in bounds and that
    // q and o have k.len elements, a multiple of 16.
    unsafe { run::<T, 1, 2>([q.as_ptr()], k, v, scale, [sc], [o.as_mut_ptr()]) }
}

pub fn attend_pair_avx2<T: Lanes>(
    q: &[f32],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    [sa, sb]: [&mut [f32]; 2],
    [oa, ob]: [&mut [f32]; 2],
) {
    let hd = q.len() / 2;
    let qa = &q[..hd];
    if q.len() != 2 * hd || sa.len() != sb.len() || !fits(qa, &k, &v, sa, oa) || ob.len() != hd {
        return attend_pair(q, k, v, scale, [sa, sb], [oa, ob]);
    }
    // SAFETY: AVX2 and F16C are present (pair_fns checked them); `fits`
    // checked the bounds for both heads (the same views and lengths); q
    // holds two heads of hd, each o has hd elements.
    unsafe {
        let (qa, qb) = (q.as_ptr(), q.as_ptr().add(hd));
        let o = [oa.as_mut_ptr(), ob.as_mut_ptr()];
        run::<T, 2, 2>([qa, qb], k, v, scale, [sa, sb], o)
    }
}

pub fn attend_quad_avx2<T: Lanes>(
    q: [&[f32]; 2],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    s: [&mut [f32]; 4],
    o: [&mut [f32]; 4],
) {
    let hd = q[0].len() / 2;
    if !quad_fits(&q, &k, &v, &s, &o) {
        return attend_quad(q, k, v, scale, s, o);
    }
    // SAFETY: AVX2 and F16C are present (quad_fns checked them); `quad_fits`
    // checked the bounds for the longer row (the same views, n + 1
    // positions); each q holds two heads of hd, each o hd elements.
    unsafe {
        let qp = [
            q[0].as_ptr(),
            q[0].as_ptr().add(hd),
            q[1].as_ptr(),
            q[1].as_ptr().add(hd),
        ];
        run_quad::<T>(qp, k, v, scale, s, o.map(|o| o.as_mut_ptr()))
    }
}

/// The scores of a KV head's 1, 2 or 4 query heads at `len` positions
/// from `from` ([`tritium_golden::grouped::ScoresFn`]): each key row loaded
/// once for the heads, as [`run`] and [`run_quad`] do.
pub fn group_scores_avx2<T: Lanes>(
    q: &[f32],
    k: HeadView<'_, T>,
    scale: f32,
    from: usize,
    out: &mut [f32],
) {
    let hd = k.len;
    let (g, len) = group_rows(q.len(), hd, out.len()).unwrap_or((0, 0));
    let fits = hd.is_multiple_of(DOT_LANES)
        && q.len() == g * hd
        && out.len() == g * len
        && reads(&k, from, len);
    if !fits || !matches!(g, 1 | 2 | 4) {
        return group_scores(q, k, scale, from, out);
    }
    let mut rows = out.chunks_exact_mut(len);
    let mut row = || rows.next().expect("g rows of len scores");
    // SAFETY: AVX2 and F16C are present (group_fns checked them); positions
    // from .. from + len are in bounds of k (checked above), hd a multiple
    // of 16; q holds g heads of hd values, each score row len.
    unsafe {
        let keys = Keys {
            p: k.data.as_ptr().add(k.off + from * k.stride),
            stride: k.stride,
            hd,
            n: len,
        };
        let qp = |h: usize| q.as_ptr().add(h * hd);
        match g {
            4 => {
                let mut sc = [row(), row(), row(), row()];
                scores::<T, 4, 1>(keys, [qp(0), qp(1), qp(2), qp(3)], scale, &mut sc, len)
            }
            2 => scores::<T, 2, 2>(keys, [qp(0), qp(1)], scale, &mut [row(), row()], len),
            _ => scores::<T, 1, 2>(keys, [qp(0)], scale, &mut [row()], len),
        }
    }
}

/// The outputs of a KV head's 1, 2 or 4 query heads over the dimensions
/// of `v` ([`tritium_golden::grouped::OutputsFn`]): [`outputs`], each
/// value row's part loaded once per pass for the heads.
pub fn group_outputs_avx2<T: Lanes>(p: &[f32], v: HeadView<'_, T>, out: &mut [f32]) {
    let dims = v.len;
    let (g, n) = group_rows(out.len(), dims, p.len()).unwrap_or((0, 0));
    // Whole 16-lane groups: a pass then always covers an even number of
    // 8-lane halves (what `outputs` dispatches on).
    let fits = dims.is_multiple_of(DOT_LANES)
        && out.len() == g * dims
        && p.len() == g * n
        && reads(&v, 0, n);
    if !fits || !matches!(g, 1 | 2 | 4) {
        return group_outputs(p, v, out);
    }
    let probs = |h: usize| &p[h * n..][..n];
    let base = out.as_mut_ptr();
    let o = |h: usize| base.wrapping_add(h * dims);
    // SAFETY: AVX2 and F16C are present (group_fns checked them); positions
    // 0..n of v are in bounds (checked above), dims a multiple of 16; each
    // of the g output rows holds dims values, each probability row n.
    unsafe {
        match g {
            4 => outputs::<T, 4>(
                [probs(0), probs(1), probs(2), probs(3)],
                &v,
                [o(0), o(1), o(2), o(3)],
                (0, n),
                true,
            ),
            2 => outputs::<T, 2>([probs(0), probs(1)], &v, [o(0), o(1)], (0, n), true),
            _ => outputs::<T, 1>([probs(0)], &v, [o(0)], (0, n), true),
        }
    }
}

/// `H` query heads (queries at `q`, `k.len` values each) over the same
/// keys and values: scores into `sc`, outputs added into `o`; the dot
/// products `P` positions at a time (`2 H P` independent add chains).
///
/// # Safety
/// AVX2 and F16C present; `k.len` a multiple of 16; every position of
/// `sc` readable in `k` and `v`; `k.len` values at each `q` and `o`.
#[target_feature(enable = "avx2,f16c")]
unsafe fn run<T: Lanes, const H: usize, const P: usize>(
    q: [*const f32; H],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    mut sc: [&mut [f32]; H],
    o: [*mut f32; H],
) {
    let n = sc[0].len();
    scores::<T, H, P>(Keys::of(&k, n), q, scale, &mut sc, n);
    for s in sc.iter_mut() {
        softmax(s);
    }
    let probs: [&[f32]; H] = std::array::from_fn(|h| &*sc[h]);
    outputs::<T, H>(probs, &v, o, (0, n), false);
}

/// Two token rows of a pair of heads (queries `q[r]`, two heads each):
/// heads 0 and 1 (row 0) attend the first `n - 1` positions, heads 2 and
/// 3 (row 1) all `n`. Each key row is loaded once for the four heads' dot
/// products, each value row once per pass for the four outputs: a
/// prompt's keys and values of one KV head come from L2 or beyond, and
/// the pair read them for two heads.
///
/// # Safety
/// As [`run`], with `sc[2]` and `sc[3]` of `n` >= 2 positions, `sc[0]`
/// and `sc[1]` of `n - 1`.
#[target_feature(enable = "avx2,f16c")]
unsafe fn run_quad<T: Lanes>(
    q: [*const f32; 4],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    sc: [&mut [f32]; 4],
    o: [*mut f32; 4],
) {
    let n = sc[2].len();
    let m = n - 1;
    let keys = Keys::of(&k, n);
    let [s0, s1, s2, s3] = sc;
    let (t2, t3) = (s2.split_at_mut(m), s3.split_at_mut(m));
    scores::<T, 4, 1>(keys, q, scale, &mut [s0, s1, t2.0, t3.0], m);
    // Row 1's last position.
    let d = keys.dots::<2, 1>([q[2], q[3]], m);
    t2.1[0] = reduce_lanes(lanes(d[0][0][0], d[0][0][1])) * scale;
    t3.1[0] = reduce_lanes(lanes(d[1][0][0], d[1][0][1])) * scale;
    for s in [&mut *s0, &mut *s1, &mut *s2, &mut *s3] {
        softmax(s);
    }
    outputs::<T, 4>([&*s0, &*s1, &*s2, &*s3], &v, o, (0, m), false);
    outputs::<T, 2>([&*s2, &*s3], &v, [o[2], o[3]], (m, n), false);
}

/// Scores of positions `0..n` for `H` heads: `P` positions at a time,
/// their lanes reduced [`BLOCK`] positions at once ([`reduce8`]), the rest
/// one at a time, each times `scale`.
#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn scores<T: Lanes, const H: usize, const P: usize>(
    keys: Keys<T>,
    q: [*const f32; H],
    scale: f32,
    sc: &mut [&mut [f32]; H],
    n: usize,
) {
    let sv = _mm256_set1_ps(scale);
    let mut j = 0;
    while j + BLOCK <= n {
        let mut x = [[_mm256_setzero_ps(); BLOCK]; H];
        for t in (0..BLOCK).step_by(P) {
            for u in 0..P {
                keys.prefetch(j + t + u + AHEAD);
            }
            let d = keys.dots::<H, P>(q, j + t);
            for h in 0..H {
                for u in 0..P {
                    // The golden tree's first level: lane l + 8 into l.
                    x[h][t + u] = _mm256_add_ps(d[h][u][0], d[h][u][1]);
                }
            }
        }
        for h in 0..H {
            let s = _mm256_mul_ps(reduce8(&x[h]), sv);
            _mm256_storeu_ps(sc[h].as_mut_ptr().add(j), s);
        }
        j += BLOCK;
    }
    while j < n {
        let d = keys.dots::<H, 1>(q, j);
        for h in 0..H {
            sc[h][j] = reduce_lanes(lanes(d[h][0][0], d[h][0][1])) * scale;
        }
        j += 1;
    }
}

/// `o_h[d] += p_h[j] * v_j[d]` for positions `j` in `from..to` in order
/// (`p[h]` holds at least `to` probabilities), in blocks of positions
/// whose value rows stay in L1 across the passes over the dimensions
/// (each row comes from L2 or memory once, not once per pass).
///
/// With `from_memory` (a decode step: each value row read once per token)
/// the first block's rows are prefetched up front and each next block's
/// into L2 by the passes over the one before it, a share each, so memory
/// works through all of a block's passes. Otherwise (a prompt, whose rows
/// its items share from L2) the first pass fetches the rows [`AHEAD`]
/// positions on into L1: the shares measured 2-3 % slower there.
///
/// # Safety
/// AVX2 and F16C present; `v.len` a multiple of 16 (each pass covers an
/// even number of 8-lane halves); positions `from..to` of `v` readable;
/// `v.len` values at each `o[h]`.
#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn outputs<T: Lanes, const H: usize>(
    p: [&[f32]; H],
    v: &HeadView<'_, T>,
    o: [*mut f32; H],
    (from, to): (usize, usize),
    from_memory: bool,
) {
    let vp = v.data.as_ptr().add(v.off);
    let row_bytes = v.len * std::mem::size_of::<T>();
    let halves = v.len / 8;
    let per_pass = 8 / H;
    let passes = halves.div_ceil(per_pass);
    let share = row_bytes.div_ceil(passes).next_multiple_of(64);
    let block = (OUT_BLOCK_BYTES / row_bytes).max(AHEAD);
    if from_memory {
        for j in from..(from + block).min(to) {
            prefetch_row(vp.add(j * v.stride), row_bytes);
        }
    }
    let mut j0 = from;
    while j0 < to {
        let j1 = (j0 + block).min(to);
        let probs: [&[f32]; H] = std::array::from_fn(|h| &p[h][j0..j1]);
        let vb = vp.add(j0 * v.stride);
        let mut r0 = 0;
        let mut pass = 0;
        while r0 < halves {
            let r = (halves - r0).min(per_pass);
            let vr = vb.add(r0 * 8);
            let or = o.map(|p| p.add(r0 * 8));
            let ahead = if from_memory {
                let off = pass * share;
                Ahead {
                    row: vb.cast::<u8>().add(off),
                    dist: block,
                    bytes: share.min(row_bytes.saturating_sub(off)),
                    rows: to - j0,
                    to_l2: true,
                }
            } else {
                Ahead {
                    row: vb.cast::<u8>(),
                    dist: AHEAD,
                    bytes: if pass == 0 { row_bytes } else { 0 },
                    rows: to - j0,
                    to_l2: false,
                }
            };
            match r {
                2 => out_pass::<T, H, 2>(probs, vr, v.stride, or, ahead),
                4 => out_pass::<T, H, 4>(probs, vr, v.stride, or, ahead),
                6 => out_pass::<T, H, 6>(probs, vr, v.stride, or, ahead),
                _ => out_pass::<T, H, 8>(probs, vr, v.stride, or, ahead),
            }
            r0 += r;
            pass += 1;
        }
        j0 = j1;
    }
}

/// What an output pass prefetches: at position `j` of its block, `bytes`
/// from `row` (its block's first row, at this pass's share of it) of the
/// row `dist` positions on, while that is below `rows`; into L2 with
/// `to_l2` (not to evict the block the passes work on from L1), else L1.
#[derive(Clone, Copy)]
struct Ahead {
    row: *const u8,
    dist: usize,
    bytes: usize,
    rows: usize,
    to_l2: bool,
}

/// Bytes of value rows an output block spans (half of a 32 KB L1). A
/// 2B4T-shaped prompt's attention (2 threads, f32 cache, Zen 3) took
/// 0.76-0.90x the time (median 0.83x) of passes over all positions.
const OUT_BLOCK_BYTES: usize = 16 << 10;

/// A KV head's keys: `n` positions of `hd` values, `stride` apart from
/// `p`.
#[derive(Clone, Copy)]
struct Keys<T> {
    p: *const T,
    stride: usize,
    hd: usize,
    n: usize,
}

impl<T: Lanes> Keys<T> {
    /// The keys of a view, `n` positions.
    unsafe fn of(k: &HeadView<'_, T>, n: usize) -> Keys<T> {
        Keys {
            p: k.data.as_ptr().add(k.off),
            stride: k.stride,
            hd: k.len,
            n,
        }
    }

    /// Fetches position `j`'s row into the cache, if there is one.
    #[inline(always)]
    unsafe fn prefetch(self, j: usize) {
        if j < self.n {
            prefetch_row(
                self.p.add(j * self.stride),
                self.hd * std::mem::size_of::<T>(),
            );
        }
    }

    /// Positions `j .. j + P`: `acc[h][t]` is head `h`'s lane sums with
    /// position `j + t` as (lanes 0-7, lanes 8-15), each key register
    /// loaded once for the `H` heads.
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn dots<const H: usize, const P: usize>(
        self,
        q: [*const f32; H],
        j: usize,
    ) -> [[[__m256; 2]; P]; H] {
        let mut acc = [[[_mm256_setzero_ps(); 2]; P]; H];
        for s in (0..self.hd).step_by(DOT_LANES) {
            for half in 0..2 {
                let qv: [__m256; H] =
                    std::array::from_fn(|h| _mm256_loadu_ps(q[h].add(s + 8 * half)));
                for t in 0..P {
                    let kv = T::load8(self.p.add((j + t) * self.stride + s + 8 * half));
                    for h in 0..H {
                        let a = &mut acc[h][t][half];
                        *a = _mm256_add_ps(*a, _mm256_mul_ps(qv[h], kv));
                    }
                }
            }
        }
        acc
    }
}

/// The 16 lanes of a (low, high) pair of registers.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn lanes(lo: __m256, hi: __m256) -> [f32; DOT_LANES] {
    let mut l = [0.0f32; DOT_LANES];
    _mm256_storeu_ps(l.as_mut_ptr(), lo);
    _mm256_storeu_ps(l.as_mut_ptr().add(8), hi);
    l
}

/// The sums of 8 dot products whose 16 lanes are already folded to 8
/// (`x[d]` lane `l`: dot `d`'s lanes `l` + `l + 8`, the golden tree's
/// first level), each finished in the golden order of
/// [`reduce_lanes`] (lane `l + 4`, then `l + 2`, then `l + 1` added
/// into lane `l`), all at once: the same f32 additions of the same
/// operands, 7 adds and 14 shuffles where one dot at a time took 7
/// scalar adds and a store. Returns the sums in dot order.
///
/// Level by level: two dots' 128-bit halves (`vperm2f128` 0x20 / 0x31),
/// then pairs within each half (`shufps` 0x44 / 0xEE), then single lanes
/// (0x88 / 0xDD). The result's lanes 0-3 come from inputs 0, 2, 4, 6 and
/// lanes 4-7 from inputs 1, 3, 5, 7, so dot `PERM[i]` goes in as input
/// `i`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn reduce8(x: &[__m256; BLOCK]) -> __m256 {
    const PERM: [usize; BLOCK] = [0, 4, 1, 5, 2, 6, 3, 7];
    let a: [__m256; BLOCK] = std::array::from_fn(|i| x[PERM[i]]);
    let s1: [__m256; 4] = std::array::from_fn(|p| {
        let (x, y) = (a[2 * p], a[2 * p + 1]);
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(x, y),
            _mm256_permute2f128_ps::<0x31>(x, y),
        )
    });
    let s2: [__m256; 2] = std::array::from_fn(|p| {
        let (x, y) = (s1[2 * p], s1[2 * p + 1]);
        _mm256_add_ps(
            _mm256_shuffle_ps::<0x44>(x, y),
            _mm256_shuffle_ps::<0xEE>(x, y),
        )
    });
    _mm256_add_ps(
        _mm256_shuffle_ps::<0x88>(s2[0], s2[1]),
        _mm256_shuffle_ps::<0xDD>(s2[0], s2[1]),
    )
}

/// `o_h[d] += p_h[j] * v_j[d]` for the `8 R` dimensions at each `o_h`
/// (`v` points at the first position's first of them), every position
/// of `p` in order, the `H x R` sums held in registers, prefetching
/// `ahead` ([`Ahead`]; `stride` in elements of `T`).
#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn out_pass<T: Lanes, const H: usize, const R: usize>(
    p: [&[f32]; H],
    v: *const T,
    stride: usize,
    o: [*mut f32; H],
    ahead: Ahead,
) {
    let mut acc: [[__m256; R]; H] =
        std::array::from_fn(|h| std::array::from_fn(|r| _mm256_loadu_ps(o[h].add(r * 8))));
    let n = p[0].len();
    for j in 0..n {
        if ahead.bytes > 0 && j + ahead.dist < ahead.rows {
            let at = (j + ahead.dist) * stride * std::mem::size_of::<T>();
            if ahead.to_l2 {
                prefetch_row_to::<u8, _MM_HINT_T1>(ahead.row.add(at), ahead.bytes);
            } else {
                prefetch_row(ahead.row.add(at), ahead.bytes);
            }
        }
        let row = v.add(j * stride);
        let pv: [__m256; H] = std::array::from_fn(|h| _mm256_set1_ps(*p[h].get_unchecked(j)));
        for r in 0..R {
            let vv = T::load8(row.add(r * 8));
            for h in 0..H {
                acc[h][r] = _mm256_add_ps(acc[h][r], _mm256_mul_ps(pv[h], vv));
            }
        }
    }
    for h in 0..H {
        for r in 0..R {
            _mm256_storeu_ps(o[h].add(r * 8), acc[h][r]);
        }
    }
}
