//! The AVX2 attention loops: one head, or two query heads of one KV head
//! at once (each key and value row loaded once for both), each head's
//! operations in the golden order
//! ([`tritium_golden::attention::attend_head`]) on 256-bit registers:
//! 16-lane group `s` of a head is the pair of registers at `16 s` (lanes
//! 0-7) and `16 s + 8` (lanes 8-15). f16 caches are widened in the
//! register (F16C, exact).
//!
//! - Scores: two positions at a time (4 accumulators per head: 8 with
//!   two heads, for independent add chains), their lanes reduced eight
//!   positions at once ([`reduce8`]) in the golden tree order; key rows
//!   [`AHEAD`] positions on are prefetched (a long context's rows come
//!   from memory, strided, which the hardware prefetchers follow late).
//! - Softmax: the golden one.
//! - Output: `out[d] += p_j * v_j[d]` for `j` in order, in passes of up
//!   to 64 dimensions (32 with two heads: eight accumulators either
//!   way), each value row loaded once per pass for both heads.

// Index loops over small register arrays: they unroll to fixed registers.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use tritium_golden::attention::{attend_head, attend_pair, HeadView};
use tritium_golden::ops::{reduce_lanes, softmax, DOT_LANES};

use super::x86::{fits, prefetch_row, Lanes, AHEAD};

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
    let hd = k.len;
    let n = sc[0].len();
    let keys = Keys {
        p: k.data.as_ptr().add(k.off),
        stride: k.stride,
        hd,
        n,
    };
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
    for s in sc.iter_mut() {
        softmax(s);
    }
    let vp = v.data.as_ptr().add(v.off);
    let probs: [&[f32]; H] = std::array::from_fn(|h| &*sc[h]);
    let row_bytes = hd * std::mem::size_of::<T>();
    let halves = hd / 8;
    let mut r0 = 0;
    while r0 < halves {
        let r = (halves - r0).min(8 / H);
        let vr = vp.add(r0 * 8);
        let or = o.map(|p| p.add(r0 * 8));
        // The first pass fetches whole value rows ahead, the others find
        // them in cache.
        let ahead = if r0 == 0 { row_bytes } else { 0 };
        match r {
            2 => out_pass::<T, H, 2>(probs, vr, v.stride, or, ahead),
            4 => out_pass::<T, H, 4>(probs, vr, v.stride, or, ahead),
            6 => out_pass::<T, H, 6>(probs, vr, v.stride, or, ahead),
            _ => out_pass::<T, H, 8>(probs, vr, v.stride, or, ahead),
        }
        r0 += r;
    }
}

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
/// in order, the `H x R` sums held in registers; with `ahead` > 0, that
/// many bytes of the row [`AHEAD`] positions on are prefetched.
#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn out_pass<T: Lanes, const H: usize, const R: usize>(
    p: [&[f32]; H],
    v: *const T,
    stride: usize,
    o: [*mut f32; H],
    ahead: usize,
) {
    let mut acc: [[__m256; R]; H] =
        std::array::from_fn(|h| std::array::from_fn(|r| _mm256_loadu_ps(o[h].add(r * 8))));
    let n = p[0].len();
    for j in 0..n {
        if ahead > 0 && j + AHEAD < n {
            prefetch_row(v.add((j + AHEAD) * stride), ahead);
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
