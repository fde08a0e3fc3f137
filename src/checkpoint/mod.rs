//! Hugging Face b1.58 checkpoints: reading (packed offline format of
//! microsoft/bitnet-b1.58-2B-4T and bf16 masters of the `-bf16` repository,
//! single file or sharded, tied or untied head) and writing.
//!
//! Tensor names follow transformers' `BitNetForCausalLM`:
//! `model.embed_tokens.weight`, `model.norm.weight`, `lm_head.weight` (untied
//! only), and per layer `model.layers.{l}.input_layernorm.weight`,
//! `.post_attention_layernorm.weight`, `.self_attn.attn_sub_norm.weight`,
//! `.mlp.ffn_sub_norm.weight`, `.self_attn.{q,k,v,o}_proj.weight`,
//! `.mlp.{gate,up,down}_proj.weight` (+ `.weight_scale` when packed).

mod store;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use rayon::prelude::*;
use tritium_golden::network::linear_shape;
use tritium_golden::quant::quantize_weights_absmean;
use tritium_golden::{
    DenseMatrix, Layer, Model, ModelConfig, Proj, ScaleConvention, TernaryMatrix,
};

pub use store::{MemTensors, OwnedTensor, SafetensorsDir, TensorRef, TensorSource};

use crate::error::{Error, Result};
use crate::hfconfig::{read_config, QuantMode, QuantSpec};

/// Name of the weight of projection `p` in layer `l`.
pub fn linear_name(l: usize, p: Proj) -> String {
    format!("model.layers.{l}.{}.{}.weight", p.hf_module(), p.hf_name())
}

/// Name of the packed weight's scale of projection `p` in layer `l`.
pub fn scale_name(l: usize, p: Proj) -> String {
    format!(
        "model.layers.{l}.{}.{}.weight_scale",
        p.hf_module(),
        p.hf_name()
    )
}

/// Names of the four norm weights of layer `l`, in [`Layer`] field order.
pub fn norm_names(l: usize) -> [String; 4] {
    [
        format!("model.layers.{l}.input_layernorm.weight"),
        format!("model.layers.{l}.self_attn.attn_sub_norm.weight"),
        format!("model.layers.{l}.post_attention_layernorm.weight"),
        format!("model.layers.{l}.mlp.ffn_sub_norm.weight"),
    ]
}

/// Every tensor name a checkpoint of this shape must hold.
pub fn expected_names(c: &ModelConfig, q: QuantSpec) -> BTreeSet<String> {
    let mut names = BTreeSet::from([
        "model.embed_tokens.weight".to_string(),
        "model.norm.weight".to_string(),
    ]);
    if !c.tie_word_embeddings {
        names.insert("lm_head.weight".into());
    }
    for l in 0..c.num_layers {
        names.extend(norm_names(l));
        for p in Proj::ALL {
            names.insert(linear_name(l, p));
            if q.mode == QuantMode::Offline {
                names.insert(scale_name(l, p));
            }
        }
    }
    names
}

fn tensor_err(path: &Path, source: tritium_golden::Error) -> Error {
    Error::Tensor {
        path: path.to_path_buf(),
        source,
    }
}

fn load_norm(src: &dyn TensorSource, name: &str, len: usize) -> Result<Vec<f32>> {
    let t = src.tensor(name)?;
    t.expect_shape(&[len])?;
    let v = t.to_f32()?;
    tritium_golden::error::check_finite(name, &v).map_err(|e| tensor_err(t.path, e))?;
    Ok(v)
}

fn load_dense(src: &dyn TensorSource, name: &str, rows: usize, cols: usize) -> Result<DenseMatrix> {
    let t = src.tensor(name)?;
    t.expect_shape(&[rows, cols])?;
    let m = if t.dtype == safetensors::Dtype::BF16 {
        DenseMatrix::from_bf16(name, rows, cols, t.to_bf16_bits()?)
    } else {
        DenseMatrix::from_f32(name, rows, cols, t.to_f32()?)
    };
    m.map_err(|e| tensor_err(t.path, e))
}

fn load_linear(
    src: &dyn TensorSource,
    c: &ModelConfig,
    q: QuantSpec,
    l: usize,
    p: Proj,
) -> Result<TernaryMatrix> {
    let (n, k) = linear_shape(c, p);
    let name = linear_name(l, p);
    let t = src.tensor(&name)?;
    match q.mode {
        QuantMode::Offline => {
            if n % 4 != 0 {
                return Err(Error::config(
                    src.origin(),
                    format!("{name} has {n} output rows; the packed format needs a multiple of 4"),
                ));
            }
            t.expect_shape(&[n / 4, k])?;
            let bytes = t.as_u8()?;
            let st = src.tensor(&scale_name(l, p))?;
            let ws = st.scalar_f32()?;
            if !(ws.is_finite() && ws > 0.0) {
                return Err(tensor_err(
                    st.path,
                    tritium_golden::Error::NonFinite {
                        what: format!("{} (must be finite and > 0)", st.name),
                        index: 0,
                        value: ws,
                    },
                ));
            }
            let gamma = match q.linear_class.convention() {
                ScaleConvention::Multiply => ws,
                ScaleConvention::Divide => 1.0 / ws,
            };
            TernaryMatrix::from_hf_packed(&name, n, k, bytes, gamma)
                .map_err(|e| tensor_err(t.path, e))
        }
        QuantMode::Online => {
            t.expect_shape(&[n, k])?;
            let w = t.to_f32()?;
            quantize_weights_absmean(&name, &w, n, k).map_err(|e| tensor_err(t.path, e))
        }
    }
}

fn load_layer(src: &dyn TensorSource, c: &ModelConfig, q: QuantSpec, l: usize) -> Result<Layer> {
    let [n_in, n_attn, n_post, n_ffn] = norm_names(l);
    let lin = |p| load_linear(src, c, q, l, p);
    Ok(Layer {
        input_norm: load_norm(src, &n_in, c.hidden_size)?,
        q: lin(Proj::Q)?,
        k: lin(Proj::K)?,
        v: lin(Proj::V)?,
        attn_sub_norm: load_norm(src, &n_attn, c.q_dim())?,
        o: lin(Proj::O)?,
        post_attn_norm: load_norm(src, &n_post, c.hidden_size)?,
        gate: lin(Proj::Gate)?,
        up: lin(Proj::Up)?,
        ffn_sub_norm: load_norm(src, &n_ffn, c.intermediate_size)?,
        down: lin(Proj::Down)?,
    })
}

/// Checks that `src` holds no tensor a b1.58 model does not use (a typo or a
/// different architecture would otherwise be dropped silently). Rotary
/// `inv_freq` buffers and a tied checkpoint's redundant `lm_head.weight`
/// (transformers ignores it too) are the only names skipped.
fn check_unexpected(src: &dyn TensorSource, expected: &BTreeSet<String>) -> Result<()> {
    for name in src.names() {
        let skippable = name.ends_with("rotary_emb.inv_freq") || name == "lm_head.weight";
        if !expected.contains(&name) && !skippable {
            return Err(Error::UnexpectedTensor {
                path: src.origin().to_path_buf(),
                tensor: name,
            });
        }
    }
    Ok(())
}

/// Builds a [`Model`] from named tensors: layers are decoded in parallel.
pub fn assemble(
    src: &dyn TensorSource,
    c: &ModelConfig,
    q: QuantSpec,
    progress: Option<&ProgressBar>,
) -> Result<Model> {
    c.validate()
        .map_err(|e| Error::config(src.origin(), e.to_string()))?;
    check_unexpected(src, &expected_names(c, q))?;
    let embed = load_dense(
        src,
        "model.embed_tokens.weight",
        c.vocab_size,
        c.hidden_size,
    )?;
    let lm_head = if c.tie_word_embeddings {
        None
    } else {
        Some(load_dense(
            src,
            "lm_head.weight",
            c.vocab_size,
            c.hidden_size,
        )?)
    };
    let final_norm = load_norm(src, "model.norm.weight", c.hidden_size)?;
    let layers = (0..c.num_layers)
        .into_par_iter()
        .map(|l| {
            let layer = load_layer(src, c, q, l);
            if let Some(pb) = progress {
                pb.inc(1);
            }
            layer
        })
        .collect::<Result<Vec<_>>>()?;
    Model::new(c.clone(), embed, lm_head, final_norm, layers)
        .map_err(|e| tensor_err(src.origin(), e))
}

/// A model loaded from a checkpoint directory, with what was learned on the way.
#[derive(Debug)]
pub struct LoadedModel {
    pub model: Model,
    pub quant: QuantSpec,
    pub dir: PathBuf,
}

/// Loads a Hugging Face checkpoint directory (`config.json` + safetensors).
pub fn load_dir(dir: &Path, progress: Option<&ProgressBar>) -> Result<LoadedModel> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!("{}: not a directory", dir.display())));
    }
    let (config, quant) = read_config(&dir.join("config.json"))?;
    let src = SafetensorsDir::open(dir)?;
    if let Some(pb) = progress {
        pb.set_length(config.num_layers as u64);
    }
    let model = assemble(&src, &config, quant, progress)?;
    Ok(LoadedModel {
        model,
        quant,
        dir: dir.to_path_buf(),
    })
}

/// Loads `--model PATH`: a Hugging Face checkpoint directory, or a GGUF
/// file (recognized by its magic, whatever its name).
pub fn load_path(path: &Path, progress: Option<&ProgressBar>) -> Result<LoadedModel> {
    if path.is_dir() {
        load_dir(path, progress)
    } else if crate::gguf::is_gguf(path) {
        crate::gguf::load::load_gguf(path, progress)
    } else if !path.exists() {
        Err(Error::Usage(format!(
            "{}: no such file or directory",
            path.display()
        )))
    } else {
        Err(Error::Usage(format!(
            "{}: neither a checkpoint directory (config.json + safetensors) nor a GGUF file",
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests;
