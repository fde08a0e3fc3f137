//! The CUDA variant (feature `cuda`) against the golden model: `==` on i32
//! accumulators (proptest shapes: ragged, extreme activations; worst-case
//! accumulators) and bitwise-equal whole-network logits, the same checks as
//! tests/gpu.rs. Without a CUDA device (driver, device or NVRTC missing) the
//! tests are skipped, saying so, unless `TRITIUM_REQUIRE_CUDA=1` (then they
//! fail); what always runs is that `CudaBackend::new` then is an error
//! naming what is missing, not a panic.

#![cfg(feature = "cuda")]

mod common;

use common::extreme_i8;
use proptest::prelude::*;
use tritium_gpu::{CudaBackend, Error};

/// The CUDA backend, or none (skipped) without a device when not required.
fn backend() -> Option<CudaBackend> {
    CudaBackend::for_tests().unwrap()
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
        common::matmul_equals_golden(&mut b, (n, k, rows), &t, &q)?;
    }
}

/// All +1 (and all -1) weights against all -128 (or +127): |acc| = 128 K,
/// the extreme, at a moderate K (GEMV and GEMM, several split-K blocks),
/// then past 2^23 where `sum c a` leaves i32 and only the modular `- sum a`
/// brings it back, and at the largest K.
#[test]
fn worst_case_accumulators_are_exact() {
    let Some(mut b) = backend() else { return };
    common::worst_case_accumulators(
        &mut b,
        &[
            (70_000, 1, -128, 3),
            (70_000, 1, 127, 3),
            (70_000, -1, -128, 3),
            ((1 << 23) + 4096, 1, -128, 2),
            ((1 << 23) + 4096, -1, 127, 2),
            (tritium_gpu::MAX_K, 1, -128, 2),
        ],
    );
}

#[test]
fn grouped_calls_and_replaced_weights() {
    let Some(mut b) = backend() else { return };
    common::grouped_calls_and_replaced_weights(&mut b);
}

#[test]
fn bad_shapes_are_errors() {
    let Some(mut b) = backend() else { return };
    common::bad_shapes_are_errors(&mut b);
}

/// Whole-network logits of the tiny and small presets: bitwise golden's.
#[test]
fn network_logits_are_bitwise_golden() {
    let Some(mut b) = backend() else { return };
    common::network_logits_are_bitwise_golden(&mut b, |b, m| b.prepare(m).unwrap());
}
