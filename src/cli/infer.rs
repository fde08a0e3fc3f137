//! `tritium infer`: text generation on any backend.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;
use tritium_golden::{generate, GenerateOptions, Generation, KvPrecision, SamplerConfig};
use tritium_model::tokenizer::StreamDecoder;

use super::applies::Needs;
use super::args::{
    load_model_args, make_backend, prompt_tokens, BackendArg, KvArg, ModelArgs, PromptArgs,
    RtlArgs, SimdArgs,
};
use super::error::{Error, Result};
use super::output::{print, print_json};
use tritium_util::output::check_output_file;
use tritium_util::{AtPath, AtomicFile};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tritium infer                                   (the built-in tiny preset: no files needed)
  tritium infer --model ggml-model-i2_s.gguf --prompt \"The capital of France is\" -n 16
  tritium infer --model DIR --tokens 128000,791 -n 0 --logits l.json   (logits, for scripts)
  tritium infer --model FILE --fast-head int4     (approximate head: the fastest decode)
  tritium infer --backend rtl --config kv260 -n 2   (every BitLinear on the simulated accelerator)")]
pub struct InferArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Number of tokens to generate.
    #[arg(short = 'n', long, default_value_t = 32)]
    pub max_new_tokens: usize,
    /// BitLinear engine.
    #[arg(long, value_enum, default_value = "simd")]
    pub backend: BackendArg,
    #[command(flatten)]
    pub simd: SimdArgs,
    /// The accelerator of --backend rtl.
    #[command(flatten)]
    pub rtl: RtlArgs,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampling temperature; 0 = greedy (argmax).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Sample among the K most likely tokens only (0 = all).
    #[arg(long, default_value_t = 0, value_name = "K")]
    pub top_k: usize,
    /// Sample among the most likely tokens whose probability adds up to P.
    #[arg(long, default_value_t = 1.0, value_name = "P")]
    pub top_p: f32,
    /// Keep generating after the end-of-text token.
    #[arg(long)]
    pub ignore_eos: bool,
    /// Element type of the KV cache: `f32` is the golden model's (bit-exact
    /// logits); `f16` rounds keys and values once as they are cached (half
    /// the bytes each decode step reads from the cache, what llama.cpp
    /// holds by default; the logits are not the golden model's: the README
    /// gives what was measured), on every backend.
    #[arg(long, value_enum, value_name = "TYPE", default_value = "f32")]
    pub kv: KvArg,
    /// Print one JSON object (tokens, text, timings) instead of streaming text.
    #[arg(long)]
    pub json: bool,
    /// Write the logits of every position (prompt and generated) to FILE as a
    /// JSON list of rows of vocab-size floats.
    #[arg(long, value_name = "FILE")]
    pub logits: Option<PathBuf>,
    /// Replace an existing --logits file.
    #[arg(long)]
    pub force: bool,
}

impl InferArgs {
    /// See [`super::applies()`].
    pub fn needs(&self) -> Vec<Needs> {
        vec![
            Needs::new(
                "--backend simd",
                self.backend == BackendArg::Simd,
                SimdArgs::IDS,
            ),
            Needs::new(
                "--backend rtl",
                self.backend == BackendArg::Rtl,
                RtlArgs::IDS,
            ),
        ]
    }
}

pub fn run(a: &InferArgs) -> Result<()> {
    if a.backend == BackendArg::Simd {
        a.simd.configure_threads()?;
    }
    if let Some(p) = &a.logits {
        let inputs = a.model.inputs();
        check_output_file("--logits", p, a.force, &inputs)?;
    }
    let run = load_model_args(&a.model, a.json)?;
    let prompt = prompt_tokens(&run, &a.prompt)?;
    let n = a.max_new_tokens;
    run.model
        .config()
        .check_request(prompt.len(), n)
        .map_err(|e| Error::arg(format!("--max-new-tokens {n}"), e))?;
    let opts = GenerateOptions {
        max_new: a.max_new_tokens,
        sampler: SamplerConfig {
            temperature: a.temperature,
            top_k: a.top_k,
            top_p: a.top_p,
            seed: a.seed,
        },
        stop_at_eos: !a.ignore_eos,
        keep_logits: a.logits.is_some(),
        kv: match a.kv {
            KvArg::F32 => KvPrecision::F32,
            KvArg::F16 => KvPrecision::F16,
        },
    };
    let mut backend = make_backend(a.backend, &a.rtl, &a.simd, &run.model)?;
    let mut stream = StreamDecoder::default();
    let streaming = !a.json;
    let tok = run.tokenizer.as_ref();
    let g = generate(
        &run.model,
        backend.as_mut(),
        &prompt,
        opts,
        &mut |id| -> Result<()> {
            if streaming {
                let text = match tok {
                    Some(t) => stream.push(t, id)?,
                    None => format!("{id} "),
                };
                print(&text)?;
            }
            Ok(())
        },
    )?;
    if let Some(path) = &a.logits {
        write_logits(path, &g.logits)?;
    }
    let text = match tok {
        Some(t) => Some(t.decode(&g.generated, true)?),
        None => None,
    };
    if a.json {
        print_json(&infer_json(
            &run.name,
            backend.name(),
            opts.kv,
            &g,
            text.as_deref(),
        ))?;
    } else {
        print("\n")?;
        let decode = match g.decode_steps {
            0 => "no decode steps".to_string(),
            n => format!(
                "decode {n} tokens in {:.1} ms ({:.2} tok/s)",
                g.decode_time.as_secs_f64() * 1e3,
                g.decode_tokens_per_s()
            ),
        };
        let sample = format!(
            "; sampling {} tokens in {:.1} ms",
            g.generated.len(),
            g.sample_time.as_secs_f64() * 1e3
        );
        eprintln!(
            "[{}] prefill {} tokens in {:.1} ms ({:.1} tok/s); {decode}{sample}{}",
            backend.name(),
            g.prompt.len(),
            g.prefill_time.as_secs_f64() * 1e3,
            g.prefill_tokens_per_s(),
            if g.stopped_at_eos {
                "; stopped at end-of-text"
            } else {
                ""
            }
        );
    }
    Ok(())
}

fn infer_json(
    model: &str,
    backend: &str,
    kv: KvPrecision,
    g: &Generation,
    text: Option<&str>,
) -> serde_json::Value {
    let (mut macs, mut adds, mut skips) = (0u64, 0u64, 0u64);
    for s in g.stats.values() {
        macs += s.macs;
        adds += s.adds;
        skips += s.zero_skips;
    }
    json!({
        "schema_version": 1,
        "model": model,
        "backend": backend,
        "kv_cache": kv.name(),
        "prompt_tokens": g.prompt,
        "generated_tokens": g.generated,
        "text": text,
        "stopped_at_eos": g.stopped_at_eos,
        "timings": {
            "prefill_ms": g.prefill_time.as_secs_f64() * 1e3,
            "prefill_tokens_per_s": g.prefill_tokens_per_s(),
            "decode_steps": g.decode_steps,
            "decode_ms": g.decode_time.as_secs_f64() * 1e3,
            "decode_tokens_per_s": g.decode_tokens_per_s(),
            "sample_ms": g.sample_time.as_secs_f64() * 1e3,
        },
        "bitlinear": { "macs": macs, "adds": adds, "zero_skips": skips },
    })
}

/// Writes the logits through a temporary file: a failed write leaves an
/// older file as it was.
fn write_logits(path: &Path, rows: &[Vec<f32>]) -> Result<()> {
    let mut w = AtomicFile::create(path)?;
    serde_json::to_writer(&mut w, rows)
        .map_err(std::io::Error::from)
        .at(path)?;
    Ok(w.commit()?)
}
