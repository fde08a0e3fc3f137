//! Helpers shared by the SIMD engine's test files.

#![allow(dead_code)] // each test file uses its own subset

use tritium_golden::{Backend, KvPrecision, Logits, Model, Session};
use tritium_simd::{Body, HeadMode, Isa, SimdBackend, SimdOptions};

/// The engine on path `isa` with `threads` workers and head mode `head`.
pub fn backend(isa: Isa, threads: usize, head: HeadMode) -> SimdBackend {
    backend_with(isa, threads, head, Body::Bit2)
}

/// [`backend`] decoding from the weight layout `body`.
pub fn backend_with(isa: Isa, threads: usize, head: HeadMode, body: Body) -> SimdBackend {
    SimdBackend::new(SimdOptions {
        isa: Some(isa),
        threads: Some(threads),
        head,
        body,
    })
    .unwrap()
}

/// Every position's logits of `prompt` (one batched forward), then of
/// `steps` single-token decode steps.
pub fn logits(model: &Model, b: &mut dyn Backend, prompt: &[u32], steps: u32) -> Vec<Vec<f32>> {
    logits_kv(model, b, prompt, steps, KvPrecision::F32)
}

/// [`logits`] with a KV cache of `kv` values.
pub fn logits_kv(
    model: &Model,
    b: &mut dyn Backend,
    prompt: &[u32],
    steps: u32,
    kv: KvPrecision,
) -> Vec<Vec<f32>> {
    let mut s = Session::with_kv(model, kv);
    let mut all = s.forward(b, prompt, Logits::All).unwrap();
    for i in 0..steps {
        let next = (i * 37 + 11) % model.config().vocab_size as u32;
        all.extend(s.forward(b, &[next], Logits::All).unwrap());
    }
    all
}

/// The fast head (`HeadMode::Q8`) on a head stored as blocks, against its
/// exact logits, for three inputs from `seed`, on every path: asserts that
/// every path gives the same bits, that it reads the stored bytes per
/// token, that it is not exact, that its largest deviation is at most
/// `bound` of the largest |logit|, and that it is smaller than that of the
/// int8 copy of the same values (what the fast mode computed before for
/// such a head).
pub fn check_fast_head(head: &tritium_golden::DenseMatrix, seed: u64, bound: f32) {
    use tritium_golden::{DenseMatrix, GoldenBackend, SplitMix64};
    let (rows, cols) = (head.rows(), head.cols());
    let bytes = head.as_blocks().expect("a head stored as blocks").1.len();
    let mut wide = vec![0f32; rows * cols];
    for (v, row) in wide.chunks_exact_mut(cols).enumerate() {
        head.row_into(v, row);
    }
    let copy = DenseMatrix::from_f32("head as f32", rows, cols, wide).unwrap();
    let dev = |got: &[f32], want: &[f32]| {
        got.iter()
            .zip(want)
            .fold(0.0f32, |a, (g, w)| a.max((g - w).abs()))
    };
    let mut r = SplitMix64::new(seed);
    let (mut worst, mut worst_copy) = (0.0f32, 0.0f32);
    for pos in 0..3 {
        let x: Vec<f32> = (0..cols)
            .map(|_| (r.below(20001) as f32 - 10000.0) * 1e-4 * (pos + 1) as f32)
            .collect();
        let mut want = vec![0f32; rows];
        GoldenBackend.logits(head, &x, &mut want).unwrap();
        let range = want.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let mut first: Option<Vec<u32>> = None;
        for isa in tritium_simd::present_kernels().unwrap() {
            let mut b = backend(isa, 2, HeadMode::Q8);
            assert_eq!(b.head_bytes(head), bytes);
            let mut got = vec![0f32; rows];
            b.logits(head, &x, &mut got).unwrap();
            let d = dev(&got, &want);
            worst = worst.max(d / range);
            assert!(d > 0.0, "{isa:?}: the fast head should not be exact");
            let bits: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
            match &first {
                None => first = Some(bits),
                Some(f) => assert!(f == &bits, "{isa:?}: paths differ"),
            }
            b.logits(&copy, &x, &mut got).unwrap();
            worst_copy = worst_copy.max(dev(&got, &want) / range);
        }
    }
    eprintln!(
        "largest deviation: {:.2} % of the largest |logit| (the int8 copy: {:.2} %)",
        100.0 * worst,
        100.0 * worst_copy
    );
    assert!(worst <= bound, "deviation {worst}");
    assert!(
        worst < worst_copy,
        "{worst} vs the int8 copy's {worst_copy}"
    );
}

/// A fast-head test input of `cols` values from `seed`: uniform in
/// (-10, 10), one value `outlier` at a random place, the first `zeros`
/// values zero.
pub fn block_input(cols: usize, seed: u64, outlier: f32, zeros: usize) -> Vec<f32> {
    let mut r = tritium_golden::SplitMix64::new(seed);
    let mut x: Vec<f32> = (0..cols)
        .map(|_| (r.below(20001) as f32 - 10000.0) * 1e-3)
        .collect();
    x[r.below(cols as u64) as usize] = outlier;
    x[..zeros].fill(0.0);
    x
}

/// Rows `0..rows`, and `2..rows` from an offset, of every present path
/// (`run(isa, v0, out)` computes rows `v0 .. v0 + out.len()`) against the
/// portable loop's, bitwise; the first difference as the error.
pub fn paths_agree(rows: usize, run: impl Fn(Isa, usize, &mut [f32])) -> Result<(), String> {
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<u32>>();
    let mut want = vec![0f32; rows];
    run(Isa::Scalar, 0, &mut want);
    for isa in tritium_simd::present_kernels().unwrap() {
        for v0 in [0, 2].into_iter().filter(|&v0| v0 < rows) {
            let mut got = vec![0f32; rows - v0];
            run(isa, v0, &mut got);
            if bits(&got) != bits(&want[v0..]) {
                return Err(format!(
                    "{isa:?} from row {v0}: {got:?} != {:?}",
                    &want[v0..]
                ));
            }
        }
    }
    Ok(())
}
