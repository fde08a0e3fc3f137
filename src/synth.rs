//! Synthetic checkpoints: deterministic bf16 "master" weights from a seed,
//! written in the Hugging Face formats transformers reads, so every test and
//! demo runs offline.
//!
//! Every tensor is drawn from its own stream (seed mixed with the tensor's
//! name), so a tensor does not depend on generation order or on the others.
//! The packed format is the offline quantization of the same masters the
//! bf16 format stores: for one seed both formats hold the same ternary codes.

use std::path::Path;

use indicatif::ProgressBar;
use rayon::prelude::*;
use tritium_golden::network::linear_shape;
use tritium_golden::ops::f32_to_bf16;
use tritium_golden::quant::quantize_weights_absmean;
use tritium_golden::{Model, ModelConfig, Proj};

use crate::checkpoint::{assemble, linear_name, norm_names, scale_name, MemTensors, OwnedTensor};
use crate::error::{Error, Result};
use crate::hfconfig::{config_json, LinearClass, QuantMode, QuantSpec};

/// On-disk formats `gen-model` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckpointFormat {
    /// HF packed ternary (uint8 [N/4, K] + weight_scale), as microsoft/bitnet-b1.58-2B-4T.
    HfPacked,
    /// HF bf16 masters quantized at load, as microsoft/bitnet-b1.58-2B-4T-bf16.
    HfBf16,
    /// One GGUF file, BitLinears in bitnet.cpp's I2_S (as microsoft/bitnet-b1.58-2B-4T-gguf).
    GgufI2s,
    /// One GGUF file, BitLinears in llama.cpp's TQ2_0 (2 bits per weight,
    /// 256-element blocks: every K must be a multiple of 256, e.g. --preset tiny256).
    GgufTq2,
    /// One GGUF file, BitLinears in llama.cpp's TQ1_0 (1.6 bits per weight, 256-element blocks).
    GgufTq1,
}

impl CheckpointFormat {
    /// The GGUF weight type of a GGUF format.
    pub fn gguf_weights(self) -> Option<crate::gguf::write::WeightType> {
        use crate::gguf::write::WeightType;
        match self {
            CheckpointFormat::HfPacked | CheckpointFormat::HfBf16 => None,
            CheckpointFormat::GgufI2s => Some(WeightType::I2S),
            CheckpointFormat::GgufTq2 => Some(WeightType::Tq2),
            CheckpointFormat::GgufTq1 => Some(WeightType::Tq1),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub config: ModelConfig,
    pub seed: u64,
    pub format: CheckpointFormat,
    pub linear_class: LinearClass,
}

impl SynthOptions {
    /// The quantization settings the written config.json declares.
    pub fn quant(&self) -> QuantSpec {
        match self.format {
            CheckpointFormat::HfPacked
            | CheckpointFormat::GgufI2s
            | CheckpointFormat::GgufTq2
            | CheckpointFormat::GgufTq1 => QuantSpec {
                mode: QuantMode::Offline,
                linear_class: self.linear_class,
            },
            CheckpointFormat::HfBf16 => QuantSpec {
                mode: QuantMode::Online,
                linear_class: LinearClass::Autobitlinear,
            },
        }
    }
}

/// SplitMix64: tiny, platform-independent, good enough for test weights.
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.next()
    }
    fn for_tensor(seed: u64, name: &str) -> SplitMix {
        // FNV-1a of the name, mixed with the seed.
        let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        SplitMix(h ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Approximately standard normal: Irwin-Hall of four 16-bit uniforms,
    /// exact integer arithmetic up to one final scaling.
    fn normal(&mut self) -> f32 {
        let r = self.next();
        let s: u32 = (0..4).map(|i| ((r >> (16 * i)) & 0xffff) as u32).sum();
        // mean 2 * 65535, variance 4 * (65536^2 - 1) / 12
        (s as f32 - 131_070.0) * (3.0f32.sqrt() / 65_536.0)
    }
}

/// Standard deviation of a master weight times sqrt(fan-in).
const MASTER_GAIN: f32 = 1.0;

fn bf16_values(seed: u64, name: &str, len: usize, mean: f32, std: f32) -> Vec<u16> {
    let mut rng = SplitMix::for_tensor(seed, name);
    let mut v = crate::simd::hugepage::huge_vec(len);
    v.extend((0..len).map(|_| f32_to_bf16(mean + std * rng.normal())));
    v
}

fn widen(bits: &[u16]) -> Vec<f32> {
    bits.iter()
        .map(|&b| tritium_golden::ops::bf16_to_f32(b))
        .collect()
}

/// The tensors of a synthetic checkpoint (config.json not included).
pub fn synth_tensors(opts: &SynthOptions, progress: Option<&ProgressBar>) -> Result<MemTensors> {
    let c = &opts.config;
    c.validate()?;
    let quant = opts.quant();
    let (v, h) = (c.vocab_size, c.hidden_size);
    let mut out = MemTensors::default();
    let embed_std = 1.0 / (h as f32).sqrt();
    let mut dense = vec![(
        "model.embed_tokens.weight".to_string(),
        vec![v, h],
        0.0,
        embed_std,
    )];
    if !c.tie_word_embeddings {
        dense.push(("lm_head.weight".into(), vec![v, h], 0.0, embed_std));
    }
    dense.push(("model.norm.weight".into(), vec![h], 1.0, 0.1));
    for l in 0..c.num_layers {
        let dims = [h, c.q_dim(), h, c.intermediate_size];
        for (name, d) in norm_names(l).into_iter().zip(dims) {
            dense.push((name, vec![d], 1.0, 0.1));
        }
    }
    for (name, shape, mean, std) in dense {
        let bits = bf16_values(opts.seed, &name, shape.iter().product(), mean, std);
        out.tensors.insert(name, OwnedTensor::bf16(shape, &bits));
    }
    let linears: Vec<(usize, Proj)> = (0..c.num_layers)
        .flat_map(|l| Proj::ALL.into_iter().map(move |p| (l, p)))
        .collect();
    let made = linears
        .par_iter()
        .map(|&(l, p)| {
            let (n, k) = linear_shape(c, p);
            let name = linear_name(l, p);
            // Scaled so that every BitLinear output is O(1) for unit-RMS input:
            // the layers, not the token embedding, decide the next token.
            let master = bf16_values(
                opts.seed,
                &name,
                n * k,
                0.0,
                MASTER_GAIN / (k as f32).sqrt(),
            );
            let mut tensors = Vec::new();
            match quant.mode {
                QuantMode::Online => tensors.push((name, OwnedTensor::bf16(vec![n, k], &master))),
                QuantMode::Offline => {
                    let t = quantize_weights_absmean(&name, &widen(&master), n, k)?;
                    let ws = match quant.linear_class {
                        LinearClass::Autobitlinear => t.gamma(),
                        LinearClass::Bitlinear => 1.0 / t.gamma(),
                    };
                    tensors.push((name, OwnedTensor::u8(vec![n / 4, k], t.to_hf_packed()?)));
                    tensors.push((
                        scale_name(l, p),
                        OwnedTensor::bf16(vec![1], &[f32_to_bf16(ws)]),
                    ));
                }
            }
            if let Some(pb) = progress {
                pb.inc(1);
            }
            Ok::<_, Error>(tensors)
        })
        .collect::<Result<Vec<_>>>()?;
    out.tensors.extend(made.into_iter().flatten());
    Ok(out)
}

/// A model for benchmarks and large shapes, generated directly (no master
/// weights, no file format): uniform random codes (one third zeros), gamma
/// `1 / sqrt(k)`, bf16 embedding and norms as [`synth_tensors`]. Much faster
/// than [`synth_model`] for the 2B4T shape; not the same weights.
pub fn random_model(config: &ModelConfig, seed: u64) -> Result<Model> {
    config.validate()?;
    let c = config;
    let (v, h) = (c.vocab_size, c.hidden_size);
    let dense = |name: &str, rows: usize, mean: f32, std: f32| {
        tritium_golden::DenseMatrix::from_bf16(
            name,
            rows,
            h,
            bf16_values(seed, name, rows * h, mean, std),
        )
    };
    let embed = dense("model.embed_tokens.weight", v, 0.0, 1.0 / (h as f32).sqrt())?;
    let lm_head = if c.tie_word_embeddings {
        None
    } else {
        Some(dense("lm_head.weight", v, 0.0, 1.0 / (h as f32).sqrt())?)
    };
    let norm = |name: &str, len: usize| widen(&bf16_values(seed, name, len, 1.0, 0.1));
    let layers = (0..c.num_layers)
        .into_par_iter()
        .map(|l| {
            let lin = |p: Proj| {
                let (n, k) = linear_shape(c, p);
                let name = linear_name(l, p);
                let mut rng = SplitMix::for_tensor(seed, &name);
                let row_bytes = k.div_ceil(4);
                let mut packed = vec![0x55u8; n * row_bytes];
                for row in packed.chunks_exact_mut(row_bytes) {
                    for (i, b) in row.iter_mut().enumerate() {
                        let r = rng.next();
                        let mut byte = 0u8;
                        for j in 0..4 {
                            // (r >> 16j) mod 3 is uniform enough over 16 bits.
                            let code = if i * 4 + j < k {
                                (((r >> (16 * j)) & 0xffff) % 3) as u8
                            } else {
                                1
                            };
                            byte |= code << (2 * j);
                        }
                        *b = byte;
                    }
                }
                tritium_golden::TernaryMatrix::from_packed(
                    &name,
                    n,
                    k,
                    packed,
                    1.0 / (k as f32).sqrt(),
                )
            };
            let [a, b, cc, d] = norm_names(l);
            Ok::<_, Error>(tritium_golden::Layer {
                input_norm: norm(&a, h),
                q: lin(Proj::Q)?,
                k: lin(Proj::K)?,
                v: lin(Proj::V)?,
                attn_sub_norm: norm(&b, c.q_dim()),
                o: lin(Proj::O)?,
                post_attn_norm: norm(&cc, h),
                gate: lin(Proj::Gate)?,
                up: lin(Proj::Up)?,
                ffn_sub_norm: norm(&d, c.intermediate_size),
                down: lin(Proj::Down)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let final_norm = norm("model.norm.weight", h);
    Ok(Model::new(c.clone(), embed, lm_head, final_norm, layers)?)
}

/// The built-in model of `preset` with weights from `seed`: what
/// `tritium gen-model --preset P --seed S` writes (packed, autobitlinear)
/// and loads back as, built in memory.
pub fn preset_model(preset: tritium_golden::Preset, seed: u64) -> Result<Model> {
    synth_model(&SynthOptions {
        config: preset.config(),
        seed,
        format: CheckpointFormat::HfPacked,
        linear_class: LinearClass::Autobitlinear,
    })
}

/// The model a synthetic checkpoint loads as, built in memory through the
/// same assembler as files on disk.
pub fn synth_model(opts: &SynthOptions) -> Result<Model> {
    let tensors = synth_tensors(opts, None)?;
    assemble(&tensors, &opts.config, opts.quant(), None)
}

/// Writes a complete checkpoint directory: config.json, model.safetensors,
/// tokenizer.json, tokenizer_config.json, generation_config.json.
pub fn write_checkpoint(
    dir: &Path,
    opts: &SynthOptions,
    progress: Option<&ProgressBar>,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let c = &opts.config;
    let tensors = synth_tensors(opts, progress)?;
    tensors.write_safetensors(&dir.join("model.safetensors"))?;
    let write_json = |name: &str, v: &serde_json::Value| {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(v).map_err(|e| Error::Usage(e.to_string()))?;
        std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))
    };
    write_json("config.json", &config_json(c, opts.quant()))?;
    write_json(
        "generation_config.json",
        &serde_json::json!({ "bos_token_id": c.bos_token_id, "eos_token_id": c.eos_token_id, "do_sample": false }),
    )?;
    let tok = crate::tokenizer::synthetic_tokenizer_json(c);
    write_json("tokenizer.json", &tok)?;
    write_json(
        "tokenizer_config.json",
        &crate::tokenizer::tokenizer_config_json(c),
    )?;
    Ok(())
}

/// Writes a synthetic GGUF file (`opts.format` one of the GGUF formats):
/// the model the packed checkpoint of the same seed loads as, its
/// embedding as `embed`, and the synthetic tokenizer in `tokenizer.ggml.*`,
/// so it runs with no tokenizer.json.
pub fn write_gguf(
    path: &Path,
    opts: &SynthOptions,
    embed: crate::gguf::write::EmbedType,
    progress: Option<&ProgressBar>,
) -> Result<()> {
    let weights = opts
        .format
        .gguf_weights()
        .ok_or_else(|| Error::Usage(format!("{:?} is not a GGUF format", opts.format)))?;
    let tensors = synth_tensors(opts, progress)?;
    let model = assemble(&tensors, &opts.config, opts.quant(), None)?;
    crate::gguf::write::write_model(
        path,
        &model,
        &crate::gguf::write::WriteOptions {
            weights,
            embed,
            name: format!("tritium synthetic (seed {})", opts.seed),
            tokenizer: Some(crate::tokenizer::synthetic_tokenizer_json(&opts.config)),
        },
    )
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
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
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
    t.tensors
        .insert("model.embed_tokens.weight".into(), dense(model.embed()));
    if let Some(h) = model.lm_head() {
        t.tensors.insert("lm_head.weight".into(), dense(h));
    }
    t.tensors.insert(
        "model.norm.weight".into(),
        floats(vec![c.hidden_size], model.final_norm()),
    );
    for (l, layer) in model.layers().iter().enumerate() {
        let norms = [
            &layer.input_norm,
            &layer.attn_sub_norm,
            &layer.post_attn_norm,
            &layer.ffn_sub_norm,
        ];
        for (name, v) in norm_names(l).into_iter().zip(norms) {
            t.tensors.insert(name, floats(vec![v.len()], v));
        }
        for p in Proj::ALL {
            let w = layer.linear(p);
            t.tensors.insert(
                linear_name(l, p),
                OwnedTensor::u8(vec![w.n() / 4, w.k()], w.to_hf_packed()?),
            );
            t.tensors
                .insert(scale_name(l, p), floats(vec![1], &[w.gamma()]));
        }
    }
    t.write_safetensors(&dir.join("model.safetensors"))?;
    let write_json = |name: &str, v: &serde_json::Value| {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(v).map_err(|e| Error::Usage(e.to_string()))?;
        std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))
    };
    let q = QuantSpec {
        mode: QuantMode::Offline,
        linear_class: LinearClass::Autobitlinear,
    };
    write_json("config.json", &config_json(c, q))?;
    write_json(
        "generation_config.json",
        &serde_json::json!({ "bos_token_id": c.bos_token_id, "eos_token_id": c.eos_token_id, "do_sample": false }),
    )?;
    if let Some(tok) = tokenizer {
        write_json("tokenizer.json", tok)?;
        write_json(
            "tokenizer_config.json",
            &crate::tokenizer::tokenizer_config_json(c),
        )?;
    }
    Ok(())
}
