//! The GPU backend against the golden model, on every kernel variant this
//! build has: `==` on i32 accumulators (proptest shapes: ragged, extreme
//! activations, worst-case accumulators) and bitwise-equal whole-network
//! logits. Without an adapter the tests are skipped, saying so, unless
//! `TRITIUM_REQUIRE_GPU=1` (then they fail). Shapes are small: lavapipe runs
//! the shaders on the CPU.

use proptest::prelude::*;
use tritium_golden::{
    Backend, GoldenBackend, LinearCall, LinearId, Logits, Model, Preset, Proj, Session,
    TernaryMatrix,
};
use tritium_gpu::{GpuBackend, GpuOptions, Kernel};
use tritium_model::synthetic::preset_model;

/// One backend per kernel variant present, or none (skipped) when there is
/// no adapter and it is not required.
fn backends() -> Vec<GpuBackend> {
    Kernel::present()
        .into_iter()
        .filter_map(|k| GpuBackend::for_tests(GpuOptions { kernel: Some(k) }).unwrap())
        .collect()
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

/// Both variants must be tested where the build has `dot4I8Packed`.
#[test]
fn both_kernel_variants_are_present() {
    assert!(
        tritium_gpu::dot4_available(),
        "this wgpu lacks dot4I8Packed"
    );
    assert_eq!(Kernel::present(), Kernel::ALL);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Ragged N, K (around the 16-weight word, the 64-weight chunk and the
    /// GEMV's 1024-weight chunk) and token rows (GEMV at 1, GEMM tiles of 16
    /// around that), extreme activations.
    #[test]
    fn matmul_equals_golden(
        (n, k, rows, t, q) in (1usize..70, prop_oneof![1usize..80, 1000usize..1100], 1usize..20)
            .prop_flat_map(|(n, k, rows)| (
                Just(n), Just(k), Just(rows),
                proptest::collection::vec(-1i8..=1, n * k),
                proptest::collection::vec(extreme_i8(), rows * k),
            ))
    ) {
        let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
        let want = golden(&w, &q, rows);
        for mut b in backends() {
            let mut out = vec![i32::MIN; rows * n];
            let stats = b.matmul(&call(&w, &q, rows), &mut out).unwrap();
            prop_assert_eq!(&out, &want, "{} {}x{} rows {}", b.name(), n, k, rows);
            prop_assert_eq!(stats, call(&w, &q, rows).counted_stats());
        }
    }
}

/// All +1 (and all -1) weights against all -128 (or +127): |acc| = 128 K,
/// the extreme, first at a moderate K on GEMV and GEMM, then at a K past
/// 2^23 where `sum c a` (codes up to 2: 256 K) leaves i32 and only the
/// modular `- sum a` brings it back.
#[test]
fn worst_case_accumulators_are_exact() {
    for mut b in backends() {
        let cases = [
            (70_000, 1i8, -128i8, 3),
            (70_000, 1, 127, 3),
            (70_000, -1, -128, 3),
        ];
        let wrap = [
            ((1 << 23) + 4096, 1i8, -128i8, 2),
            ((1 << 23) + 4096, -1, 127, 1),
        ];
        for (k, wv, a, max_rows) in cases.into_iter().chain(wrap) {
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
}

/// q/k/v as one submission (three outputs of one read-back) equal the
/// golden ones, and a replaced matrix under the same id is uploaded again.
#[test]
fn grouped_calls_and_replaced_weights() {
    for mut b in backends() {
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
}

#[test]
fn bad_shapes_are_errors() {
    for mut b in backends() {
        let w = TernaryMatrix::from_ternary("w", 2, 3, &[0; 6], 1.0).unwrap();
        let e = b
            .matmul(&call(&w, &[0; 5], 2), &mut [0; 4])
            .unwrap_err()
            .to_string();
        assert!(e.contains("activations"), "{e}");
        // K beyond the exact-i32 bound: refused before anything is sent.
        let k = tritium_gpu::MAX_K + 1;
        let w = TernaryMatrix::from_ternary("w", 1, k, &vec![0; k], 1.0).unwrap();
        let e = b.matmul(&call(&w, &vec![0; k], 1), &mut [0]).unwrap_err();
        let chain = format!("{e} / {}", std::error::Error::source(&e).unwrap());
        assert!(chain.contains("K (inputs per row) = 16777216"), "{chain}");
    }
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
/// prefill (GEMM) and decode (GEMV), on every variant.
#[test]
fn network_logits_are_bitwise_golden() {
    let mut backends = backends();
    for preset in [Preset::Tiny, Preset::Small] {
        let model = preset_model(preset, 3).unwrap();
        let prompt: Vec<u32> = (0..19).map(|i| (i * 131 + 7) % 500).collect();
        let want = logits(&model, &mut GoldenBackend, &prompt, 3);
        for b in backends.iter_mut() {
            b.prepare(&model).unwrap();
            let got = logits(&model, b, &prompt, 3);
            assert!(got == want, "{preset:?} {}: logits differ", b.name());
        }
    }
}
