//! The files tritium writes against what the loader of the engine each
//! format belongs to requires (from those loaders' sources): llama.cpp's
//! `bitnet` architecture for TQ1_0/TQ2_0 (`llama_model_bitnet`: the
//! hyperparameters it reads, exactly the tensors it creates: no
//! `output.weight`, the head is the token embedding), bitnet.cpp's
//! `bitnet-b1.58` for I2_S; and that tritium reads each back unchanged.

use std::collections::BTreeSet;
use std::path::Path;

use tritium_golden::{Model, Preset};

use super::export::{model_to_writer, EmbedType, WeightType, WriteOptions};
use super::load::load_model;
use super::{GgmlType, GgufFile, Value};
use crate::hfconfig::LinearClass;
use crate::synthetic::{synth_model, CheckpointFormat, SynthOptions};
use crate::tokenizer::synthetic_tokenizer_json;

fn model(untied: bool) -> Model {
    let mut config = Preset::Tiny256.config();
    config.tie_word_embeddings = !untied;
    synth_model(&SynthOptions {
        config,
        seed: 9,
        format: CheckpointFormat::HfPacked,
        linear_class: LinearClass::Autobitlinear,
    })
    .unwrap()
}

fn write(m: &Model, weights: WeightType) -> super::Result<GgufFile> {
    let bytes = model_to_writer(
        m,
        &WriteOptions {
            weights,
            embed: EmbedType::F16,
            name: "compat".into(),
            tokenizer: Some(synthetic_tokenizer_json(m.config())),
        },
    )?
    .to_bytes();
    GgufFile::from_bytes(Path::new("compat.gguf"), bytes)
}

/// The tensors `llama_model_bitnet::load_arch_tensors` creates (the
/// optional `.scale` ones aside) for `layers` layers.
fn llama_cpp_bitnet_tensors(layers: usize) -> BTreeSet<String> {
    let mut t: BTreeSet<String> = ["token_embd.weight", "output_norm.weight"]
        .into_iter()
        .map(String::from)
        .collect();
    for l in 0..layers {
        for n in [
            "attn_norm",
            "attn_sub_norm",
            "attn_q",
            "attn_k",
            "attn_v",
            "attn_output",
            "ffn_norm",
            "ffn_sub_norm",
            "ffn_gate",
            "ffn_down",
            "ffn_up",
        ] {
            t.insert(format!("blk.{l}.{n}.weight"));
        }
    }
    t
}

#[test]
fn tq_files_are_llama_cpp_bitnet_files() {
    let m = model(false);
    let c = m.config();
    for (wt, ty) in [
        (WeightType::Tq2, GgmlType::TQ2_0),
        (WeightType::Tq1, GgmlType::TQ1_0),
    ] {
        let f = write(&m, wt).unwrap();
        let h = &f.header;
        assert_eq!(h.architecture(), Some("bitnet"), "{wt:?}");
        // The keys llama.cpp's loader reads for it (general hparams, then
        // the architecture's own: the RMS epsilon is required).
        let u = |k: &str| match h.get(&format!("bitnet.{k}")) {
            Some(Value::U32(v)) => *v as usize,
            other => panic!("bitnet.{k}: {other:?}"),
        };
        assert_eq!(u("context_length"), c.max_position_embeddings);
        assert_eq!(u("embedding_length"), c.hidden_size);
        assert_eq!(u("block_count"), c.num_layers);
        assert_eq!(u("feed_forward_length"), c.intermediate_size);
        assert_eq!(u("attention.head_count"), c.num_heads);
        assert_eq!(u("attention.head_count_kv"), c.num_kv_heads);
        assert!(matches!(
            h.get("bitnet.attention.layer_norm_rms_epsilon"),
            Some(Value::F32(e)) if *e == c.rms_norm_eps
        ));
        assert!(matches!(
            h.get("bitnet.rope.freq_base"),
            Some(Value::F32(_))
        ));
        assert_eq!(
            h.get("tokenizer.ggml.model").and_then(Value::as_str),
            Some("gpt2")
        );
        // Exactly the tensors llama.cpp creates: an extra one fails its
        // "wrong number of tensors" check, a missing one its lookup.
        let names: BTreeSet<String> = h.tensors.iter().map(|t| t.name.clone()).collect();
        assert_eq!(names, llama_cpp_bitnet_tensors(c.num_layers), "{wt:?}");
        // Shapes in ggml order, as created there.
        let dims = |n: &str| h.tensor(n).unwrap().dims.clone();
        let (e, v, ff) = (
            c.hidden_size as u64,
            c.vocab_size as u64,
            c.intermediate_size as u64,
        );
        assert_eq!(dims("token_embd.weight"), [e, v]);
        assert_eq!(dims("blk.0.attn_sub_norm.weight"), [e]);
        assert_eq!(dims("blk.0.ffn_sub_norm.weight"), [ff]);
        assert_eq!(dims("blk.0.attn_q.weight"), [e, e]);
        assert_eq!(dims("blk.0.ffn_down.weight"), [ff, e]);
        assert_eq!(h.tensor("blk.0.ffn_up.weight").unwrap().ty, ty);
        // And tritium reads it back to the same codes.
        let back = load_model(&f, None).unwrap();
        for ((id, a), (_, b)) in m.linears().zip(back.linears()) {
            assert_eq!(a.to_ternary(), b.to_ternary(), "{wt:?} {id}");
        }
    }
}

#[test]
fn i2s_files_are_bitnet_cpp_files() {
    for untied in [false, true] {
        let m = model(untied);
        let f = write(&m, WeightType::I2S).unwrap();
        assert_eq!(f.header.architecture(), Some("bitnet-b1.58"));
        assert_eq!(f.header.tensor("output.weight").is_some(), untied);
        assert_eq!(
            f.header.tensor("blk.0.attn_q.weight").unwrap().ty,
            GgmlType::I2_S
        );
    }
}

#[test]
fn an_untied_head_has_no_place_in_llama_cpp_bitnet() {
    let m = model(true);
    for wt in [WeightType::Tq2, WeightType::Tq1] {
        let e = write(&m, wt).unwrap_err().to_string();
        assert!(
            e.contains("no separate output tensor") && e.contains("I2_S"),
            "{e}"
        );
    }
}
