//! A golden [`Model`] as a BitNet GGUF file (architecture `bitnet-b1.58`,
//! the name of the current microsoft/bitnet-b1.58-2B-4T-gguf file, for I2_S
//! and ik_llama.cpp's IQ2_BN/IQ1_BN; llama.cpp's `bitnet` for TQ1_0/TQ2_0), with
//! its tokenizer in `tokenizer.ggml.*`, through the generic
//! [`GgufWriter`].

use std::path::Path;

use half::f16;
use serde_json::Value as Json;
use tritium_golden::{Model, Norm, Proj, TernaryMatrix};

use super::iqbn;
use super::quants::{i2s_encode, tq1_encode, tq2_encode};
use super::writer::GgufWriter;
use super::{GgmlType, Value};
use crate::error::{Error, Result};

/// How the BitLinear weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightType {
    /// bitnet.cpp I2_S: codes + the exact f32 gamma.
    I2S,
    /// llama.cpp TQ2_0: codes + gamma rounded to fp16 in every non-zero block.
    Tq2,
    /// llama.cpp TQ1_0: as TQ2_0, 1.6 bits per weight.
    Tq1,
    /// ik_llama.cpp IQ2_BN: codes + the exact f32 gamma in every non-zero row.
    Iq2bn,
    /// ik_llama.cpp IQ1_BN: codes + gamma rounded to fp16 in every non-zero row.
    Iq1bn,
}

/// How the embedding (and untied head) is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedType {
    /// What microsoft's 2B4T GGUF uses (lossy from bf16: 3 fewer exponent bits, 3 more mantissa bits).
    F16,
    /// Lossless for HF checkpoints (bf16).
    Bf16,
    F32,
    /// ggml's Q8_0 (an fp16 scale per 32 values, llama.cpp's reference
    /// quantizer): 8.5 bits per value, lossy; the hidden size must be a
    /// multiple of 32.
    Q8_0,
}

/// Options of [`write_model`].
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub weights: WeightType,
    pub embed: EmbedType,
    /// `general.name`.
    pub name: String,
    /// A `tokenizer.json` to store as `tokenizer.ggml.*` (byte-level BPE).
    pub tokenizer: Option<Json>,
}

fn encode_linear(w: &TernaryMatrix, ty: WeightType) -> Result<(GgmlType, Vec<u8>)> {
    let t = w.to_ternary();
    let r = match ty {
        WeightType::I2S => i2s_encode(&t, w.gamma()).map(|b| (GgmlType::I2_S, b)),
        WeightType::Iq2bn | WeightType::Iq1bn if !w.k().is_multiple_of(64) => Err(format!(
            "IQ2_BN/IQ1_BN rows hold whole 64-element blocks: K = {} is not a multiple of 64 (use I2_S, or a shape such as --preset tiny256)",
            w.k()
        )),
        WeightType::Iq2bn => {
            // As ik_llama.cpp's quantizer: every row's scale is its max |w|.
            let s = iqbn::row_scales(&t, w.k(), w.gamma(), 0.0);
            iqbn::iq2bn_encode(&t, w.k(), &s).map(|b| (GgmlType::IQ2_BN, b))
        }
        WeightType::Iq1bn => {
            let d = f16::from_f32(w.gamma()).to_bits();
            let s = iqbn::row_scales(&t, w.k(), d, 0);
            iqbn::iq1bn_encode(&t, w.k(), &s).map(|b| (GgmlType::IQ1_BN, b))
        }
        WeightType::Tq2 | WeightType::Tq1 if !w.k().is_multiple_of(256) => Err(format!(
            "TQ1_0/TQ2_0 rows hold whole 256-element blocks: K = {} is not a multiple of 256 (use I2_S, or a shape such as --preset tiny256)",
            w.k()
        )),
        WeightType::Tq2 | WeightType::Tq1 => {
            // As llama.cpp's converter: every block's d is its max |w|, so
            // the tensor scale (rounded to fp16) in blocks with a non-zero
            // weight and 0 in all-zero blocks.
            let d = f16::from_f32(w.gamma()).to_bits();
            let ds: Vec<u16> = t
                .chunks(256)
                .map(|b| if b.iter().any(|&v| v != 0) { d } else { 0 })
                .collect();
            if ty == WeightType::Tq2 {
                tq2_encode(&t, &ds).map(|b| (GgmlType::TQ2_0, b))
            } else {
                tq1_encode(&t, &ds).map(|b| (GgmlType::TQ1_0, b))
            }
        }
    };
    r.map_err(|message| Error::Unrepresentable {
        what: format!("a {} x {} BitLinear as {ty:?}", w.n(), w.k()),
        message,
    })
}

fn encode_dense(m: &tritium_golden::DenseMatrix, ty: EmbedType) -> Result<(GgmlType, Vec<u8>)> {
    let gty = match ty {
        EmbedType::F16 => GgmlType::F16,
        EmbedType::Bf16 => GgmlType::BF16,
        EmbedType::F32 => GgmlType::F32,
        EmbedType::Q8_0 => GgmlType::Q8_0,
    };
    // Already stored in the requested type: the bits as they are.
    let stored = match ty {
        EmbedType::Bf16 => m
            .as_bf16()
            .map(|b| b.iter().flat_map(|b| b.to_le_bytes()).collect()),
        EmbedType::F16 => m
            .as_f16()
            .map(|b| b.iter().flat_map(|b| b.to_le_bytes()).collect()),
        EmbedType::Q8_0 => m
            .as_blocks()
            .filter(|(t, _)| *t == tritium_golden::BlockType::Q8_0)
            .map(|(_, b)| b.to_vec()),
        EmbedType::F32 => None,
    };
    if let Some(bytes) = stored {
        return Ok((gty, bytes));
    }
    if ty == EmbedType::Q8_0 && !m.cols().is_multiple_of(32) {
        return Err(Error::Unrepresentable {
            what: format!("a {} x {} embedding as Q8_0", m.rows(), m.cols()),
            message: "Q8_0 rows hold whole 32-element blocks".into(),
        });
    }
    let mut row = vec![0f32; m.cols()];
    let mut out = Vec::new();
    for r in 0..m.rows() {
        m.row_into(r, &mut row);
        match ty {
            EmbedType::F16 => out.extend(
                row.iter()
                    .flat_map(|&v| f16::from_f32(v).to_bits().to_le_bytes()),
            ),
            EmbedType::Bf16 => out.extend(
                row.iter()
                    .flat_map(|&v| tritium_golden::ops::f32_to_bf16(v).to_le_bytes()),
            ),
            EmbedType::F32 => out.extend(row.iter().flat_map(|v| v.to_le_bytes())),
            EmbedType::Q8_0 => super::quants::q8_0_encode(&row, &mut out),
        }
    }
    Ok((gty, out))
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The metadata keys of the model's shape under architecture `arch`.
pub fn model_metadata(w: &mut GgufWriter, model: &Model, arch: &str, name: &str) {
    let c = model.config();
    let u = |v: usize| Value::U32(v as u32);
    w.set("general.architecture", Value::Str(arch.into()));
    w.set("general.name", Value::Str(name.into()));
    w.set(&format!("{arch}.vocab_size"), u(c.vocab_size));
    w.set(
        &format!("{arch}.context_length"),
        u(c.max_position_embeddings),
    );
    w.set(&format!("{arch}.embedding_length"), u(c.hidden_size));
    w.set(&format!("{arch}.block_count"), u(c.num_layers));
    w.set(
        &format!("{arch}.feed_forward_length"),
        u(c.intermediate_size),
    );
    w.set(&format!("{arch}.rope.dimension_count"), u(c.head_dim));
    w.set(&format!("{arch}.attention.head_count"), u(c.num_heads));
    w.set(
        &format!("{arch}.attention.head_count_kv"),
        u(c.num_kv_heads),
    );
    w.set(&format!("{arch}.attention.key_length"), u(c.head_dim));
    w.set(&format!("{arch}.attention.value_length"), u(c.head_dim));
    w.set(
        &format!("{arch}.attention.layer_norm_rms_epsilon"),
        Value::F32(c.rms_norm_eps),
    );
    w.set(
        &format!("{arch}.rope.freq_base"),
        Value::F32(c.rope_theta as f32),
    );
    super::vocab::set_special_ids(w, c);
}

/// Writes `model` as a BitNet GGUF file.
pub fn write_model(path: &Path, model: &Model, o: &WriteOptions) -> Result<()> {
    model_to_writer(model, o)?.write(path)
}

/// The [`GgufWriter`] holding `model` (see [`write_model`]).
pub fn model_to_writer(model: &Model, o: &WriteOptions) -> Result<GgufWriter> {
    let c = model.config();
    let rt = c.rope_theta as f32;
    if f64::from(rt) != c.rope_theta {
        return Err(Error::Unrepresentable {
            what: "the model as GGUF".into(),
            message: format!(
                "rope_theta {} is not exact in f32, which GGUF's rope.freq_base holds",
                c.rope_theta
            ),
        });
    }
    // Each format under the architecture of the engine it belongs to: I2_S
    // is bitnet.cpp's (`bitnet-b1.58`, as microsoft's 2B4T GGUF), TQ1_0 and
    // TQ2_0 are llama.cpp's, whose BitNet architecture is `bitnet` (it
    // refuses `bitnet-b1.58`). llama.cpp's `bitnet` has no output tensor:
    // the head is the token embedding.
    // IQ2_BN/IQ1_BN are ik_llama.cpp's, which reads `bitnet-b1.58` (as
    // bitnet.cpp) with its relu^2 graph and an optional output tensor.
    let arch = match o.weights {
        WeightType::I2S | WeightType::Iq2bn | WeightType::Iq1bn => "bitnet-b1.58",
        WeightType::Tq1 | WeightType::Tq2 => "bitnet",
    };
    if arch == "bitnet" && model.lm_head().is_some() {
        return Err(Error::Unrepresentable {
            what: "the model as a TQ1_0/TQ2_0 GGUF".into(),
            message: "llama.cpp's `bitnet` architecture (the engine of TQ1_0/TQ2_0) has no separate output tensor; an untied head needs the I2_S format (bitnet.cpp), or tie the head".into(),
        });
    }
    let mut w = GgufWriter::default();
    model_metadata(&mut w, model, arch, &o.name);
    let file_type = match o.weights {
        WeightType::I2S => 40,    // LLAMA_FTYPE_MOSTLY_I2_S in bitnet.cpp
        WeightType::Tq1 => 36,    // LLAMA_FTYPE_MOSTLY_TQ1_0
        WeightType::Tq2 => 37,    // LLAMA_FTYPE_MOSTLY_TQ2_0
        WeightType::Iq1bn => 136, // LLAMA_FTYPE_MOSTLY_IQ1_BN in ik_llama.cpp
        WeightType::Iq2bn => 137, // LLAMA_FTYPE_MOSTLY_IQ2_BN in ik_llama.cpp
    };
    w.set("general.file_type", Value::U32(file_type));
    // ggml's GGML_QNT_VERSION, which llama.cpp's and ik_llama.cpp's writers
    // add to every quantized file (with it, tritium's IQ2_BN/IQ1_BN files
    // hold exactly the keys ik_llama.cpp's quantizer writes).
    w.set("general.quantization_version", Value::U32(2));
    if let Some(tok) = &o.tokenizer {
        super::vocab::tokenizer_metadata(&mut w, tok, c)?;
    }
    let (h, v) = (c.hidden_size as u64, c.vocab_size as u64);
    let (et, eb) = encode_dense(model.embed(), o.embed)?;
    w.tensor("token_embd.weight", vec![h, v], et, eb);
    for (l, layer) in model.layers().iter().enumerate() {
        for n in Norm::ALL {
            let norm = layer.norm(n);
            w.tensor(
                &n.gguf_tensor(l),
                vec![norm.len() as u64],
                GgmlType::F32,
                f32_bytes(norm),
            );
        }
        for p in Proj::ALL {
            let m = layer.linear(p);
            let (ty, bytes) = encode_linear(m, o.weights)?;
            w.tensor(
                &p.gguf_tensor(l),
                vec![m.k() as u64, m.n() as u64],
                ty,
                bytes,
            );
        }
    }
    w.tensor(
        "output_norm.weight",
        vec![h],
        GgmlType::F32,
        f32_bytes(model.final_norm()),
    );
    if let Some(head) = model.lm_head() {
        let (ht, hb) = encode_dense(head, o.embed)?;
        w.tensor("output.weight", vec![h, v], ht, hb);
    }
    Ok(w)
}
