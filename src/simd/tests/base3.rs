//! The base-3 body (`T3P16`, [`tritium_simd::base3`]): every present
//! kernel path's single-token products `==` the golden model's.

mod common;

use proptest::prelude::*;
use tritium_golden::{Backend, GoldenBackend, LinearCall, LinearId, Proj, TernaryMatrix};
use tritium_simd::base3::{B3Acts, B3Matrix};
use tritium_simd::kernels;
use tritium_simd::layout::PANEL;

fn golden(w: &TernaryMatrix, acts: &[i8]) -> Vec<i32> {
    let mut out = vec![0; w.n()];
    let call = LinearCall::new(LinearId::new(0, Proj::Gate), w, acts, 1, 0);
    GoldenBackend.matmul(&call, &mut out).unwrap();
    out
}

fn extreme_row(k: usize) -> impl Strategy<Value = Vec<i8>> {
    prop_oneof![
        Just(vec![-128i8; k]),
        Just(vec![127i8; k]),
        proptest::collection::vec(any::<i8>(), k),
        proptest::collection::vec(prop_oneof![Just(-128i8), Just(127), Just(0)], k),
    ]
}

/// Every path on every panel range of a matrix (whole groups of four
/// panels, the single-panel tail, offsets), ragged K and N.
fn check(n: usize, k: usize, t: &[i8], acts: &[i8]) -> Result<(), TestCaseError> {
    let w = TernaryMatrix::from_ternary("w", n, k, t, 1.0).unwrap();
    let want = golden(&w, acts);
    let b = B3Matrix::from_matrix(&w);
    let (mut with, mut without) = (B3Acts::default(), B3Acts::default());
    with.set(acts, b.groups(), true);
    // Paths that read no table get none (as the backend builds them).
    without.set(acts, b.groups(), false);
    for isa in tritium_simd::present_kernels().unwrap() {
        let a = if kernels::base3_needs_table(isa) {
            &with
        } else {
            &without
        };
        for p0 in [0, 1.min(b.panels() - 1)] {
            let np = b.panels() - p0;
            let mut out = vec![i32::MIN; np * PANEL];
            // Whatever comes next (a worker's next step lies before p0).
            let next = kernels::NextStep::of_base3(&b, p0.wrapping_sub(4));
            kernels::base3_panels(isa, &b, p0, np, a, &mut out, next);
            let got = &out[..n - p0 * PANEL];
            prop_assert_eq!(got, &want[p0 * PANEL..], "{:?} from panel {}", isa, p0);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn products_equal_golden_on_every_path(
        (n, k, t, acts) in (1usize..150, 1usize..300).prop_flat_map(|(n, k)| (
            Just(n), Just(k),
            proptest::collection::vec(-1i8..=1, n * k),
            extreme_row(k)))
    ) {
        check(n, k, &t, &acts)?;
    }
}

/// The 2B4T shapes' K (2560 = 128 whole groups, 6912 = 345.6: a ragged
/// last group) with the extreme activations and all-(+1) / all-(-1) rows.
#[test]
fn model_widths_with_extreme_values_equal_golden() {
    for k in [2560usize, 6912] {
        let n = 80;
        let t: Vec<i8> = (0..n * k)
            .map(|i| match (i / k) % 4 {
                0 => 1,
                1 => -1,
                _ => ((i * 7 + i / 13) % 3) as i8 - 1,
            })
            .collect();
        for a in [-128i8, 127] {
            let acts: Vec<i8> = (0..k)
                .map(|i| if i % 3 == 0 { a } else { -a.max(-127) })
                .collect();
            check(n, k, &t, &acts).unwrap();
        }
    }
}

/// K across several of the AVX-512 kernel's exact segments (1024 groups,
/// 20,480 inputs) with the largest magnitudes a segment can hold: all-(+1)
/// and all-(-1) rows against -128 and 127 activations (a segment's
/// `256 D` is then within a few percent of 2^31).
#[test]
fn segments_at_worst_case_magnitudes_equal_golden() {
    let k = 2 * 20_480 + 333;
    let n = 33;
    let t: Vec<i8> = (0..n * k)
        .map(|i| match (i / k) % 3 {
            0 => 1,
            1 => -1,
            _ => ((i * 5 + i / 7) % 3) as i8 - 1,
        })
        .collect();
    for a in [-128i8, 127] {
        check(n, k, &t, &vec![a; k]).unwrap();
    }
}
