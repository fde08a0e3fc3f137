//! W1.58A8 quantization: absmean ternary weights, per-token absmax int8
//! activations, and the one dequantization step. Every rounding is pinned here.

use crate::error::{check_finite, shape_err, Error, Result};
use crate::ops::relu2_times;
use crate::ternary::TernaryMatrix;

/// Floor of the activation absmax and of the weight absmean (as transformers).
pub const SCALE_FLOOR: f32 = 1e-5;
/// Largest int8 activation magnitude used by the scale (`Qp = 2^7 - 1`).
pub const ACT_QP: f32 = 127.0;

/// Rounds half to even, as `torch.round` does (1.5 -> 2, 2.5 -> 2, -0.5 -> -0).
#[inline]
pub fn round_half_even(x: f32) -> f32 {
    x.round_ties_even()
}

/// Rounds `v` half to even and saturates it to int8 (-128..=127).
///
/// Same result as `round_half_even(v).clamp(-128.0, 127.0) as i8` for every
/// f32 (NaN gives 0), computed without a libm call or a float-to-int
/// conversion so the quantization loop vectorizes: after clamping to +-256,
/// adding `1.5 * 2^23` rounds to an integer half to even (the sum lies in
/// [2^23, 2^24), where the f32 spacing is 1), and in that binade the
/// difference of the bit patterns of the sum and of `1.5 * 2^23` *is* that
/// integer.
#[inline]
pub fn round_clamp_i8(v: f32) -> i8 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23
    let c = if v.is_nan() {
        0.0
    } else {
        v.clamp(-256.0, 256.0)
    };
    let d = (c + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32;
    d.clamp(-128, 127) as i8
}

/// Quantizes one token row to int8: `m = max(max_k |x_k|, 1e-5)`,
/// `s_a = 127 / m` (one f32 division), `q_k = clamp(rne(x_k * s_a), -128, 127)`
/// (one f32 multiplication, then round half to even). Returns `s_a`.
///
/// NaN or infinite inputs are rejected: they have no int8 image.
#[cfg_attr(
    feature = "dispatch",
    multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx512vl", "x86_64+avx2"))
)]
pub fn quantize_activations(x: &[f32], q: &mut [i8]) -> Result<f32> {
    if x.len() != q.len() {
        return Err(shape_err("activation quantization", x.len(), q.len()));
    }
    // max |x_k| in 16 lanes (exact: max is order-free on finite values),
    // on the bit patterns: for non-negative f32 their order as integers is
    // their order as numbers (integer max vectorizes cleanly), with
    // infinity and every NaN above the largest finite value, so the same
    // pass tells whether a value is not finite (a separate check read the
    // row once more: ~0.4 us of a 6,912-value row, measured).
    let mut lanes = [0u32; 16];
    for c in x.chunks(16) {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l = (*l).max(v.to_bits() & 0x7fff_ffff);
        }
    }
    let max_bits = lanes.iter().fold(0, |m, &v| m.max(v));
    if max_bits > f32::MAX.to_bits() {
        // Names the first one.
        check_finite("activations", x)?;
    }
    let m = f32::from_bits(max_bits).max(SCALE_FLOOR);
    let s_a = ACT_QP / m;
    for (qk, &xk) in q.iter_mut().zip(x) {
        *qk = round_clamp_i8(xk * s_a);
    }
    Ok(s_a)
}

/// Dequantizes accumulators: `y_n = ((acc_n as f32) / s_a) * gamma`, two f32
/// roundings in this order (the i32 -> f32 conversion rounds to nearest even
/// beyond 2^24, which |acc| <= 128 * K never reaches for K <= 2^17).
#[cfg_attr(
    feature = "dispatch",
    multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx512vl", "x86_64+avx2"))
)]
pub fn dequantize(acc: &[i32], s_a: f32, gamma: f32, y: &mut [f32]) {
    for (yn, &a) in y.iter_mut().zip(acc) {
        *yn = dequantize_one(a, s_a, gamma);
    }
}

/// One value of [`dequantize`]: `((a as f32) / s_a) * gamma`.
#[inline(always)]
pub fn dequantize_one(a: i32, s_a: f32, gamma: f32) -> f32 {
    ((a as f32) / s_a) * gamma
}

/// The residual add of a BitLinear's output: `h_n += y_n` with
/// `y = dequantize(acc, s_a, gamma)`, the same f32 operations as a
/// dequantized copy added afterwards, in one pass.
#[cfg_attr(
    feature = "dispatch",
    multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx512vl", "x86_64+avx2"))
)]
pub fn add_dequantized(h: &mut [f32], acc: &[i32], s_a: f32, gamma: f32) {
    debug_assert_eq!(h.len(), acc.len());
    for (hn, &a) in h.iter_mut().zip(acc) {
        *hn += dequantize_one(a, s_a, gamma);
    }
}

/// The gated product of the MLP from the integer accumulators of gate and
/// up (one row each): `g = dequantize(gate, s_gate, gamma_gate)`,
/// `u = dequantize(up, s_up, gamma_up)`, then [`crate::ops::relu2_gate`]'s
/// `m_i = (max(g_i, 0)^2) * u_i`, the same f32 operations in the same order
/// in one pass (three passes wrote and read two dequantized rows: the gap
/// before a 2B4T down projection, measured).
#[cfg_attr(
    feature = "dispatch",
    multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx512vl", "x86_64+avx2"))
)]
pub fn relu2_gate_acc(
    gate: &[i32],
    s_gate: f32,
    gamma_gate: f32,
    up: &[i32],
    s_up: f32,
    gamma_up: f32,
    m: &mut [f32],
) {
    debug_assert!(gate.len() == up.len() && up.len() == m.len());
    for ((mi, &a), &b) in m.iter_mut().zip(gate).zip(up) {
        let g = dequantize_one(a, s_gate, gamma_gate);
        *mi = relu2_times(g, dequantize_one(b, s_up, gamma_up));
    }
}

/// Absmean per-tensor scale of full-precision weights:
/// `gamma = max(mean |W|, 1e-5)`, the mean summed in f64 (a sequential f32 sum
/// over a 2B4T-sized tensor comes out ~2 % low) and rounded once to f32.
pub fn absmean_gamma(w: &[f32]) -> f32 {
    gamma_of_sum(add_abs(0.0, w), w.len())
}

/// `acc` plus every `|v|` of `w` in f64, in order: the sequential sum the
/// absmean is defined by, resumable chunk after chunk.
fn add_abs(acc: f64, w: &[f32]) -> f64 {
    w.iter().fold(acc, |a, v| a + v.abs() as f64)
}

/// The absmean of `len` values summing to `sum` (the floor when empty).
fn gamma_of_sum(sum: f64, len: usize) -> f32 {
    if len == 0 {
        return SCALE_FLOOR;
    }
    ((sum / len as f64) as f32).max(SCALE_FLOOR)
}

/// Values per chunk of [`quantize_weights_absmean_chunked`] (64 KiB of f32).
const QUANT_CHUNK: usize = 16 * 1024;

/// Quantizes a row-major `n x k` full-precision weight matrix to ternary as
/// transformers' online `WeightQuant` does: `inv = 1 / gamma` (f32),
/// `t = clamp(rne(W * inv), -1, 1)`. (Multiplying by the f32 reciprocal, not
/// dividing by gamma, is what transformers computes; the two differ only for
/// weights within one ulp of a rounding boundary, but those would flip codes.)
pub fn quantize_weights_absmean(
    what: &str,
    w: &[f32],
    n: usize,
    k: usize,
) -> Result<TernaryMatrix> {
    if n.checked_mul(k) != Some(w.len()) {
        return Err(shape_err(
            what,
            format!("{n} x {k} = {} values", n.saturating_mul(k)),
            w.len(),
        ));
    }
    quantize_weights_absmean_chunked(what, n, k, &|start, buf| {
        buf.copy_from_slice(&w[start..start + buf.len()])
    })
}

/// [`quantize_weights_absmean`] of a matrix that `fill` widens to f32 a
/// chunk at a time (`fill(start, buf)` writes values `start ..
/// start + buf.len()`, row-major), so that a checkpoint's bf16 or f16
/// tensor is never copied whole to f32: on a bf16 2B4T checkpoint that
/// copy was 8.4 GB of fresh memory over the load. The same codes, gamma
/// and errors: the values are checked and summed in order, then rounded.
pub fn quantize_weights_absmean_chunked(
    what: &str,
    n: usize,
    k: usize,
    fill: &dyn Fn(usize, &mut [f32]),
) -> Result<TernaryMatrix> {
    let Some(len) = n.checked_mul(k) else {
        return Err(shape_err(
            what,
            format!("{n} x {k} values"),
            "more than fit",
        ));
    };
    let mut buf = vec![0.0f32; QUANT_CHUNK.min(len)];
    let mut sum = 0.0f64;
    for start in (0..len).step_by(QUANT_CHUNK) {
        let chunk = &mut buf[..QUANT_CHUNK.min(len - start)];
        fill(start, chunk);
        check_finite(what, chunk).map_err(|e| match e {
            Error::NonFinite { what, index, value } => Error::NonFinite {
                what,
                index: start + index,
                value,
            },
            e => e,
        })?;
        sum = add_abs(sum, chunk);
    }
    let gamma = gamma_of_sum(sum, len);
    let inv = 1.0f32 / gamma;
    // `round_clamp_i8` then the ternary clamp: the same codes as
    // `round_half_even(v * inv).clamp(-1.0, 1.0)` for every finite value,
    // without a libm `rintf` call per weight (47 % of loading a bf16 2B4T
    // checkpoint).
    let mut codes: Vec<i8> = Vec::with_capacity(len);
    for start in (0..len).step_by(QUANT_CHUNK) {
        let chunk = &mut buf[..QUANT_CHUNK.min(len - start)];
        fill(start, chunk);
        codes.extend(chunk.iter().map(|&v| round_clamp_i8(v * inv).clamp(-1, 1)));
    }
    TernaryMatrix::from_ternary(what, n, k, &codes, gamma)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the absmax pass: every infinity and NaN, wherever it sits
    /// (inside the 16 lanes' chunks or in their remainder), is rejected
    /// naming the first one; the largest finite values are quantized.
    #[test]
    fn quantize_activations_rejects_every_non_finite_value_at_every_index() {
        for len in [1usize, 15, 16, 17, 40] {
            let ok: Vec<f32> = (0..len)
                .map(|i| if i % 2 == 0 { f32::MAX } else { -f32::MAX })
                .collect();
            let mut q = vec![0i8; len];
            assert_eq!(
                quantize_activations(&ok, &mut q).unwrap(),
                ACT_QP / f32::MAX
            );
            for i in 0..len {
                for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN] {
                    let mut x = ok.clone();
                    x[i] = bad;
                    if i + 1 < len {
                        x[len - 1] = f32::NAN;
                    }
                    match quantize_activations(&x, &mut q) {
                        Err(Error::NonFinite { index, .. }) => {
                            assert_eq!(index, i, "len {len}, {bad}")
                        }
                        other => panic!("len {len}, {bad} at {i}: {other:?}"),
                    }
                }
            }
        }
    }

    /// The magic-number rounding equals round-half-even-then-clamp on every
    /// f32 with 2^-2 <= |v| <= 300 (each bit pattern: every rounding
    /// boundary and the saturation), on small values, and on the specials.
    #[test]
    fn round_clamp_i8_matches_rne_everywhere_it_matters() {
        let reference = |v: f32| v.round_ties_even().clamp(-128.0, 127.0) as i8;
        let (lo, hi) = (0.25f32.to_bits(), 300.0f32.to_bits());
        for bits in lo..=hi {
            for v in [f32::from_bits(bits), -f32::from_bits(bits)] {
                assert_eq!(super::round_clamp_i8(v), reference(v), "{v:e}");
            }
        }
        for bits in (0..lo).step_by(997) {
            for v in [f32::from_bits(bits), -f32::from_bits(bits)] {
                assert_eq!(super::round_clamp_i8(v), reference(v), "{v:e}");
            }
        }
        for v in [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            1e30,
            -1e30,
        ] {
            assert_eq!(super::round_clamp_i8(v), reference(v), "{v}");
        }
    }

    /// The ternary codes are `clamp(rne(w / gamma), -1, 1)` as written with
    /// `round_half_even`: ties at +-0.5 to zero, +-1.5 to +-2 then +-1,
    /// and large and tiny weights.
    #[test]
    fn weight_codes_are_rne_then_clamp() {
        let mut w: Vec<f32> = vec![0.5, -0.5, 1.5, -1.5, 2.5, 1e-30, -1e-30, 0.0, -0.0, 900.0];
        w.extend((-400..400).map(|i| i as f32 * 0.0037));
        let m = quantize_weights_absmean("w", &w, 1, w.len()).unwrap();
        let inv = 1.0f32 / absmean_gamma(&w);
        let want: Vec<i8> = w
            .iter()
            .map(|&v| round_half_even(v * inv).clamp(-1.0, 1.0) as i8)
            .collect();
        assert_eq!(m.to_ternary(), want);
        // gamma = 1 exactly: the ties are exact.
        let m = quantize_weights_absmean("w", &[0.5, -0.5, 1.5, -1.5], 1, 4).unwrap();
        assert_eq!(m.to_ternary(), vec![0, 0, 1, -1]);
    }

    /// Chunk by chunk (several chunks and a partial one): the gamma and
    /// codes of the whole-matrix definition (one sequential f64 sum, then
    /// `round_half_even(v * inv)` clamped), and the index of the first
    /// non-finite value in a later chunk.
    #[test]
    fn chunked_quantization_is_the_whole_matrix_one() {
        let (n, k) = (5, 7001);
        let mut seed = 0x2545f4914f6cdd1du64;
        let w: Vec<f32> = (0..n * k)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let v = ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1;
                if i % 997 == 0 {
                    v * 1e-6
                } else {
                    v
                }
            })
            .collect();
        assert!(w.len() > 2 * QUANT_CHUNK);
        let m = quantize_weights_absmean("w", &w, n, k).unwrap();
        let sum: f64 = w.iter().map(|v| v.abs() as f64).sum();
        let gamma = ((sum / w.len() as f64) as f32).max(SCALE_FLOOR);
        assert_eq!(m.gamma().to_bits(), gamma.to_bits());
        let want: Vec<i8> = w
            .iter()
            .map(|&v| round_half_even(v * (1.0 / gamma)).clamp(-1.0, 1.0) as i8)
            .collect();
        assert_eq!(m.to_ternary(), want);
        let mut bad = w.clone();
        let at = 2 * QUANT_CHUNK + 123;
        bad[at] = f32::NAN;
        bad[at + 5] = f32::INFINITY;
        match quantize_weights_absmean("w", &bad, n, k) {
            Err(Error::NonFinite { index, .. }) => assert_eq!(index, at),
            other => panic!("expected NonFinite, got {other:?}"),
        }
        // A shape whose product overflows is an error, not a panic.
        assert!(quantize_weights_absmean("w", &w, usize::MAX, 2).is_err());
    }

    #[test]
    fn ties_round_to_even() {
        // m = 127 makes s_a = 1 exactly, so x * s_a = x: ties land exactly on .5.
        let x = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 127.0];
        let mut q = [0i8; 8];
        let s = quantize_activations(&x, &mut q).unwrap();
        assert_eq!(s, 1.0);
        assert_eq!(q, [0, 2, 2, 0, -2, -2, 4, 127]);
    }

    #[test]
    fn ties_after_scaling_round_to_even() {
        // m = 254 -> s_a = 0.5 exactly; 1.0 * 0.5 = 0.5 -> 0, 3.0 * 0.5 = 1.5 -> 2.
        let x = [1.0, 3.0, 5.0, -254.0];
        let mut q = [0i8; 4];
        assert_eq!(quantize_activations(&x, &mut q).unwrap(), 0.5);
        assert_eq!(q, [0, 2, 2, -127]);
    }

    #[test]
    fn all_zero_row_uses_the_floor() {
        let x = [0.0f32; 7];
        let mut q = [1i8; 7];
        let s = quantize_activations(&x, &mut q).unwrap();
        assert_eq!(s, 127.0 / 1e-5);
        assert_eq!(q, [0; 7]);
        // Values below the floor are scaled by the floor's scale.
        // 2^-17 * 1.27e7 = 96.89 -> 97; -1e-6 * 1.27e7 = -12.7 -> -13.
        let x = [2f32.powi(-17), -1e-6];
        let mut q = [0i8; 2];
        quantize_activations(&x, &mut q).unwrap();
        assert_eq!(q, [97, -13]);
    }

    #[test]
    fn saturation_at_the_int8_limits() {
        // The absmax element maps to +-127 exactly, both signs.
        let x = [-3.0, 3.0, 1.0];
        let mut q = [0i8; 3];
        quantize_activations(&x, &mut q).unwrap();
        assert_eq!(q, [-127, 127, 42]);
        // The clamp is asymmetric: -128 is representable, +128 is not.
        assert_eq!(round_clamp_i8(-128.4), -128);
        assert_eq!(round_clamp_i8(-500.0), -128);
        assert_eq!(round_clamp_i8(127.6), 127);
        assert_eq!(round_clamp_i8(1e9), 127);
    }

    #[test]
    fn non_finite_activations_are_rejected_with_their_index() {
        let mut q = [0i8; 3];
        let e = quantize_activations(&[1.0, f32::NAN, 2.0], &mut q).unwrap_err();
        assert!(matches!(e, Error::NonFinite { index: 1, .. }), "{e}");
        let e = quantize_activations(&[f32::NEG_INFINITY], &mut q[..1]).unwrap_err();
        assert!(matches!(e, Error::NonFinite { index: 0, .. }));
        assert!(quantize_activations(&[1.0], &mut q).is_err());
    }

    #[test]
    fn dequantize_divides_then_multiplies() {
        let mut y = [0.0f32; 3];
        dequantize(&[254, -127, 0], 127.0, 0.5, &mut y);
        assert_eq!(y, [1.0, -0.5, 0.0]);
        let (a, s, g) = (7i32, 3.0f32, 0.1f32);
        dequantize(&[a], s, g, &mut y[..1]);
        assert_eq!(y[0].to_bits(), ((7.0f32 / 3.0) * 0.1).to_bits());
    }

    #[test]
    fn absmean_quantization_hand_worked() {
        // mean |W| = (0.1 + 0.5 + 0.9 + 0.0 + 1.5 + 0.0) / 6 = 0.5; W / 0.5 = [.2, -1, 1.8, 0, -3, 0]
        let w = [0.1, -0.5, 0.9, 0.0, -1.5, 0.0];
        let t = quantize_weights_absmean("w", &w, 2, 3).unwrap();
        assert_eq!(t.gamma(), 0.5);
        assert_eq!(t.to_ternary(), vec![0, -1, 1, 0, -1, 0]);
        // Ties: W / gamma exactly 0.5 -> 0, 1.5 -> 1 (clamped from 2).
        let w = [0.25, 0.75, -0.25, -0.75];
        let t = quantize_weights_absmean("w", &w, 1, 4).unwrap();
        assert_eq!(t.to_ternary(), vec![0, 1, 0, -1]);
        // An all-zero tensor takes the floor and codes to zero.
        let t = quantize_weights_absmean("w", &[0.0; 4], 2, 2).unwrap();
        assert_eq!(t.gamma(), 1e-5);
        assert!(quantize_weights_absmean("w", &[f32::INFINITY], 1, 1).is_err());
        assert!(quantize_weights_absmean("w", &[0.0; 3], 2, 2).is_err());
    }

    #[test]
    fn absmean_sums_in_f64() {
        // 2^22 copies of 0.1: the f64 sum is exact, a sequential f32 sum drifts.
        let w = vec![0.1f32; 1 << 22];
        assert_eq!(absmean_gamma(&w), 0.1);
        let naive = w.iter().fold(0.0f32, |s, v| s + v.abs()) / w.len() as f32;
        assert!((naive - 0.1).abs() > 1e-4, "naive f32 mean {naive}");
    }
}
