//! The exact head over ggml blocks (Q8_0, Q6_K kept as stored) against the
//! golden model, bitwise, on every kernel path present; and a loaded GGUF
//! with a Q8_0 head reads only the stored bytes.

mod common;

use common::backend;
use proptest::prelude::*;
use tritium_golden::{Backend, BlockType, DenseMatrix, GoldenBackend};
use tritium_simd::HeadMode;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// Blocks from random bytes with the scales `ds` (cycled), which must be finite.
fn blocks(t: BlockType, n: usize, raw: &[u8], ds: &[u16]) -> Vec<u8> {
    let mut v: Vec<u8> = raw.iter().cycle().take(n * t.bytes()).copied().collect();
    for (i, blk) in v.chunks_exact_mut(t.bytes()).enumerate() {
        let at = t.d_offset();
        blk[at..at + 2].copy_from_slice(&ds[i % ds.len()].to_le_bytes());
    }
    v
}

/// Finite fp16 scales over the whole range: zero, subnormal, tiny and
/// largest normals, both signs.
fn d_pattern() -> impl Strategy<Value = u16> {
    let sign = any::<bool>().prop_map(|s| (s as u16) << 15);
    let mag = prop_oneof![
        0x0400u16..0x7c00,
        0u16..0x0400,
        0x7b00u16..0x7c00,
        0x2000u16..0x3c00,
        Just(0u16),
    ];
    (sign, mag).prop_map(|(s, m)| s | m)
}

fn check(m: &DenseMatrix, x: &[f32]) -> Result<(), TestCaseError> {
    let mut want = vec![0.0; m.rows()];
    GoldenBackend.logits(m, x, &mut want).unwrap();
    // The golden block head is its decoded f32 copy's head.
    let mut wide = vec![0f32; m.rows() * m.cols()];
    for (r, row) in wide.chunks_exact_mut(m.cols()).enumerate() {
        m.row_into(r, row);
    }
    let m32 = DenseMatrix::from_f32("h", m.rows(), m.cols(), wide);
    if let Ok(m32) = m32 {
        let mut w32 = vec![0.0; m.rows()];
        GoldenBackend.logits(&m32, x, &mut w32).unwrap();
        prop_assert_eq!(bits(&w32), bits(&want));
    }
    for isa in tritium_simd::present_kernels().unwrap() {
        for threads in [1, 2] {
            let mut b = backend(isa, threads, HeadMode::Exact);
            let mut got = vec![0.0; m.rows()];
            b.logits(m, x, &mut got).unwrap();
            prop_assert_eq!(
                bits(&got),
                bits(&want),
                "{:?} {} threads {:?}",
                isa,
                threads,
                m
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random blocks (every code, every sub-block scale) with scales over
    /// the fp16 range, 1-13 rows (whole and partial groups of four), 1-3
    /// blocks per Q6_K row and 1-19 per Q8_0 row (the AVX2 kernel widens
    /// Q8_0 scales eight blocks at a time): every path == golden, bitwise.
    #[test]
    fn block_heads_are_bitwise_golden_on_every_path(
        q6 in any::<bool>(),
        rows in 1usize..14,
        nb in 1usize..20,
        raw in proptest::collection::vec(any::<u8>(), 97..400),
        ds in proptest::collection::vec(d_pattern(), 1..9),
        xs in proptest::collection::vec(-8.0f32..8.0, 768),
    ) {
        let (t, nb) = if q6 { (BlockType::Q6K, 1 + nb % 3) } else { (BlockType::Q8_0, nb) };
        let cols = nb * t.elems();
        let m = DenseMatrix::from_blocks("h", t, rows, cols, blocks(t, rows * nb, &raw, &ds)).unwrap();
        check(&m, &xs[..cols])?;
    }
}

/// The extremes: the largest |d| with the largest codes and sub-block
/// scales (values up to 65504 * 128 * 32), against a large hidden state.
#[test]
fn extreme_blocks_are_bitwise_golden() {
    for t in [BlockType::Q8_0, BlockType::Q6K] {
        let rows = 9;
        let raw: Vec<u8> = (0..t.bytes())
            .map(|i| if i % 3 == 0 { 0x80 } else { 0xff })
            .collect();
        let m = DenseMatrix::from_blocks(
            "h",
            t,
            rows,
            2 * t.elems(),
            blocks(t, 2 * rows, &raw, &[0x7bff, 0xfbff, 0x0001]),
        )
        .unwrap();
        let x: Vec<f32> = (0..2 * t.elems())
            .map(|i| (i as f32 - 200.0) * 37.5)
            .collect();
        check(&m, &x).unwrap();
    }
}
