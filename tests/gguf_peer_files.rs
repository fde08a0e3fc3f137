//! GGUF files written by a peer engine's own tools, read by tritium.
//!
//! tests/vectors/gguf/ik-*.gguf were written by ik_llama.cpp's
//! `llama-quantize` (scripts/make-peer-fixtures.sh) from tritium's I2_S
//! file of the synthetic tiny256 model, seed 1:
//! - `ik-iq1bn.gguf`: IQ1_BN BitLinears, F16 embedding. Every tensor is
//!   byte for byte what tritium's own IQ1_BN writer writes for the same
//!   model, so the two load as the same model.
//! - `ik-iq2bn-q6k.gguf`: IQ2_BN BitLinears (an f32 scale per row: the
//!   I2_S file's codes and scales exactly) and a Q6_K embedding, which is
//!   also the head. Its body is the I2_S file's; its embedding is within
//!   Q6_K's rounding of the F16 one; and its head gives the golden logits
//!   of its own dequantized values on every backend, bitwise.

mod support;

use std::path::{Path, PathBuf};

use support::backends::backends;
use tritium_golden::{Backend, Preset};
use tritium_model::gguf::export::EmbedType;
use tritium_model::gguf::{GgmlType, GgufFile};
use tritium_model::hfconfig::LinearClass;
use tritium_model::synthetic::{write_gguf, CheckpointFormat, SynthOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/gguf")
        .join(name)
}

/// tritium's own GGUF file of the fixtures' synthetic model.
fn own(dir: &Path, format: CheckpointFormat) -> PathBuf {
    let path = dir.join(format!("{format:?}.gguf"));
    let opts = SynthOptions {
        config: Preset::Tiny256.config(),
        seed: 1,
        format,
        linear_class: LinearClass::Autobitlinear,
    };
    write_gguf(&path, &opts, EmbedType::F16, None).unwrap();
    path
}

/// `head`'s rows widened to an f32 matrix (its dequantized values).
fn widened(head: &tritium_golden::DenseMatrix) -> tritium_golden::DenseMatrix {
    let (rows, cols) = (head.rows(), head.cols());
    let mut wide = vec![0f32; rows * cols];
    for (r, row) in wide.chunks_exact_mut(cols).enumerate() {
        head.row_into(r, row);
    }
    tritium_golden::DenseMatrix::from_f32("wide", rows, cols, wide).unwrap()
}

/// A fixed head input of `hidden` values.
fn head_input(hidden: usize) -> Vec<f32> {
    (0..hidden)
        .map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.021)
        .collect()
}

fn load(path: &Path) -> tritium_golden::Model {
    tritium_model::load(path, None)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .model
}

#[test]
fn ik_llama_cpp_iq1bn_is_byte_for_byte_tritiums_own() {
    let dir = tempfile::tempdir().unwrap();
    let (ik_path, own_path) = (
        fixture("ik-iq1bn.gguf"),
        own(dir.path(), CheckpointFormat::GgufIq1bn),
    );
    let (ik, mine) = (
        GgufFile::open(&ik_path).unwrap(),
        GgufFile::open(&own_path).unwrap(),
    );
    let names = |f: &GgufFile| {
        let mut v: Vec<String> = f.header.tensors.iter().map(|t| t.name.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(names(&ik), names(&mine));
    let mut iq1bn = 0;
    for t in &mine.header.tensors {
        let u = ik.header.tensor(&t.name).unwrap();
        assert_eq!((&u.dims, u.ty), (&t.dims, t.ty), "{}", t.name);
        assert!(
            ik.data(u) == mine.data(t),
            "{}: ik_llama.cpp's bytes differ from tritium's",
            t.name
        );
        iq1bn += usize::from(t.ty == GgmlType::IQ1_BN);
    }
    assert_eq!(iq1bn, 2 * 7, "one IQ1_BN tensor per BitLinear");
    assert!(load(&ik_path) == load(&own_path));
}

#[test]
fn ik_llama_cpp_iq2bn_with_a_q6k_head_loads_the_i2s_body() {
    let dir = tempfile::tempdir().unwrap();
    let ik = load(&fixture("ik-iq2bn-q6k.gguf"));
    let i2s = load(&own(dir.path(), CheckpointFormat::GgufI2s));
    assert_eq!(ik.config(), i2s.config());
    assert!(ik.layers() == i2s.layers(), "IQ2_BN body != the I2_S body");
    assert_eq!(ik.final_norm(), i2s.final_norm());
    assert!(ik.lm_head().is_none() && i2s.lm_head().is_none());

    // The Q6_K embedding: within Q6_K's rounding of the F16 values (a
    // 6-bit code per value, a step of about max |x| / 32 per group of 16).
    let (vocab, hidden) = (ik.config().vocab_size, ik.config().hidden_size);
    let (mut q, mut f) = (vec![0f32; hidden], vec![0f32; hidden]);
    let mut worst = 0f32;
    for r in 0..vocab {
        ik.embed().row_into(r, &mut q);
        i2s.embed().row_into(r, &mut f);
        for (qg, fg) in q.chunks(16).zip(f.chunks(16)) {
            let max = fg.iter().fold(0f32, |m, x| m.max(x.abs()));
            for (a, b) in qg.iter().zip(fg) {
                let e = (a - b).abs() / max.max(f32::MIN_POSITIVE);
                worst = worst.max(e);
            }
        }
    }
    assert!(
        worst > 0.0 && worst <= 1.0 / 40.0,
        "Q6_K error {worst} of a group's max"
    );

    // The head over the stored Q6_K blocks: the golden logits of the
    // dequantized values, on every backend.
    let wide = widened(ik.embed());
    let x = head_input(hidden);
    let mut want = vec![0f32; vocab];
    tritium_golden::GoldenBackend
        .logits(&wide, &x, &mut want)
        .unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for mut b in backends() {
        let mut got = vec![0f32; vocab];
        b.logits(ik.embed(), &x, &mut got).unwrap();
        assert_eq!(bits(&got), bits(&want), "Q6_K head on {}", b.name());
    }
}

/// `--fast-head` on ik_llama.cpp's Q6_K head (the embedding, tied): the
/// int8 head computed from the stored blocks is identical on every SIMD
/// path, within 2 % of the largest |logit| of the exact head, and closer
/// to it than an int8 copy of the same values (measured on this file:
/// 0.43 % against 0.84 %).
#[test]
fn fast_head_over_ik_llama_cpps_q6k_blocks_beats_an_int8_copy() {
    use tritium_simd::{HeadMode, SimdBackend, SimdOptions};
    let ik = load(&fixture("ik-iq2bn-q6k.gguf"));
    let head = ik.embed();
    assert!(head.as_blocks().is_some());
    let (vocab, hidden) = (head.rows(), head.cols());
    let copy = widened(head);
    let x = head_input(hidden);
    let mut want = vec![0f32; vocab];
    tritium_golden::GoldenBackend
        .logits(head, &x, &mut want)
        .unwrap();
    let range = want.iter().fold(0f32, |a, v| a.max(v.abs()));
    let dev = |got: &[f32]| {
        got.iter()
            .zip(&want)
            .fold(0f32, |a, (g, w)| a.max((g - w).abs()))
            / range
    };
    let mut first: Option<Vec<u32>> = None;
    for isa in tritium_simd::present_kernels().unwrap() {
        let mut b = SimdBackend::new(SimdOptions {
            isa: Some(isa),
            threads: Some(2),
            head: HeadMode::Q8,
            body: Default::default(),
        })
        .unwrap();
        let mut got = vec![0f32; vocab];
        b.logits(head, &x, &mut got).unwrap();
        let blocks = dev(&got);
        let bits: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
        match &first {
            None => first = Some(bits),
            Some(f) => assert!(f == &bits, "{isa:?}: fast Q6_K logits differ between paths"),
        }
        b.logits(&copy, &x, &mut got).unwrap();
        let int8_copy = dev(&got);
        eprintln!("{isa:?}: deviation {blocks:.4} (int8 copy {int8_copy:.4})");
        assert!(blocks > 0.0 && blocks <= 0.02, "{isa:?}: {blocks}");
        assert!(blocks < int8_copy, "{isa:?}: {blocks} vs {int8_copy}");
    }
}
