//! The SIMD engine against the golden model: every kernel path present on
//! this machine, `==` on i32 accumulators and bitwise-equal logits.

mod common;

use common::{backend, backend_with, logits, logits_kv};
use proptest::prelude::*;
use tritium_golden::{
    Backend, DenseMatrix, GoldenBackend, KvPrecision, LinearCall, LinearId, Preset, Proj,
    TernaryMatrix,
};
use tritium_model::synthetic::preset_model;
use tritium_simd::{kernels, Acts, Body, HeadMode, Isa, PackedTernary};

fn call<'a>(w: &'a TernaryMatrix, acts: &'a [i8], rows: usize) -> LinearCall<'a> {
    let id = LinearId::new(0, Proj::Gate);
    LinearCall::new(id, w, acts, rows, 0)
}

fn golden(w: &TernaryMatrix, acts: &[i8], rows: usize) -> Vec<i32> {
    let mut out = vec![0; rows * w.n()];
    GoldenBackend
        .matmul(&call(w, acts, rows), &mut out)
        .unwrap();
    out
}

#[test]
fn every_present_path_is_listed() {
    let present = Isa::present();
    assert!(present.contains(&Isa::Scalar));
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        assert!(present.contains(&Isa::Avx2));
    }
    eprintln!("kernel paths on this machine: {present:?}");
}

fn extreme_row(k: usize) -> impl Strategy<Value = Vec<i8>> {
    prop_oneof![
        Just(vec![-128i8; k]),
        Just(vec![127i8; k]),
        Just(vec![0i8; k]),
        proptest::collection::vec(any::<i8>(), k),
        proptest::collection::vec(prop_oneof![Just(-128i8), Just(127), Just(0)], k),
    ]
}

/// Single-token (decode) jobs over every panel count parity and a ragged
/// last panel: each path == golden (the lookup-table path works in blocks
/// of two panels; an odd count ends on half a block).
#[test]
fn decode_rows_of_every_panel_count_equal_golden() {
    for n in [1usize, 16, 17, 31, 33, 48, 49, 64, 65, 80, 97, 100] {
        let k = 77 + n % 5;
        let t: Vec<i8> = (0..n * k).map(|i| (i * 7 % 3) as i8 - 1).collect();
        let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
        let acts: Vec<i8> = (0..k).map(|i| (i * 131 % 256) as u8 as i8).collect();
        let want = golden(&w, &acts, 1);
        for isa in tritium_simd::present_kernels().unwrap() {
            for threads in [1, 2] {
                let mut out = vec![7; n];
                backend(isa, threads, HeadMode::Exact)
                    .matmul(&call(&w, &acts, 1), &mut out)
                    .unwrap();
                assert_eq!(out, want, "{isa:?} n {n} threads {threads}");
            }
        }
    }
}

/// Prompts whose K spans several of the AMX kernel's K blocks (8 steps
/// of 64 inputs: 512) with a ragged tail, over whole and partial token
/// groups, pairs of groups and a single one, panel counts of every
/// remainder by 2 and 3 (the AMX and AVX-512 kernels' runs) and a ragged
/// last panel: the accumulators are parked between blocks and the tiles of
/// a partial group or panel go through scratch. Every path == golden, at 1
/// and 2 threads.
#[test]
fn prompts_across_k_blocks_equal_golden() {
    for (n, k, rows) in [
        (48, 1100, 33),
        (40, 1601, 16),
        (32, 520, 47),
        (17, 1024, 64),
        (80, 2100, 2),
        // Seven panels: the AVX-512 kernel's runs of three and a single
        // one left over.
        (112, 600, 24),
        // Long rows: the backend runs 16 token rows per call
        // (`prompt_chunk_rows`), three calls here.
        (20, 70_000, 40),
    ] {
        let t: Vec<i8> = (0..n * k)
            .map(|i| ((i * 7 + i / 13) % 3) as i8 - 1)
            .collect();
        let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
        let acts: Vec<i8> = (0..rows * k)
            .map(|i| ((i * 131 + i / 97) % 256) as u8 as i8)
            .collect();
        let want = golden(&w, &acts, rows);
        for isa in tritium_simd::present_kernels().unwrap() {
            for threads in [1, 2] {
                let mut out = vec![7; n * rows];
                backend(isa, threads, HeadMode::Exact)
                    .matmul(&call(&w, &acts, rows), &mut out)
                    .unwrap();
                assert_eq!(
                    out, want,
                    "{isa:?} n {n} k {k} rows {rows} threads {threads}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The tile layout of activations, from its definition: row `r`, input
    /// `c` at byte `16 g kp + 1024 kt + 64 m + c % 64` (`g, m` = `r / 16,
    /// r % 16`, `kt = c / 64`), every other byte zero, whatever the
    /// buffer held before (the backend reuses it without clearing).
    #[test]
    fn tile_layout_is_its_definition(
        rows in 1usize..40, k in 1usize..200, fill in any::<i8>(), seed in any::<u64>(),
    ) {
        let kp = k.next_multiple_of(64);
        let src: Vec<i8> = (0..rows * k)
            .map(|i| (seed.wrapping_mul(i as u64 + 1) >> 56) as i8)
            .collect();
        let len = rows.next_multiple_of(16) * kp;
        let mut want = vec![0i8; len];
        for r in 0..rows {
            for c in 0..k {
                want[r / 16 * 16 * kp + c / 64 * 1024 + r % 16 * 64 + c % 64] = src[r * k + c];
            }
        }
        let mut got = vec![fill; len];
        kernels::tile_acts(&src, k, rows, kp, &mut got);
        prop_assert_eq!(got, want);
    }

    /// The row sum every kernel subtracts: the vectorized sum == the
    /// plain one, for every length (whole 32-byte steps and tails) and the
    /// extreme rows (all -128: the bias of the unsigned sums).
    #[test]
    fn act_sum_equals_the_plain_sum(
        a in prop_oneof![
            proptest::collection::vec(any::<i8>(), 0..300),
            (0usize..300).prop_flat_map(extreme_row),
        ]
    ) {
        let want: i32 = a.iter().map(|&x| i32::from(x)).sum();
        prop_assert_eq!(kernels::act_sum(&a), want);
    }

    /// Random and ragged shapes, 1..=19 rows (whole and partial token tiles),
    /// extreme activations: every path == golden, single- and multi-threaded.
    #[test]
    fn every_path_equals_golden(
        (n, k, rows, t, acts) in (1usize..70, 1usize..300, 1usize..20).prop_flat_map(|(n, k, rows)| (
            Just(n), Just(k), Just(rows),
            proptest::collection::vec(-1i8..=1, n * k),
            proptest::collection::vec(extreme_row(k), rows).prop_map(|r| r.concat()),
        )),
        threads in 1usize..4,
    ) {
        let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
        let want = golden(&w, &acts, rows);
        for isa in tritium_simd::present_kernels().unwrap() {
            let mut b = backend(isa, threads, HeadMode::Exact);
            let mut out = vec![7; rows * n];
            let stats = b.matmul(&call(&w, &acts, rows), &mut out).unwrap();
            prop_assert_eq!(&out, &want, "{:?}", isa);
            prop_assert_eq!(stats.adds + stats.zero_skips, stats.macs);
        }
    }

    /// The kernels on a panel sub-range write exactly their panels.
    #[test]
    fn kernel_panel_ranges(n in 1usize..120, k in 1usize..150, rows in 1usize..40, seed in any::<u64>()) {
        let mut s = seed | 1;
        let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s };
        let t: Vec<i8> = (0..n * k).map(|_| (next() % 3) as i8 - 1).collect();
        let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap();
        let p = PackedTernary::from_matrix(&w);
        let kp = p.k_padded();
        let mut data = vec![0i8; rows * kp];
        let mut sums = vec![0i32; rows];
        let mut flat = Vec::new();
        for r in 0..rows {
            for c in 0..k {
                let a = next() as i8;
                data[r * kp + c] = a;
                sums[r] += i32::from(a);
                flat.push(a);
            }
        }
        let want = golden(&w, &flat, rows);
        let a = Acts { data: &data, stride: kp, sums: &sums, rows };
        // The tiled prompt kernels read whole 64-input steps of 16 rows:
        // the same activations in the tile layout (as the backend lays
        // them out).
        let (kp64, rows16) = (kp.next_multiple_of(64), rows.next_multiple_of(16));
        let mut padded = vec![0i8; rows16 * kp64];
        kernels::tile_acts(&flat, k, rows, kp64, &mut padded);
        let a_tiled = Acts { data: &padded, stride: kp64, sums: &sums, rows };
        let panels = p.panels();
        let p0 = (next() as usize) % panels;
        let np = 1 + (next() as usize) % (panels - p0);
        for isa in tritium_simd::present_kernels().unwrap() {
            let mut out = vec![0i32; np * rows * 16];
            let a = if kernels::tiled_prompt(isa, rows) { &a_tiled } else { &a };
            // Whatever this thread streams next (a worker's step lies before).
            let next = kernels::NextStep::of(&p, p0.wrapping_sub(4));
            kernels::ternary_panels(isa, &p, p0, np, a, &mut out, next);
            for q in 0..np {
                for r in 0..rows {
                    for i in 0..16 {
                        let row = (p0 + q) * 16 + i;
                        if row < n {
                            prop_assert_eq!(out[(q * rows + r) * 16 + i], want[r * n + row], "{:?}", isa);
                        }
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Grouped calls (q/k/v, gate/up: one job over several matrices) ==
    /// golden, per matrix, on every path.
    #[test]
    fn grouped_calls_equal_golden(
        (ns, k, rows, seed) in (proptest::collection::vec(1usize..90, 1..5), 1usize..200, 1usize..11, any::<u64>()),
        threads in 1usize..4,
    ) {
        let mut s = seed | 1;
        let mut next = move || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s };
        let ws: Vec<TernaryMatrix> = ns.iter().map(|&n| {
            let t: Vec<i8> = (0..n * k).map(|_| (next() % 3) as i8 - 1).collect();
            TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap()
        }).collect();
        let acts: Vec<i8> = (0..rows * k).map(|_| next() as i8).collect();
        let calls: Vec<LinearCall> = ws.iter().enumerate().map(|(i, w)| {
            LinearCall::new(LinearId::new(i, Proj::Q), w, &acts, rows, 0)
        }).collect();
        for isa in tritium_simd::present_kernels().unwrap() {
            let mut b = backend(isa, threads, HeadMode::Exact);
            let mut outs: Vec<Vec<i32>> = ws.iter().map(|w| vec![5; rows * w.n()]).collect();
            let mut stats = vec![Default::default(); ws.len()];
            b.matmul_group(&calls, &mut outs, &mut stats).unwrap();
            prop_assert!(stats.iter().zip(&calls).all(|(s, c)| *s == c.counted_stats()));
            for (w, o) in ws.iter().zip(&outs) {
                prop_assert_eq!(o, &golden(w, &acts, rows), "{:?}", isa);
            }
        }
    }
}

/// |acc| = 128 K at the largest K of the 2B4T shape and beyond, for one
/// token (the GEMV kernels) and two (the tiles). 600 000 crosses many of the
/// AVX-512 GEMV's 2^12-block segments; its scaled accumulators grow by up to
/// 2^16 per 16-input block and would overflow i32 past K = 2^19 if they
/// were never folded. The all-(+1) rows against -128 reach the exact i16
/// limit of the AVX2 kernels' segments (8 blocks for one token, 16 for the
/// tiles): one block more overflows, and this test fails.
#[test]
fn worst_case_accumulator_magnitudes() {
    for k in [6912, 8192, 20_000, 600_000] {
        for (wv, av) in [(1i8, -128i8), (-1, -128), (1, 127)] {
            let w = TernaryMatrix::from_ternary("w", 17, k, &vec![wv; 17 * k], 1.0).unwrap();
            for rows in [1, 2, 19] {
                if rows > 2 && k > 20_000 {
                    continue;
                }
                let acts = vec![av; rows * k];
                let want = golden(&w, &acts, rows);
                assert_eq!(want[0] as i64, wv as i64 * av as i64 * k as i64);
                for isa in tritium_simd::present_kernels().unwrap() {
                    let mut out = vec![0; rows * 17];
                    backend(isa, 2, HeadMode::Exact)
                        .matmul(&call(&w, &acts, rows), &mut out)
                        .unwrap();
                    assert_eq!(out, want, "{isa:?} k {k} rows {rows}");
                }
            }
        }
    }
    // Mixed weights and activations across segment boundaries.
    let k = 70_001;
    let t: Vec<i8> = (0..33 * k)
        .map(|i| ((i * 7 + i / 3) % 3) as i8 - 1)
        .collect();
    let w = TernaryMatrix::from_ternary("w", 33, k, &t, 1.0).unwrap();
    let acts: Vec<i8> = (0..k).map(|i| ((i * 131) % 256) as u8 as i8).collect();
    let want = golden(&w, &acts, 1);
    for isa in tritium_simd::present_kernels().unwrap() {
        let mut out = vec![0; 33];
        backend(isa, 2, HeadMode::Exact)
            .matmul(&call(&w, &acts, 1), &mut out)
            .unwrap();
        assert_eq!(out, want, "{isa:?} mixed k {k}");
    }
}

/// Regression: a backend must not serve weights packed for another matrix
/// under the same layer id.
#[test]
fn replaced_weights_are_repacked() {
    let t1 = vec![1i8; 20 * 33];
    let t2 = vec![-1i8; 20 * 33];
    let w1 = TernaryMatrix::from_ternary("w", 20, 33, &t1, 1.0).unwrap();
    let w2 = TernaryMatrix::from_ternary("w", 20, 33, &t2, 1.0).unwrap();
    let acts = vec![3i8; 33];
    let mut b = backend(Isa::best(), 1, HeadMode::Exact);
    let mut out = vec![0; 20];
    b.matmul(&call(&w1, &acts, 1), &mut out).unwrap();
    assert_eq!(out[0], 99);
    b.matmul(&call(&w2, &acts, 1), &mut out).unwrap();
    assert_eq!(out[0], -99);
}

/// Regression (found by the vector corpus): packed copies were keyed by the
/// weights' address, and a dropped matrix's address is reused by the next
/// one of the same size, which was then served the stale copy.
#[test]
fn a_new_matrix_at_a_reused_address_is_not_served_stale() {
    let mut b = backend(Isa::best(), 1, HeadMode::Exact);
    let acts = vec![-128i8; 100];
    for (i, wv) in [1i8, -1, 1, 0, -1].into_iter().enumerate() {
        let w = TernaryMatrix::from_ternary("w", 1, 100, &[wv; 100], 1.0).unwrap();
        let mut out = vec![0; 1];
        b.matmul(&call(&w, &acts, 1), &mut out).unwrap();
        assert_eq!(out[0], -12800 * i32::from(wv), "matrix {i}");
    }
}

fn bits(l: &[Vec<f32>]) -> Vec<Vec<u32>> {
    l.iter()
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// Whole-network logits of the tiny and small presets: bitwise equal on
/// every path, prefill (a batched matmul) and decode steps, decoding from
/// the 2-bit and the base-3 body.
#[test]
fn network_logits_are_bitwise_golden() {
    for preset in [Preset::Tiny, Preset::Small] {
        let model = preset_model(preset, 3).unwrap();
        let prompt: Vec<u32> = (0..11).map(|i| (i * 131 + 7) % 500).collect();
        let want = bits(&logits(&model, &mut GoldenBackend, &prompt, 3));
        for isa in tritium_simd::present_kernels().unwrap() {
            for (threads, body) in [(1, Body::Bit2), (2, Body::Bit2), (2, Body::Base3)] {
                let mut b = backend_with(isa, threads, HeadMode::Exact, body);
                b.prepare(&model);
                let got = bits(&logits(&model, &mut b, &prompt, 3));
                assert!(
                    got == want,
                    "{preset:?} {isa:?} {threads} threads, {body:?}: logits differ"
                );
            }
        }
    }
}

/// With an f16 KV cache: the golden model's logits with that cache,
/// bitwise, on every path (prefill and decode, both bodies); they are not
/// the f32 cache's, and differ from them by a few percent of the largest
/// |logit| on these random-weight presets (measured: 1.9 % tiny, 2.8 %
/// small; the int8 activation codes turn small differences into whole
/// steps).
#[test]
fn f16_kv_cache_logits_are_bitwise_golden_and_close_to_f32() {
    for preset in [Preset::Tiny, Preset::Small] {
        let model = preset_model(preset, 3).unwrap();
        let prompt: Vec<u32> = (0..11).map(|i| (i * 131 + 7) % 500).collect();
        let exact = logits(&model, &mut GoldenBackend, &prompt, 3);
        let want = logits_kv(&model, &mut GoldenBackend, &prompt, 3, KvPrecision::F16);
        assert!(
            bits(&want) != bits(&exact),
            "{preset:?}: f16 changed nothing"
        );
        let top = exact.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
        let dev = exact
            .iter()
            .flatten()
            .zip(want.iter().flatten())
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(dev <= 5e-2 * top, "{preset:?}: deviation {dev} of {top}");
        let want = bits(&want);
        for isa in tritium_simd::present_kernels().unwrap() {
            for (threads, body) in [(1, Body::Bit2), (2, Body::Base3)] {
                let mut b = backend_with(isa, threads, HeadMode::Exact, body);
                b.prepare(&model);
                let got = bits(&logits_kv(&model, &mut b, &prompt, 3, KvPrecision::F16));
                assert!(
                    got == want,
                    "{preset:?} {isa:?} {threads} threads, {body:?}: logits differ"
                );
            }
        }
    }
}

/// The exact head reproduces the golden pinned order for f32, bf16 and f16
/// heads and ragged widths (tail lanes), on every path.
#[test]
fn exact_head_is_bitwise_golden_for_ragged_f32_bf16_and_f16() {
    for cols in [1usize, 15, 16, 17, 40, 333] {
        let rows = 37;
        let vals: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 % 1000) as f32 - 500.0) * 1.37e-3)
            .collect();
        let x: Vec<f32> = (0..cols)
            .map(|i| ((i * 31 % 97) as f32 - 48.0) * 0.11)
            .collect();
        let bf: Vec<u16> = vals
            .iter()
            .map(|&v| tritium_golden::ops::f32_to_bf16(v))
            .collect();
        // f16 patterns over the whole finite range: zeros, subnormals, the
        // largest finite (0x7bff), both signs.
        let f16: Vec<u16> = (0..rows * cols)
            .map(|i| (i * 7919 % 0x7c00) as u16 | ((i % 3 == 0) as u16) << 15)
            .collect();
        for m in [
            DenseMatrix::from_f32("h", rows, cols, vals.clone()).unwrap(),
            DenseMatrix::from_bf16("h", rows, cols, bf).unwrap(),
            DenseMatrix::from_f16("h", rows, cols, f16).unwrap(),
        ] {
            let mut want = vec![0.0; rows];
            GoldenBackend.logits(&m, &x, &mut want).unwrap();
            for isa in tritium_simd::present_kernels().unwrap() {
                let mut got = vec![0.0; rows];
                backend(isa, 2, HeadMode::Exact)
                    .logits(&m, &x, &mut got)
                    .unwrap();
                let (g, w): (Vec<u32>, Vec<u32>) = (
                    got.iter().map(|v| v.to_bits()).collect(),
                    want.iter().map(|v| v.to_bits()).collect(),
                );
                assert_eq!(g, w, "{isa:?} cols {cols} {m:?}");
            }
        }
    }
}

/// The fast Q8 head (W8A8) is approximate: its deviation from the golden
/// logits stays within 1.5 % of the largest |logit| of the row (measured on
/// the small preset: 0.8-1.1 %, the README's figure); its integer dot
/// products make it identical on every path.
#[test]
fn q8_head_deviation_is_bounded_and_the_same_on_every_path() {
    let model = preset_model(Preset::Small, 5).unwrap();
    let prompt: Vec<u32> = (0..6).map(|i| i * 97 + 3).collect();
    let want = logits(&model, &mut GoldenBackend, &prompt, 2);
    let mut first: Option<Vec<Vec<u32>>> = None;
    for isa in tritium_simd::present_kernels().unwrap() {
        let mut b = backend(isa, 2, HeadMode::Q8);
        let got = logits(&model, &mut b, &prompt, 2);
        for (g, w) in got.iter().zip(&want) {
            let range = w.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            let dev = g
                .iter()
                .zip(w)
                .fold(0.0f32, |a, (x, y)| a.max((x - y).abs()));
            eprintln!("{isa:?}: max |dev| {dev:.4} of largest |logit| {range:.3}");
            assert!(
                dev <= 0.015 * range.max(1e-3),
                "{isa:?}: deviation {dev} of range {range}"
            );
            assert!(dev > 0.0, "the Q8 head should not be exact");
        }
        let b = bits(&got);
        match &first {
            None => first = Some(b),
            Some(f) => assert!(f == &b, "{isa:?}: Q8 logits differ between paths"),
        }
    }
}

/// Regression: the int8 copy of the head was keyed by the head's address, so
/// a new head allocated where a dropped one had been was served the old
/// copy. Keyed by the matrix id now: a second head of the same shape, built
/// after the first is dropped (typically at the same address), gets its own.
#[test]
fn q8_head_copy_is_rebuilt_for_a_new_head_at_a_reused_address() {
    // Small enough to come from the heap (not mmap), where a freed block is
    // handed out again for the next request of its size.
    let (rows, cols) = (256, 32);
    let x: Vec<f32> = (0..cols).map(|i| (i % 7) as f32 - 3.0).collect();
    let head = |seed: u64| {
        let mut r = tritium_golden::SplitMix64::new(seed);
        let v: Vec<f32> = (0..rows * cols).map(|_| r.normal()).collect();
        DenseMatrix::from_f32("h", rows, cols, v).unwrap()
    };
    let mut b = backend(Isa::best(), 1, HeadMode::Q8);
    let first = head(1);
    let addr = first.as_f32().unwrap().as_ptr() as usize;
    let mut out = vec![0.0; rows];
    b.logits(&first, &x, &mut out).unwrap();
    drop(first);
    let second = head(2);
    let reused = second.as_f32().unwrap().as_ptr() as usize == addr;
    b.logits(&second, &x, &mut out).unwrap();
    let mut fresh = vec![0.0; rows];
    backend(Isa::best(), 1, HeadMode::Q8)
        .logits(&second, &x, &mut fresh)
        .unwrap();
    eprintln!("second head at the first one's address: {reused}");
    assert!(bits(&[out]) == bits(&[fresh]), "stale int8 head served");
}

/// The Q8 head must not hide a non-finite hidden state behind finite logits.
#[test]
fn q8_head_rejects_non_finite_input() {
    let m = DenseMatrix::from_f32("h", 3, 20, vec![0.5; 60]).unwrap();
    let mut x = vec![1.0f32; 20];
    x[7] = f32::NAN;
    let mut out = vec![0.0; 3];
    let e = backend(Isa::best(), 1, HeadMode::Q8)
        .logits(&m, &x, &mut out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("final hidden state"), "{e}");
}

#[test]
fn kernel_names_are_checked() {
    assert!(tritium_simd::parse_isa("scalar").is_ok());
    let e = tritium_simd::parse_isa("sse9").unwrap_err().to_string();
    assert!(e.contains("unknown kernel"), "{e}");
    for isa in Isa::ALL {
        if !isa.available() {
            let e = tritium_simd::parse_isa(isa.name()).unwrap_err().to_string();
            assert!(e.contains("not supported by this CPU"), "{e}");
        }
    }
}

/// `for_each_row` hands out the same rows as the golden default (a short
/// last row included), each exactly once, whatever the thread count.
#[test]
fn for_each_row_covers_every_row_once() {
    for threads in [1, 2, 3] {
        let mut b = backend(Isa::Scalar, threads, HeadMode::Exact);
        for (len, d) in [
            (0usize, 4usize),
            (3, 4),
            (4, 4),
            (40, 4),
            (41, 4),
            (1000, 7),
        ] {
            let mut got = vec![0.0f32; len];
            b.for_each_row(&mut got, d, &|i, row| {
                for (j, v) in row.iter_mut().enumerate() {
                    *v += (i * 1000 + j) as f32 + 1.0;
                }
            });
            let want: Vec<f32> = (0..len)
                .map(|x| ((x / d) * 1000 + x % d) as f32 + 1.0)
                .collect();
            assert_eq!(got, want, "{threads} threads, len {len}, d {d}");
        }
    }
}

/// The golden logits of a head stored as `bits` (f16) and of its f32 copy.
fn f16_and_widened(rows: usize, cols: usize, bits: Vec<u16>) -> (DenseMatrix, DenseMatrix) {
    let wide = bits
        .iter()
        .map(|&h| tritium_golden::ops::f16_to_f32(h))
        .collect();
    (
        DenseMatrix::from_f16("h", rows, cols, bits).unwrap(),
        DenseMatrix::from_f32("h", rows, cols, wide).unwrap(),
    )
}

/// Finite f16 patterns, weighted towards the edges: zeros, subnormals, the
/// smallest normals, the largest finite values.
fn f16_pattern() -> impl Strategy<Value = u16> {
    let sign = any::<bool>().prop_map(|s| (s as u16) << 15);
    let mag = prop_oneof![
        0u16..0x7c00,
        0u16..0x0400,
        0x0400u16..0x0410,
        0x7bf0u16..0x7c00,
        Just(0u16),
    ];
    (sign, mag).prop_map(|(s, m)| s | m)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// An f16 head on every present path == the golden f16 head == the
    /// golden head widened to f32 in memory (what the loader used to hold),
    /// bitwise, over ragged widths and rows (whole and partial row blocks).
    #[test]
    fn f16_head_is_bitwise_golden_on_every_path(
        (rows, cols, bits) in (1usize..11, 1usize..90).prop_flat_map(|(r, c)| {
            (Just(r), Just(c), proptest::collection::vec(f16_pattern(), r * c))
        }),
        xs in proptest::collection::vec(-4.0f32..4.0, 90),
    ) {
        let (m16, m32) = f16_and_widened(rows, cols, bits);
        let x = &xs[..cols];
        let mut want = vec![0.0; rows];
        GoldenBackend.logits(&m16, x, &mut want).unwrap();
        let mut wide = vec![0.0; rows];
        GoldenBackend.logits(&m32, x, &mut wide).unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&want), bits(&wide));
        for isa in tritium_simd::present_kernels().unwrap() {
            let mut got = vec![0.0; rows];
            backend(isa, 1, HeadMode::Exact).logits(&m16, x, &mut got).unwrap();
            prop_assert_eq!(bits(&got), bits(&want), "{:?}", isa);
        }
    }
}

/// `Body::Auto` is the base-3 body on the x86 multiply-add paths only (the
/// measured choice, README), and the AVX2 one, not the lookup tables, is
/// what a CPU whose best instruction set is AVX2 runs by default.
#[test]
fn auto_body_and_best_path_follow_the_measurements() {
    for isa in Isa::ALL {
        let want = match isa {
            Isa::Avx512 | Isa::Amx => Body::Base3,
            Isa::Avx2 => match tritium_simd::calibrate::avx2_probe() {
                Some(p) if p.base3_macs_per_s >= p.bit2_macs_per_s => Body::Base3,
                _ => Body::Bit2,
            },
            _ => Body::Bit2,
        };
        assert_eq!(Body::Auto.resolve(isa), want, "{isa:?}");
        for b in [Body::Bit2, Body::Base3] {
            assert_eq!(b.resolve(isa), b);
        }
    }
    assert_ne!(Isa::best(), Isa::Avx2Lut);
    assert_eq!(
        Isa::best(),
        *Isa::present()
            .iter()
            .rfind(|&&i| i != Isa::Avx2Lut)
            .unwrap()
    );
    if Isa::Avx2.available() {
        let b = backend_with(Isa::Avx2, 1, HeadMode::Exact, Body::Auto);
        let p = tritium_simd::calibrate::avx2_probe().expect("AVX2 is present");
        eprintln!("AVX2 body probe: {p:?}");
        let base3 = p.base3_wins();
        assert_eq!(b.body(), if base3 { Body::Base3 } else { Body::Bit2 });
        assert_eq!(b.name().ends_with("-b3body"), base3, "{}", b.name());
    }
}

/// Regression: `threads()` (asked by every decode matmul) used to run
/// `rayon::current_num_threads` *inside* the backend's pool, a job sent to a
/// sleeping worker and waited for (~8 us per matmul, 1 ms per 2B4T token
/// for callers outside the pool). With every worker of the pool busy it
/// must still answer at once.
#[test]
fn thread_count_does_not_wait_for_the_pool() {
    use std::sync::mpsc;
    use std::time::Duration;
    let b = backend_with(Isa::Scalar, 2, HeadMode::Exact, Body::Bit2);
    let pool = b.pool().expect("own pool");
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = std::sync::Arc::new(std::sync::Mutex::new(release_rx));
    let (busy_tx, busy_rx) = mpsc::channel::<()>();
    for _ in 0..2 {
        let (rx, busy) = (release_rx.clone(), busy_tx.clone());
        pool.spawn(move || {
            busy.send(()).unwrap();
            let _ = rx.lock().unwrap().recv();
        });
    }
    busy_rx.recv().unwrap();
    busy_rx.recv().unwrap();
    // Both workers are blocked: a count that needs one would never come.
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| done_tx.send(b.threads()).unwrap());
        let got = done_rx.recv_timeout(Duration::from_secs(10));
        release_tx.send(()).unwrap();
        release_tx.send(()).unwrap();
        assert_eq!(got, Ok(2), "threads() waited for a busy pool");
    });
}
