//! The AVX-512 attention loops: each head's operations in the golden
//! order ([`tritium_golden::attention::attend_head`]), with the keys and
//! values of f32 or f16 caches; the cache element trait and bounds check
//! the AVX2 loops ([`super::avx2`]) share.

use std::arch::x86_64::*;

use tritium_golden::attention::{attend_pair, attend_quad, HeadView};
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

/// Runs `$e` with the const `$S` set to `$g` (the 16-value groups of a
/// head, 1..=[`MAX_REGS`]; larger heads never get here, see [`fits`]).
macro_rules! by_groups {
    ($g:expr, $S:ident => $e:expr) => {
        match $g {
            1 => { const $S: usize = 1; $e }
            2 => { const $S: usize = 2; $e }
            3 => { const $S: usize = 3; $e }
            4 => { const $S: usize = 4; $e }
            5 => { const $S: usize = 5; $e }
            6 => { const $S: usize = 6; $e }
            7 => { const $S: usize = 7; $e }
            _ => { const $S: usize = MAX_REGS; $e }
        }
    };
}

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
    unsafe { by_groups!(hd / DOT_LANES, S => run::<T, S>(q, k, v, scale, sc, o)) }
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
    if q.len() != 2 * hd || sa.len() != sb.len() || !fits(qa, &k, &v, sa, oa) || ob.len() != hd {
        return attend_pair(q, k, v, scale, [sa, sb], [oa, ob]);
    }
    // SAFETY: AVX-512F is present (pair_fns checked it); `fits` checked
    // the bounds for both heads (the same views and lengths); q holds
    // two heads of hd, each o has hd elements.
    unsafe {
        let (s, o) = ([sa, sb], [oa, ob]);
        by_groups!(hd / DOT_LANES, S => run_pair::<T, S>(q, k, v, scale, s, o))
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
    let qa: [__m512; S] = std::array::from_fn(|s| _mm512_loadu_ps(q.as_ptr().add(s * DOT_LANES)));
    let qb: [__m512; S] =
        std::array::from_fn(|s| _mm512_loadu_ps(q.as_ptr().add(hd + s * DOT_LANES)));
    let kp = k.data.as_ptr().add(k.off);
    let n = sa.len();
    let keys = Keys {
        p: kp,
        stride: k.stride,
        n,
    };
    let mut j = 0;
    let sv = _mm512_set1_ps(scale);
    while j + BLOCK <= n {
        let [a, b] = keys.block::<S>(&qa, &qb, j, true);
        _mm512_storeu_ps(sa.as_mut_ptr().add(j), _mm512_mul_ps(reduce16(&a), sv));
        _mm512_storeu_ps(sb.as_mut_ptr().add(j), _mm512_mul_ps(reduce16(&b), sv));
        j += BLOCK;
    }
    while j + 2 <= n {
        let acc = keys.dots2::<S>(&qa, &qb, j, true);
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
    let row_bytes = hd * std::mem::size_of::<T>();
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

/// A head's keys as the pair and quad loops read them: `n` positions
/// (the dot products' length), `stride` values apart from `p`.
#[derive(Clone, Copy)]
struct Keys<T> {
    p: *const T,
    stride: usize,
    n: usize,
}

impl<T: Lanes> Keys<T> {
    /// Positions `j`, `j + 1`: the lane sums of heads `a` (0, 1) and `b`
    /// (2, 3), each key group loaded once for both; with `prefetch`, the
    /// rows [`AHEAD`] positions on are fetched.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn dots2<const S: usize>(
        self,
        qa: &[__m512; S],
        qb: &[__m512; S],
        j: usize,
        prefetch: bool,
    ) -> [__m512; 4] {
        let row_bytes = S * DOT_LANES * std::mem::size_of::<T>();
        if prefetch && j + AHEAD + 2 <= self.n {
            prefetch_rows(
                self.p.add((j + AHEAD) * self.stride),
                self.stride,
                row_bytes,
            );
        }
        let mut acc = [_mm512_setzero_ps(); 4];
        for s in 0..S {
            for t in 0..2 {
                let kv = T::load16(self.p.add((j + t) * self.stride + s * DOT_LANES));
                acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(qa[s], kv));
                acc[2 + t] = _mm512_add_ps(acc[2 + t], _mm512_mul_ps(qb[s], kv));
            }
        }
        acc
    }

    /// Positions `j .. j + 16`: both heads' lane sums, for [`reduce16`].
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn block<const S: usize>(
        self,
        qa: &[__m512; S],
        qb: &[__m512; S],
        j: usize,
        prefetch: bool,
    ) -> [[__m512; BLOCK]; 2] {
        let mut p = [[_mm512_setzero_ps(); BLOCK]; 2];
        for t in (0..BLOCK).step_by(2) {
            let acc = self.dots2::<S>(qa, qb, j + t, prefetch);
            (p[0][t], p[0][t + 1], p[1][t], p[1][t + 1]) = (acc[0], acc[1], acc[2], acc[3]);
        }
        p
    }
}

pub fn attend_quad_avx512<T: Lanes>(
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
    // SAFETY: AVX-512F is present (quad_fns checked it); `quad_fits`
    // checked the bounds for the longer row (the same views, n + 1
    // positions); each q holds two heads of hd, each o hd elements.
    unsafe { by_groups!(hd / DOT_LANES, S => run_quad::<T, S>(q, k, v, scale, s, o)) }
}

/// [`run_pair`] for two token rows of the pair (row 1 one position
/// longer): each key row is loaded once into registers for the four
/// heads' dot products (their queries read from L1), and each value
/// row once per pass of up to four 16-value groups, added into the
/// four outputs' registers. A prompt's keys and values of one KV head
/// come from L2 or beyond: per position the pair read them for 2 dot
/// products and 2 outputs, this for 4.
#[target_feature(enable = "avx512f")]
unsafe fn run_quad<T: Lanes, const S: usize>(
    q: [&[f32]; 2],
    k: HeadView<'_, T>,
    v: HeadView<'_, T>,
    scale: f32,
    mut s: [&mut [f32]; 4],
    mut o: [&mut [f32]; 4],
) {
    let hd = S * DOT_LANES;
    let qp = [
        q[0].as_ptr(),
        q[0].as_ptr().add(hd),
        q[1].as_ptr(),
        q[1].as_ptr().add(hd),
    ];
    let kp = k.data.as_ptr().add(k.off);
    let n = s[0].len();
    // Position j's lane sums for heads `from..4` (the tail positions).
    let dots = |j: usize, from: usize| {
        let mut acc = [_mm512_setzero_ps(); 4];
        for (h, a) in acc.iter_mut().enumerate().skip(from) {
            for g in 0..S {
                let kv = T::load16(kp.add(j * k.stride + g * DOT_LANES));
                let qv = _mm512_loadu_ps(qp[h].add(g * DOT_LANES));
                *a = _mm512_add_ps(*a, _mm512_mul_ps(qv, kv));
            }
        }
        acc
    };
    // Blocks of 16 positions, one row's two heads at a time with their
    // queries in registers: the second row finds the block's 16 key
    // rows in L1 (only the first prefetches).
    let keys = Keys {
        p: kp,
        stride: k.stride,
        n,
    };
    let sv = _mm512_set1_ps(scale);
    let mut j = 0;
    while j + BLOCK <= n {
        for r in 0..2 {
            let (ha, hb) = (2 * r, 2 * r + 1);
            let qa: [__m512; S] =
                std::array::from_fn(|g| _mm512_loadu_ps(qp[ha].add(g * DOT_LANES)));
            let qb: [__m512; S] =
                std::array::from_fn(|g| _mm512_loadu_ps(qp[hb].add(g * DOT_LANES)));
            let [a, b] = keys.block::<S>(&qa, &qb, j, r == 0);
            _mm512_storeu_ps(s[ha].as_mut_ptr().add(j), _mm512_mul_ps(reduce16(&a), sv));
            _mm512_storeu_ps(s[hb].as_mut_ptr().add(j), _mm512_mul_ps(reduce16(&b), sv));
        }
        j += BLOCK;
    }
    while j <= n {
        // Position n only for row 1 (heads 2 and 3).
        let from = if j == n { 2 } else { 0 };
        for (h, a) in dots(j, from).into_iter().enumerate().skip(from) {
            s[h][j] = reduce_lanes(lanes(a)) * scale;
        }
        j += 1;
    }
    for x in s.iter_mut() {
        softmax(x);
    }
    let vp = v.data.as_ptr().add(v.off);
    let probs: [&[f32]; 4] = std::array::from_fn(|h| &*s[h]);
    let op: [*mut f32; 4] = std::array::from_fn(|h| o[h].as_mut_ptr());
    let mut g0 = 0;
    while g0 < S {
        match S - g0 {
            1 => out_quad::<T, 1>(probs, vp.add(g0 * DOT_LANES), v.stride, op, g0),
            2 => out_quad::<T, 2>(probs, vp.add(g0 * DOT_LANES), v.stride, op, g0),
            3 => out_quad::<T, 3>(probs, vp.add(g0 * DOT_LANES), v.stride, op, g0),
            _ => out_quad::<T, 4>(probs, vp.add(g0 * DOT_LANES), v.stride, op, g0),
        }
        g0 += 4;
    }
}

/// `o_h[d] += p_h[j] * v_j[d]` for the four heads of [`run_quad`], over
/// the `G` 16-value groups from group `g0` (`v` points at the first
/// position's group `g0`), every position in order; heads 2 and 3
/// have one position more.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn out_quad<T: Lanes, const G: usize>(
    p: [&[f32]; 4],
    v: *const T,
    stride: usize,
    o: [*mut f32; 4],
    g0: usize,
) {
    let at = |h: usize, g: usize| o[h].add((g0 + g) * DOT_LANES);
    let mut acc: [[__m512; G]; 4] =
        std::array::from_fn(|h| std::array::from_fn(|g| _mm512_loadu_ps(at(h, g))));
    let n = p[0].len();
    let bytes = G * DOT_LANES * std::mem::size_of::<T>();
    for j in 0..=n {
        if j + AHEAD < n {
            prefetch_row(v.add((j + AHEAD) * stride), bytes);
        }
        let vv: [__m512; G] = std::array::from_fn(|g| T::load16(v.add(j * stride + g * DOT_LANES)));
        let from = if j == n { 2 } else { 0 };
        for h in from..4 {
            let pv = _mm512_set1_ps(p[h][j]);
            for g in 0..G {
                acc[h][g] = _mm512_add_ps(acc[h][g], _mm512_mul_ps(pv, vv[g]));
            }
        }
    }
    for h in 0..4 {
        for g in 0..G {
            _mm512_storeu_ps(at(h, g), acc[h][g]);
        }
    }
}

/// Prefetches one row of `bytes` at `p` into L1.
#[inline(always)]
pub(super) unsafe fn prefetch_row<T>(p: *const T, bytes: usize) {
    prefetch_row_to::<T, _MM_HINT_T0>(p, bytes);
}

/// Prefetches one row of `bytes` at `p` with the hint `HINT`
/// (`_MM_HINT_T1`: into L2, leaving L1 to the rows being worked on).
#[inline(always)]
pub(super) unsafe fn prefetch_row_to<T, const HINT: i32>(p: *const T, bytes: usize) {
    let row = p.cast::<i8>();
    let mut off = 0;
    while off < bytes {
        _mm_prefetch::<HINT>(row.add(off));
        off += 64;
    }
}

/// Positions ahead whose key and value rows a pair prefetches: a long
/// context's rows come from memory (a head's rows are strided, one
/// short run per position, which the hardware prefetchers follow late).
pub(super) const AHEAD: usize = 16;

/// Prefetches two rows of `bytes` at `p` and `p + stride` elements.
#[inline(always)]
unsafe fn prefetch_rows<T>(p: *const T, stride: usize, bytes: usize) {
    prefetch_row(p, bytes);
    prefetch_row(p.add(stride), bytes);
}

/// [`fits`] for the two token rows of a pair: each `q` two heads of one
/// size, row 1's scores one position longer than row 0's, every output
/// one head long, the longer row's positions in bounds.
pub(super) fn quad_fits<T>(
    q: &[&[f32]; 2],
    k: &HeadView<'_, T>,
    v: &HeadView<'_, T>,
    s: &[&mut [f32]; 4],
    o: &[&mut [f32]; 4],
) -> bool {
    let hd = q[0].len() / 2;
    let n = s[0].len();
    q.iter().all(|q| q.len() == 2 * hd)
        && s[1].len() == n
        && s[2].len() == n + 1
        && s[3].len() == n + 1
        && o.iter().all(|o| o.len() == hd)
        && fits(&q[0][..hd], k, v, s[2], o[0])
}

/// Whether positions `from .. from + n` of `h` are in bounds (without
/// overflowing: the vector loops index unchecked past this).
pub(super) fn reads<T>(h: &HeadView<'_, T>, from: usize, n: usize) -> bool {
    if n == 0 {
        return true;
    }
    from.checked_add(n - 1)
        .and_then(|last| last.checked_mul(h.stride))
        .and_then(|x| x.checked_add(h.off))
        .and_then(|x| x.checked_add(h.len))
        .is_some_and(|end| end <= h.data.len())
}

/// Whether the vector loops can run: a head of whole 16-lane groups,
/// at most [`MAX_REGS`] of them, and every position read in bounds
/// (checked once, for the unchecked loops).
pub(super) fn fits<T>(
    q: &[f32],
    k: &HeadView<'_, T>,
    v: &HeadView<'_, T>,
    sc: &[f32],
    o: &[f32],
) -> bool {
    let hd = q.len();
    let n = sc.len();
    hd.is_multiple_of(DOT_LANES)
        && hd / DOT_LANES <= MAX_REGS
        && k.len == hd
        && v.len == hd
        && o.len() == hd
        && reads(k, 0, n)
        && reads(v, 0, n)
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
    let qv: [__m512; S] = std::array::from_fn(|s| _mm512_loadu_ps(q.as_ptr().add(s * DOT_LANES)));
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
