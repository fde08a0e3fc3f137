//! `tritium gen-model` (synthetic checkpoints) and `tritium convert`
//! (Hugging Face packed <-> GGUF).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use tritium_model::gguf::export::{write_model, EmbedType, WeightType, WriteOptions};
use tritium_model::hfconfig::LinearClass;
use tritium_model::synthetic::{write_checkpoint, write_gguf, CheckpointFormat, SynthOptions};

use tritium_util::output::{check_output_dir, check_output_file};
use tritium_util::Inputs;

use super::applies::Needs;
use super::args::PresetArg;
use super::error::{Error, Result};
use super::progress::Bar;
use tritium_util::AtPath;

/// On-disk formats `gen-model` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
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
    /// One GGUF file, BitLinears in ik_llama.cpp's IQ2_BN (2 bits per weight,
    /// f32 scale per row, 64-element blocks: every K a multiple of 64, e.g. --preset tiny256).
    GgufIq2bn,
    /// One GGUF file, BitLinears in ik_llama.cpp's IQ1_BN (1.625 bits per
    /// weight, fp16 scale per row, 64-element blocks).
    GgufIq1bn,
}

impl FormatArg {
    fn format(self) -> CheckpointFormat {
        match self {
            FormatArg::HfPacked => CheckpointFormat::HfPacked,
            FormatArg::HfBf16 => CheckpointFormat::HfBf16,
            FormatArg::GgufI2s => CheckpointFormat::GgufI2s,
            FormatArg::GgufTq2 => CheckpointFormat::GgufTq2,
            FormatArg::GgufTq1 => CheckpointFormat::GgufTq1,
            FormatArg::GgufIq2bn => CheckpointFormat::GgufIq2bn,
            FormatArg::GgufIq1bn => CheckpointFormat::GgufIq1bn,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LinearClassArg {
    /// Output multiplied by weight_scale (as the published 2B4T config).
    Autobitlinear,
    /// Output divided by weight_scale.
    Bitlinear,
}

/// Storage of a GGUF file's token embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GgufEmbedArg {
    F16,
    Bf16,
    F32,
    /// ggml's Q8_0 (8.5 bits per value, lossy; hidden size a multiple of 32).
    #[value(name = "q8_0")]
    Q8_0,
}

impl GgufEmbedArg {
    fn embed(self) -> EmbedType {
        match self {
            GgufEmbedArg::F16 => EmbedType::F16,
            GgufEmbedArg::Bf16 => EmbedType::Bf16,
            GgufEmbedArg::F32 => EmbedType::F32,
            GgufEmbedArg::Q8_0 => EmbedType::Q8_0,
        }
    }
}

/// BitLinear storage of a GGUF file written by `convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GgufWeightArg {
    /// bitnet.cpp's I2_S: exact codes and exact f32 scale (lossless).
    I2s,
    /// llama.cpp's TQ2_0: exact codes, scale rounded to fp16; K % 256 == 0.
    Tq2,
    /// llama.cpp's TQ1_0: as TQ2_0 in 1.6 bits per weight.
    Tq1,
    /// ik_llama.cpp's IQ2_BN: exact codes and exact f32 scale (lossless); K % 64 == 0.
    Iq2bn,
    /// ik_llama.cpp's IQ1_BN: exact codes, scale rounded to fp16; K % 64 == 0.
    Iq1bn,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tritium gen-model --out /tmp/tiny               (Hugging Face packed, tiny preset)
  tritium gen-model --preset 2b4t --format hf-bf16 --out /tmp/2b4t-bf16
  tritium gen-model --preset tiny256 --format gguf-tq2 --out /tmp/tq2.gguf")]
pub struct GenModelArgs {
    /// Model shape.
    #[arg(long, value_enum, default_value = "tiny")]
    pub preset: PresetArg,
    /// Seed of the weights (same seed, same model).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (created; must be empty unless --force), or for the
    /// gguf-* formats the file to write (must not exist unless --force).
    #[arg(long, value_name = "DIR|FILE")]
    pub out: PathBuf,
    /// Checkpoint format.
    #[arg(long, value_enum, default_value = "hf-packed")]
    pub format: FormatArg,
    /// Storage of the token embedding (and untied head) in a GGUF file: f16
    /// (as microsoft's 2B4T GGUF; rounds the bf16 values), bf16 (lossless),
    /// f32, or q8_0 (ggml's 8-bit blocks, lossy).
    #[arg(long, value_enum, default_value = "f16")]
    pub gguf_embed: GgufEmbedArg,
    /// quantization_config.linear_class written to config.json (hf-packed only).
    #[arg(long, value_enum, default_value = "autobitlinear")]
    pub linear_class: LinearClassArg,
    /// Write a separate lm_head.weight (tie_word_embeddings = false).
    #[arg(long)]
    pub untied: bool,
    /// Overwrite files in a non-empty output directory.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tritium convert --from DIR --to model.gguf      (I2_S, lossless)
  tritium convert --from DIR --to tq1.gguf --weights tq1 --embed f16   (K a multiple of 256)
  tritium convert --from model.gguf --to DIR      (back to Hugging Face packed)")]
pub struct ConvertArgs {
    /// Input: a Hugging Face checkpoint directory (packed or bf16), or a GGUF file.
    #[arg(long, value_name = "DIR|FILE.gguf")]
    pub from: PathBuf,
    /// Output: the GGUF file to write (input is a directory), or the
    /// directory to write a Hugging Face packed checkpoint into (input is GGUF).
    #[arg(long, value_name = "FILE.gguf|DIR")]
    pub to: PathBuf,
    /// BitLinear storage when writing GGUF.
    #[arg(long, value_enum, default_value = "i2s")]
    pub weights: GgufWeightArg,
    /// Token embedding storage when writing GGUF (bf16 keeps a bf16
    /// checkpoint's values exactly; f16 is what microsoft's 2B4T GGUF uses).
    #[arg(long, value_enum, default_value = "bf16")]
    pub embed: GgufEmbedArg,
    /// Overwrite an existing output.
    #[arg(long)]
    pub force: bool,
}

impl GenModelArgs {
    /// See [`super::applies()`].
    pub fn needs(&self) -> Vec<Needs> {
        let format = self.format.format();
        vec![
            Needs::new(
                "the GGUF formats (--format gguf-*)",
                format.gguf_weights().is_some(),
                &["gguf_embed"],
            ),
            Needs::new(
                "--format hf-packed (GGUF stores the scale itself; hf-bf16 is quantized online by transformers' AutoBitLinear)",
                format == CheckpointFormat::HfPacked,
                &["linear_class"],
            ),
        ]
    }
}

impl ConvertArgs {
    /// See [`super::applies()`].
    pub fn needs(&self) -> Vec<Needs> {
        vec![Needs::new(
            "writing GGUF (--from a checkpoint directory)",
            self.from.is_dir(),
            &["weights", "embed"],
        )]
    }
}

/// `tritium gen-model`.
pub fn run_gen_model(a: &GenModelArgs) -> Result<()> {
    let out = &a.out;
    let format = a.format.format();
    if format.gguf_weights().is_some() {
        return run_gen_gguf(a);
    }
    check_checkpoint_dir("--out", out, a.force, &Inputs::new())?;
    let mut config = a.preset.preset().config();
    if a.untied {
        config.tie_word_embeddings = false;
    }
    let linear_class = match a.linear_class {
        LinearClassArg::Autobitlinear => LinearClass::Autobitlinear,
        LinearClassArg::Bitlinear => LinearClass::Bitlinear,
    };
    let opts = SynthOptions {
        config: config.clone(),
        seed: a.seed,
        format,
        linear_class,
    };
    {
        let bar = Bar::new("generating weights", false);
        write_checkpoint(out, &opts, Some(&bar))?;
    }
    eprintln!(
        "wrote config.json, model.safetensors, tokenizer.json ({} preset, seed {}, {:?}, {}, {} ternary weights) to {}",
        a.preset.preset().name(),
        a.seed,
        format,
        if config.tie_word_embeddings {
            "tied head"
        } else {
            "untied head"
        },
        config.ternary_params(),
        out.display()
    );
    Ok(())
}

/// The files a Hugging Face checkpoint directory written by tritium holds.
const CHECKPOINT_FILES: [&str; 5] = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "generation_config.json",
];

/// A checkpoint directory output: as any directory output, and besides it
/// must be empty unless `--force` (other safetensors shards or an index left
/// in it would make another checkpoint of it).
fn check_checkpoint_dir(flag: &str, dir: &Path, force: bool, inputs: &Inputs) -> Result<()> {
    check_output_dir(flag, dir, &CHECKPOINT_FILES, force, inputs)?;
    if dir.is_dir() && !force && std::fs::read_dir(dir).at(dir)?.next().is_some() {
        return Err(Error::Usage(format!(
            "{flag} {}: directory is not empty; pass --force to write the checkpoint files into it",
            dir.display()
        )));
    }
    Ok(())
}

fn run_gen_gguf(a: &GenModelArgs) -> Result<()> {
    check_output_file("--out", &a.out, a.force, &Inputs::new())?;
    let mut config = a.preset.preset().config();
    if a.untied {
        config.tie_word_embeddings = false;
    }
    let format = a.format.format();
    let opts = SynthOptions {
        config: config.clone(),
        seed: a.seed,
        format,
        linear_class: LinearClass::Autobitlinear,
    };
    {
        let bar = Bar::new("generating weights", false);
        write_gguf(&a.out, &opts, a.gguf_embed.embed(), Some(&bar))?;
    }
    eprintln!(
        "wrote {} ({} preset, seed {}, {:?}, {:?} embedding, {} ternary weights, tokenizer in the metadata)",
        a.out.display(),
        a.preset.preset().name(),
        a.seed,
        format,
        a.gguf_embed,
        config.ternary_params(),
    );
    Ok(())
}

/// `tritium convert`.
pub fn run_convert(a: &ConvertArgs) -> Result<()> {
    let inputs = Inputs::new().with(&a.from);
    if a.from.is_dir() {
        check_output_file("--to", &a.to, a.force, &inputs)?;
    } else {
        check_checkpoint_dir("--to", &a.to, a.force, &inputs)?;
    }
    let loaded = {
        let bar = Bar::new("loading layers", false);
        tritium_model::load(&a.from, Some(&bar))?
    };
    if a.from.is_dir() {
        let p = a.from.join("tokenizer.json");
        let tok_json = if p.exists() {
            let text = tritium_util::file::read_to_string_regular(&p)?;
            Some(
                serde_json::from_str(&text).map_err(|e| tritium_model::Error::Tokenizer {
                    path: p.clone(),
                    message: e.to_string(),
                })?,
            )
        } else {
            None
        };
        let weights = match a.weights {
            GgufWeightArg::I2s => WeightType::I2S,
            GgufWeightArg::Tq2 => WeightType::Tq2,
            GgufWeightArg::Tq1 => WeightType::Tq1,
            GgufWeightArg::Iq2bn => WeightType::Iq2bn,
            GgufWeightArg::Iq1bn => WeightType::Iq1bn,
        };
        let name = a
            .from
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        write_model(
            &a.to,
            &loaded.model,
            &WriteOptions {
                weights,
                embed: a.embed.embed(),
                name,
                tokenizer: tok_json,
            },
        )?;
        eprintln!("wrote {} ({weights:?})", a.to.display());
    } else {
        let f = tritium_model::gguf::GgufFile::open(&a.from)?;
        let tok_json = tritium_model::gguf::vocab::tokenizer_json(&f)?;
        tritium_model::checkpoint::export::write_hf_packed(
            &a.to,
            &loaded.model,
            tok_json.as_ref(),
        )?;
        eprintln!(
            "wrote a Hugging Face packed checkpoint to {}",
            a.to.display()
        );
    }
    Ok(())
}
