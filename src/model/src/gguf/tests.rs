use std::path::Path;

use half::f16;
use tritium_golden::{Backend, GoldenBackend, Logits, Model, Preset, Session};

use super::export::{model_to_writer, EmbedType, WeightType, WriteOptions};
use super::load::{load_model, read_config};
use super::writer::{put_str, put_value, GgufWriter};
use super::*;
use crate::checkpoint::load_dir;
use crate::hfconfig::LinearClass;
use crate::synthetic::{synth_model, write_checkpoint, CheckpointFormat, SynthOptions};
use crate::tokenizer::{synthetic_tokenizer_json, TextTokenizer};

fn opts(preset: Preset, format: CheckpointFormat) -> SynthOptions {
    SynthOptions {
        config: preset.config(),
        seed: 5,
        format,
        linear_class: LinearClass::Autobitlinear,
    }
}

fn gguf_of(model: &Model, weights: WeightType, embed: EmbedType) -> Vec<u8> {
    model_to_writer(
        model,
        &WriteOptions {
            weights,
            embed,
            name: "test".into(),
            tokenizer: Some(synthetic_tokenizer_json(model.config())),
        },
    )
    .unwrap()
    .to_bytes()
}

/// `model` as an F16-embedding GGUF writer with BitLinears as `weights`, no tokenizer.
fn bare_writer(model: &Model, weights: WeightType) -> Result<GgufWriter> {
    model_to_writer(
        model,
        &WriteOptions {
            weights,
            embed: EmbedType::F16,
            name: String::new(),
            tokenizer: None,
        },
    )
}

fn parse(bytes: Vec<u8>) -> Result<GgufFile> {
    GgufFile::from_bytes(Path::new("t.gguf"), bytes)
}

fn load(bytes: Vec<u8>) -> Result<Model> {
    load_model(&parse(bytes)?, None)
}

fn logits(m: &Model, b: &mut dyn Backend) -> Vec<Vec<u32>> {
    Session::new(m)
        .forward(b, &[510, 3, 17, 99, 4], Logits::All)
        .unwrap()
        .iter()
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect()
}

fn simd() -> tritium_simd::SimdBackend {
    tritium_simd::SimdBackend::new(tritium_simd::SimdOptions {
        isa: None,
        threads: None,
        head: tritium_simd::HeadMode::Exact,
        body: Default::default(),
    })
    .unwrap()
}

#[test]
fn hf_packed_to_i2s_and_back_is_bit_exact() {
    // HF packed on disk -> load -> GGUF I2_S (bf16 embedding) -> load.
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(
        dir.path(),
        &opts(Preset::Tiny, CheckpointFormat::HfPacked),
        None,
    )
    .unwrap();
    let hf = load_dir(dir.path(), None).unwrap().model;
    let g = load(gguf_of(&hf, WeightType::I2S, EmbedType::Bf16)).unwrap();
    for ((id, a), (_, b)) in hf.linears().zip(g.linears()) {
        assert_eq!(a.to_ternary(), b.to_ternary(), "{id}");
        assert_eq!(a.gamma().to_bits(), b.gamma().to_bits(), "{id}");
    }
    assert_eq!(g, hf);
    assert_eq!(
        logits(&g, &mut GoldenBackend),
        logits(&hf, &mut GoldenBackend)
    );
    let mut s = simd();
    s.prepare(&g);
    assert_eq!(logits(&g, &mut s), logits(&hf, &mut GoldenBackend));
    // And back: GGUF -> HF packed directory -> load gives the same model.
    let back = tempfile::tempdir().unwrap();
    crate::checkpoint::export::write_hf_packed(back.path(), &g, None).unwrap();
    assert_eq!(load_dir(back.path(), None).unwrap().model, hf);
}

#[test]
fn f16_embedding_keeps_codes_and_scales() {
    let hf = synth_model(&opts(Preset::Tiny, CheckpointFormat::HfPacked)).unwrap();
    let g = load(gguf_of(&hf, WeightType::I2S, EmbedType::F16)).unwrap();
    for ((id, a), (_, b)) in hf.linears().zip(g.linears()) {
        assert_eq!(a, b, "{id}");
    }
    // Kept as the file's f16 (2 bytes per weight), not widened to f32.
    assert_eq!(g.embed().as_f16().map(|v| v.len()), Some(512 * 64));
    assert_eq!(g.embed().bytes(), 2 * 512 * 64);
}

/// The model with its embedding and head widened to f32 in memory (what the
/// loader did before F16 was kept as stored).
fn widened(m: &Model) -> Model {
    let wide = |d: &tritium_golden::DenseMatrix| {
        let mut v = vec![0f32; d.rows() * d.cols()];
        for (r, row) in v.chunks_exact_mut(d.cols()).enumerate() {
            d.row_into(r, row);
        }
        tritium_golden::DenseMatrix::from_f32("wide", d.rows(), d.cols(), v).unwrap()
    };
    Model::new(
        m.config().clone(),
        wide(m.embed()),
        m.lm_head().map(wide),
        m.final_norm().to_vec(),
        m.layers().to_vec(),
    )
    .unwrap()
}

#[test]
fn f16_head_logits_equal_the_widened_f32_head_on_golden_and_simd() {
    for tied in [true, false] {
        let mut o = opts(Preset::Tiny, CheckpointFormat::HfPacked);
        o.config.tie_word_embeddings = tied;
        let hf = synth_model(&o).unwrap();
        let g = load(gguf_of(&hf, WeightType::I2S, EmbedType::F16)).unwrap();
        let head = g.head();
        assert!(head.as_f16().is_some(), "tied {tied}");
        assert_eq!(head.bytes(), 2 * head.rows() * head.cols(), "tied {tied}");
        let w = widened(&g);
        assert_eq!(w.head().bytes(), 2 * head.bytes());
        let want = logits(&w, &mut GoldenBackend);
        assert_eq!(logits(&g, &mut GoldenBackend), want, "tied {tied}");
        let mut s = simd();
        s.prepare(&g);
        assert_eq!(logits(&g, &mut s), want, "tied {tied}");
        // Written again as F16, the stored bits go out unchanged.
        let again = load(gguf_of(&g, WeightType::I2S, EmbedType::F16)).unwrap();
        assert_eq!(again, g, "tied {tied}");
    }
}

#[test]
fn q8_0_head_is_kept_as_blocks_and_equals_the_widened_head_on_golden_and_simd() {
    for tied in [true, false] {
        let mut o = opts(Preset::Tiny, CheckpointFormat::HfPacked);
        o.config.tie_word_embeddings = tied;
        let hf = synth_model(&o).unwrap();
        let g = load(gguf_of(&hf, WeightType::I2S, EmbedType::Q8_0)).unwrap();
        let head = g.head();
        let (t, _) = head.as_blocks().expect("kept as Q8_0 blocks");
        assert_eq!(t, tritium_golden::BlockType::Q8_0);
        assert_eq!(
            head.bytes(),
            head.rows() * head.cols() / 32 * 34,
            "tied {tied}"
        );
        let w = widened(&g);
        let want = logits(&w, &mut GoldenBackend);
        assert_eq!(logits(&g, &mut GoldenBackend), want, "tied {tied}");
        let mut s = simd();
        s.prepare(&g);
        assert_eq!(logits(&g, &mut s), want, "tied {tied}");
        assert_eq!(s.head_bytes(g.head()), head.bytes());
        // Written again as Q8_0, the stored blocks go out unchanged.
        let again = load(gguf_of(&g, WeightType::I2S, EmbedType::Q8_0)).unwrap();
        assert_eq!(again, g, "tied {tied}");
    }
}

#[test]
fn a_non_finite_block_scale_names_the_tensor_and_block() {
    let hf = synth_model(&opts(Preset::Tiny, CheckpointFormat::HfPacked)).unwrap();
    let mut w = model_to_writer(
        &hf,
        &WriteOptions {
            weights: WeightType::I2S,
            embed: EmbedType::Q8_0,
            name: String::new(),
            tokenizer: None,
        },
    )
    .unwrap();
    let t = w
        .tensors
        .iter_mut()
        .find(|t| t.name == "token_embd.weight")
        .unwrap();
    // d of block 5 (34-byte blocks) := +infinity.
    t.bytes[5 * 34..5 * 34 + 2].copy_from_slice(&0x7c00u16.to_le_bytes());
    let e = load(w.to_bytes()).unwrap_err().to_string();
    assert!(
        e.contains("token_embd.weight") && e.contains("Q8_0 block 5"),
        "{e}"
    );
}

#[test]
fn q8_0_quantizer_is_llama_cpps_reference() {
    // amax 127 -> d = 1 exactly; x * (1 / d) rounded half away from zero.
    let mut x = vec![0f32; 32];
    x[0] = 127.0;
    x[1] = 2.5;
    x[2] = -2.5;
    x[3] = -0.49;
    let mut out = Vec::new();
    super::quants::q8_0_encode(&x, &mut out);
    assert_eq!(out.len(), 34);
    assert_eq!(u16::from_le_bytes([out[0], out[1]]), 0x3c00);
    assert_eq!(&out[2..6], &[127, 3, (-3i8) as u8, 0]);
    // An all-zero block: d = 0 and every code 0.
    out.clear();
    super::quants::q8_0_encode(&[0.0; 32], &mut out);
    assert!(out.iter().all(|&b| b == 0));
}

#[test]
fn tq2_and_tq1_hold_the_packed_codes_of_the_same_seed() {
    let hf = synth_model(&opts(Preset::Tiny256, CheckpointFormat::HfPacked)).unwrap();
    for wt in [WeightType::Tq2, WeightType::Tq1] {
        let g = load(gguf_of(&hf, wt, EmbedType::Bf16)).unwrap();
        for ((id, a), (_, b)) in hf.linears().zip(g.linears()) {
            assert_eq!(a.to_ternary(), b.to_ternary(), "{wt:?} {id}");
            // gamma exact up to the fp16 rounding of d in the file.
            assert_eq!(b.gamma(), f16::from_f32(a.gamma()).to_f32(), "{wt:?} {id}");
        }
    }
    // Through the synthetic writer of `gen-model --format gguf-tq2`.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.gguf");
    let o = opts(Preset::Tiny256, CheckpointFormat::GgufTq2);
    crate::synthetic::write_gguf(&p, &o, EmbedType::F16, None).unwrap();
    let g = super::load::load_gguf(&p, None).unwrap().model;
    for ((_, a), (_, b)) in hf.linears().zip(g.linears()) {
        assert_eq!(a.to_ternary(), b.to_ternary());
    }
}

#[test]
fn tq_shapes_must_fit_256_blocks() {
    let hf = synth_model(&opts(Preset::Tiny, CheckpointFormat::HfPacked)).unwrap();
    let e = bare_writer(&hf, WeightType::Tq2).unwrap_err().to_string();
    assert!(e.contains("multiple of 256"), "{e}");
}

#[test]
fn per_block_scales_that_differ_are_refused() {
    let t = [vec![1i8; 256], vec![0; 256], vec![-1; 256]].concat();
    let d = |x: f32| f16::from_f32(x).to_bits();
    // The all-zero middle block's d is ignored.
    assert_eq!(
        super::load::common_block_scale(&t, &[d(0.5), d(9.0), d(0.5)]),
        Ok(0.5)
    );
    let e = super::load::common_block_scale(&t, &[d(0.5), 0, d(0.25)]).unwrap_err();
    assert!(
        e.contains("blocks 0 and 2") && e.contains("per-block"),
        "{e}"
    );
    // Through a file: patch the d of block 1 of the first TQ2_0 tensor.
    let hf = synth_model(&opts(Preset::Tiny256, CheckpointFormat::HfPacked)).unwrap();
    let mut w = bare_writer(&hf, WeightType::Tq2).unwrap();
    let t = w
        .tensors
        .iter_mut()
        .find(|t| t.name == "blk.0.attn_q.weight")
        .unwrap();
    let off = 66 + 64;
    t.bytes[off..off + 2].copy_from_slice(&d(3.0).to_le_bytes());
    let e = load(w.to_bytes()).unwrap_err().to_string();
    assert!(
        e.contains("blk.0.attn_q.weight") && e.contains("per-block"),
        "{e}"
    );
}

#[test]
fn tokenizer_from_metadata_matches_tokenizer_json() {
    for p in [Preset::Tiny, Preset::Small] {
        let c = p.config();
        let hf = synth_model(&opts(p, CheckpointFormat::HfPacked)).unwrap();
        let f = parse(gguf_of(&hf, WeightType::I2S, EmbedType::F16)).unwrap();
        let from_meta = super::vocab::load_tokenizer(&f).unwrap().unwrap();
        let from_json = TextTokenizer::from_json("json", &synthetic_tokenizer_json(&c)).unwrap();
        assert_eq!(from_meta.vocab_size(), from_json.vocab_size());
        for text in [
            "Hello tritium: the ternary array adds 2560 numbers, and ünïcödé 🙂 too.",
            "  leading spaces\nand lines\r\n\tdone",
            "The quick brown fox jumps over the lazy dog",
        ] {
            let a = from_meta.encode(text, true).unwrap();
            assert_eq!(a, from_json.encode(text, true).unwrap(), "{text}");
            assert_eq!(Some(a[0]), c.bos_token_id);
            assert_eq!(from_meta.decode(&a, true).unwrap(), text);
        }
        assert_eq!(
            from_meta.decode(&[c.eos_token_id.unwrap()], false).unwrap(),
            "<|end_of_text|>"
        );
        assert_eq!(read_config(&f).unwrap(), c);
    }
}

/// A hand-built file: metadata, then tensor infos with explicit type ids
/// and offsets, then `data` at the 32-aligned data start.
fn raw(meta: &[(&str, Value)], tensors: &[(&str, &[u64], u32, u64)], data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(MAGIC);
    b.extend(3u32.to_le_bytes());
    b.extend((tensors.len() as u64).to_le_bytes());
    b.extend((meta.len() as u64).to_le_bytes());
    for (k, v) in meta {
        put_str(&mut b, k);
        b.extend(v.type_id().to_le_bytes());
        put_value(&mut b, v);
    }
    for (name, dims, ty, off) in tensors {
        put_str(&mut b, name);
        b.extend((dims.len() as u32).to_le_bytes());
        for d in *dims {
            b.extend(d.to_le_bytes());
        }
        b.extend(ty.to_le_bytes());
        b.extend(off.to_le_bytes());
    }
    let align = meta
        .iter()
        .find(|(k, _)| *k == "general.alignment")
        .and_then(|(_, v)| v.as_u64())
        .filter(|a| a.is_power_of_two())
        .unwrap_or(32) as usize;
    b.resize(b.len().next_multiple_of(align), 0);
    b.extend(data);
    b
}

fn parse_err(b: Vec<u8>) -> String {
    parse(b).unwrap_err().to_string()
}

fn arch(a: &str) -> (&'static str, Value) {
    ("general.architecture", Value::Str(a.into()))
}

#[test]
fn malformed_headers_are_clear_errors() {
    let ok = raw(&[arch("bitnet-b1.58")], &[("x", &[4], 0, 0)], &[0; 16]);
    assert!(parse(ok.clone()).is_ok());
    let mut bad = ok.clone();
    bad[0] = b'X';
    assert!(parse_err(bad).contains("not a GGUF file"));
    let mut v2 = ok.clone();
    v2[4] = 2;
    assert!(parse_err(v2).contains("version 2"));
    let e = parse_err(raw(
        &[arch("bitnet"), ("general.alignment", Value::U32(24))],
        &[],
        &[],
    ));
    assert!(e.contains("not a power of two"), "{e}");
    let e = parse_err(raw(&[arch("bitnet")], &[("x", &[4], 0, 8)], &[0; 64]));
    assert!(
        e.contains("tensor x") && e.contains("not a multiple of the alignment"),
        "{e}"
    );
    let e = parse_err(raw(&[arch("bitnet")], &[("x", &[4], 200, 0)], &[0; 64]));
    assert!(e.contains("unknown ggml type id 200"), "{e}");
    for (id, needle) in [(38, "TL1"), (39, "TL2"), (37, "I8_S"), (12, "Q4_K")] {
        let e = parse_err(raw(
            &[arch("bitnet-b1.58")],
            &[("w", &[256], id, 0)],
            &[0; 512],
        ));
        assert!(e.contains("not supported") && e.contains(needle), "{e}");
    }
    // Id 36 is I2_S only in a BitNet file.
    let e = parse_err(raw(&[arch("llama")], &[("w", &[128], 36, 0)], &[0; 64]));
    assert!(e.contains("I2_S only in bitnet.cpp"), "{e}");
    assert!(parse(raw(
        &[arch("bitnet-25")],
        &[("w", &[128], 36, 0)],
        &[0x55; 64]
    ))
    .is_ok());
    // Sizes inconsistent with dims: 16 F32 need 64 bytes.
    let e = parse_err(raw(&[arch("bitnet")], &[("x", &[16], 0, 0)], &[0; 40]));
    assert!(
        e.contains("tensor x") && e.contains("truncated file or wrong size"),
        "{e}"
    );
    let e = parse_err(raw(
        &[arch("bitnet")],
        &[("w", &[100, 2], 35, 0)],
        &[0; 512],
    ));
    assert!(e.contains("multiple of 256"), "{e}");
    let e = parse_err(raw(
        &[arch("bitnet")],
        &[("x", &[4], 0, 0), ("x", &[4], 0, 32)],
        &[0; 64],
    ));
    assert!(e.contains("duplicate tensor name x"), "{e}");
    let e = parse_err(raw(&[arch("a"), arch("b")], &[], &[]));
    assert!(
        e.contains("duplicate metadata key general.architecture"),
        "{e}"
    );
    let e = parse_err(raw(
        &[arch("bitnet")],
        &[("x", &[8], 0, 0), ("y", &[4], 0, 0)],
        &[0; 64],
    ));
    assert!(e.contains("overlap"), "{e}");
    let e = parse_err(raw(&[arch("bitnet")], &[("x", &[0], 0, 0)], &[]));
    assert!(e.contains("dimension is 0"), "{e}");
    // An array whose count cannot fit is refused before allocating.
    let mut b = raw(&[("k", Value::Array(4, vec![Value::U32(1)]))], &[], &[]);
    let count_at = 24 + 8 + 1 + 4 + 4;
    b[count_at..count_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(parse_err(b).contains("cannot fit"));
}

#[test]
fn every_truncation_of_a_small_file_is_an_error() {
    let hf = synth_model(&opts(Preset::Tiny, CheckpointFormat::HfPacked)).unwrap();
    let full = gguf_of(&hf, WeightType::I2S, EmbedType::F16);
    assert!(load(full.clone()).is_ok());
    let f = parse(full.clone()).unwrap();
    let data_start = f.header.data_start as usize;
    // Every prefix through the header and the first tensors, then a stride.
    let lens = (0..data_start + 4096).chain((data_start + 4096..full.len()).step_by(97));
    for n in lens {
        let r = std::panic::catch_unwind(|| load(full[..n].to_vec()));
        match r {
            Ok(Err(_)) => {}
            Ok(Ok(_)) => panic!("prefix of {n} / {} bytes loaded", full.len()),
            Err(_) => panic!("prefix of {n} bytes panicked"),
        }
    }
}

#[test]
fn missing_unexpected_and_mistyped_tensors_name_the_tensor() {
    let hf = synth_model(&opts(Preset::Tiny, CheckpointFormat::HfPacked)).unwrap();
    let base = || {
        model_to_writer(
            &hf,
            &WriteOptions {
                weights: WeightType::I2S,
                embed: EmbedType::F16,
                name: String::new(),
                tokenizer: None,
            },
        )
        .unwrap()
    };
    let edit = |f: &dyn Fn(&mut GgufWriter)| {
        let mut w = base();
        f(&mut w);
        load(w.to_bytes()).unwrap_err().to_string()
    };
    let e = edit(&|w| w.tensors.retain(|t| t.name != "blk.1.ffn_up.weight"));
    assert!(e.contains("blk.1.ffn_up.weight is missing"), "{e}");
    let e = edit(&|w| w.tensor("blk.0.extra.weight", vec![4], GgmlType::F32, vec![0; 16]));
    assert!(e.contains("unexpected tensor blk.0.extra.weight"), "{e}");
    let e = edit(&|w| tensor_mut(w, "blk.0.attn_k.weight").dims.reverse());
    assert!(e.contains("blk.0.attn_k.weight has dims"), "{e}");
    let e = edit(&|w| tensor_mut(w, "blk.0.attn_v.weight").bytes[3] = 0xFF);
    assert!(
        e.contains("blk.0.attn_v.weight") && e.contains("code 3"),
        "{e}"
    );
    let e = edit(&|w| {
        let t = w
            .tensors
            .iter_mut()
            .find(|t| t.name == "blk.0.attn_v.weight")
            .unwrap();
        let n = t.bytes.len() - 32;
        t.bytes[n..n + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    assert!(
        e.contains("blk.0.attn_v.weight") && e.contains("scale"),
        "{e}"
    );
    let e = edit(&|w| w.set("general.architecture", Value::Str("llama".into())));
    assert!(e.contains("not a BitNet"), "{e}");
    let e = edit(&|w| w.set("bitnet-b1.58.block_count", Value::Str("two".into())));
    assert!(e.contains("block_count"), "{e}");
}

/// Fuzz regression (gguf target, seed 1, input 508987, a tiny256 TQ2_0
/// file): a token_type that makes a merge's result a control token (so not
/// in the BPE vocabulary, and longer than every token left) made the
/// `tokenizers` crate panic; it is an error naming the merge.
#[test]
fn merge_whose_result_is_not_a_normal_token_is_an_error() {
    let hf = synth_model(&opts(Preset::Tiny, CheckpointFormat::HfPacked)).unwrap();
    let mut w = model_to_writer(
        &hf,
        &WriteOptions {
            weights: WeightType::I2S,
            embed: EmbedType::F16,
            name: "test".into(),
            tokenizer: Some(synthetic_tokenizer_json(hf.config())),
        },
    )
    .unwrap();
    let meta = |w: &GgufWriter, k: &str| {
        w.metadata
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let Value::Array(_, tokens) = meta(&w, "tokenizer.ggml.tokens") else {
        panic!("tokens")
    };
    let Value::Array(t, mut types) = meta(&w, "tokenizer.ggml.token_type") else {
        panic!("types")
    };
    // The longest normal token (a merge result) becomes a control token.
    let longest = (0..tokens.len())
        .filter(|&i| types[i].as_i64() == Some(1))
        .max_by_key(|&i| tokens[i].as_str().unwrap().len())
        .unwrap();
    types[longest] = Value::I32(3);
    w.set("tokenizer.ggml.token_type", Value::Array(t, types));
    let f = parse(w.to_bytes()).unwrap();
    let e = super::vocab::load_tokenizer(&f).unwrap_err().to_string();
    assert!(
        e.contains("merge") && e.contains("is not in the vocabulary"),
        "{e}"
    );
}

/// Messages show a metadata value as its type and value, never as Rust
/// `Debug` text (`U64(18446744073709551615)`).
#[test]
fn values_in_messages_read_as_type_and_value() {
    assert_eq!(
        Value::U64(u64::MAX).to_string(),
        "a u64 18446744073709551615"
    );
    assert_eq!(Value::Str("gpt2".into()).to_string(), "a string \"gpt2\"");
    assert_eq!(
        Value::Array(4, vec![Value::U32(1), Value::U32(2)]).to_string(),
        "an array of 2 u32"
    );
    assert_eq!(
        Value::Array(99, vec![]).to_string(),
        "an array of 0 values of an unknown type"
    );
}

/// The tensor called `name` of a writer under test.
fn tensor_mut<'a>(w: &'a mut GgufWriter, name: &str) -> &'a mut super::writer::RawTensor {
    w.tensors.iter_mut().find(|t| t.name == name).unwrap()
}

/// BitLinears stored as F32 / F16 / BF16 masters are quantized at load,
/// widened a chunk at a time: masters `t * 0.25` give back the codes `t`
/// (and the absmean gamma); a NaN is named with its index. (The parser
/// sizes every tensor's data from its dims and type, so it cannot be
/// short here.)
#[test]
fn float_master_bitlinears_are_quantized_at_load() {
    use tritium_golden::Proj;
    let hf = synth_model(&opts(Preset::Tiny, CheckpointFormat::HfPacked)).unwrap();
    let name = Proj::Gate.gguf_tensor(1);
    let want = hf.layers()[1].linear(Proj::Gate).to_ternary();
    let nonzero = want.iter().filter(|&&t| t != 0).count();
    let gamma = (0.25 * nonzero as f64 / want.len() as f64) as f32;
    let with = |ty: GgmlType, edit: &dyn Fn(&mut Vec<u8>)| {
        let mut w = bare_writer(&hf, WeightType::I2S).unwrap();
        let t = tensor_mut(&mut w, &name);
        t.type_id = ty.id();
        t.bytes = want
            .iter()
            .flat_map(|&c| {
                let v = f32::from(c) * 0.25;
                match ty {
                    GgmlType::F32 => v.to_le_bytes().to_vec(),
                    GgmlType::F16 => f16::from_f32(v).to_le_bytes().to_vec(),
                    _ => ((v.to_bits() >> 16) as u16).to_le_bytes().to_vec(),
                }
            })
            .collect();
        edit(&mut t.bytes);
        load(w.to_bytes())
    };
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::BF16] {
        let m = with(ty, &|_| {}).unwrap();
        let got = m.layers()[1].linear(Proj::Gate);
        assert_eq!(got.to_ternary(), want, "{ty:?}");
        assert_eq!(got.gamma(), gamma, "{ty:?}");
        let size = if ty == GgmlType::F32 { 4 } else { 2 };
        let e = with(ty, &|b| {
            let nan: Vec<u8> = match ty {
                GgmlType::F32 => f32::NAN.to_le_bytes().to_vec(),
                GgmlType::F16 => 0x7e00u16.to_le_bytes().to_vec(),
                _ => 0x7fc0u16.to_le_bytes().to_vec(),
            };
            b[7 * size..8 * size].copy_from_slice(&nan);
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains(&name) && e.contains("index 7"), "{ty:?}: {e}");
    }
}
