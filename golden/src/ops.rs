//! The f32 operations outside BitLinear, with their reduction orders pinned.
//! Every backend shares this code, so "bit-exact" holds for logits too.

use crate::kv::KvElem;

/// Lanes of the pinned dot product: element `i` adds into lane `i % 16`.
pub const DOT_LANES: usize = 16;

/// Dot product in the pinned order: 16 lane-strided partial sums (each term a
/// separate f32 multiply then add, no fused multiply-add), combined by the
/// tree `l += l + 8`, `l += l + 4`, `l += l + 2`, `l += l + 1`. A 16-lane
/// (or 2 x 8-lane) SIMD loop without FMA reproduces it exactly.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_widened(a, b)
}

/// [`dot`] of `a` and `b` widened to f32 element by element (exactly: a
/// cached f16 key, [`crate::kv`]): the same bits as `dot` of the widened
/// copy.
#[inline(always)]
pub fn dot_widened<T: KvElem>(a: &[f32], b: &[T]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; DOT_LANES];
    let mut ca = a.chunks_exact(DOT_LANES);
    let mut cb = b.chunks_exact(DOT_LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..DOT_LANES {
            acc[l] += x[l] * y[l].widen();
        }
    }
    for (l, (x, y)) in ca.remainder().iter().zip(cb.remainder()).enumerate() {
        acc[l] += x * y.widen();
    }
    reduce_lanes(acc)
}

/// Combines 16 lane sums in the pinned tree order.
#[inline(always)]
pub fn reduce_lanes(mut acc: [f32; DOT_LANES]) -> f32 {
    let mut w = DOT_LANES / 2;
    while w > 0 {
        for l in 0..w {
            acc[l] += acc[l + w];
        }
        w /= 2;
    }
    acc[0]
}

/// RMSNorm as transformers' `LlamaRMSNorm` in f32:
/// `ms = dot(x, x) / n`, `r = 1 / sqrt(ms + eps)`, `y_i = (x_i * r) * w_i`.
#[cfg_attr(
    feature = "dispatch",
    multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx512vl", "x86_64+avx2"))
)]
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, y: &mut [f32]) {
    let ms = dot(x, x) / x.len() as f32;
    let r = 1.0 / (ms + eps).sqrt();
    for ((yi, &xi), &wi) in y.iter_mut().zip(x).zip(weight) {
        *yi = (xi * r) * wi;
    }
}

/// `e^x` rounded to f32: the golden model's own exponential, so that
/// softmax gives the same bits on every machine (a platform's `expf`
/// differs between libms, and glibc picks an FMA or an SSE2 variant by
/// CPU) and vectorizes (no branch, no table, no call).
///
/// In f64: `z = x log2(e)`, `k` the nearest integer to `z` (ties to even,
/// by adding and subtracting 1.5 * 2^52), `t = (z - k) ln 2` (`|t| <=
/// 0.347`), `e^t` by its Taylor polynomial of degree 11 in Horner's form
/// (multiply, then add: Rust never fuses them; truncation below 7e-15),
/// times `2^k` by adding `k` to the exponent bits, rounded once to f32.
/// Before that rounding the relative error is below ~2e-14 (mostly `z`'s
/// rounding), so the result is the correctly rounded `e^x` except for
/// inputs whose `e^x` lies that close to the midpoint of two f32s (the
/// tests count them against f64 `exp`). `x` is clamped to +-200 first
/// (`e^x` is then 0 or infinite in f32 either way); NaN gives NaN.
#[inline]
pub fn exp_f32(x: f32) -> f32 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    const INV_FACT: [f64; 12] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
    ];
    let z = f64::from(x.clamp(-200.0, 200.0)) * std::f64::consts::LOG2_E;
    let kz = z + MAGIC;
    let k = kz.to_bits().wrapping_sub(MAGIC.to_bits());
    let t = (z - (kz - MAGIC)) * std::f64::consts::LN_2;
    let mut p = INV_FACT[11];
    for &c in INV_FACT[..11].iter().rev() {
        p = p * t + c;
    }
    let e = f64::from_bits(p.to_bits().wrapping_add(k << 52)) as f32;
    if x.is_nan() {
        x
    } else {
        e
    }
}

/// Softmax in place: `m = max`, `e_i = exp(s_i - m)` ([`exp_f32`]), their
/// sum in [`dot`]'s pinned order (16 lane-strided partial sums, the same
/// combining tree), `p_i = e_i / sum`.
///
/// The maximum ignores NaN (as `f32::max` does) and is taken in 16 lanes,
/// which vectorize: a maximum is exact, so any order gives the same value,
/// up to the sign of a zero, which changes no `s_i - m` that `exp` could
/// tell apart (`x - 0 = x - (-0)` for every nonzero `x`, and both give
/// `±0` with `exp(±0) = 1` for a zero `x`). The division is elementwise.
#[cfg_attr(
    feature = "dispatch",
    multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx512vl", "x86_64+avx2"))
)]
pub fn softmax(s: &mut [f32]) {
    let mut lanes = [f32::NEG_INFINITY; DOT_LANES];
    let chunks = s.chunks_exact(DOT_LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..DOT_LANES {
            lanes[l] = lanes[l].max(c[l]);
        }
    }
    let m = lanes
        .iter()
        .chain(tail)
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    // The exponentials first, then their sum, then the divisions: three
    // loops that vectorize (one sequential chain of adds took a third of a
    // 2,048-score softmax).
    for v in s.iter_mut() {
        *v = exp_f32(*v - m);
    }
    let mut acc = [0.0f32; DOT_LANES];
    let mut chunks = s.chunks_exact(DOT_LANES);
    for c in &mut chunks {
        for l in 0..DOT_LANES {
            acc[l] += c[l];
        }
    }
    for (l, &e) in chunks.remainder().iter().enumerate() {
        acc[l] += e;
    }
    let sum = reduce_lanes(acc);
    for v in s.iter_mut() {
        *v /= sum;
    }
}

/// The ReLU^2 gate of the MLP, as transformers' `ReLUSquaredActivation`
/// followed by the product with `up`: `r = max(g, 0)`, `m_i = (r * r) * u_i`
/// (two f32 roundings, this order). All three slices have one length.
#[cfg_attr(
    feature = "dispatch",
    multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx512vl", "x86_64+avx2"))
)]
pub fn relu2_gate(gate: &[f32], up: &[f32], m: &mut [f32]) {
    debug_assert!(gate.len() == up.len() && up.len() == m.len());
    for ((mi, &gi), &ui) in m.iter_mut().zip(gate).zip(up) {
        *mi = relu2_times(gi, ui);
    }
}

/// One value of [`relu2_gate`]: `r = max(g, 0)`, `(r * r) * u`.
#[inline(always)]
pub fn relu2_times(g: f32, u: f32) -> f32 {
    let r = g.max(0.0);
    (r * r) * u
}

/// Rotary position embedding tables (transformers' default rope type).
///
/// `inv_freq_i = 1 / theta^(2i / d)` evaluated in f64 and rounded to f32;
/// the angle `pos * inv_freq_i` is an f32 product (as transformers); cos and
/// sin of that f32 angle are evaluated in f64 and rounded to f32.
///
/// transformers computes `inv_freq` in f32 instead (an f32 `pow`, then a
/// division), so some values differ by 1 ulp (3 of 8 at d = 16, theta 1e4;
/// 18 of 64 at d = 128, theta 5e5); at position p the angles then differ by
/// up to `p * ulp + ulp(angle)`. tests/f32_vectors.rs asserts the 1-ulp
/// bound and allows exactly that difference, nothing more.
#[derive(Debug, Clone)]
pub struct Rope {
    half: usize,
    inv_freq: Vec<f32>,
}

impl Rope {
    /// Tables for heads of `head_dim` (even) and base `theta`.
    pub fn new(head_dim: usize, theta: f64) -> Rope {
        let half = head_dim / 2;
        let inv_freq = (0..half)
            .map(|i| (1.0 / theta.powf((2 * i) as f64 / head_dim as f64)) as f32)
            .collect();
        Rope { half, inv_freq }
    }

    /// `inv_freq_i` of every pair `i` (`head_dim / 2` values).
    pub fn inv_freq(&self) -> &[f32] {
        &self.inv_freq
    }

    /// The cosine and sine of every pair's angle at position `pos`:
    /// `cs[2i] = cos(pos * inv_freq_i)`, `cs[2i + 1] = sin(...)` (the angle
    /// rounded to f32, its cosine and sine computed in f64 and rounded to
    /// f32). `cs` holds `head_dim` values.
    pub fn angles(&self, pos: usize, cs: &mut [f32]) {
        for (i, pair) in cs[..2 * self.half].chunks_exact_mut(2).enumerate() {
            let angle = (pos as f32 * self.inv_freq[i]) as f64;
            pair[0] = angle.cos() as f32;
            pair[1] = angle.sin() as f32;
        }
    }

    /// Rotates one head vector in place by the angles of [`Rope::angles`]
    /// (rotate_half pairing: element `i` with `i + d/2`):
    /// `y_i = x_i c - x_{i+d/2} s`, `y_{i+d/2} = x_{i+d/2} c + x_i s`.
    pub fn rotate(&self, x: &mut [f32], cs: &[f32]) {
        let (lo, hi) = x.split_at_mut(self.half);
        for ((a, b), pair) in lo.iter_mut().zip(hi).zip(cs.chunks_exact(2)) {
            let (c, s, xa, xb) = (pair[0], pair[1], *a, *b);
            *a = xa * c - xb * s;
            *b = xb * c + xa * s;
        }
    }

    /// Rotates one head vector in place at position `pos` ([`Rope::angles`]
    /// then [`Rope::rotate`]; a session computes the angles once per
    /// position and reuses them for every head of every layer).
    pub fn apply(&self, x: &mut [f32], pos: usize) {
        let mut cs = vec![0.0f32; 2 * self.half];
        self.angles(pos, &mut cs);
        self.rotate(x, &cs);
    }
}

/// Widens a bf16 bit pattern to f32 (exact).
#[inline]
pub fn bf16_to_f32(b: u16) -> f32 {
    f32::from_bits((b as u32) << 16)
}

/// 2^-24, the unit of an f16 subnormal's mantissa.
const F16_SUBNORMAL_UNIT: f32 = 1.0 / 16_777_216.0;

/// Widens an IEEE binary16 bit pattern to f32 (exact for every pattern).
///
/// Written as three branch-free cases that a SIMD kernel without a
/// conversion instruction mirrors lane by lane (the NEON head does):
/// normal (exponent 1..=30): the bits moved up 13 places and the exponent
/// rebiased by `127 - 15 = 112`; zero and subnormal (exponent 0): the
/// 10-bit mantissa converted to f32 and scaled by 2^-24 (exact: an integer
/// below 2^10 times a power of two); infinity and NaN (exponent 31): the
/// f32 exponent all ones, the mantissa (NaN payload) moved up 13 places and
/// a NaN made quiet, as F16C, AVX-512 and AArch64 `fcvtl` do. The sign is
/// copied last. (A [`DenseMatrix`](crate::DenseMatrix) never holds infinity or NaN: its
/// constructors reject them.)
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let em = u32::from(h & 0x7fff);
    let sign = u32::from(h & 0x8000) << 16;
    let bits = if em < 0x0400 {
        (em as f32 * F16_SUBNORMAL_UNIT).to_bits()
    } else if em >= 0x7c00 {
        let quiet = if em > 0x7c00 { 0x0040_0000 } else { 0 };
        0x7f80_0000 | (em << 13) | quiet
    } else {
        (em << 13) + (112 << 23)
    };
    f32::from_bits(sign | bits)
}

/// Rounds an f32 to the nearest bf16 (ties to even); NaN stays NaN.
#[inline]
pub fn f32_to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) as u16) | 0x40;
    }
    let round = 0x7fff + ((bits >> 16) & 1);
    ((bits + round) >> 16) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`exp_f32`] against f64 `exp` rounded to f32 (correctly rounded but
    /// for values within f64 `exp`'s error of an f32 midpoint) on one in
    /// 97 of every f32 bit pattern whose `e^x` is neither 0 nor infinite
    /// nor 1 in f32 (~5.4 million inputs): equal, but for the rare input
    /// whose `e^x` lies within their two errors of a midpoint, which may
    /// differ by one unit in the last place.
    #[test]
    fn exp_f32_is_correctly_rounded_but_at_midpoints() {
        let (mut n, mut off) = (0u32, Vec::new());
        for bits in (0..=u32::MAX).step_by(97) {
            let x = f32::from_bits(bits);
            if !(-104.0..89.0).contains(&x) || x.abs() < 3e-8 {
                continue;
            }
            n += 1;
            let (got, want) = (exp_f32(x), f64::from(x).exp() as f32);
            if got != want {
                off.push((x, got, want));
            }
        }
        assert!(n > 5_000_000, "{n}");
        for &(x, got, want) in &off {
            let ulps = (got.to_bits() as i64 - want.to_bits() as i64).abs();
            assert_eq!(ulps, 1, "exp({x:e}) = {got:e}, f64 exp: {want:e}");
        }
        assert!(off.len() <= 2, "{} of {n} differ: {off:?}", off.len());
    }

    /// The campaign behind the count in the docs (92 s in release on Zen 3;
    /// `cargo test --release -p tritium-golden -- --ignored exp_f32_on`):
    /// every non-NaN f32 input against f64 `exp` rounded to f32. With
    /// glibc's `exp`: 3 differ, each by one unit in the last place.
    #[test]
    #[ignore]
    fn exp_f32_on_every_input() {
        let mut off = Vec::new();
        for bits in 0..=u32::MAX {
            let x = f32::from_bits(bits);
            let (got, want) = (exp_f32(x), f64::from(x).exp() as f32);
            if !x.is_nan() && got.to_bits() != want.to_bits() {
                off.push((x, got, want));
            }
        }
        println!("{} inputs differ: {off:?}", off.len());
        for &(x, got, want) in &off {
            let ulps = (got.to_bits() as i64 - want.to_bits() as i64).abs();
            assert_eq!(ulps, 1, "exp({x:e}) = {got:e}, f64 exp: {want:e}");
        }
        assert!(off.len() <= 3, "{off:?}");
    }

    /// Zeros, infinities, NaN, the overflow and underflow edges.
    #[test]
    fn exp_f32_special_values() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-0.0), 1.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY).to_bits(), 0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(-f32::NAN).is_nan());
        assert_eq!(exp_f32(1.0), std::f32::consts::E);
        // Near the largest finite result and infinity, the smallest
        // subnormal and zero: as f64 `exp` rounds.
        for x in [
            88.72283f32,
            88.72284,
            88.7229,
            -103.27893,
            -103.2789,
            -103.98,
            -87.33655,
        ] {
            assert_eq!(
                exp_f32(x).to_bits(),
                (f64::from(x).exp() as f32).to_bits(),
                "{x}"
            );
        }
        assert!(exp_f32(88.72283).is_finite() && exp_f32(88.7229).is_infinite());
        assert_eq!(exp_f32(-103.98), 0.0);
        assert_eq!(exp_f32(1e30), f32::INFINITY);
        assert_eq!(exp_f32(-1e30), 0.0);
    }

    #[test]
    fn dot_follows_the_pinned_lane_order() {
        // 1e8 lands in lane 0, -1e8 in lane 16 % 16 = 0, the 1.0s in lanes 1..: exact 15.
        let mut a = vec![1.0f32; 17];
        a[0] = 1e8;
        a[16] = -1e8;
        let b = vec![1.0f32; 17];
        assert_eq!(dot(&a, &b), 15.0);
        // A sequential sum would lose the 1.0s absorbed by 1e8.
        let seq = a.iter().fold(0.0f32, |s, v| s + v);
        assert_ne!(seq, 15.0);
        // Lane 8 is folded into lane 0 first: 1e8 (lane 0) + -1e8 (lane 8) = 0.
        let mut a = vec![0.0f32; 16];
        a[0] = 1e8;
        a[8] = -1e8;
        a[1] = 3.0;
        assert_eq!(dot(&a, &[1.0; 16]), 3.0);
    }

    #[test]
    fn f16_widening_is_exact_for_every_pattern() {
        for h in 0..=u16::MAX {
            let a = f16_to_f32(h);
            let b = half::f16::from_bits(h).to_f32();
            // Bitwise, NaN included (same payload, made quiet).
            assert_eq!(a.to_bits(), b.to_bits(), "{h:#06x}");
            if !b.is_nan() {
                // Exact: it narrows back to the same pattern.
                assert_eq!(half::f16::from_f32(a).to_bits(), h, "{h:#06x}");
            }
        }
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
    }

    #[test]
    fn rms_norm_and_softmax_hand_worked() {
        let mut y = [0.0f32; 2];
        rms_norm(&[3.0, 4.0], &[1.0, 2.0], 0.0, &mut y);
        let r = 1.0 / 12.5f32.sqrt();
        assert_eq!(y, [3.0 * r, (4.0 * r) * 2.0]);
        let mut s = [1.0f32, 1.0, 1.0, 1.0];
        softmax(&mut s);
        assert_eq!(s, [0.25; 4]);
        let mut s = [1000.0f32, 0.0];
        softmax(&mut s);
        assert_eq!(s, [1.0, 0.0]);
    }

    #[test]
    fn rope_rotates_pairs_half_apart() {
        let rope = Rope::new(4, 10_000.0);
        let mut x = [1.0f32, 2.0, 3.0, 4.0];
        rope.apply(&mut x, 0);
        assert_eq!(x, [1.0, 2.0, 3.0, 4.0]);
        // Pair (0, 2) turns by pos * 1 rad, pair (1, 3) by pos * 0.01 rad.
        let mut x = [1.0f32, 0.0, 0.0, 0.0];
        rope.apply(&mut x, 1);
        assert_eq!(x[0], (1.0f64).cos() as f32);
        assert_eq!(x[2], (1.0f64).sin() as f32);
        let mut x = [0.0f32, 1.0, 0.0, 0.0];
        rope.apply(&mut x, 1);
        assert_eq!(x[1], (0.01f32 as f64).cos() as f32);
        assert_eq!(x[3], (0.01f32 as f64).sin() as f32);
    }
}
