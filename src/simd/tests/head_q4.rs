//! The int4 head (`HeadMode::Q4`, `--fast-head int4`): its deviation from
//! the golden logits, measured and bounded; the same logits on every path;
//! its arithmetic against an f64 reference of the format; bad input.

mod common;

use common::{backend, logits};
use tritium_golden::{Backend, DenseMatrix, GoldenBackend, Preset, SplitMix64};
use tritium_model::synthetic::preset_model;
use tritium_simd::{HeadMode, Isa, Q4Head, Q4Input};

/// Whole-network logits with the int4 head against the golden ones, per
/// position: the largest |difference| as a fraction of the row's largest
/// |logit| (the README's figures come from this test's output), and the
/// top-1 token. The same bits on every path.
#[test]
fn q4_head_deviation_is_bounded_and_the_same_on_every_path() {
    // (preset, bound on the deviation fraction): the tiny preset's hidden
    // size (64) is padded to a 128-value group.
    for (preset, bound) in [(Preset::Tiny, 0.12), (Preset::Small, 0.12)] {
        let model = preset_model(preset, 5).unwrap();
        let prompt: Vec<u32> = (0..6).map(|i| i * 97 + 3).collect();
        let want = logits(&model, &mut GoldenBackend, &prompt, 3);
        let mut first: Option<Vec<Vec<u32>>> = None;
        for isa in tritium_simd::present_kernels().unwrap() {
            let mut b = backend(isa, 2, HeadMode::Q4);
            let got = logits(&model, &mut b, &prompt, 3);
            let (mut worst, mut top1) = (0f32, 0);
            for (g, w) in got.iter().zip(&want) {
                let range = w.iter().fold(0.0f32, |a, v| a.max(v.abs()));
                let dev = g
                    .iter()
                    .zip(w)
                    .fold(0.0f32, |a, (x, y)| a.max((x - y).abs()));
                worst = worst.max(dev / range.max(1e-3));
                let arg = |v: &[f32]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
                top1 += usize::from(arg(g) == arg(w));
            }
            eprintln!(
                "{preset:?} {isa:?}: worst |dev| {:.2} % of the largest |logit|; top-1 equal at {top1} of {} positions",
                100.0 * worst,
                want.len()
            );
            assert!(worst <= bound, "{preset:?} {isa:?}: deviation {worst}");
            assert!(worst > 0.0, "the int4 head should not be exact");
            let b: Vec<Vec<u32>> = got
                .iter()
                .map(|r| r.iter().map(|v| v.to_bits()).collect())
                .collect();
            match &first {
                None => first = Some(b),
                Some(f) => assert!(f == &b, "{isa:?}: int4 logits differ between paths"),
            }
        }
    }
}

/// The kernels compute the format's logit: against the f64 sum of the
/// dequantized weights times the quantized input, for ragged widths
/// (padding), extreme values, all-zero blocks, on every path.
#[test]
fn q4_logits_are_the_formats_value() {
    for cols in [1usize, 63, 64, 65, 128, 200, 2560] {
        let rows = 13;
        let mut r = SplitMix64::new(cols as u64);
        let mut vals: Vec<f32> = (0..rows * cols).map(|_| r.normal()).collect();
        // An all-zero row and a row of one huge value.
        vals[..cols].fill(0.0);
        vals[cols..2 * cols].fill(0.0);
        vals[cols + cols / 2] = -3e4;
        let m = DenseMatrix::from_f32("h", rows, cols, vals.clone()).unwrap();
        let x: Vec<f32> = (0..cols).map(|_| r.normal() * 3.0).collect();
        let h = Q4Head::from_dense(&m);
        let mut xq = Q4Input::default();
        h.quantize_input(&x, &mut xq);
        // The format's values times the quantized input, in f64; and each
        // block's squared error no worse than Q4_0's plain d = m / -8.
        let mut deq = vec![0f32; cols];
        let mut want = Vec::new();
        for (v, row) in vals.chunks_exact(cols).enumerate() {
            h.row_values(v, &mut deq);
            let dot: f64 = deq
                .iter()
                .zip(&xq.data)
                .map(|(&w, &q)| f64::from(w) * f64::from(q))
                .sum();
            want.push(dot / f64::from(xq.scale));
            for (blk, dq) in row.chunks(64).zip(deq.chunks(64)) {
                let m = blk
                    .iter()
                    .fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
                let plain = |w: f32| {
                    let d = m / -8.0;
                    if d == 0.0 {
                        0.0
                    } else {
                        d * (w / d).round_ties_even().clamp(-8.0, 7.0)
                    }
                };
                let sse = |f: &dyn Fn(usize) -> f32| {
                    blk.iter()
                        .enumerate()
                        .map(|(i, &w)| f64::from(w - f(i)).powi(2))
                        .sum::<f64>()
                };
                let (got_e, q4_0_e) = (sse(&|i| dq[i]), sse(&|i| plain(blk[i])));
                assert!(
                    got_e <= q4_0_e * (1.0 + 1e-5) + 1e-30,
                    "cols {cols} row {v}: {got_e} > {q4_0_e}"
                );
            }
        }
        let mut first: Option<Vec<u32>> = None;
        for isa in tritium_simd::present_kernels().unwrap() {
            let mut got = vec![0f32; rows];
            h.rows_into(isa, &xq, 0, &mut got);
            for (v, (&g, &w)) in got.iter().zip(&want).enumerate() {
                let scale = vals[v * cols..(v + 1) * cols]
                    .iter()
                    .zip(&x)
                    .map(|(a, b)| f64::from(a.abs()) * f64::from(b.abs()))
                    .sum::<f64>();
                assert!(
                    (f64::from(g) - w).abs() <= 1e-5 * scale.max(1e-30),
                    "{isa:?} cols {cols} row {v}: {g} vs {w}"
                );
            }
            // Ranges that start and end inside a panel of rows give the
            // same bits as the whole head.
            for (v0, n) in [(1, 2), (3, 6), (5, 8), (12, 1)] {
                let mut part = vec![0f32; n];
                h.rows_into(isa, &xq, v0, &mut part);
                let bits = |s: &[f32]| s.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&part), bits(&got[v0..v0 + n]), "{isa:?} rows {v0}+{n}");
            }
            let b: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
            match &first {
                None => first = Some(b),
                Some(f) => assert_eq!(f, &b, "{isa:?} cols {cols}"),
            }
        }
        // 13 rows are stored as 4 panels of 4.
        assert_eq!(h.bytes(), 16 * cols.div_ceil(128) * (64 + 8));
    }
}

/// A non-finite hidden state is an error, not finite logits.
#[test]
fn q4_head_rejects_non_finite_input() {
    let m = DenseMatrix::from_f32("h", 3, 20, vec![0.5; 60]).unwrap();
    let mut x = vec![1.0f32; 20];
    x[7] = f32::INFINITY;
    let mut out = vec![0.0; 3];
    let e = backend(Isa::best(), 1, HeadMode::Q4)
        .logits(&m, &x, &mut out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("final hidden state"), "{e}");
}
