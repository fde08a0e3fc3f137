use super::*;
use crate::hfconfig::LinearClass;
use crate::synthetic::{
    synth_model, synth_tensors, write_checkpoint, CheckpointFormat, SynthOptions,
};
use tritium_golden::{GoldenBackend, Logits, Preset, Session};

fn opts(format: CheckpointFormat, linear_class: LinearClass) -> SynthOptions {
    SynthOptions {
        config: Preset::Tiny.config(),
        seed: 7,
        format,
        linear_class,
    }
}

fn packed() -> SynthOptions {
    opts(CheckpointFormat::HfPacked, LinearClass::Autobitlinear)
}

fn logits(m: &Model, tokens: &[u32]) -> Vec<Vec<f32>> {
    Session::new(m)
        .forward(&mut GoldenBackend, tokens, Logits::All)
        .unwrap()
}

/// Assembles after `edit`, expecting an error whose text contains every needle.
fn assemble_err(edit: impl FnOnce(&mut MemTensors), needles: &[&str]) {
    let o = packed();
    let mut t = synth_tensors(&o, None).unwrap();
    t.origin = "ckpt".into();
    edit(&mut t);
    let e = assemble(&t, &o.config, o.quant(), None)
        .unwrap_err()
        .to_string();
    for n in needles {
        assert!(e.contains(n), "error {e:?} lacks {n:?}");
    }
}

#[test]
fn written_checkpoint_loads_back_identical() {
    let dir = tempfile::tempdir().unwrap();
    let o = packed();
    write_checkpoint(dir.path(), &o, None).unwrap();
    let loaded = load_dir(dir.path(), None).unwrap();
    assert_eq!(loaded.model, synth_model(&o).unwrap());
    assert_eq!(loaded.quant, o.quant());
    assert!(dir.path().join("tokenizer.json").exists());
}

#[test]
fn packed_and_bf16_formats_hold_the_same_codes() {
    let p = synth_model(&packed()).unwrap();
    let b = synth_model(&opts(CheckpointFormat::HfBf16, LinearClass::Autobitlinear)).unwrap();
    let d = synth_model(&opts(CheckpointFormat::HfPacked, LinearClass::Bitlinear)).unwrap();
    for ((id, wp), ((_, wb), (_, wd))) in p.linears().zip(b.linears().zip(d.linears())) {
        assert_eq!(wp.to_ternary(), wb.to_ternary(), "{id}");
        assert_eq!(wp.to_ternary(), wd.to_ternary(), "{id}");
        // Packed scales are bf16: within bf16 precision of the online f32 gamma.
        assert!((wp.gamma() / wb.gamma() - 1.0).abs() < 1.0 / 128.0, "{id}");
        // bitlinear stores 1 / gamma and divides: gamma = 1 / bf16(1 / gamma).
        assert!((wd.gamma() / wb.gamma() - 1.0).abs() < 1.0 / 128.0, "{id}");
    }
    let toks = [510, 1, 2, 3];
    let (lp, lb) = (logits(&p, &toks), logits(&b, &toks));
    // Only the bf16 rounding of gamma (< 2^-8 relative) separates the two
    // models: their logits stay close (argmax may flip on near-ties).
    let diff = lp
        .iter()
        .flatten()
        .zip(lb.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    let range = lp.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
    eprintln!("max |diff| {diff}, max |logit| {range}");
    assert!(
        diff < 0.05 * range,
        "max |diff| {diff} vs max |logit| {range}"
    );
}

#[test]
fn bitlinear_divides_by_the_stored_scale() {
    let mut t = synth_tensors(
        &opts(CheckpointFormat::HfPacked, LinearClass::Bitlinear),
        None,
    )
    .unwrap();
    let name = Proj::Q.hf_scale_tensor(0);
    t.tensors.insert(
        name.clone(),
        OwnedTensor::bf16(vec![1], &[tritium_golden::ops::f32_to_bf16(4.0)]),
    );
    let c = Preset::Tiny.config();
    let q = crate::hfconfig::QuantSpec {
        mode: QuantMode::Offline,
        linear_class: LinearClass::Bitlinear,
    };
    assert_eq!(
        assemble(&t, &c, q, None).unwrap().layers()[0]
            .linear(Proj::Q)
            .gamma(),
        0.25
    );
    let q = crate::hfconfig::QuantSpec {
        linear_class: LinearClass::Autobitlinear,
        ..q
    };
    assert_eq!(
        assemble(&t, &c, q, None).unwrap().layers()[0]
            .linear(Proj::Q)
            .gamma(),
        4.0
    );
}

#[test]
fn untied_head_is_read_and_tied_extra_head_is_ignored() {
    let mut o = packed();
    o.config.tie_word_embeddings = false;
    let m = synth_model(&o).unwrap();
    assert!(m.lm_head().is_some());
    assert_ne!(m.lm_head(), Some(m.embed()));
    // A tied config ignores a stored lm_head.weight, as transformers does.
    let t = synth_tensors(&o, None).unwrap();
    let tied = packed();
    assert!(t.tensors.contains_key("lm_head.weight"));
    let m = assemble(&t, &tied.config, tied.quant(), None).unwrap();
    assert!(m.lm_head().is_none());
    // An untied config without lm_head.weight is an error.
    let mut t = synth_tensors(&tied, None).unwrap();
    t.origin = "ckpt".into();
    let e = assemble(&t, &o.config, o.quant(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("lm_head.weight is missing"), "{e}");
}

#[test]
fn sharded_checkpoints_load() {
    let dir = tempfile::tempdir().unwrap();
    let o = packed();
    let t = synth_tensors(&o, None).unwrap();
    let (mut a, mut b) = (MemTensors::default(), MemTensors::default());
    let mut map = serde_json::Map::new();
    for (i, (k, v)) in t.tensors.iter().enumerate() {
        let (shard, file) = if i % 2 == 0 {
            (&mut a, "model-00001-of-00002.safetensors")
        } else {
            (&mut b, "model-00002-of-00002.safetensors")
        };
        shard.tensors.insert(k.clone(), v.clone());
        map.insert(k.clone(), serde_json::json!(file));
    }
    a.write_safetensors(&dir.path().join("model-00001-of-00002.safetensors"))
        .unwrap();
    b.write_safetensors(&dir.path().join("model-00002-of-00002.safetensors"))
        .unwrap();
    let index = serde_json::json!({"metadata": {}, "weight_map": map});
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        index.to_string(),
    )
    .unwrap();
    let cfg = crate::hfconfig::config_json(&o.config, o.quant());
    std::fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
    assert_eq!(
        load_dir(dir.path(), None).unwrap().model,
        synth_model(&o).unwrap()
    );

    // An index naming a shard that does not exist.
    let mut map2 = map.clone();
    map2.insert(
        "model.norm.weight".into(),
        serde_json::json!("model-00003-of-00002.safetensors"),
    );
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        serde_json::json!({"weight_map": map2}).to_string(),
    )
    .unwrap();
    let e = load_dir(dir.path(), None).unwrap_err().to_string();
    assert!(e.contains("model-00003-of-00002.safetensors"), "{e}");
    // An index pointing a tensor at the wrong shard.
    let mut map3 = map;
    let first = map3.keys().next().unwrap().clone();
    let wrong = if map3[&first] == "model-00001-of-00002.safetensors" {
        "model-00002-of-00002.safetensors"
    } else {
        "model-00001-of-00002.safetensors"
    };
    map3.insert(first.clone(), serde_json::json!(wrong));
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        serde_json::json!({"weight_map": map3}).to_string(),
    )
    .unwrap();
    let e = load_dir(dir.path(), None).unwrap_err().to_string();
    assert!(e.contains(&first) && e.contains("missing"), "{e}");
}

#[test]
fn truncated_and_corrupt_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path(), &packed(), None).unwrap();
    let st = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&st).unwrap();
    for cut in [bytes.len() - 1, bytes.len() / 2, 100, 7, 0] {
        std::fs::write(&st, &bytes[..cut]).unwrap();
        let e = load_dir(dir.path(), None).unwrap_err().to_string();
        assert!(
            e.contains("model.safetensors") && e.contains("not a valid safetensors file"),
            "cut {cut}: {e}"
        );
    }
    let mut garbage = bytes.clone();
    garbage[8..16].copy_from_slice(b"#garbage");
    std::fs::write(&st, &garbage).unwrap();
    assert!(load_dir(dir.path(), None)
        .unwrap_err()
        .to_string()
        .contains("not a valid safetensors file"));
    std::fs::remove_file(&st).unwrap();
    let e = load_dir(dir.path(), None).unwrap_err().to_string();
    assert!(e.contains("no model.safetensors"), "{e}");
    std::fs::write(dir.path().join("config.json"), "{").unwrap();
    assert!(load_dir(dir.path(), None)
        .unwrap_err()
        .to_string()
        .contains("config.json"));
    assert!(load_dir(&dir.path().join("nope"), None)
        .unwrap_err()
        .to_string()
        .contains("not a directory"));
}

#[test]
fn missing_tensor_is_named() {
    let name = Proj::Down.hf_tensor(1);
    assemble_err(
        |t| drop(t.tensors.remove(&Proj::Down.hf_tensor(1))),
        &["ckpt", &name, "missing"],
    );
    assemble_err(
        |t| drop(t.tensors.remove(&Proj::K.hf_scale_tensor(0))),
        &["weight_scale", "missing"],
    );
}

#[test]
fn wrong_shapes_and_dtypes_are_named() {
    let name = Proj::Up.hf_tensor(0);
    assemble_err(
        |t| {
            let w = t.tensors.get_mut(&Proj::Up.hf_tensor(0)).unwrap();
            w.shape = vec![w.shape[1], w.shape[0]];
        },
        &[&name, "shape [64, 43]", "expected [43, 64]"],
    );
    assemble_err(
        |t| {
            let w = t.tensors.get_mut(&Proj::Up.hf_tensor(0)).unwrap();
            w.dtype = safetensors::Dtype::I8;
        },
        &[&name, "dtype I8", "U8"],
    );
    assemble_err(
        |t| {
            let w = t.tensors.get_mut("model.norm.weight").unwrap();
            *w = OwnedTensor::bf16(vec![63], &[0x3f80; 63]);
        },
        &["model.norm.weight", "shape [63]"],
    );
    assemble_err(
        |t| {
            drop(t.tensors.insert(
                "model.layers.0.mlp.extra.weight".into(),
                OwnedTensor::bf16(vec![1], &[0]),
            ))
        },
        &["unexpected tensor model.layers.0.mlp.extra.weight"],
    );
}

#[test]
fn invalid_code_three_is_located() {
    let name = Proj::V.hf_tensor(1);
    assemble_err(
        |t| {
            let w = t.tensors.get_mut(&Proj::V.hf_tensor(1)).unwrap();
            // packed [N/4 = 8, K = 64]: byte (p = 2, c = 5), bits 3:2 -> row 1 * 8 + 2 = 10.
            w.bytes[2 * 64 + 5] |= 0b1100;
        },
        &[&name, "invalid packed ternary code 3", "row 10, column 5"],
    );
}

/// A bf16 checkpoint quantized at load (widened a chunk at a time): a
/// non-finite weight is named with its index, and bytes that do not match
/// the shape are an error, not a panic.
#[test]
fn online_weights_are_checked_as_they_are_widened() {
    let o = opts(CheckpointFormat::HfBf16, LinearClass::Autobitlinear);
    let err = |edit: &dyn Fn(&mut MemTensors)| {
        let mut t = synth_tensors(&o, None).unwrap();
        t.origin = "ckpt".into();
        edit(&mut t);
        assemble(&t, &o.config, o.quant(), None)
            .unwrap_err()
            .to_string()
    };
    let name = Proj::Gate.hf_tensor(1);
    let e = err(&|t| {
        let w = t.tensors.get_mut(&name).unwrap();
        w.bytes[2000..2002].copy_from_slice(&0x7fc0u16.to_le_bytes());
    });
    for n in [name.as_str(), "index 1000", "NaN"] {
        assert!(e.contains(n), "error {e:?} lacks {n:?}");
    }
    let e = err(&|t| {
        let w = t.tensors.get_mut(&name).unwrap();
        w.bytes.truncate(w.bytes.len() - 2);
    });
    assert!(e.contains(name.as_str()) && e.contains("bytes"), "{e}");
}

#[test]
fn non_finite_and_non_positive_values_are_named() {
    assemble_err(
        |t| {
            let w = t
                .tensors
                .get_mut("model.layers.1.post_attention_layernorm.weight")
                .unwrap();
            w.bytes[6..8].copy_from_slice(&0x7fc0u16.to_le_bytes());
        },
        &["post_attention_layernorm", "index 3", "NaN"],
    );
    assemble_err(
        |t| {
            let w = t.tensors.get_mut("model.embed_tokens.weight").unwrap();
            w.bytes[0..2].copy_from_slice(&0xff80u16.to_le_bytes());
        },
        &["model.embed_tokens.weight", "index 0", "inf"],
    );
    for bad in [0x0000u16, 0xbf80, 0x7f80] {
        assemble_err(
            |t| {
                let s = t.tensors.get_mut(&Proj::O.hf_scale_tensor(0)).unwrap();
                s.bytes.copy_from_slice(&bad.to_le_bytes());
            },
            &["o_proj.weight_scale", "must be finite, > 0"],
        );
    }
}

#[test]
fn overflowing_activations_are_an_error_not_a_panic() {
    // Norm weights near the bf16 maximum push the residual stream to infinity.
    let o = packed();
    let mut t = synth_tensors(&o, None).unwrap();
    for l in 0..o.config.num_layers {
        let name = format!("model.layers.{l}.post_attention_layernorm.weight");
        let w = t.tensors.get_mut(&name).unwrap();
        let bits = vec![0x7f7fu16; o.config.hidden_size];
        *w = OwnedTensor::bf16(vec![o.config.hidden_size], &bits);
    }
    let m = assemble(&t, &o.config, o.quant(), None).unwrap();
    let mut s = Session::new(&m);
    let e = s
        .forward(&mut GoldenBackend, &[510, 3, 4], Logits::All)
        .unwrap_err();
    assert!(matches!(e, tritium_golden::Error::NonFinite { .. }), "{e}");
    // The session is left usable at its old position.
    assert_eq!(s.position(), 0);
}
