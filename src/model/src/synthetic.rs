//! Synthetic checkpoints: deterministic bf16 "master" weights from a seed,
//! written in the Hugging Face formats transformers reads, so every test and
//! demo runs offline.
//!
//! Every tensor is drawn from its own stream (seed mixed with the tensor's
//! name), so a tensor does not depend on generation order or on the others.
//! The packed format is the offline quantization of the same masters the
//! bf16 format stores: for one seed both formats hold the same ternary codes.

use std::path::Path;

use rayon::prelude::*;
use tritium_golden::model::{HF_EMBED, HF_FINAL_NORM, HF_LM_HEAD};
use tritium_golden::ops::{bf16_to_f32, f32_to_bf16};
use tritium_golden::quant::quantize_weights_absmean;
use tritium_golden::{Layer, Model, ModelConfig, Norm, Proj, SplitMix64};
use tritium_util::Progress;

use crate::checkpoint::export::write_json;
use crate::checkpoint::{assemble, MemTensors, OwnedTensor};
use crate::error::{Error, Result};
use crate::gguf::export::{EmbedType, WeightType};
use crate::hfconfig::{config_json, LinearClass, QuantMode, QuantSpec};
use tritium_util::AtPath;

/// On-disk formats `gen-model` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// One GGUF file, BitLinears in ik_llama.cpp's IQ2_BN (2 bits per weight
    /// + an f32 per row, 64-element blocks: every K a multiple of 64).
    GgufIq2bn,
    /// One GGUF file, BitLinears in ik_llama.cpp's IQ1_BN (1.625 bits per
    /// weight + an fp16 per row, 64-element blocks).
    GgufIq1bn,
}

impl CheckpointFormat {
    /// The GGUF weight type of a GGUF format.
    pub fn gguf_weights(self) -> Option<WeightType> {
        match self {
            CheckpointFormat::HfPacked | CheckpointFormat::HfBf16 => None,
            CheckpointFormat::GgufI2s => Some(WeightType::I2S),
            CheckpointFormat::GgufTq2 => Some(WeightType::Tq2),
            CheckpointFormat::GgufTq1 => Some(WeightType::Tq1),
            CheckpointFormat::GgufIq2bn => Some(WeightType::Iq2bn),
            CheckpointFormat::GgufIq1bn => Some(WeightType::Iq1bn),
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
            | CheckpointFormat::GgufTq1
            | CheckpointFormat::GgufIq2bn
            | CheckpointFormat::GgufIq1bn => QuantSpec {
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

/// Standard deviation of a master weight times sqrt(fan-in).
const MASTER_GAIN: f32 = 1.0;

/// Values per part of [`stream_values`].
const STREAM_PART: usize = 1 << 16;

/// `len` values `mean + std * normal()` of the `(seed, name)` stream, each
/// mapped by `f`, made in parallel parts: each part's generator is skipped
/// to the part's first draw, so the values are those of one sequential pass.
fn stream_values<T: Copy + Default + Send + Sync>(
    seed: u64,
    name: &str,
    len: usize,
    (mean, std): (f32, f32),
    f: impl Fn(f32) -> T + Sync + Send,
) -> Vec<T> {
    let rng = SplitMix64::for_name(seed, name);
    let mut v = tritium_util::huge_vec(len);
    v.resize(len, T::default());
    v.par_chunks_mut(STREAM_PART)
        .enumerate()
        .for_each(|(p, out)| {
            let mut r = rng.clone();
            r.skip((p * STREAM_PART) as u64);
            for o in out {
                *o = f(mean + std * r.normal());
            }
        });
    v
}

/// bf16 master weights.
fn bf16_values(seed: u64, name: &str, len: usize, mean: f32, std: f32) -> Vec<u16> {
    stream_values(seed, name, len, (mean, std), f32_to_bf16)
}

/// The same master weights widened to f32 (exact), as the quantizer reads
/// them.
fn bf16_values_widened(seed: u64, name: &str, len: usize, mean: f32, std: f32) -> Vec<f32> {
    stream_values(seed, name, len, (mean, std), |x| {
        bf16_to_f32(f32_to_bf16(x))
    })
}

/// The tensors of a synthetic checkpoint (config.json not included).
pub fn synth_tensors(opts: &SynthOptions, progress: Option<&dyn Progress>) -> Result<MemTensors> {
    let c = &opts.config;
    c.validate()?;
    let quant = opts.quant();
    let (v, h) = (c.vocab_size, c.hidden_size);
    let mut out = MemTensors::default();
    let linears: Vec<(usize, Proj)> = (0..c.num_layers)
        .flat_map(|l| Proj::ALL.into_iter().map(move |p| (l, p)))
        .collect();
    if let Some(pr) = progress {
        pr.set_total(linears.len() as u64);
    }
    let embed_std = 1.0 / (h as f32).sqrt();
    let mut dense = vec![(HF_EMBED.to_string(), vec![v, h], 0.0, embed_std)];
    if !c.tie_word_embeddings {
        dense.push((HF_LM_HEAD.into(), vec![v, h], 0.0, embed_std));
    }
    dense.push((HF_FINAL_NORM.into(), vec![h], 1.0, 0.1));
    for l in 0..c.num_layers {
        for n in Norm::ALL {
            dense.push((n.hf_tensor(l), vec![n.dim(c)], 1.0, 0.1));
        }
    }
    for (name, shape, mean, std) in dense {
        let bits = bf16_values(opts.seed, &name, shape.iter().product(), mean, std);
        out.tensors.insert(name, OwnedTensor::bf16(shape, &bits));
    }
    let made = linears
        .par_iter()
        .map(|&(l, p)| {
            let (n, k) = p.shape(c);
            let name = p.hf_tensor(l);
            // Scaled so that every BitLinear output is O(1) for unit-RMS input:
            // the layers, not the token embedding, decide the next token.
            let std = MASTER_GAIN / (k as f32).sqrt();
            let mut tensors = Vec::new();
            match quant.mode {
                QuantMode::Online => {
                    let master = bf16_values(opts.seed, &name, n * k, 0.0, std);
                    tensors.push((name, OwnedTensor::bf16(vec![n, k], &master)))
                }
                QuantMode::Offline => {
                    let master = bf16_values_widened(opts.seed, &name, n * k, 0.0, std);
                    let t = quantize_weights_absmean(&name, &master, n, k)?;
                    let ws = match quant.linear_class {
                        LinearClass::Autobitlinear => t.gamma(),
                        LinearClass::Bitlinear => 1.0 / t.gamma(),
                    };
                    tensors.push((name, OwnedTensor::u8(vec![n / 4, k], t.to_hf_packed()?)));
                    tensors.push((
                        p.hf_scale_tensor(l),
                        OwnedTensor::bf16(vec![1], &[f32_to_bf16(ws)]),
                    ));
                }
            }
            if let Some(pr) = progress {
                pr.advance(1);
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
    let embed = dense(HF_EMBED, v, 0.0, 1.0 / (h as f32).sqrt())?;
    let lm_head = if c.tie_word_embeddings {
        None
    } else {
        Some(dense(HF_LM_HEAD, v, 0.0, 1.0 / (h as f32).sqrt())?)
    };
    let norm = |name: &str, len: usize| bf16_values_widened(seed, name, len, 1.0, 0.1);
    let layers = (0..c.num_layers)
        .into_par_iter()
        .map(|l| {
            let lin = |p: Proj| {
                let (n, k) = p.shape(c);
                let name = p.hf_tensor(l);
                let mut rng = SplitMix64::for_name(seed, &name);
                let row_bytes = k.div_ceil(4);
                let mut packed = vec![0x55u8; n * row_bytes];
                for row in packed.chunks_exact_mut(row_bytes) {
                    for (i, b) in row.iter_mut().enumerate() {
                        let r = rng.next_u64();
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
            Layer::build(|n| Ok(norm(&n.hf_tensor(l), n.dim(c))), lin).map_err(Error::from)
        })
        .collect::<Result<Vec<_>>>()?;
    let final_norm = norm(HF_FINAL_NORM, h);
    Ok(Model::new(c.clone(), embed, lm_head, final_norm, layers)?)
}

/// The built-in model of `preset` with weights from `seed`: what
/// `tritium gen-model --preset P --seed S` writes (packed, autobitlinear)
/// and loads back as, built in memory.
pub fn preset_model(preset: tritium_golden::Preset, seed: u64) -> Result<Model> {
    preset_model_with(preset, seed, None)
}

/// [`preset_model`], reporting each BitLinear made to `progress` (the
/// 2B4T preset takes seconds).
pub fn preset_model_with(
    preset: tritium_golden::Preset,
    seed: u64,
    progress: Option<&dyn Progress>,
) -> Result<Model> {
    let opts = SynthOptions {
        config: preset.config(),
        seed,
        format: CheckpointFormat::HfPacked,
        linear_class: LinearClass::Autobitlinear,
    };
    synth_model_with(&opts, progress)
}

/// The model a synthetic checkpoint loads as, built in memory through the
/// same assembler as files on disk.
pub fn synth_model(opts: &SynthOptions) -> Result<Model> {
    synth_model_with(opts, None)
}

/// [`synth_model`], reporting each BitLinear made to `progress`.
pub fn synth_model_with(opts: &SynthOptions, progress: Option<&dyn Progress>) -> Result<Model> {
    let tensors = synth_tensors(opts, progress)?;
    assemble(&tensors, &opts.config, opts.quant(), None)
}

/// Writes a complete checkpoint directory: config.json, model.safetensors,
/// tokenizer.json, tokenizer_config.json, generation_config.json.
pub fn write_checkpoint(
    dir: &Path,
    opts: &SynthOptions,
    progress: Option<&dyn Progress>,
) -> Result<()> {
    std::fs::create_dir_all(dir).at(dir)?;
    let c = &opts.config;
    let tensors = synth_tensors(opts, progress)?;
    tensors.write_safetensors(&dir.join("model.safetensors"))?;
    write_json(dir, "config.json", &config_json(c, opts.quant()))?;
    let tok = crate::tokenizer::synthetic_tokenizer_json(c);
    crate::checkpoint::export::write_side_files(dir, c, Some(&tok))
}

/// Writes a synthetic GGUF file (`opts.format` one of the GGUF formats):
/// the model the packed checkpoint of the same seed loads as, its
/// embedding as `embed`, and the synthetic tokenizer in `tokenizer.ggml.*`,
/// so it runs with no tokenizer.json.
pub fn write_gguf(
    path: &Path,
    opts: &SynthOptions,
    embed: EmbedType,
    progress: Option<&dyn Progress>,
) -> Result<()> {
    let weights = opts
        .format
        .gguf_weights()
        .ok_or_else(|| Error::Unrepresentable {
            what: format!("a {:?} checkpoint as one GGUF file", opts.format),
            message: "not a GGUF format".into(),
        })?;
    let tensors = synth_tensors(opts, progress)?;
    let model = assemble(&tensors, &opts.config, opts.quant(), None)?;
    crate::gguf::export::write_model(
        path,
        &model,
        &crate::gguf::export::WriteOptions {
            weights,
            embed,
            name: format!("tritium synthetic (seed {})", opts.seed),
            tokenizer: Some(crate::tokenizer::synthetic_tokenizer_json(&opts.config)),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made in parallel parts, the values are those of one sequential pass
    /// over the tensor's stream (what every synthetic checkpoint so far
    /// holds), whatever the length's remainder.
    #[test]
    fn parts_give_the_values_of_one_pass() {
        for len in [0, 1, STREAM_PART - 1, STREAM_PART, 2 * STREAM_PART + 5] {
            let mut rng = SplitMix64::for_name(7, "model.layers.0.mlp.up_proj.weight");
            let want: Vec<u16> = (0..len)
                .map(|_| f32_to_bf16(0.5 + 0.25 * rng.normal()))
                .collect();
            let got = bf16_values(7, "model.layers.0.mlp.up_proj.weight", len, 0.5, 0.25);
            assert_eq!(got, want, "len {len}");
            let wide = bf16_values_widened(7, "model.layers.0.mlp.up_proj.weight", len, 0.5, 0.25);
            assert!(wide.iter().zip(&want).all(|(&w, &b)| w == bf16_to_f32(b)));
            assert_eq!(wide.len(), len);
        }
    }

    /// The preset's model reports a total before the first step and
    /// reaches it, one step per BitLinear; and it is the model
    /// `preset_model` builds.
    #[test]
    fn preset_model_reports_its_progress() {
        use std::sync::atomic::{AtomicU64, Ordering};
        #[derive(Default)]
        struct Count {
            total: AtomicU64,
            done: AtomicU64,
            early: AtomicU64,
        }
        impl Progress for Count {
            fn set_total(&self, total: u64) {
                self.total.store(total, Ordering::SeqCst);
            }
            fn advance(&self, n: u64) {
                if self.total.load(Ordering::SeqCst) == 0 {
                    self.early.fetch_add(1, Ordering::SeqCst);
                }
                self.done.fetch_add(n, Ordering::SeqCst);
            }
        }
        let count = Count::default();
        let p = tritium_golden::Preset::Tiny;
        let m = preset_model_with(p, 3, Some(&count)).unwrap();
        let want = (p.config().num_layers * Proj::ALL.len()) as u64;
        assert_eq!(count.total.load(Ordering::SeqCst), want);
        assert_eq!(count.done.load(Ordering::SeqCst), want);
        assert_eq!(count.early.load(Ordering::SeqCst), 0);
        let again = preset_model(p, 3).unwrap();
        let w = |m: &Model| m.layers()[1].linear(Proj::Down).to_hf_packed().unwrap();
        assert_eq!(w(&m), w(&again));
    }
}
