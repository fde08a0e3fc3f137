//! The CUDA variant (feature `cuda`) against the golden model: `==` on i32
//! accumulators (proptest shapes: ragged, extreme activations; worst-case
//! accumulators) and bitwise-equal whole-network logits, the same checks as
//! tests/gpu.rs. Without a CUDA device (driver, device or NVRTC missing) the
//! tests are skipped, saying so, unless `TRITIUM_REQUIRE_CUDA=1` (then they
//! fail); what always runs is that `CudaBackend::new` then is an error
//! naming what is missing, not a panic.

#![cfg(feature = "cuda")]

use proptest::prelude::*;
use tritium_golden::{
    Backend, GoldenBackend, LinearCall, LinearId, Logits, Model, Preset, Proj, Session,
    TernaryMatrix,
};
use tritium_gpu::{CudaBackend, Error};
use tritium_model::synthetic::preset_model;

/// The CUDA backend, or none (skipped) without a device when not required.
fn backend() -> Option<CudaBackend> {
    CudaBackend::for_tests().unwrap()
}

fn call<'a>(w: &'a TernaryMatrix, acts: &'a [i8], rows: usize) -> LinearCall<'a> {
    LinearCall::new(LinearId::new(0, Proj::Gate), w, acts, rows, 0)
}

fn golden(w: &TernaryMatrix, acts: &[i8], rows: usize) -> Vec<i32> {
    let mut out = vec![0; rows * w.n()];
    GoldenBackend
        .matmul(&call(w, acts, rows), &mut out)
        .unwrap();
    out
}

fn extreme_i8() -> impl Strategy<Value = i8> {
    prop_oneof![Just(-128i8), Just(127i8), Just(0i8), any::<i8>()]
}

/// Without a device, `new` is an error saying what is missing (the
/// library, a device, NVRTC), never a panic; with one, it opens.
#[test]
fn new_without_a_device_is_an_error_not_a_panic() {
    let r = std::panic::catch_unwind(CudaBackend::new);
    let r = r.expect("CudaBackend::new panicked");
    match r {
        Ok(b) => eprintln!("CUDA device present: {}", b.device()),
        Err(e @ Error::NoCuda { .. }) => {
            let s = e.to_string();
            assert!(
                s.contains("libcuda") && s.contains("NVRTC") && s.contains("no CUDA device"),
                "{s}"
            );
            assert!(
                !tritium_gpu::cuda::cuda_required(),
                "TRITIUM_REQUIRE_CUDA=1 but: {s}"
            );
            eprintln!("as expected here: {s}");
        }
        Err(e) => panic!("CUDA present but failed to start: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Ragged N, K (around the 16-weight word, the 64-weight chunk and the
    /// GEMV's 1024-weight chunk) and token rows (GEMV at 1, GEMM tiles of 16
    /// around that), extreme activations.
    #[test]
    fn matmul_equals_golden(
        (n, k, rows, t, q) in (1usize..140, prop_oneof![1usize..80, 1000usize..1100], 1usize..40)
            .prop_flat_map(|(n, k, rows)| (
                Just(n), Just(k), Just(rows),
                proptest::collection::vec(-1i8..=1, n * k),
                proptest::collection::vec(extreme_i8(), rows * k),
            ))
    ) {
        let Some(mut b) = backend() else { return Ok(()) };
        let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
        let want = golden(&w, &q, rows);
        let mut out = vec![i32::MIN; rows * n];
        let stats = b.matmul(&call(&w, &q, rows), &mut out).unwrap();
        prop_assert_eq!(&out, &want, "cuda {}x{} rows {}", n, k, rows);
        prop_assert_eq!(stats, call(&w, &q, rows).counted_stats());
    }
}

/// All +1 (and all -1) weights against all -128 (or +127): |acc| = 128 K,
/// the extreme, at a moderate K (GEMV and GEMM, several split-K blocks),
/// then past 2^23 where `sum c a` leaves i32 and only the modular `- sum a`
/// brings it back.
#[test]
fn worst_case_accumulators_are_exact() {
    let Some(mut b) = backend() else { return };
    let cases = [
        (70_000, 1i8, -128i8, 3),
        (70_000, 1, 127, 3),
        (70_000, -1, -128, 3),
        ((1 << 23) + 4096, 1, -128, 2),
        ((1 << 23) + 4096, -1, 127, 2),
        (crate_max_k(), 1, -128, 2),
    ];
    for (k, wv, a, max_rows) in cases {
        let w = TernaryMatrix::from_ternary("w", 1, k, &vec![wv; k], 1.0).unwrap();
        for rows in 1..=max_rows {
            let acts = vec![a; rows * k];
            let mut out = vec![0; rows];
            b.matmul(&call(&w, &acts, rows), &mut out).unwrap();
            let want = i32::from(wv) * i32::from(a) * k as i32;
            assert!(
                out.iter().all(|&o| o == want),
                "cuda K {k} w {wv} a {a} rows {rows}: {out:?} != {want}"
            );
        }
    }
}

fn crate_max_k() -> usize {
    tritium_gpu::MAX_K
}

/// q/k/v with one upload and one read-back equal the golden ones, and a
/// replaced matrix under the same id is uploaded again.
#[test]
fn grouped_calls_and_replaced_weights() {
    let Some(mut b) = backend() else { return };
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
            assert_eq!(o, &golden(w, &acts, rows), "cuda rows {rows}");
        }
    }
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
        assert_eq!(out, golden(w, &acts, 1));
    }
}

#[test]
fn bad_shapes_are_errors() {
    let Some(mut b) = backend() else { return };
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

/// Whole-network logits of the tiny and small presets: bitwise golden's,
/// prefill (GEMM) and decode (GEMV).
#[test]
fn network_logits_are_bitwise_golden() {
    let Some(mut b) = backend() else { return };
    for preset in [Preset::Tiny, Preset::Small] {
        let model = preset_model(preset, 3).unwrap();
        let prompt: Vec<u32> = (0..19).map(|i| (i * 131 + 7) % 500).collect();
        let want = logits(&model, &mut GoldenBackend, &prompt, 3);
        b.prepare(&model).unwrap();
        let got = logits(&model, &mut b, &prompt, 3);
        assert!(got == want, "{preset:?} cuda: logits differ");
    }
}
