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

pub mod export;
mod store;

use std::collections::BTreeSet;
use std::path::Path;

use rayon::prelude::*;
use tritium_golden::model::{HF_EMBED, HF_FINAL_NORM, HF_LM_HEAD};
use tritium_golden::{
    DenseMatrix, Layer, Model, ModelConfig, Norm, Proj, ScaleConvention, TernaryMatrix,
};
use tritium_util::Progress;

pub use store::{MemTensors, OwnedTensor, SafetensorsDir, TensorRef, TensorSource};

use crate::error::{Error, Result};
use crate::floats;
use crate::hfconfig::{read_config, QuantMode, QuantSpec};
use crate::loaded::{LoadedModel, SourceFormat};

/// Every tensor name a checkpoint of this shape must hold.
pub fn expected_names(c: &ModelConfig, q: QuantSpec) -> BTreeSet<String> {
    let mut names = BTreeSet::from([HF_EMBED.to_string(), HF_FINAL_NORM.to_string()]);
    if !c.tie_word_embeddings {
        names.insert(HF_LM_HEAD.into());
    }
    for l in 0..c.num_layers {
        names.extend(Norm::ALL.map(|n| n.hf_tensor(l)));
        for p in Proj::ALL {
            names.insert(p.hf_tensor(l));
            if q.mode == QuantMode::Offline {
                names.insert(p.hf_scale_tensor(l));
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
    // 16-bit types stay as stored (widened exactly on use).
    let m = match t.dtype {
        safetensors::Dtype::BF16 => DenseMatrix::from_bf16(name, rows, cols, t.to_bf16_bits()?),
        safetensors::Dtype::F16 => DenseMatrix::from_f16(name, rows, cols, t.to_f16_bits()?),
        _ => DenseMatrix::from_f32(name, rows, cols, t.to_f32()?),
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
    let (n, k) = p.shape(c);
    let name = p.hf_tensor(l);
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
            let st = src.tensor(&p.hf_scale_tensor(l))?;
            let ws = st.scalar_f32()?;
            tritium_golden::ternary::check_gamma(st.name, ws)
                .map_err(|e| tensor_err(st.path, e))?;
            let gamma = match q.linear_class.convention() {
                ScaleConvention::Multiply => ws,
                ScaleConvention::Divide => 1.0 / ws,
            };
            TernaryMatrix::from_hf_packed(&name, n, k, bytes, gamma)
                .map_err(|e| tensor_err(t.path, e))
        }
        QuantMode::Online => {
            t.expect_shape(&[n, k])?;
            floats::quantize_masters(&name, t.float_kind()?, t.bytes, n, k)
                .map_err(|e| tensor_err(t.path, e))
        }
    }
}

fn load_layer(src: &dyn TensorSource, c: &ModelConfig, q: QuantSpec, l: usize) -> Result<Layer> {
    Layer::build(
        |n| load_norm(src, &n.hf_tensor(l), n.dim(c)),
        |p| load_linear(src, c, q, l, p),
    )
}

/// Checks that `src` holds no tensor a b1.58 model does not use (a typo or a
/// different architecture would otherwise be dropped silently). Rotary
/// `inv_freq` buffers and a tied checkpoint's redundant `lm_head.weight`
/// (transformers ignores it too) are the only names skipped.
fn check_unexpected(src: &dyn TensorSource, expected: &BTreeSet<String>) -> Result<()> {
    for name in src.names() {
        let skippable = name.ends_with("rotary_emb.inv_freq") || name == HF_LM_HEAD;
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
    progress: Option<&dyn Progress>,
) -> Result<Model> {
    c.validate()
        .map_err(|e| Error::config(src.origin(), e.to_string()))?;
    check_unexpected(src, &expected_names(c, q))?;
    // The embedding and head alongside the layers, as the GGUF loader.
    let (dense, layers) = rayon::join(
        || -> Result<_> {
            let embed = load_dense(src, HF_EMBED, c.vocab_size, c.hidden_size)?;
            let lm_head = if c.tie_word_embeddings {
                None
            } else {
                Some(load_dense(src, HF_LM_HEAD, c.vocab_size, c.hidden_size)?)
            };
            Ok((embed, lm_head))
        },
        || {
            (0..c.num_layers)
                .into_par_iter()
                .map(|l| {
                    let layer = load_layer(src, c, q, l);
                    if let Some(p) = progress {
                        p.advance(1);
                    }
                    layer
                })
                .collect::<Result<Vec<_>>>()
        },
    );
    let (embed, lm_head) = dense?;
    let layers = layers?;
    let final_norm = load_norm(src, HF_FINAL_NORM, c.hidden_size)?;
    Model::new(c.clone(), embed, lm_head, final_norm, layers)
        .map_err(|e| tensor_err(src.origin(), e))
}

/// Loads a Hugging Face checkpoint directory (`config.json` + safetensors).
pub fn load_dir(dir: &Path, progress: Option<&dyn Progress>) -> Result<LoadedModel> {
    if !dir.is_dir() {
        return Err(Error::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let (config, quant) = read_config(&dir.join("config.json"))?;
    let src = SafetensorsDir::open(dir)?;
    if let Some(p) = progress {
        p.set_total(config.num_layers as u64);
    }
    let model = assemble(&src, &config, quant, progress)?;
    Ok(LoadedModel {
        model,
        quant,
        path: dir.to_path_buf(),
        format: SourceFormat::HfSafetensors,
    })
}

#[cfg(test)]
mod tests;
