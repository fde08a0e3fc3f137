//! Writing Hugging Face checkpoint directories: a golden [`Model`] as the
//! packed format (`write_hf_packed`), and the JSON side files every
//! directory carries.

use std::path::Path;

use tritium_golden::model::{HF_EMBED, HF_FINAL_NORM, HF_LM_HEAD};
use tritium_golden::ops::f32_to_bf16;
use tritium_golden::{Model, ModelConfig, Norm, Proj};

use super::{MemTensors, OwnedTensor};
use crate::error::Result;
use crate::hfconfig::{config_json, LinearClass, QuantMode, QuantSpec};
use tritium_util::AtPath;

/// Writes `v` as pretty JSON to `dir/name`.
pub fn write_json(dir: &Path, name: &str, v: &serde_json::Value) -> Result<()> {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(v)
        .map_err(std::io::Error::from)
        .at(&path)?;
    Ok(tritium_util::write_atomic(&path, (text + "\n").as_bytes())?)
}

/// `generation_config.json`, and with a tokenizer `tokenizer.json` and
/// `tokenizer_config.json`.
pub fn write_side_files(
    dir: &Path,
    c: &ModelConfig,
    tokenizer: Option<&serde_json::Value>,
) -> Result<()> {
    write_json(
        dir,
        "generation_config.json",
        &serde_json::json!({ "bos_token_id": c.bos_token_id, "eos_token_id": c.eos_token_id, "do_sample": false }),
    )?;
    if let Some(tok) = tokenizer {
        write_json(dir, "tokenizer.json", tok)?;
        write_json(
            dir,
            "tokenizer_config.json",
            &crate::tokenizer::tokenizer_config_json(c),
        )?;
    }
    Ok(())
}

/// Writes `model` as a Hugging Face packed checkpoint directory
/// (`autobitlinear`: `weight_scale` = gamma). Lossless: a scale, norm or
/// embedding value that bf16 cannot hold exactly is written as F32 (which
/// tritium and transformers read), so the directory loads back as `model`.
pub fn write_hf_packed(
    dir: &Path,
    model: &Model,
    tokenizer: Option<&serde_json::Value>,
) -> Result<()> {
    use safetensors::Dtype;
    std::fs::create_dir_all(dir).at(dir)?;
    let c = model.config();
    let floats = |shape: Vec<usize>, v: &[f32]| {
        if v.iter()
            .all(|&x| tritium_golden::ops::bf16_to_f32(f32_to_bf16(x)) == x)
        {
            let bits: Vec<u16> = v.iter().map(|&x| f32_to_bf16(x)).collect();
            OwnedTensor::bf16(shape, &bits)
        } else {
            OwnedTensor {
                dtype: Dtype::F32,
                shape,
                bytes: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            }
        }
    };
    let dense = |m: &tritium_golden::DenseMatrix| match m.as_bf16() {
        Some(bits) => OwnedTensor::bf16(vec![m.rows(), m.cols()], bits),
        None => {
            let mut all = vec![0f32; m.rows() * m.cols()];
            for (r, row) in all.chunks_exact_mut(m.cols()).enumerate() {
                m.row_into(r, row);
            }
            floats(vec![m.rows(), m.cols()], &all)
        }
    };
    let mut t = MemTensors {
        origin: dir.to_path_buf(),
        ..MemTensors::default()
    };
    t.tensors.insert(HF_EMBED.into(), dense(model.embed()));
    if let Some(h) = model.lm_head() {
        t.tensors.insert(HF_LM_HEAD.into(), dense(h));
    }
    t.tensors.insert(
        HF_FINAL_NORM.into(),
        floats(vec![c.hidden_size], model.final_norm()),
    );
    for (l, layer) in model.layers().iter().enumerate() {
        for n in Norm::ALL {
            let v = layer.norm(n);
            t.tensors.insert(n.hf_tensor(l), floats(vec![v.len()], v));
        }
        for p in Proj::ALL {
            let w = layer.linear(p);
            t.tensors.insert(
                p.hf_tensor(l),
                OwnedTensor::u8(vec![w.n() / 4, w.k()], w.to_hf_packed()?),
            );
            t.tensors
                .insert(p.hf_scale_tensor(l), floats(vec![1], &[w.gamma()]));
        }
    }
    t.write_safetensors(&dir.join("model.safetensors"))?;
    let q = QuantSpec {
        mode: QuantMode::Offline,
        linear_class: LinearClass::Autobitlinear,
    };
    write_json(dir, "config.json", &config_json(c, q))?;
    write_side_files(dir, c, tokenizer)
}
