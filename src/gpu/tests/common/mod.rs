//! The checks shared by tests/gpu.rs (wgpu) and tests/cuda.rs (CUDA): each
//! runs one backend against the golden model, `==` on i32 accumulators and
//! bitwise on logits.

#![allow(dead_code)] // each test file uses its own subset

use proptest::prelude::*;
use tritium_golden::{
    Backend, GoldenBackend, LinearCall, LinearId, Logits, Model, Preset, Proj, Session,
    TernaryMatrix,
};
use tritium_model::synthetic::preset_model;

pub fn call<'a>(w: &'a TernaryMatrix, acts: &'a [i8], rows: usize) -> LinearCall<'a> {
    LinearCall::new(LinearId::new(0, Proj::Gate), w, acts, rows, 0)
}

pub fn golden(w: &TernaryMatrix, acts: &[i8], rows: usize) -> Vec<i32> {
    let mut out = vec![0; rows * w.n()];
    GoldenBackend
        .matmul(&call(w, acts, rows), &mut out)
        .unwrap();
    out
}

pub fn extreme_i8() -> impl Strategy<Value = i8> {
    prop_oneof![Just(-128i8), Just(127i8), Just(0i8), any::<i8>()]
}

/// Ragged shapes (n x k weights `t`, `rows` token rows `q`): the output
/// and the counted statistics equal golden's.
pub fn matmul_equals_golden(
    b: &mut dyn Backend,
    (n, k, rows): (usize, usize, usize),
    t: &[i8],
    q: &[i8],
) -> Result<(), TestCaseError> {
    let w = TernaryMatrix::from_ternary("w", n, k, t, 1.0).unwrap();
    let want = golden(&w, q, rows);
    let mut out = vec![i32::MIN; rows * n];
    let stats = b.matmul(&call(&w, q, rows), &mut out).unwrap();
    prop_assert_eq!(&out, &want, "{} {}x{} rows {}", b.name(), n, k, rows);
    prop_assert_eq!(stats, call(&w, q, rows).counted_stats());
    Ok(())
}

/// One row of all-`wv` weights against all-`a` activations, for K and up
/// to `max_rows` rows per case: `|acc| = 128 K` at the extremes.
pub fn worst_case_accumulators(b: &mut dyn Backend, cases: &[(usize, i8, i8, usize)]) {
    for &(k, wv, a, max_rows) in cases {
        let w = TernaryMatrix::from_ternary("w", 1, k, &vec![wv; k], 1.0).unwrap();
        for rows in 1..=max_rows {
            let acts = vec![a; rows * k];
            let mut out = vec![0; rows];
            b.matmul(&call(&w, &acts, rows), &mut out).unwrap();
            let want = i32::from(wv) * i32::from(a) * k as i32;
            assert!(
                out.iter().all(|&o| o == want),
                "{} K {k} w {wv} a {a} rows {rows}: {out:?} != {want}",
                b.name()
            );
        }
    }
}

/// q/k/v as one group (one upload, one read-back) equal the golden ones,
/// and a replaced matrix under the same id is uploaded again.
pub fn grouped_calls_and_replaced_weights(b: &mut dyn Backend) {
    let k = 100;
    let ws: Vec<TernaryMatrix> = (0..3)
        .map(|i| {
            let t: Vec<i8> = (0..(20 + i) * k)
                .map(|j| ((j * 7 + i) % 3) as i8 - 1)
                .collect();
            TernaryMatrix::from_ternary("w", 20 + i, k, &t, 1.0).unwrap()
        })
        .collect();
    for rows in [1, 5] {
        let acts: Vec<i8> = (0..rows * k).map(|j| (j * 37 % 256) as u8 as i8).collect();
        let calls: Vec<LinearCall> = ws
            .iter()
            .zip([Proj::Q, Proj::K, Proj::V])
            .map(|(w, p)| LinearCall::new(LinearId::new(0, p), w, &acts, rows, 0))
            .collect();
        let mut outs: Vec<Vec<i32>> = ws.iter().map(|w| vec![0; rows * w.n()]).collect();
        let mut stats = vec![Default::default(); 3];
        b.matmul_group(&calls, &mut outs, &mut stats).unwrap();
        for (w, o) in ws.iter().zip(&outs) {
            assert_eq!(o, &golden(w, &acts, rows), "{} rows {rows}", b.name());
        }
    }
    // Same id, new contents: not served from the old upload.
    let acts = vec![1i8; k];
    let w2 = ws[0]
        .with_weight(3, 5, 1)
        .unwrap()
        .with_weight(3, 6, -1)
        .unwrap();
    for w in [&ws[0], &w2] {
        let mut out = vec![0; w.n()];
        let c = LinearCall::new(LinearId::new(0, Proj::Q), w, &acts, 1, 0);
        b.matmul(&c, &mut out).unwrap();
        assert_eq!(out, golden(w, &acts, 1), "{}", b.name());
    }
}

/// Wrong activation lengths and a K past the exact-i32 bound are errors
/// (the latter refused before anything is sent).
pub fn bad_shapes_are_errors(b: &mut dyn Backend) {
    let w = TernaryMatrix::from_ternary("w", 2, 3, &[0; 6], 1.0).unwrap();
    let e = b
        .matmul(&call(&w, &[0; 5], 2), &mut [0; 4])
        .unwrap_err()
        .to_string();
    assert!(e.contains("activations"), "{e}");
    let k = tritium_gpu::MAX_K + 1;
    let w = TernaryMatrix::from_ternary("w", 1, k, &vec![0; k], 1.0).unwrap();
    let e = b.matmul(&call(&w, &vec![0; k], 1), &mut [0]).unwrap_err();
    let chain = format!("{e} / {}", std::error::Error::source(&e).unwrap());
    assert!(chain.contains("K (inputs per row) = 16777216"), "{chain}");
}

fn logits(model: &Model, b: &mut dyn Backend, prompt: &[u32], steps: u32) -> Vec<Vec<u32>> {
    let mut s = Session::new(model);
    let mut all = s.forward(b, prompt, Logits::All).unwrap();
    for i in 0..steps {
        let next = (i * 37 + 11) % model.config().vocab_size as u32;
        all.extend(s.forward(b, &[next], Logits::All).unwrap());
    }
    all.iter()
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// Whole-network logits of the tiny and small presets, prefill (GEMM) and
/// decode (GEMV), bitwise golden's; `prepare` uploads a model's weights.
pub fn network_logits_are_bitwise_golden<B: Backend>(b: &mut B, prepare: fn(&mut B, &Model)) {
    for preset in [Preset::Tiny, Preset::Small] {
        let model = preset_model(preset, 3).unwrap();
        let prompt: Vec<u32> = (0..19).map(|i| (i * 131 + 7) % 500).collect();
        let want = logits(&model, &mut GoldenBackend, &prompt, 3);
        prepare(b, &model);
        let got = logits(&model, b, &prompt, 3);
        assert!(got == want, "{preset:?} {}: logits differ", b.name());
    }
}
