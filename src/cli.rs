//! The `tritium` command line. `main.rs` only calls [`main`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tritium_golden::{Backend, GoldenBackend, Model, Preset, SamplerConfig};

use crate::checkpoint::load_path;
use crate::error::{Error, Result};
use crate::generate::{generate, GenerateOptions, Generation};
use crate::hfconfig::LinearClass;
use crate::synth::{preset_model, write_checkpoint, CheckpointFormat, SynthOptions};
use crate::tokenizer::{synthetic_tokenizer_json, StreamDecoder, TextTokenizer};

/// tritium: golden model, co-simulation and CPU inference of ternary
/// (BitNet b1.58, W1.58A8) LLMs.
///
/// Every weight is -1, 0 or +1 and activations are 8-bit, so matrix
/// multiplies need only adds. Start with `tritium infer` (runs a built-in
/// synthetic model) or `tritium gen-model --out DIR` (writes a checkpoint).
#[derive(Debug, Parser)]
#[command(name = "tritium", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate text with a b1.58 model (a checkpoint directory or a built-in preset).
    Infer(InferArgs),
    /// Write a synthetic checkpoint from a preset and a seed: a Hugging Face
    /// directory, or one GGUF file (--format gguf-i2s|gguf-tq2|gguf-tq1).
    GenModel(GenModelArgs),
    /// Convert between a Hugging Face packed checkpoint directory and a GGUF
    /// file (I2_S by default). The direction follows --from: a directory
    /// becomes a GGUF file, a GGUF file becomes a directory.
    Convert(ConvertArgs),
    /// Co-simulate the RTL ternary MAC array (Verilator) against the golden model:
    /// every BitLinear of every layer, every accumulator compared with ==.
    Cosim(CosimArgs),
    /// Measure the SIMD CPU engine: memory bandwidth, kernel GB/s and GMAC/s
    /// per 2B4T matrix shape, whole-model decode and prefill tokens/s, decode
    /// as a fraction of the memory-bandwidth floor.
    Bench(BenchArgs),
    /// Energy and latency report: ternary vs FP16 vs INT8 arithmetic and
    /// memory traffic per token, from the paper's and a detailed cost model,
    /// array cycles and the memory roofline; report.md, report.json, plots.
    Report(crate::cost::cli::ReportArgs),
    /// FPGA synthesis of the ternary MAC array next to INT8 and FP16
    /// multiply-accumulate designs (Yosys + nextpnr-ice40): LUTs, FFs,
    /// carry cells, DSPs, BRAM and Fmax, written to fpga/results/.
    Synth(SynthArgs),
}

/// `tritium synth`: runs Yosys (and nextpnr-ice40) over the RTL of rtl/files.f.
///
/// For each array size it synthesizes the ternary `tri_mac_array` and the
/// INT8 `int8_mac_array` (same shape and control), and per PE `tri_pe`,
/// `int8_pe`, `fp16_mul` and the FP16 MAC unit `fp16_mac_pe`; FP16 arrays are
/// estimated as Cols*Lanes MAC units. Then it places and routes a small
/// array of each kind on an iCE40 HX8K for an Fmax. Writes results.json,
/// results.md and resources.svg/.png to --out. Needs yosys (installed by
/// scripts/install-deps.sh) and, for P&R, nextpnr-ice40 (fpga/install-pnr.sh).
/// The default sweep takes a few minutes on 2 cores.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Array sizes, COLSxLANES (output channels x activations per beat).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1x8,4x8,8x8,16x16",
        value_name = "CxL,.."
    )]
    pub sizes: Vec<String>,
    /// Synthesis targets: generic (Yosys gates), ice40, xilinx (7-series).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "generic,ice40,xilinx",
        value_name = "F,.."
    )]
    pub families: Vec<String>,
    /// Place and route (nextpnr-ice40, HX8K) arrays of this size plus one FP16 MAC unit, for Fmax.
    #[arg(
        long,
        default_value = "4x8",
        value_name = "CxL",
        conflicts_with = "no_pnr"
    )]
    pub pnr: String,
    /// Skip place and route (no Fmax; nextpnr not needed).
    #[arg(long)]
    pub no_pnr: bool,
    /// Skip the PE-level designs (FP16 MAC unit still synthesized for the estimates).
    #[arg(long)]
    pub no_pes: bool,
    /// KMax of the arrays (largest K; sets the accumulator width).
    #[arg(long, default_value_t = 8192, value_name = "K")]
    pub k_max: u32,
    /// Tool processes run in parallel.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub jobs: usize,
    /// Output directory of results.json, results.md, resources.svg/.png.
    #[arg(long, default_value = "fpga/results", value_name = "DIR")]
    pub out: PathBuf,
    /// Scratch directory for scripts, logs and netlists.
    #[arg(long, default_value = "target/fpga-work", value_name = "DIR")]
    pub work: PathBuf,
    /// Repository root (holds rtl/files.f and fpga/pnr_wrap.sv).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub root: PathBuf,
    /// Print the results JSON on stdout instead of the Markdown table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model shape whose matrices and whole network are measured.
    #[arg(long, value_enum, default_value = "2b4t")]
    pub preset: PresetArg,
    /// Thread counts to measure, e.g. 1,2.
    #[arg(long, value_delimiter = ',', default_value = "1,2", value_name = "N,N")]
    pub threads: Vec<usize>,
    /// Kernel path (scalar, avx2, avx512, neon; default: the fastest present).
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<String>,
    /// Prompt length of the prefill measurement (also the batch of the
    /// prefill kernel rows).
    #[arg(long, default_value_t = 128, value_name = "N")]
    pub prefill_tokens: usize,
    /// Decode steps timed, in pairs of two tokens each right after one
    /// bandwidth pass ("of floor" is the median of the pairs' ratios; "of
    /// best" is mean speed against the best bandwidth of the whole run).
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub decode_tokens: usize,
    /// Timed calls per kernel measurement (each from cold caches; the
    /// fastest is reported).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub reps: usize,
    /// Only the kernels and the bandwidth, not the whole model.
    #[arg(long)]
    pub kernels_only: bool,
    /// Skip the comparison of the two kernel families (lookup-table vs
    /// multiply-add, AVX2 decode).
    #[arg(long)]
    pub no_families: bool,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Built-in model shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetArg {
    /// 2 layers, hidden 64, vocab 512: runs in milliseconds.
    Tiny,
    /// 4 layers, hidden 256, vocab 2048.
    Small,
    /// The real shape of microsoft/bitnet-b1.58-2B-4T (30 layers, hidden 2560, vocab 128256).
    #[value(name = "2b4t")]
    B2b4t,
    /// 2 layers, hidden 256, intermediate 512, vocab 512: fits llama.cpp's
    /// 256-element TQ1_0/TQ2_0 blocks (use with --format gguf-tq2).
    Tiny256,
}

impl PresetArg {
    pub fn preset(self) -> Preset {
        match self {
            PresetArg::Tiny => Preset::Tiny,
            PresetArg::Small => Preset::Small,
            PresetArg::B2b4t => Preset::B2b4t,
            PresetArg::Tiny256 => Preset::Tiny256,
        }
    }
}

/// Which engine executes the BitLinear integer matmuls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// The SIMD CPU engine (AVX-512 VNNI / AVX2 / NEON / scalar, threaded),
    /// bit-exact with the golden model; see --kernel, --threads, --fast-head.
    Simd,
    /// The golden model: scalar reference, defined summation order.
    Golden,
    /// The RTL MAC array simulated cycle by cycle by Verilator (slow; see --array).
    Rtl,
}

/// Array configurations of the RTL (defined in sim/src/configs.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArrayArg {
    /// 4 output columns x 8 activation lanes (32 MACs/cycle), K up to 8192.
    Small,
    /// 16 output columns x 32 activation lanes (512 MACs/cycle), K up to 8192.
    Large,
}

#[cfg_attr(not(feature = "rtl"), allow(dead_code))]
impl ArrayArg {
    fn name(self) -> &'static str {
        match self {
            ArrayArg::Small => "small",
            ArrayArg::Large => "large",
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

/// Where the model comes from.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model: a Hugging Face checkpoint directory (config.json +
    /// *.safetensors [+ tokenizer.json]) or a GGUF file (bitnet.cpp I2_S or
    /// llama.cpp TQ1_0/TQ2_0; its tokenizer comes from a tokenizer.json next
    /// to it, else from the file's tokenizer.ggml.* metadata).
    #[arg(long, value_name = "DIR|FILE.gguf", conflicts_with = "preset")]
    pub model: Option<PathBuf>,
    /// Built-in synthetic model (used when --model is not given).
    #[arg(long, value_enum, default_value = "tiny")]
    pub preset: PresetArg,
    /// Seed of the synthetic preset's weights.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub preset_seed: u64,
}

/// The prompt: text or token ids.
#[derive(Debug, Args)]
pub struct PromptArgs {
    /// Prompt text (tokenized with the model's tokenizer.json, BOS added).
    #[arg(long, conflicts_with = "tokens")]
    pub prompt: Option<String>,
    /// Prompt as token ids, e.g. 128000,9906,1917 (no BOS is added).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub tokens: Option<Vec<u32>>,
}

#[derive(Debug, Args)]
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
    /// Array configuration of --backend rtl.
    #[arg(long, value_enum, default_value = "small")]
    pub array: ArrayArg,
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
    /// Print one JSON object (tokens, text, timings) instead of streaming text.
    #[arg(long)]
    pub json: bool,
    /// Write the logits of every position (prompt and generated) to FILE as a
    /// JSON list of rows of vocab-size floats.
    #[arg(long, value_name = "FILE")]
    pub logits: Option<PathBuf>,
}

/// Options of the SIMD engine.
#[derive(Debug, Args, Clone)]
pub struct SimdArgs {
    /// Kernel path of the SIMD engine: scalar, avx2, avx512 or neon (default:
    /// the fastest this CPU has; also settable with TRITIUM_KERNEL).
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<String>,
    /// Worker threads of the SIMD engine (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Fast mode: an int8 lm_head with per-row scales (half the bytes of
    /// bf16). Approximate: logits differ slightly from the golden model.
    #[arg(long)]
    pub fast_head: bool,
}

impl SimdArgs {
    /// `--threads` sizes rayon's global pool (once per process, before
    /// anything uses it), which both the kernels and the shared network code
    /// (rows, heads) run on.
    pub fn configure_threads(&self) -> Result<()> {
        let Some(n) = self.threads else {
            return Ok(());
        };
        if n == 0 {
            return Err(Error::Usage("--threads must be at least 1".into()));
        }
        if rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .is_err()
            && rayon::current_num_threads() != n
        {
            return Err(Error::Usage(format!(
                "--threads {n}: the thread pool is already running with {} threads",
                rayon::current_num_threads()
            )));
        }
        Ok(())
    }

    /// The SIMD backend these options ask for.
    /// (Call [`SimdArgs::configure_threads`] first, before anything starts
    /// rayon's pool.)
    pub fn backend(&self) -> Result<crate::simd::SimdBackend> {
        let isa = self
            .kernel
            .as_deref()
            .map(crate::simd::parse_isa)
            .transpose()?;
        crate::simd::SimdBackend::new(crate::simd::SimdOptions {
            isa,
            threads: None,
            head: if self.fast_head {
                crate::simd::HeadMode::Q8
            } else {
                crate::simd::HeadMode::Exact
            },
        })
    }
}

#[derive(Debug, Args)]
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
    pub format: CheckpointFormat,
    /// Storage of the token embedding in a GGUF file: f16 (as microsoft's
    /// 2B4T GGUF; rounds the bf16 values), bf16 (lossless) or f32.
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

/// Storage of a GGUF file's token embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GgufEmbedArg {
    F16,
    Bf16,
    F32,
}

impl GgufEmbedArg {
    fn embed(self) -> crate::gguf::write::EmbedType {
        use crate::gguf::write::EmbedType;
        match self {
            GgufEmbedArg::F16 => EmbedType::F16,
            GgufEmbedArg::Bf16 => EmbedType::Bf16,
            GgufEmbedArg::F32 => EmbedType::F32,
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
}

#[derive(Debug, Args)]
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

fn progress(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(what.to_string());
    pb
}

/// A model ready to run, with its tokenizer (if any) and a name for reports.
pub struct LoadedForRun {
    pub model: Model,
    pub tokenizer: Option<TextTokenizer>,
    pub name: String,
}

/// The tokenizer of `--model PATH`: `tokenizer.json` in the directory (or
/// next to a GGUF file), else a GGUF file's `tokenizer.ggml.*` metadata.
pub fn model_tokenizer(path: &Path) -> Result<Option<TextTokenizer>> {
    let dir = if path.is_dir() {
        Some(path)
    } else {
        path.parent()
    };
    let tok_path = dir.map(|d| d.join("tokenizer.json"));
    match tok_path {
        Some(p) if p.exists() => Ok(Some(TextTokenizer::load(&p)?)),
        _ if !path.is_dir() => {
            let f = crate::gguf::GgufFile::open(path)?;
            crate::gguf::vocab::load_tokenizer(&f)
        }
        _ => Ok(None),
    }
}

/// Loads `--model DIR|FILE.gguf` or builds `--preset`.
pub fn load_model_args(a: &ModelArgs) -> Result<LoadedForRun> {
    if let Some(dir) = &a.model {
        let pb = progress(0, "loading layers");
        let loaded = load_path(dir, Some(&pb));
        pb.finish_and_clear();
        let loaded = loaded?;
        let tokenizer = model_tokenizer(dir)?;
        return Ok(LoadedForRun {
            model: loaded.model,
            tokenizer,
            name: dir.display().to_string(),
        });
    }
    let preset = a.preset.preset();
    let model = preset_model(preset, a.preset_seed)?;
    let tokenizer = TextTokenizer::from_json(
        "synthetic tokenizer",
        &synthetic_tokenizer_json(model.config()),
    )?;
    Ok(LoadedForRun {
        model,
        tokenizer: Some(tokenizer),
        name: format!("preset {} (seed {})", preset.name(), a.preset_seed),
    })
}

#[cfg(feature = "rtl")]
fn rtl_backend(array: ArrayArg) -> Result<crate::rtl::RtlBackend> {
    let cfg = tritium_sim::ArrayConfig::by_name(array.name()).ok_or_else(|| {
        Error::Usage(format!(
            "array configuration {} was not built",
            array.name()
        ))
    })?;
    crate::rtl::RtlBackend::new(cfg).map_err(|e| Error::Usage(format!("RTL model: {e}")))
}

/// The backend asked for.
fn make_backend(
    b: BackendArg,
    array: ArrayArg,
    simd: &SimdArgs,
    model: &Model,
) -> Result<Box<dyn Backend>> {
    if b != BackendArg::Simd && (simd.kernel.is_some() || simd.threads.is_some() || simd.fast_head)
    {
        return Err(Error::Usage(
            "--kernel, --threads and --fast-head apply to --backend simd only".into(),
        ));
    }
    match b {
        BackendArg::Simd => {
            let mut s = simd.backend()?;
            s.prepare(model);
            Ok(Box::new(s))
        }
        BackendArg::Golden => Ok(Box::new(GoldenBackend)),
        #[cfg(feature = "rtl")]
        BackendArg::Rtl => Ok(Box::new(rtl_backend(array)?)),
        #[cfg(not(feature = "rtl"))]
        BackendArg::Rtl => {
            let _ = array;
            Err(Error::Usage(
                "this tritium was built without the `rtl` feature (Verilator)".into(),
            ))
        }
    }
}

const DEFAULT_PROMPT: &str = "The ternary accelerator adds";

/// Token ids of `--tokens`, or of `--prompt` (default prompt if neither).
fn prompt_tokens(run: &LoadedForRun, p: &PromptArgs) -> Result<Vec<u32>> {
    let (tokens, prompt) = (&p.tokens, &p.prompt);
    if prompt.as_deref().is_some_and(|p| p.is_empty())
        || tokens.as_ref().is_some_and(|t| t.is_empty())
    {
        return Err(Error::Usage(
            "the prompt is empty: give some text (or --tokens with at least one id)".into(),
        ));
    }
    match (tokens, prompt, &run.tokenizer) {
        (Some(t), _, _) => Ok(t.clone()),
        (None, p, Some(tok)) => tok.encode(p.as_deref().unwrap_or(DEFAULT_PROMPT), true),
        (None, _, None) => Err(Error::Usage(format!(
            "{}: no tokenizer (tokenizer.json or GGUF tokenizer.ggml.*), so a text prompt cannot be tokenized; pass --tokens 1,2,3",
            run.name
        ))),
    }
}

fn run_infer(a: &InferArgs) -> Result<()> {
    if a.backend == BackendArg::Simd {
        a.simd.configure_threads()?;
    }
    let run = load_model_args(&a.model)?;
    let prompt = prompt_tokens(&run, &a.prompt)?;
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
    };
    let mut backend = make_backend(a.backend, a.array, &a.simd, &run.model)?;
    let mut stream = StreamDecoder::default();
    let stdout = std::io::stdout();
    let streaming = !a.json;
    let tok = run.tokenizer.as_ref();
    let mut run_generate = || {
        generate(&run.model, backend.as_mut(), &prompt, opts, &mut |id| {
            if streaming {
                let text = match tok {
                    Some(t) => stream.push(t, id)?,
                    None => format!("{id} "),
                };
                let mut out = stdout.lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            Ok(())
        })
    };
    let g = run_generate()?;
    if let Some(path) = &a.logits {
        write_logits(path, &g.logits)?;
    }
    let text = match tok {
        Some(t) => Some(t.decode(&g.generated, true)?),
        None => None,
    };
    if a.json {
        println!(
            "{}",
            infer_json(&run.name, backend.name(), &g, text.as_deref())
        );
    } else {
        println!();
        eprintln!(
            "[{}] prefill {} tokens in {:.1} ms ({:.1} tok/s); decode {} tokens in {:.1} ms ({:.2} tok/s){}",
            backend.name(),
            g.prompt.len(),
            g.prefill_time.as_secs_f64() * 1e3,
            g.prefill_tokens_per_s(),
            g.decode_steps,
            g.decode_time.as_secs_f64() * 1e3,
            g.decode_tokens_per_s(),
            if g.stopped_at_eos { "; stopped at end-of-text" } else { "" }
        );
    }
    Ok(())
}

fn infer_json(model: &str, backend: &str, g: &Generation, text: Option<&str>) -> serde_json::Value {
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
        },
        "bitlinear": { "macs": macs, "adds": adds, "zero_skips": skips },
    })
}

fn write_logits(path: &Path, rows: &[Vec<f32>]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, rows).map_err(|e| Error::io(path, e.into()))?;
    w.flush().map_err(|e| Error::io(path, e))
}

fn run_gen_model(a: &GenModelArgs) -> Result<()> {
    let out = &a.out;
    if a.format.gguf_weights().is_some() {
        return run_gen_gguf(a);
    }
    if out.exists() && !a.force {
        let non_empty = std::fs::read_dir(out)
            .map_err(|e| Error::io(out, e))?
            .next()
            .is_some();
        if non_empty {
            return Err(Error::Usage(format!(
                "{}: directory is not empty; pass --force to overwrite the checkpoint files in it",
                out.display()
            )));
        }
    }
    let mut config = a.preset.preset().config();
    if a.untied {
        config.tie_word_embeddings = false;
    }
    let linear_class = match a.linear_class {
        LinearClassArg::Autobitlinear => LinearClass::Autobitlinear,
        LinearClassArg::Bitlinear => LinearClass::Bitlinear,
    };
    if a.format == CheckpointFormat::HfBf16 && linear_class == LinearClass::Bitlinear {
        return Err(Error::Usage(
            "--format hf-bf16 is quantized online by transformers' AutoBitLinear; --linear-class bitlinear applies to hf-packed only".into(),
        ));
    }
    let opts = SynthOptions {
        config: config.clone(),
        seed: a.seed,
        format: a.format,
        linear_class,
    };
    let pb = progress((config.num_layers * 7) as u64, "generating weights");
    let r = write_checkpoint(out, &opts, Some(&pb));
    pb.finish_and_clear();
    r?;
    eprintln!(
        "wrote config.json, model.safetensors, tokenizer.json ({} preset, seed {}, {:?}, {}, {} ternary weights) to {}",
        a.preset.preset().name(),
        a.seed,
        a.format,
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

fn check_new_file(path: &Path, force: bool) -> Result<()> {
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "{}: is a directory; GGUF output is one file (e.g. {}/model.gguf)",
            path.display(),
            path.display()
        )));
    }
    if path.exists() && !force {
        return Err(Error::Usage(format!(
            "{}: exists; pass --force to overwrite it",
            path.display()
        )));
    }
    Ok(())
}

fn run_gen_gguf(a: &GenModelArgs) -> Result<()> {
    check_new_file(&a.out, a.force)?;
    if a.linear_class != LinearClassArg::Autobitlinear {
        return Err(Error::Usage(
            "--linear-class applies to --format hf-packed only (GGUF stores the scale itself)"
                .into(),
        ));
    }
    let mut config = a.preset.preset().config();
    if a.untied {
        config.tie_word_embeddings = false;
    }
    let opts = SynthOptions {
        config: config.clone(),
        seed: a.seed,
        format: a.format,
        linear_class: LinearClass::Autobitlinear,
    };
    let pb = progress((config.num_layers * 7) as u64, "generating weights");
    let r = crate::synth::write_gguf(&a.out, &opts, a.gguf_embed.embed(), Some(&pb));
    pb.finish_and_clear();
    r?;
    eprintln!(
        "wrote {} ({} preset, seed {}, {:?}, {:?} embedding, {} ternary weights, tokenizer in the metadata)",
        a.out.display(),
        a.preset.preset().name(),
        a.seed,
        a.format,
        a.gguf_embed,
        config.ternary_params(),
    );
    Ok(())
}

fn run_convert(a: &ConvertArgs) -> Result<()> {
    use crate::gguf::write::{write_model, WeightType, WriteOptions};
    let pb = progress(0, "loading layers");
    let loaded = load_path(&a.from, Some(&pb));
    pb.finish_and_clear();
    let loaded = loaded?;
    if a.from.is_dir() {
        check_new_file(&a.to, a.force)?;
        let p = a.from.join("tokenizer.json");
        let tok_json = if p.exists() {
            let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
            Some(serde_json::from_str(&text).map_err(|e| Error::Tokenizer {
                path: p.clone(),
                message: e.to_string(),
            })?)
        } else {
            None
        };
        let weights = match a.weights {
            GgufWeightArg::I2s => WeightType::I2S,
            GgufWeightArg::Tq2 => WeightType::Tq2,
            GgufWeightArg::Tq1 => WeightType::Tq1,
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
        if a.to.exists()
            && std::fs::read_dir(&a.to)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
            && !a.force
        {
            return Err(Error::Usage(format!(
                "{}: exists and is not an empty directory; pass --force to write into it",
                a.to.display()
            )));
        }
        let f = crate::gguf::GgufFile::open(&a.from)?;
        let tok_json = crate::gguf::vocab::tokenizer_json(&f)?;
        crate::synth::write_hf_packed(&a.to, &loaded.model, tok_json.as_ref())?;
        eprintln!(
            "wrote a Hugging Face packed checkpoint to {}",
            a.to.display()
        );
    }
    Ok(())
}

/// Parses the command line, runs it, and maps errors to a message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match &cli.command {
        Command::Infer(a) => run_infer(a).map(|()| ExitCode::SUCCESS),
        Command::GenModel(a) => run_gen_model(a).map(|()| ExitCode::SUCCESS),
        Command::Convert(a) => run_convert(a).map(|()| ExitCode::SUCCESS),
        Command::Cosim(a) => run_cosim_cmd(a),
        Command::Bench(a) => run_bench_cmd(a).map(|()| ExitCode::SUCCESS),
        Command::Report(a) => crate::cost::cli::run(a).map(|()| ExitCode::SUCCESS),
        Command::Synth(a) => run_synth_cmd(a).map(|()| ExitCode::SUCCESS),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Args)]
pub struct CosimArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Greedy decode steps after the prompt (each one more full-network token).
    #[arg(short = 'n', long, default_value_t = 4)]
    pub decode_steps: usize,
    /// Layers whose BitLinears run on the RTL, e.g. `0,2-4` (default: all; the
    /// others run on the golden model only).
    #[arg(long, value_name = "LIST")]
    pub layers: Option<String>,
    /// Array configuration.
    #[arg(long = "config", value_enum, default_value = "small")]
    pub array: ArrayArg,
    /// Write a VCD waveform of the whole run to FILE (large for big models).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Where the waveform of the first divergent tile goes.
    #[arg(long, value_name = "FILE", default_value_os_t = std::env::temp_dir().join("tritium-mismatch.vcd"))]
    pub mismatch_wave: PathBuf,
    /// Print one JSON report instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Single-layer mode: one BitLinear of shape --rows-out x --k from random data.
    #[arg(long)]
    pub layer: bool,
    /// Single-layer mode: output rows N.
    #[arg(long = "n-out", default_value_t = 256, value_name = "N")]
    pub n_out: usize,
    /// Single-layer mode: inputs per row K.
    #[arg(long, default_value_t = 640)]
    pub k: usize,
    /// Single-layer mode: token rows.
    #[arg(long, default_value_t = 2)]
    pub rows: usize,
    /// Single-layer mode: seed of the random weights and activations.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Checker self-test: flip weight (ROW, COL) of LAYER's PROJ (q,k,v,o,gate,up,down)
    /// in what is fed to the RTL only, e.g. `1,up,5,17`. The run must then fail.
    #[arg(long, value_name = "LAYER,PROJ,ROW,COL")]
    pub inject_fault: Option<String>,
}

/// Parses `0,2-4` into a set of layer indices.
pub fn parse_layers(s: &str) -> Result<std::collections::BTreeSet<usize>> {
    let bad = || Error::Usage(format!("--layers {s:?}: expected a list like 0,2-4"));
    let mut set = std::collections::BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                if a > b {
                    return Err(bad());
                }
                set.extend(a..=b);
            }
            None => {
                set.insert(part.parse().map_err(|_| bad())?);
            }
        }
    }
    if set.is_empty() {
        return Err(bad());
    }
    Ok(set)
}

/// Parses `LAYER,PROJ,ROW,COL` of --inject-fault.
pub fn parse_fault(s: &str) -> Result<(usize, tritium_golden::Proj, usize, usize)> {
    use tritium_golden::Proj;
    let bad = || {
        Error::Usage(format!(
            "--inject-fault {s:?}: expected LAYER,PROJ,ROW,COL, e.g. 1,up,5,17"
        ))
    };
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() != 4 {
        return Err(bad());
    }
    let proj = Proj::ALL
        .into_iter()
        .find(|p| p.hf_name() == parts[1] || p.hf_name().trim_end_matches("_proj") == parts[1])
        .ok_or_else(bad)?;
    let num = |i: usize| parts[i].parse::<usize>().map_err(|_| bad());
    Ok((num(0)?, proj, num(2)?, num(3)?))
}

#[cfg(feature = "rtl")]
fn run_cosim_cmd(a: &CosimArgs) -> Result<ExitCode> {
    use crate::rtl::{run_cosim, run_layer_cosim, CosimOptions, LayerCosimOptions, PlantedFault};
    let mut rtl = rtl_backend(a.array)?;
    if let Some(t) = &a.trace {
        rtl.trace_to(t).map_err(|e| Error::Usage(e.to_string()))?;
    }
    let report = if a.layer {
        if a.n_out == 0 || a.k == 0 || a.rows == 0 {
            return Err(Error::Usage(
                "--n-out, --k and --rows must be at least 1".into(),
            ));
        }
        if let Some(f) = &a.inject_fault {
            let (_, _, row, col) = parse_fault(f)?;
            let id = tritium_golden::LinearId {
                layer: 0,
                proj: tritium_golden::Proj::Q,
            };
            rtl.plant_fault(PlantedFault { id, row, col });
        }
        let o = LayerCosimOptions {
            n: a.n_out,
            k: a.k,
            rows: a.rows,
            seed: a.seed,
        };
        run_layer_cosim(&mut rtl, o, a.mismatch_wave.clone())?
    } else {
        let run = load_model_args(&a.model)?;
        let prompt = prompt_tokens(&run, &a.prompt)?;
        if let Some(f) = &a.inject_fault {
            let (layer, proj, row, col) = parse_fault(f)?;
            let id = tritium_golden::LinearId { layer, proj };
            let w = run
                .model
                .linear(id)
                .ok_or_else(|| Error::Usage(format!("--inject-fault: no layer {layer}")))?;
            if row >= w.n() || col >= w.k() {
                return Err(Error::Usage(format!(
                    "--inject-fault: {id} is {} x {}",
                    w.n(),
                    w.k()
                )));
            }
            rtl.plant_fault(PlantedFault { id, row, col });
        }
        let total = prompt.len() + a.decode_steps;
        let max = run.model.config().max_position_embeddings;
        if total > max {
            return Err(tritium_golden::Error::ContextOverflow { len: total, max }.into());
        }
        let layers = a.layers.as_deref().map(parse_layers).transpose()?;
        let opts = CosimOptions {
            layers,
            decode_steps: a.decode_steps,
            mismatch_wave: a.mismatch_wave.clone(),
            progress: !a.json,
        };
        run_cosim(&run.model, &run.name, &mut rtl, &prompt, &opts)?
    };
    if a.trace.is_some() {
        rtl.trace_stop().map_err(|e| Error::Usage(e.to_string()))?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))?
        );
    } else {
        println!(
            "co-simulation of {} on array {} ({} cols x {} lanes, {}-bit accumulators), prompt {} tokens, {} decoded",
            report.model,
            report.array.name,
            report.array.cols,
            report.array.lanes,
            report.array.acc_width,
            report.prompt_tokens.len(),
            report.generated_tokens.len()
        );
        print!("{}", report.table());
        println!(
            "{:.2} s wall, {:.2} M simulated cycles/s, {:.2} M verified MACs/s",
            report.wall_seconds,
            report.simulated_cycles_per_second / 1e6,
            report.verified_macs_per_second / 1e6
        );
        match &report.first_divergence {
            None => println!("PASS: every accumulator of the RTL equals the golden model's"),
            Some(d) => println!("FAIL: {d}"),
        }
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(not(feature = "rtl"))]
fn run_cosim_cmd(_: &CosimArgs) -> Result<ExitCode> {
    Err(Error::Usage(
        "this tritium was built without the `rtl` feature (Verilator)".into(),
    ))
}

fn run_bench_cmd(a: &BenchArgs) -> Result<()> {
    if a.threads.is_empty() || a.threads.contains(&0) {
        return Err(Error::Usage("--threads: give counts of at least 1".into()));
    }
    if a.prefill_tokens == 0 || a.decode_tokens == 0 {
        return Err(Error::Usage(
            "--prefill-tokens and --decode-tokens must be at least 1".into(),
        ));
    }
    if a.reps == 0 {
        return Err(Error::Usage("--reps must be at least 1".into()));
    }
    let isa = a
        .kernel
        .as_deref()
        .map(crate::simd::parse_isa)
        .transpose()?;
    let opts = crate::bench::BenchOptions {
        preset: a.preset.preset(),
        threads: a.threads.clone(),
        isa,
        prefill_tokens: a.prefill_tokens,
        decode_tokens: a.decode_tokens,
        cold_reps: a.reps,
        kernels_only: a.kernels_only,
        families: !a.no_families,
        progress: !a.json,
    };
    let pb = ProgressBar::new_spinner();
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let report = crate::bench::run_bench(&opts, |m| pb.set_message(m.to_string()));
    pb.finish_and_clear();
    let report = report?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))?
        );
    } else {
        print!("{}", crate::bench::render(&report));
    }
    Ok(())
}

fn run_synth_cmd(a: &SynthArgs) -> Result<()> {
    use crate::fpga::{ArraySize, Family, SweepConfig};
    let mut cfg = SweepConfig::new(&a.root);
    cfg.sizes = a
        .sizes
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| ArraySize::parse(s))
        .collect::<Result<_>>()?;
    cfg.families = a
        .families
        .iter()
        .map(|f| {
            Family::parse(f.trim()).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown family `{f}` (expected generic, ice40 or xilinx)"
                ))
            })
        })
        .collect::<Result<_>>()?;
    if cfg.families.is_empty() {
        return Err(Error::Usage("--families is empty".into()));
    }
    cfg.pnr = if a.no_pnr {
        None
    } else {
        Some(ArraySize::parse(&a.pnr)?)
    };
    cfg.pes = !a.no_pes;
    if a.k_max == 0 || a.k_max > 1 << 16 {
        return Err(Error::Usage(format!(
            "--k-max {}: expected 1..=65536 (the INT8 accumulator must fit 31 bits)",
            a.k_max
        )));
    }
    cfg.k_max = a.k_max;
    cfg.jobs = a.jobs.max(1);
    cfg.work_dir = a.work.clone();
    let out_dir = a.out.clone();
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} synthesis [{elapsed_precise}] {bar:30} {pos}/{len} tool runs",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let results = crate::fpga::run_sweep(&cfg, Some(&pb));
    pb.finish_and_clear();
    let results = results?;
    crate::fpga::write_results(&results, &out_dir)?;
    let mut stdout = std::io::stdout().lock();
    let text = if a.json {
        serde_json::to_string_pretty(&results)
            .map_err(|e| Error::Usage(format!("cannot serialize results: {e}")))?
    } else {
        crate::fpga::markdown_table(&results)
    };
    let _ = writeln!(stdout, "{text}");
    eprintln!(
        "tritium synth: {} results in {:.0} s, written to {}",
        results.units.len() + results.pnr.len(),
        results.seconds,
        out_dir.display()
    );
    Ok(())
}
