//! The row operations built for several instruction sets (the `dispatch`
//! feature: AVX-512 or AVX2 clones picked at run time) against plain
//! scalar references written here, compiled for the baseline target:
//! bitwise equal outputs. Without the feature this checks the one build
//! against the same references.

use proptest::prelude::*;
use tritium_golden::ops::{dot, exp_f32, reduce_lanes, relu2_gate, rms_norm, softmax};
use tritium_golden::quant::{
    add_dequantized, dequantize, quantize_activations, relu2_gate_acc, round_clamp_i8, ACT_QP,
    SCALE_FLOOR,
};

/// Finite f32 values over many magnitudes (zeros, subnormals, large).
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        (-1000.0f32..1000.0),
        (-1e-3f32..1e-3),
        Just(0.0f32),
        Just(-0.0f32),
        any::<u32>().prop_map(|b| f32::from_bits(b & 0x807f_ffff)),
        (-3.0e4f32..3.0e4),
    ]
}

fn row(max: usize) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(value(), 1..max)
}

/// The softmax formula, one element at a time (NaN results as one
/// value): the sum in 16 lanes (element `i` into lane `i % 16`), then the
/// pinned tree.
fn plain_softmax_bits(x: &[f32]) -> Vec<u32> {
    let mut p = x.to_vec();
    let m = p.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut lanes = [0.0f32; 16];
    for (i, v) in p.iter_mut().enumerate() {
        *v = exp_f32(*v - m);
        lanes[i % 16] += *v;
    }
    let sum = reduce_lanes(lanes);
    for v in p.iter_mut() {
        *v /= sum;
    }
    nan_as_one(&p)
}

fn softmax_bits(x: &[f32]) -> Vec<u32> {
    let mut p = x.to_vec();
    softmax(&mut p);
    nan_as_one(&p)
}

fn nan_as_one(v: &[f32]) -> Vec<u32> {
    v.iter()
        .map(|x| if x.is_nan() { u32::MAX } else { x.to_bits() })
        .collect()
}

/// Rows around the 16-lane chunks whose maximum is negative, sits in the
/// tail or in a chunk, or is a zero of either sign, with NaN and
/// infinities at chunk edges: the plain formula's bits.
#[test]
fn softmax_edge_rows_equal_the_scalar_formula() {
    for n in [1usize, 2, 15, 16, 17, 31, 32, 33, 50] {
        let falling: Vec<f32> = (0..n).map(|i| -3.0 - i as f32 * 0.37).collect();
        let rising: Vec<f32> = falling.iter().rev().copied().collect();
        let mut rows = vec![falling.clone(), rising, vec![f32::NEG_INFINITY; n]];
        for (at, v) in [(0, f32::NAN), (n - 1, f32::NAN), (n / 2, f32::INFINITY)] {
            let mut r = falling.clone();
            r[at] = v;
            rows.push(r);
        }
        for z in [0.0f32, -0.0] {
            let mut r = falling.clone();
            r[n - 1] = z;
            rows.push(r);
        }
        for r in rows {
            assert_eq!(softmax_bits(&r), plain_softmax_bits(&r), "{r:?}");
        }
    }
}

/// Scores for softmax: finite values, and sometimes NaN, infinities and
/// zeros of both signs (the maximum ignores NaN; a zero maximum's sign).
fn score() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => value(),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(-0.0f32),
        1 => Just(0.0f32),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The lane-wise maximum and the elementwise division give the plain
    /// sequential formula's bits (NaN as NaN), every length around the
    /// 16-lane chunks.
    #[test]
    fn softmax_equals_the_scalar_formula(x in proptest::collection::vec(score(), 1..70)) {
        prop_assert_eq!(softmax_bits(&x), plain_softmax_bits(&x), "{:?}", x);
    }

    #[test]
    fn rms_norm_equals_the_scalar_formula(x in row(300), seed in any::<u32>()) {
        let w: Vec<f32> = (0..x.len())
            .map(|i| ((i as u32 ^ seed) % 97) as f32 / 31.0 - 1.5)
            .collect();
        let eps = 1e-6f32;
        let mut y = vec![0.0; x.len()];
        rms_norm(&x, &w, eps, &mut y);
        let r = 1.0 / (dot(&x, &x) / x.len() as f32 + eps).sqrt();
        for i in 0..x.len() {
            prop_assert_eq!(y[i].to_bits(), ((x[i] * r) * w[i]).to_bits(), "index {}", i);
        }
    }

    #[test]
    fn quantize_activations_equals_the_scalar_formula(x in row(300)) {
        let mut q = vec![0i8; x.len()];
        let s = quantize_activations(&x, &mut q).unwrap();
        let m = x.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(SCALE_FLOOR);
        let want = ACT_QP / m;
        prop_assert_eq!(s.to_bits(), want.to_bits());
        for i in 0..x.len() {
            prop_assert_eq!(q[i], round_clamp_i8(x[i] * want), "index {}", i);
        }
    }

    #[test]
    fn dequantize_and_gate_equal_the_scalar_formulas(
        acc in proptest::collection::vec(-(1i32 << 22)..(1 << 22), 1..300),
        s in 1e-3f32..1e4,
        g in 1e-5f32..10.0,
        up in row(300),
    ) {
        let mut y = vec![0.0; acc.len()];
        dequantize(&acc, s, g, &mut y);
        for i in 0..acc.len() {
            prop_assert_eq!(y[i].to_bits(), (((acc[i] as f32) / s) * g).to_bits());
        }
        let n = y.len().min(up.len());
        let mut m = vec![0.0; n];
        relu2_gate(&y[..n], &up[..n], &mut m);
        for i in 0..n {
            let r = y[i].max(0.0);
            prop_assert_eq!(m[i].to_bits(), ((r * r) * up[i]).to_bits());
        }
    }

    /// The fused passes compute what the separate ones do, bit for bit.
    #[test]
    fn fused_dequantizing_passes_equal_the_separate_ones(
        accs in proptest::collection::vec((-(1i32 << 22)..(1 << 22), -(1i32 << 22)..(1 << 22)), 1..300),
        (sg, su) in (1e-3f32..1e4, 1e-3f32..1e4),
        (gg, gu) in (1e-5f32..10.0, 1e-5f32..10.0),
        h in row(300),
    ) {
        let (ga, ua): (Vec<i32>, Vec<i32>) = accs.into_iter().unzip();
        let n = ga.len();
        let (mut g, mut u, mut want) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        dequantize(&ga, sg, gg, &mut g);
        dequantize(&ua, su, gu, &mut u);
        relu2_gate(&g, &u, &mut want);
        let mut got = vec![f32::NAN; n];
        relu2_gate_acc(&ga, sg, gg, &ua, su, gu, &mut got);
        for i in 0..n {
            prop_assert_eq!(got[i].to_bits(), want[i].to_bits(), "gated, index {}", i);
        }
        let n = n.min(h.len());
        let mut want = h[..n].to_vec();
        for (w, y) in want.iter_mut().zip(&g) {
            *w += y;
        }
        let mut got = h[..n].to_vec();
        add_dequantized(&mut got, &ga[..n], sg, gg);
        for i in 0..n {
            prop_assert_eq!(got[i].to_bits(), want[i].to_bits(), "residual, index {}", i);
        }
    }
}
