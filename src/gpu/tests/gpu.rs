//! The GPU backend against the golden model, on every kernel variant this
//! build has: `==` on i32 accumulators (proptest shapes: ragged, extreme
//! activations, worst-case accumulators) and bitwise-equal whole-network
//! logits. Without an adapter the tests are skipped, saying so, unless
//! `TRITIUM_REQUIRE_GPU=1` (then they fail). Shapes are small: lavapipe runs
//! the shaders on the CPU.

mod common;

use common::extreme_i8;
use proptest::prelude::*;
use tritium_gpu::{GpuBackend, GpuOptions, Kernel};

/// One backend per kernel variant present, or none (skipped) when there is
/// no adapter and it is not required.
fn backends() -> Vec<GpuBackend> {
    Kernel::present()
        .into_iter()
        .filter_map(|k| GpuBackend::for_tests(GpuOptions { kernel: Some(k) }).unwrap())
        .collect()
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
        for mut b in backends() {
            common::matmul_equals_golden(&mut b, (n, k, rows), &t, &q)?;
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
        common::worst_case_accumulators(
            &mut b,
            &[
                (70_000, 1, -128, 3),
                (70_000, 1, 127, 3),
                (70_000, -1, -128, 3),
                ((1 << 23) + 4096, 1, -128, 2),
                ((1 << 23) + 4096, -1, 127, 1),
            ],
        );
    }
}

#[test]
fn grouped_calls_and_replaced_weights() {
    for mut b in backends() {
        common::grouped_calls_and_replaced_weights(&mut b);
    }
}

#[test]
fn bad_shapes_are_errors() {
    for mut b in backends() {
        common::bad_shapes_are_errors(&mut b);
    }
}

/// Whole-network logits: bitwise golden's on every variant.
#[test]
fn network_logits_are_bitwise_golden() {
    for mut b in backends() {
        common::network_logits_are_bitwise_golden(&mut b, |b, m| b.prepare(m).unwrap());
    }
}
