//! Whole files in ik_llama.cpp's IQ2_BN / IQ1_BN: written by tritium, read
//! back, compared with the same model from safetensors and TQ2_0; and the
//! errors of corrupt, truncated and mismatched-scale files.

use std::path::Path;

use half::f16;
use tritium_golden::{Backend, GoldenBackend, Logits, Model, Preset, Session};

use super::export::{model_to_writer, EmbedType, WeightType, WriteOptions};
use super::load::load_model;
use super::writer::GgufWriter;
use super::{GgmlType, GgufFile, Value};
use crate::checkpoint::load_dir;
use crate::error::Result;
use crate::hfconfig::LinearClass;
use crate::synthetic::{synth_model, write_checkpoint, CheckpointFormat, SynthOptions};

fn opts(preset: Preset, format: CheckpointFormat, tied: bool) -> SynthOptions {
    let mut config = preset.config();
    config.tie_word_embeddings = tied;
    SynthOptions {
        config,
        seed: 11,
        format,
        linear_class: LinearClass::Autobitlinear,
    }
}

fn writer(m: &Model, weights: WeightType) -> Result<GgufWriter> {
    model_to_writer(
        m,
        &WriteOptions {
            weights,
            embed: EmbedType::Bf16,
            name: "iqbn".into(),
            tokenizer: None,
        },
    )
}

fn parse(bytes: Vec<u8>) -> Result<GgufFile> {
    GgufFile::from_bytes(Path::new("iqbn.gguf"), bytes)
}

fn load(bytes: Vec<u8>) -> Result<Model> {
    load_model(&parse(bytes)?, None)
}

fn logits(m: &Model, b: &mut dyn Backend) -> Vec<Vec<u32>> {
    Session::new(m)
        .forward(b, &[1, 300, 17, 99, 4, 511], Logits::All)
        .unwrap()
        .iter()
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect()
}

fn simd_logits(m: &Model) -> Vec<Vec<u32>> {
    let mut s = tritium_simd::SimdBackend::new(tritium_simd::SimdOptions {
        isa: None,
        threads: None,
        head: tritium_simd::HeadMode::Exact,
        body: Default::default(),
    })
    .unwrap();
    s.prepare(m);
    logits(m, &mut s)
}

/// The tiny256 model written as HF packed safetensors and loaded back.
fn safetensors_model(tied: bool) -> Model {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(Preset::Tiny256, CheckpointFormat::HfPacked, tied);
    write_checkpoint(dir.path(), &o, None).unwrap();
    load_dir(dir.path(), None).unwrap().model
}

#[test]
fn iq2bn_is_lossless_from_safetensors_logits_equal() {
    for tied in [true, false] {
        let hf = safetensors_model(tied);
        let w = writer(&hf, WeightType::Iq2bn).unwrap();
        let g = load(w.to_bytes()).unwrap();
        for ((id, a), (_, b)) in hf.linears().zip(g.linears()) {
            assert_eq!(a.to_ternary(), b.to_ternary(), "{id}");
            assert_eq!(a.gamma().to_bits(), b.gamma().to_bits(), "{id}");
        }
        assert_eq!(g, hf, "tied {tied}");
        let want = logits(&hf, &mut GoldenBackend);
        assert_eq!(logits(&g, &mut GoldenBackend), want, "tied {tied}");
        assert_eq!(simd_logits(&g), want, "tied {tied}");
    }
}

#[test]
fn iq1bn_equals_the_tq2_file_of_the_same_model() {
    // Both keep the codes exactly and round gamma to fp16 once, so the two
    // files give one model and identical logits. bf16 masters quantized
    // online: f32 absmean gammas that fp16 rounds (an HF packed gamma is
    // bf16, which fp16 holds exactly).
    let hf = synth_model(&opts(Preset::Tiny256, CheckpointFormat::HfBf16, true)).unwrap();
    let iq1 = load(writer(&hf, WeightType::Iq1bn).unwrap().to_bytes()).unwrap();
    let tq2 = load(writer(&hf, WeightType::Tq2).unwrap().to_bytes()).unwrap();
    let mut rounded = 0;
    for ((id, a), (_, b)) in hf.linears().zip(iq1.linears()) {
        assert_eq!(a.to_ternary(), b.to_ternary(), "{id}");
        assert_eq!(b.gamma(), f16::from_f32(a.gamma()).to_f32(), "{id}");
        rounded += usize::from(a.gamma() != b.gamma());
    }
    assert!(rounded > 0, "the test needs gammas that fp16 rounds");
    assert_eq!(iq1, tq2);
    let want = logits(&tq2, &mut GoldenBackend);
    assert_eq!(logits(&iq1, &mut GoldenBackend), want);
    assert_eq!(simd_logits(&iq1), want);
}

#[test]
fn written_files_are_ik_llama_bitnet_b158_files() {
    let hf = safetensors_model(false);
    let c = hf.config();
    for (wt, ty, ftype, meta, block) in [
        (WeightType::Iq2bn, GgmlType::IQ2_BN, 137, 4, 16),
        (WeightType::Iq1bn, GgmlType::IQ1_BN, 136, 2, 13),
    ] {
        let f = parse(writer(&hf, wt).unwrap().to_bytes()).unwrap();
        let h = &f.header;
        assert_eq!(h.architecture(), Some("bitnet-b1.58"));
        assert_eq!(h.get("general.file_type"), Some(&Value::U32(ftype)));
        assert_eq!(
            h.get("bitnet-b1.58.block_count").and_then(Value::as_u64),
            Some(c.num_layers as u64)
        );
        // The untied head is kept (ik_llama.cpp's bitnet-b1.58 loader takes
        // an optional output tensor).
        assert!(h.tensor("output.weight").is_some());
        let mut linears = 0;
        for t in h.tensors.iter().filter(|t| t.ty == ty) {
            let (k, rows) = (t.dims[0], t.dims[1]);
            assert_eq!(t.size, rows * (meta + k / 64 * block), "{}", t.name);
            linears += 1;
        }
        assert_eq!(linears, 7 * c.num_layers, "{wt:?}");
    }
}

#[test]
fn gen_model_writer_gives_the_same_codes() {
    let hf = synth_model(&opts(Preset::Tiny256, CheckpointFormat::HfPacked, true)).unwrap();
    for format in [CheckpointFormat::GgufIq2bn, CheckpointFormat::GgufIq1bn] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.gguf");
        let o = opts(Preset::Tiny256, format, true);
        crate::synthetic::write_gguf(&p, &o, EmbedType::F16, None).unwrap();
        let f = GgufFile::open(&p).unwrap();
        let want = format.gguf_weights().map(|w| match w {
            WeightType::Iq2bn => GgmlType::IQ2_BN,
            _ => GgmlType::IQ1_BN,
        });
        assert_eq!(f.header.tensor("blk.0.ffn_down.weight").map(|t| t.ty), want);
        let g = super::load::load_gguf(&p, None).unwrap().model;
        for ((id, a), (_, b)) in hf.linears().zip(g.linears()) {
            assert_eq!(a.to_ternary(), b.to_ternary(), "{format:?} {id}");
        }
    }
}

#[test]
fn shapes_must_fit_64_blocks() {
    let hf = synth_model(&opts(Preset::Tiny, CheckpointFormat::HfPacked, true)).unwrap();
    for wt in [WeightType::Iq2bn, WeightType::Iq1bn] {
        let e = writer(&hf, wt).unwrap_err().to_string();
        assert!(e.contains("multiple of 64") && e.contains("172"), "{e}");
    }
}

/// The tensor `name` of `w`.
fn raw<'w>(w: &'w mut GgufWriter, name: &str) -> &'w mut super::writer::RawTensor {
    w.tensors.iter_mut().find(|t| t.name == name).unwrap()
}

#[test]
fn row_scales_that_differ_are_refused_naming_the_tensor() {
    let hf = safetensors_model(true);
    let q = hf.layers()[0].linear(tritium_golden::Proj::Q).to_ternary();
    let k = hf.config().hidden_size;
    assert!(q[..2 * k].chunks(k).all(|r| r.iter().any(|&v| v != 0)));
    // IQ2_BN: row 1's f32 scale (after row 0's 4 + K/4 bytes).
    let mut w = writer(&hf, WeightType::Iq2bn).unwrap();
    let off = 4 + k / 4;
    raw(&mut w, "blk.0.attn_q.weight").bytes[off..off + 4].copy_from_slice(&3f32.to_le_bytes());
    let e = load(w.to_bytes()).unwrap_err().to_string();
    assert!(
        e.contains("blk.0.attn_q.weight") && e.contains("rows 0 and 1") && e.contains("IQ2_BN"),
        "{e}"
    );
    // IQ1_BN: row 1's fp16 scale.
    let mut w = writer(&hf, WeightType::Iq1bn).unwrap();
    let off = 2 + k / 64 * 13;
    let d = f16::from_f32(3.0).to_bits().to_le_bytes();
    raw(&mut w, "blk.0.attn_q.weight").bytes[off..off + 2].copy_from_slice(&d);
    let e = load(w.to_bytes()).unwrap_err().to_string();
    assert!(
        e.contains("blk.0.attn_q.weight") && e.contains("rows 0 and 1"),
        "{e}"
    );
}

#[test]
fn zero_rows_scale_is_ignored_and_a_non_finite_gamma_is_an_error() {
    let hf = safetensors_model(true);
    let mut w = writer(&hf, WeightType::Iq2bn).unwrap();
    let t = raw(&mut w, "blk.0.attn_k.weight");
    let k = t.dims[0] as usize;
    let rb = 4 + k / 4;
    // Every row a NaN scale: gamma would be NaN.
    for row in t.bytes.chunks_exact_mut(rb) {
        row[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    }
    let e = load(w.to_bytes()).unwrap_err().to_string();
    assert!(e.contains("blk.0.attn_k.weight"), "{e}");
    // Row 0 all zero codes (0b01 pairs) with a scale of 0: loads, gamma unchanged.
    let mut w = writer(&hf, WeightType::Iq2bn).unwrap();
    let t = raw(&mut w, "blk.0.attn_k.weight");
    t.bytes[..4].copy_from_slice(&0f32.to_le_bytes());
    t.bytes[4..rb].fill(0x55);
    let g = load(w.to_bytes()).unwrap();
    let (a, b) = (
        hf.layers()[0].linear(tritium_golden::Proj::K),
        g.layers()[0].linear(tritium_golden::Proj::K),
    );
    assert_eq!(a.gamma(), b.gamma());
    assert!(b.to_ternary()[..k].iter().all(|&v| v == 0));
    assert_eq!(a.to_ternary()[k..], b.to_ternary()[k..]);
}

#[test]
fn corrupt_and_truncated_blocks_are_errors_naming_the_tensor() {
    let hf = safetensors_model(true);
    // IQ2_BN code 3 in row 2.
    let mut w = writer(&hf, WeightType::Iq2bn).unwrap();
    let t = raw(&mut w, "blk.1.ffn_up.weight");
    let rb = 4 + t.dims[0] as usize / 4;
    t.bytes[2 * rb + 4 + 5] = 0xFF;
    let e = load(w.to_bytes()).unwrap_err().to_string();
    assert!(
        e.contains("blk.1.ffn_up.weight") && e.contains("code 3") && e.contains("row 2"),
        "{e}"
    );
    for wt in [WeightType::Iq2bn, WeightType::Iq1bn] {
        // The file cut inside the last row-scaled tensor's data (GGUF sizes
        // come from the dims, so a short tensor is a short file).
        let mut b = writer(&hf, wt).unwrap().to_bytes();
        let f = parse(b.clone()).unwrap();
        let last = f
            .header
            .tensors
            .iter()
            .filter(|t| t.ty.row_meta_bytes().is_some())
            .max_by_key(|t| t.offset)
            .unwrap()
            .clone();
        b.truncate((f.header.data_start + last.offset + last.size / 2) as usize);
        let e = parse(b).unwrap_err().to_string();
        assert!(
            e.contains(&last.name) && e.contains("truncated"),
            "{wt:?}: {e}"
        );
        // Rows that are not whole 64-element blocks.
        let mut w = writer(&hf, wt).unwrap();
        raw(&mut w, "blk.0.attn_v.weight").dims = vec![96, 128];
        let e = load(w.to_bytes()).unwrap_err().to_string();
        assert!(
            e.contains("blk.0.attn_v.weight") && e.contains("multiple of 64"),
            "{wt:?}: {e}"
        );
    }
}
