//! GGUF -> golden [`Model`]: metadata to [`ModelConfig`], llama.cpp's BITNET
//! tensor names to [`tritium_golden::Layer`] fields, block codecs to
//! ternary codes and one per-tensor `gamma`.
//!
//! # Scales: how each type maps onto the golden `gamma`
//! The golden model (W1.58A8) has one f32 scale per BitLinear tensor.
//! - **I2_S**: the f32 stored after the codes *is* `gamma` (bitnet.cpp
//!   dequantizes `w = scale * t`; its converter writes `scale = max |w|` of
//!   the absmean-quantized weights, i.e. the absmean scale). Codes and
//!   `gamma` are exact, so HF packed (`autobitlinear`) -> I2_S -> load gives
//!   a bitwise identical model and identical logits.
//! - **TQ2_0 / TQ1_0**: every 256-element block has its own fp16 `d`
//!   (`w = d * t`). llama.cpp's BitNet conversion gives every block with a
//!   non-zero weight the same `d` (the tensor scale rounded to fp16) and
//!   all-zero blocks `d = 0`. tritium takes `gamma` = that common `d`,
//!   widened exactly to f32; blocks whose codes are all zero contribute
//!   nothing whatever their `d`, so their `d` is ignored. If two blocks with
//!   non-zero codes have different `d`, the tensor is refused with an error:
//!   per-block scales are not representable by the per-tensor-gamma golden
//!   model. Bit-exactness then means: codes exact, `gamma` exact up to the
//!   fp16 rounding of `d` that is already in the file.
//! - **IQ2_BN / IQ1_BN** (ik_llama.cpp): every row starts with its own
//!   scale (f32 / fp16; `w = scale * t`), which ik_llama.cpp's quantizer
//!   sets to the row's `max |w|`: the tensor scale in every row with a
//!   non-zero weight, 0 in all-zero rows. As for TQ blocks, `gamma` = the
//!   common scale of the rows with non-zero codes (IQ2_BN: the exact f32,
//!   so I2_S/HF packed -> IQ2_BN -> load is lossless; IQ1_BN: widened from
//!   fp16); rows with different scales are refused naming the tensor and
//!   both rows.
//! - An optional `blk.N.<proj>.scale` tensor (one f32, written by some
//!   llama.cpp conversions and applied by llama.cpp after the matmul)
//!   multiplies `gamma` (one f32 rounding).
//! - F32 / F16 / BF16 BitLinear weights are full-precision masters and are
//!   quantized at load exactly like the HF bf16 (`online`) format.
//! - An F16, BF16, Q8_0 or Q6_K embedding / output head is kept as stored
//!   (a full read of the head costs its stored bytes) and widened on use as
//!   the golden model defines it ([`tritium_golden::BlockType`]: ggml's
//!   reference dequantization); F32 stays f32.
//!
//! # q/k row order
//! llama.cpp permutes q/k rows only for architectures whose RoPE pairs
//! neighbouring elements. `bitnet` uses NEOX-style RoPE (pairs `i`,
//! `i + d/2`, transformers' rotate_half), and bitnet.cpp's converter for
//! `bitnet-b1.58`/`bitnet-25` has the permutation commented out: in all
//! three, q/k rows are in Hugging Face order, so nothing is undone here.

use std::collections::BTreeSet;
use std::path::Path;

use half::f16;
use rayon::prelude::*;
use tritium_golden::{DenseMatrix, Layer, Model, ModelConfig, Norm, Proj, TernaryMatrix};
use tritium_util::Progress;

use super::iqbn::{common_row_scale, iq1bn_decode, iq2bn_decode, widen_f16};
use super::quants::{block_type, float_kind, i2s_decode, to_f32, tq1_decode, tq2_decode};
use super::{GgmlType, GgufFile, TensorInfo, BITNET_ARCHS};
use crate::error::{Error, Result};
use crate::floats::quantize_masters;
use crate::hfconfig::{LinearClass, QuantMode, QuantSpec};
use crate::loaded::{LoadedModel, SourceFormat};

/// Reads the model shape from the metadata (`{arch}.*` keys, llama.cpp
/// names) and the tensor list (vocabulary size, tied head).
pub fn read_config(f: &GgufFile) -> Result<ModelConfig> {
    let h = &f.header;
    let arch = h
        .architecture()
        .ok_or_else(|| f.err("no general.architecture string"))?;
    if !BITNET_ARCHS.contains(&arch) {
        return Err(f.err(format!(
            "architecture \"{arch}\" is not a BitNet b1.58 one (tritium reads {})",
            BITNET_ARCHS.join(", ")
        )));
    }
    let get = |k: &str| h.get(&format!("{arch}.{k}"));
    let int = |k: &str| -> Result<Option<usize>> {
        match get(k) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|x| usize::try_from(x).ok())
                .map(Some)
                .ok_or_else(|| {
                    f.err(format!(
                        "metadata {arch}.{k} must be a non-negative integer, it is {v}"
                    ))
                }),
        }
    };
    let need = |k: &str| -> Result<usize> {
        int(k)?.ok_or_else(|| f.err(format!("metadata {arch}.{k} is missing")))
    };
    let float = |k: &str| -> Result<Option<f64>> {
        match get(k) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| f.err(format!("metadata {arch}.{k} must be a float, it is {v}"))),
        }
    };
    let hidden = need("embedding_length")?;
    let heads = need("attention.head_count")?;
    if heads == 0 {
        return Err(f.err(format!("metadata {arch}.attention.head_count is 0")));
    }
    let head_dim = match int("attention.key_length")? {
        Some(d) => d,
        None => hidden / heads,
    };
    if let Some(r) = int("rope.dimension_count")? {
        if r != head_dim {
            return Err(f.err(format!(
                "{arch}.rope.dimension_count = {r} but heads have {head_dim} dimensions: partial RoPE is not supported"
            )));
        }
    }
    let embd = h
        .tensor("token_embd.weight")
        .ok_or_else(|| crate::error::Error::MissingTensor {
            path: f.path.clone(),
            tensor: "token_embd.weight".into(),
        })?;
    let vocab = match int("vocab_size")? {
        Some(v) => v,
        None => usize::try_from(embd.dims.get(1).copied().unwrap_or(0))
            .map_err(|_| f.err("token_embd.weight is too large"))?,
    };
    let token = |k: &str| -> Result<Option<u32>> {
        match h.get(&format!("tokenizer.ggml.{k}")) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|x| u32::try_from(x).ok())
                .map(Some)
                .ok_or_else(|| {
                    f.err(format!(
                        "metadata tokenizer.ggml.{k} must be a token id, it is {v}"
                    ))
                }),
        }
    };
    let config = ModelConfig {
        vocab_size: vocab,
        hidden_size: hidden,
        intermediate_size: need("feed_forward_length")?,
        num_layers: match need("block_count")? {
            n if n > tritium_golden::config::MAX_LAYERS => {
                return Err(f.err(format!(
                    "metadata {arch}.block_count = {n}: at most {} layers",
                    tritium_golden::config::MAX_LAYERS
                )))
            }
            n => n,
        },
        num_heads: heads,
        num_kv_heads: int("attention.head_count_kv")?.unwrap_or(heads),
        head_dim,
        // llama.cpp's default when the key is absent.
        rope_theta: float("rope.freq_base")?.unwrap_or(10_000.0),
        rms_norm_eps: float("attention.layer_norm_rms_epsilon")?.ok_or_else(|| {
            f.err(format!(
                "metadata {arch}.attention.layer_norm_rms_epsilon is missing"
            ))
        })? as f32,
        max_position_embeddings: need("context_length")?,
        tie_word_embeddings: h.tensor("output.weight").is_none(),
        bos_token_id: token("bos_token_id")?,
        eos_token_id: token("eos_token_id")?,
    };
    config
        .validate()
        .map_err(|e| f.err(format!("metadata describes an invalid model: {e}")))?;
    Ok(config)
}

fn tensor<'f>(f: &'f GgufFile, name: &str) -> Result<&'f TensorInfo> {
    f.header.tensor(name).ok_or_else(|| Error::MissingTensor {
        path: f.path.clone(),
        tensor: name.to_string(),
    })
}

fn expect_dims(f: &GgufFile, t: &TensorInfo, dims: &[usize]) -> Result<()> {
    let want: Vec<u64> = dims.iter().map(|&d| d as u64).collect();
    if t.dims != want {
        return Err(f.err(format!(
            "tensor {} has dims {:?}, expected {:?} (ggml order, innermost first)",
            t.name, t.dims, want
        )));
    }
    Ok(())
}

fn floats(f: &GgufFile, t: &TensorInfo) -> Result<Vec<f32>> {
    let n = t.elements() as usize;
    to_f32(t.ty, f.data(t), n).map_err(|m| f.err(format!("tensor {}: {m}", t.name)))
}

fn golden(f: &GgufFile, e: tritium_golden::Error) -> Error {
    Error::Tensor {
        path: f.path.clone(),
        source: e,
    }
}

fn load_norm(f: &GgufFile, name: &str, len: usize) -> Result<Vec<f32>> {
    let t = tensor(f, name)?;
    expect_dims(f, t, &[len])?;
    let v = floats(f, t)?;
    tritium_golden::error::check_finite(name, &v).map_err(|e| golden(f, e))?;
    Ok(v)
}

fn load_dense(f: &GgufFile, name: &str, rows: usize, cols: usize) -> Result<DenseMatrix> {
    let t = tensor(f, name)?;
    expect_dims(f, t, &[cols, rows])?;
    // 16-bit and block types stay as stored (widened on use as the golden
    // model defines them, so the logits are those of a widened copy at the
    // stored bytes); F32 stays f32.
    // Huge pages: these rows are read whole for every generated token.
    let bits = || -> Vec<u16> {
        let data = f.data(t);
        let mut v = tritium_util::huge_vec(data.len() / 2);
        v.extend(
            data.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]])),
        );
        v
    };
    let m = match t.ty {
        GgmlType::BF16 => DenseMatrix::from_bf16(name, rows, cols, bits()),
        GgmlType::F16 => DenseMatrix::from_f16(name, rows, cols, bits()),
        GgmlType::Q8_0 | GgmlType::Q6_K => {
            let bt = block_type(t.ty).expect("a block type");
            let data = f.data(t);
            let mut v = tritium_util::huge_vec(data.len());
            v.extend_from_slice(data);
            DenseMatrix::from_blocks(name, bt, rows, cols, v)
        }
        _ => DenseMatrix::from_f32(name, rows, cols, floats(f, t)?),
    };
    m.map_err(|e| golden(f, e))
}

/// The one gamma of a TQ tensor: the common `d` of every block that has a
/// non-zero code (see the module docs).
pub fn common_block_scale(t: &[i8], d: &[u16]) -> std::result::Result<f32, String> {
    let mut common: Option<(usize, u16)> = None;
    for (b, (block, &db)) in t.chunks(256).zip(d).enumerate() {
        if block.iter().all(|&v| v == 0) {
            continue;
        }
        match common {
            None => common = Some((b, db)),
            Some((b0, d0)) if d0 != db => {
                return Err(format!(
                    "blocks {b0} and {b} have different scales (d = {} and {}): per-block scales are not representable by tritium's W1.58A8 golden model, which has one gamma per tensor",
                    f16::from_bits(d0),
                    f16::from_bits(db)
                ))
            }
            Some(_) => {}
        }
    }
    // An all-zero tensor: gamma multiplies nothing.
    Ok(common.map_or(1.0, |(_, d)| f16::from_bits(d).to_f32()))
}

fn load_linear(f: &GgufFile, c: &ModelConfig, l: usize, p: Proj) -> Result<TernaryMatrix> {
    let (n, k) = p.shape(c);
    let name = p.gguf_tensor(l);
    let t = tensor(f, &name)?;
    expect_dims(f, t, &[k, n])?;
    let bytes = f.data(t);
    let msg = |m: String| f.err(format!("tensor {name} ({}): {m}", t.ty.name()));
    let (codes, gamma) = match t.ty {
        GgmlType::I2_S => {
            let (codes, s) = i2s_decode(bytes, n * k).map_err(msg)?;
            (codes, s)
        }
        GgmlType::TQ2_0 | GgmlType::TQ1_0 => {
            let (codes, d) = if t.ty == GgmlType::TQ2_0 {
                tq2_decode(bytes, n * k)
            } else {
                tq1_decode(bytes, n * k)
            }
            .map_err(msg)?;
            let g = common_block_scale(&codes, &d).map_err(msg)?;
            (codes, g)
        }
        GgmlType::IQ2_BN | GgmlType::IQ1_BN => {
            let (codes, scales) = if t.ty == GgmlType::IQ2_BN {
                iq2bn_decode(bytes, n, k)
            } else {
                iq1bn_decode(bytes, n, k).map(|(c, s)| (c, widen_f16(&s)))
            }
            .map_err(msg)?;
            let g = common_row_scale(&codes, k, &scales).map_err(msg)?;
            (codes, g)
        }
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => {
            // Master weights, quantized at load.
            let kind = float_kind(t.ty).expect("a float type");
            return quantize_masters(&name, kind, bytes, n, k).map_err(|e| golden(f, e));
        }
        other => {
            return Err(f.err(format!(
                "tensor {name}: type {} is not supported for a BitLinear weight (use I2_S, TQ2_0, TQ1_0, IQ2_BN, IQ1_BN or F32/F16/BF16)",
                other.name()
            )))
        }
    };
    let scale_name = name.trim_end_matches(".weight").to_string() + ".scale";
    let gamma = match f.header.tensor(&scale_name) {
        None => gamma,
        Some(st) => {
            let s = floats(f, st)?;
            if s.len() != 1 {
                return Err(f.err(format!(
                    "tensor {scale_name} must hold one value, it has {}",
                    s.len()
                )));
            }
            gamma * s[0]
        }
    };
    TernaryMatrix::from_ternary(&name, n, k, &codes, gamma).map_err(|e| golden(f, e))
}

fn load_layer(f: &GgufFile, c: &ModelConfig, l: usize) -> Result<Layer> {
    Layer::build(
        |n| load_norm(f, &n.gguf_tensor(l), n.dim(c)),
        |p| load_linear(f, c, l, p),
    )
}

/// Every tensor name a file of shape `c` may hold.
fn allowed_names(c: &ModelConfig) -> BTreeSet<String> {
    let mut s = BTreeSet::from([
        "token_embd.weight".to_string(),
        "output_norm.weight".to_string(),
        "output.weight".to_string(),
        "rope_freqs.weight".to_string(),
    ]);
    for l in 0..c.num_layers {
        s.extend(Norm::ALL.map(|n| n.gguf_tensor(l)));
        for p in Proj::ALL {
            let w = p.gguf_tensor(l);
            s.insert(w.trim_end_matches(".weight").to_string() + ".scale");
            s.insert(w);
        }
    }
    s
}

/// Builds the golden model of a parsed GGUF file (layers in parallel).
pub fn load_model(f: &GgufFile, progress: Option<&dyn Progress>) -> Result<Model> {
    let c = read_config(f)?;
    // Every layer has 11 tensors: a block_count the file cannot hold is an
    // error before anything is sized by it.
    if c.num_layers.saturating_mul(11) > f.header.tensors.len() {
        return Err(f.err(format!(
            "block_count = {} but the file has only {} tensors (11 per layer needed)",
            c.num_layers,
            f.header.tensors.len()
        )));
    }
    let allowed = allowed_names(&c);
    if let Some(t) = f.header.tensors.iter().find(|t| !allowed.contains(&t.name)) {
        return Err(Error::UnexpectedTensor {
            path: f.path.clone(),
            tensor: t.name.clone(),
        });
    }
    if let Some(p) = progress {
        p.set_total(c.num_layers as u64);
    }
    // The embedding and head (copies of the stored bytes) alongside the
    // layers (decoded and packed), not before them: on the 2B4T I2_S file
    // they were a single-threaded fifth of the load.
    let (dense, layers) = rayon::join(
        || -> Result<_> {
            let embed = load_dense(f, "token_embd.weight", c.vocab_size, c.hidden_size)?;
            let lm_head = if c.tie_word_embeddings {
                None
            } else {
                Some(load_dense(f, "output.weight", c.vocab_size, c.hidden_size)?)
            };
            Ok((embed, lm_head))
        },
        || {
            (0..c.num_layers)
                .into_par_iter()
                .map(|l| {
                    let r = load_layer(f, &c, l);
                    if let Some(p) = progress {
                        p.advance(1);
                    }
                    r
                })
                .collect::<Result<Vec<_>>>()
        },
    );
    let (embed, lm_head) = dense?;
    let layers = layers?;
    let final_norm = load_norm(f, "output_norm.weight", c.hidden_size)?;
    Model::new(c, embed, lm_head, final_norm, layers).map_err(|e| golden(f, e))
}

/// Loads a GGUF model file into the same [`LoadedModel`] a checkpoint
/// directory gives (`quant` says: packed codes, gamma multiplies).
pub fn load_gguf(path: &Path, progress: Option<&dyn Progress>) -> Result<LoadedModel> {
    let f = GgufFile::open(path)?;
    Ok(LoadedModel {
        model: load_model(&f, progress)?,
        quant: QuantSpec {
            mode: QuantMode::Offline,
            linear_class: LinearClass::Autobitlinear,
        },
        path: path.to_path_buf(),
        format: SourceFormat::Gguf,
    })
}

/// `general.architecture` etc. as text, for messages and reports.
pub fn describe(f: &GgufFile) -> String {
    let arch = f.header.architecture().unwrap_or("?");
    let mut types: Vec<&str> = f.header.tensors.iter().map(|t| t.ty.name()).collect();
    types.sort();
    types.dedup();
    format!(
        "GGUF v{} {arch}, {} tensors ({})",
        f.header.version,
        f.header.tensors.len(),
        types.join(", ")
    )
}
