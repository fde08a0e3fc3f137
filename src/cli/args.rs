//! Arguments shared by several commands, and turning them into models,
//! prompts and backends.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tritium_golden::{Backend, GoldenBackend, Model, Preset};
use tritium_model::tokenizer::{synthetic_tokenizer_json, TextTokenizer};
use tritium_simd::{Body, HeadMode, SimdBackend, SimdOptions};

use super::error::{Error, Result};
use super::progress::Bar;

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
    /// 256-element TQ1_0/TQ2_0 blocks (use with --format gguf-tq2) and
    /// ik_llama.cpp's 64-element IQ2_BN/IQ1_BN rows.
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
    /// The SIMD CPU engine (AVX-512 VNNI / AVX2 / NEON / scalar), bit-exact
    /// with the golden model; see --kernel, --threads, --fast-head.
    Simd,
    /// The golden model: scalar reference, defined summation order.
    Golden,
    /// The RTL accelerator simulated cycle by cycle by Verilator (slow; see
    /// --config, --weight-format).
    Rtl,
    /// The GPU kernels (wgpu: Vulkan, Metal, DX12; lavapipe on a CPU),
    /// bit-exact with the golden model; TRITIUM_GPU_KERNEL=dot4|shifts.
    Gpu,
    /// The same kernels in CUDA C (NVRTC, __dp4a) on an NVIDIA device; only
    /// in a tritium built with the `cuda` feature.
    Cuda,
}

/// Accelerator shapes of the RTL (the models are built in sim/src/configs.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArrayArg {
    /// 4 output columns x 5 lanes (20 weights per cycle), K up to 128 per
    /// tile (longer K in segments), 4 token rows; 2-bit weights on a 10-byte
    /// bus, base-3 on a 2-byte bus (a word takes two beats).
    Small,
    /// KV260 class: 64 columns x 5 lanes (320 weights per cycle) in base-3,
    /// 64 x 4 in 2-bit; K up to 8192; 16 token rows; 64-byte bus (16 GB/s at
    /// 250 MHz).
    Kv260,
}

/// Stored weight formats of the accelerator (rtl/INTERFACE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// 2 bits per weight, 4 per byte.
    #[value(name = "2bit")]
    TwoBit,
    /// Base-3, 5 weights per byte (1.6 bits per weight, as TQ1_0).
    Base3,
}

/// Name of the built model of a shape and format (`tritium_sim::ACCEL_CONFIGS`).
pub fn accel_model_name(array: ArrayArg, format: FormatArg) -> &'static str {
    match (array, format) {
        (ArrayArg::Small, FormatArg::TwoBit) => "acc2",
        (ArrayArg::Small, FormatArg::Base3) => "acc3",
        (ArrayArg::Kv260, FormatArg::TwoBit) => "kv260_2bit",
        (ArrayArg::Kv260, FormatArg::Base3) => "kv260",
    }
}

/// The accelerator and its memory, for `--backend rtl` and `cosim`.
#[derive(Debug, Clone, Args)]
pub struct RtlArgs {
    /// Accelerator shape.
    #[arg(long = "config", value_enum, default_value = "small")]
    pub array: ArrayArg,
    /// How weights are stored in memory and decoded by the accelerator.
    #[arg(long, value_enum, default_value = "base3")]
    pub weight_format: FormatArg,
    /// Token rows per job (each weight fetched is used for this many rows;
    /// at most the configuration's buffer rows). Default: all of them.
    #[arg(long, value_name = "T")]
    pub batch: Option<usize>,
    /// Weight memory bandwidth in bytes per cycle (fractions allowed).
    /// Default: the bus width (full rate).
    #[arg(long, value_name = "B")]
    pub mem_bytes_per_cycle: Option<f64>,
    /// Weight memory latency in cycles (read to data).
    #[arg(long, default_value_t = 1, value_name = "L")]
    pub mem_latency: u32,
    /// Accelerator clock, for simulated times in reports.
    #[arg(long, default_value_t = 250.0, value_name = "F")]
    pub clock_mhz: f64,
}

impl RtlArgs {
    /// The ids of these flags ([`super::applies()`]).
    pub const IDS: &'static [&'static str] = &[
        "array",
        "weight_format",
        "batch",
        "mem_bytes_per_cycle",
        "mem_latency",
        "clock_mhz",
    ];

    /// Name of the built model (`tritium_sim::ACCEL_CONFIGS`).
    #[cfg_attr(not(feature = "rtl"), allow(dead_code))]
    pub fn config_name(&self) -> &'static str {
        accel_model_name(self.array, self.weight_format)
    }

    /// Checks --clock-mhz (the others are checked against the built model).
    #[cfg_attr(not(feature = "rtl"), allow(dead_code))]
    pub fn check_clock(&self) -> Result<f64> {
        let f = self.clock_mhz;
        if f.is_finite() && (1e-3..=1e5).contains(&f) {
            Ok(f)
        } else {
            Err(Error::Usage(format!(
                "--clock-mhz {f}: expected 0.001..=100000"
            )))
        }
    }
}

/// Where the model comes from.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model: a Hugging Face checkpoint directory (config.json +
    /// *.safetensors [+ tokenizer.json]) or a GGUF file (bitnet.cpp I2_S,
    /// llama.cpp TQ1_0/TQ2_0 or ik_llama.cpp IQ2_BN/IQ1_BN; its tokenizer
    /// comes from a tokenizer.json next to it, else from the file's
    /// tokenizer.ggml.* metadata).
    #[arg(long, value_name = "DIR|FILE.gguf", conflicts_with_all = ["preset", "preset_seed"])]
    pub model: Option<PathBuf>,
    /// Built-in synthetic model (used when --model is not given).
    #[arg(long, value_enum, default_value = "tiny")]
    pub preset: PresetArg,
    /// Seed of the synthetic preset's weights.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub preset_seed: u64,
}

impl ModelArgs {
    /// The files this model is read from (none for a preset), for checking
    /// that no output replaces them.
    pub fn inputs(&self) -> tritium_util::Inputs {
        let mut i = tritium_util::Inputs::new();
        if let Some(p) = &self.model {
            i.add(p);
            // A GGUF file's tokenizer.json next to it is read too.
            if let Some(dir) = p.parent().filter(|_| !p.is_dir()) {
                i.add(&dir.join("tokenizer.json"));
            }
        }
        i
    }
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

/// Options of the SIMD engine.
#[derive(Debug, Args, Clone)]
pub struct SimdArgs {
    /// Kernel path of the SIMD engine: scalar, avx2, avx2-lut, avx512, neon or
    /// amx (default: the fastest this CPU has; also settable with
    /// TRITIUM_KERNEL).
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<String>,
    /// Worker threads of the SIMD engine (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Fast, approximate lm_head (logits differ from the golden model):
    /// `int8` (the default of a bare --fast-head) re-quantizes each head row
    /// to int8 with one scale (half the bytes of bf16; logits within ~1 %),
    /// or, for a head stored as Q6_K or Q8_0 blocks, computes from them
    /// with an int8 input per block (as llama.cpp does);
    /// `int4` to 4-bit blocks of 64 with a scale each (4.5 bits per weight, a
    /// quarter of bf16's bytes: the fastest decode; logits within ~10 %).
    #[arg(long, value_enum, value_name = "BITS", num_args = 0..=1, default_missing_value = "int8")]
    pub fast_head: Option<FastHeadArg>,
    /// Layout single-token decode reads the ternary weights from (lossless
    /// either way: the logits are the same bits).
    #[arg(long, value_enum, value_name = "LAYOUT", default_value = "auto")]
    pub body: BodyArg,
}

/// `--body`: see [`tritium_simd::Body`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BodyArg {
    /// base3 on the avx512 and amx paths (measured faster there); on avx2
    /// whichever of the two this CPU computes faster (timed at start, about
    /// a millisecond; `tritium bench` shows it); else 2bit.
    Auto,
    /// 2 bits per weight, the layout prompts always use.
    #[value(name = "2bit")]
    Bit2,
    /// A base-3 copy, five weights per byte (1.6 bits each): a fifth fewer
    /// bytes per token, kept next to the 2-bit weights (about 80 % more
    /// ternary weight memory, packed at load).
    Base3,
}

/// `--kv`: the KV cache's element type ([`tritium_golden::KvPrecision`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KvArg {
    /// f32, the golden model's cache (bit-exact logits).
    F32,
    /// IEEE binary16, rounded to nearest even as keys and values are cached.
    F16,
}

/// The approximate lm_head of `--fast-head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FastHeadArg {
    /// int8 rows, one f32 scale per row (W8A8); a Q6_K or Q8_0 head as stored.
    Int8,
    /// int4 blocks of 64 values, one f32 scale per block (W4A8).
    Int4,
}

/// `--kernel NAME` (or `TRITIUM_KERNEL`), parsed and checked against this CPU.
pub fn kernel_arg(kernel: Option<&str>) -> Result<Option<tritium_simd::Isa>> {
    if let Some(k) = kernel {
        return tritium_simd::parse_isa(k)
            .map(Some)
            .map_err(|e| Error::arg(format!("--kernel {k}"), e));
    }
    tritium_simd::isa_from_env().map_err(|e| Error::arg("TRITIUM_KERNEL", e))
}

impl SimdArgs {
    /// The ids of these flags ([`super::applies()`]).
    pub const IDS: &'static [&'static str] = &["kernel", "threads", "fast_head", "body"];

    /// `--threads` sizes rayon's global pool (once per process, before
    /// anything uses it), which both the kernels and the shared network code
    /// (rows, heads) run on.
    pub fn configure_threads(&self) -> Result<()> {
        let Some(n) = self.threads else {
            return Ok(());
        };
        tritium_simd::check_threads(n).map_err(|e| Error::arg(format!("--threads {n}"), e))?;
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
    pub fn backend(&self) -> Result<SimdBackend> {
        let isa = kernel_arg(self.kernel.as_deref())?;
        Ok(SimdBackend::new(SimdOptions {
            isa,
            threads: None,
            head: match self.fast_head {
                None => HeadMode::Exact,
                Some(FastHeadArg::Int8) => HeadMode::Q8,
                Some(FastHeadArg::Int4) => HeadMode::Q4,
            },
            body: match self.body {
                BodyArg::Auto => Body::Auto,
                BodyArg::Bit2 => Body::Bit2,
                BodyArg::Base3 => Body::Base3,
            },
        })?)
    }
}

/// A model ready to run, with its tokenizer (if any) and a name for reports.
pub struct LoadedForRun {
    pub model: Model,
    pub tokenizer: Option<TextTokenizer>,
    pub name: String,
}

/// Loads `--model DIR|FILE.gguf` or builds `--preset`.
pub fn load_model_args(a: &ModelArgs, quiet: bool) -> Result<LoadedForRun> {
    if let Some(path) = &a.model {
        let loaded = {
            let bar = Bar::new("loading layers", quiet);
            tritium_model::load(path, Some(&bar))?
        };
        let tokenizer = tritium_model::load_tokenizer(path)?;
        return Ok(LoadedForRun {
            model: loaded.model,
            tokenizer,
            name: path.display().to_string(),
        });
    }
    let preset = a.preset.preset();
    let model = {
        let bar = Bar::new("generating the preset's weights", quiet);
        tritium_model::synthetic::preset_model_with(preset, a.preset_seed, Some(&bar))?
    };
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

/// The RTL backend of the `RtlArgs` flags (every number checked, the
/// flag named).
#[cfg(feature = "rtl")]
pub fn rtl_backend(a: &RtlArgs) -> Result<tritium_rtl::RtlBackend> {
    let name = a.config_name();
    let cfg = tritium_rtl::AccelSimConfig::by_name(name)
        .ok_or_else(|| Error::Usage(format!("accelerator configuration {name} was not built")))?;
    a.check_clock()?;
    let batch = a.batch.unwrap_or(cfg.tokens);
    if !(1..=cfg.tokens).contains(&batch) {
        return Err(Error::Usage(format!(
            "--batch {batch}: expected 1..={} (the token rows of --config {}'s activation buffer)",
            cfg.tokens,
            a.array
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_string())
        )));
    }
    let mem = tritium_rtl::MemoryConfig {
        bytes_per_cycle: a.mem_bytes_per_cycle.unwrap_or(cfg.bus_bytes as f64),
        latency: a.mem_latency,
    };
    mem.check(cfg.bus_bytes).map_err(|m| {
        let flag = if m.contains("latency") {
            format!("--mem-latency {}", a.mem_latency)
        } else {
            format!("--mem-bytes-per-cycle {}", mem.bytes_per_cycle)
        };
        Error::Usage(format!("{flag}: {m}"))
    })?;
    tritium_rtl::RtlBackend::new(cfg, batch, mem).map_err(|e| tritium_rtl::Error::from(e).into())
}

/// The backend asked for.
pub fn make_backend(
    b: BackendArg,
    rtl: &RtlArgs,
    simd: &SimdArgs,
    model: &Model,
) -> Result<Box<dyn Backend>> {
    match b {
        BackendArg::Simd => {
            let mut s = simd.backend()?;
            s.prepare(model);
            Ok(Box::new(s))
        }
        BackendArg::Golden => Ok(Box::new(GoldenBackend)),
        #[cfg(feature = "rtl")]
        BackendArg::Rtl => Ok(Box::new(rtl_backend(rtl)?)),
        #[cfg(not(feature = "rtl"))]
        BackendArg::Rtl => {
            let _ = rtl;
            Err(Error::Usage(
                "this tritium was built without the `rtl` feature (Verilator)".into(),
            ))
        }
        BackendArg::Gpu => gpu_backend(model),
        BackendArg::Cuda => cuda_backend(model),
    }
}

/// The CUDA backend with every BitLinear of `model` uploaded.
#[cfg(feature = "cuda")]
pub fn cuda_backend(model: &Model) -> Result<Box<dyn Backend>> {
    let mut b = tritium_gpu::CudaBackend::new()?;
    b.prepare(model)?;
    Ok(Box::new(b))
}

#[cfg(not(feature = "cuda"))]
pub fn cuda_backend(_model: &Model) -> Result<Box<dyn Backend>> {
    Err(Error::Usage(
        "this tritium was built without the `cuda` feature (cargo build --features cuda)".into(),
    ))
}

/// The GPU backend with every BitLinear of `model` uploaded.
#[cfg(feature = "gpu")]
pub fn gpu_backend(model: &Model) -> Result<Box<dyn Backend>> {
    let kernel =
        tritium_gpu::kernel_from_env().map_err(|e| Error::arg(tritium_gpu::ENV_KERNEL, e))?;
    let mut b = tritium_gpu::GpuBackend::new(tritium_gpu::GpuOptions { kernel })?;
    b.prepare(model)?;
    Ok(Box::new(b))
}

#[cfg(not(feature = "gpu"))]
pub fn gpu_backend(_model: &Model) -> Result<Box<dyn Backend>> {
    Err(Error::Usage(
        "this tritium was built without the `gpu` feature (wgpu)".into(),
    ))
}

const DEFAULT_PROMPT: &str = "The ternary accelerator adds";

/// Token ids of `--tokens`, or of `--prompt` (default prompt if neither).
pub fn prompt_tokens(run: &LoadedForRun, p: &PromptArgs) -> Result<Vec<u32>> {
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
        (None, p, Some(tok)) => Ok(tok.encode(p.as_deref().unwrap_or(DEFAULT_PROMPT), true)?),
        (None, _, None) => Err(Error::Usage(format!(
            "{}: no tokenizer (tokenizer.json or GGUF tokenizer.ggml.*), so a text prompt cannot be tokenized; pass --tokens 1,2,3",
            run.name
        ))),
    }
}
