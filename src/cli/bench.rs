//! `tritium bench`: the SIMD engine against this machine's memory bandwidth
//! (or, with `--backend gpu`, the GPU kernels: bench_gpu.rs).

use clap::Args;
use tritium_simd::bench::{render, run_bench, BenchOptions};
use tritium_util::Progress;

use super::applies::Needs;
use super::args::{kernel_arg, PresetArg};
use super::error::{Error, Result};
use super::output::{print, print_json};
use super::progress::Bar;

/// The engine `bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchBackend {
    Simd,
    Gpu,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tritium bench                                   (2B4T-shaped synthetic weights, 1 and 2 threads)
  tritium bench --model FILE.gguf --threads 2 --no-kernels   (a file, the whole model only)
  tritium bench --preset small --kernels-only --kernel avx2-lut
  tritium bench --backend gpu --preset small")]
pub struct BenchArgs {
    /// The engine measured: the SIMD CPU engine or the GPU kernels.
    #[arg(long, value_enum, default_value = "simd")]
    pub backend: BenchBackend,
    /// Memory bandwidth of the GPU in GB/s (wgpu does not report it): the
    /// kernel's weight throughput is then also given as a fraction of it.
    #[arg(long, value_name = "GBPS")]
    pub gpu_bandwidth: Option<f64>,
    /// Model shape whose matrices and whole network are measured.
    #[arg(long, value_enum, default_value = "2b4t")]
    pub preset: PresetArg,
    /// Measure this checkpoint instead of a synthetic preset: a GGUF file
    /// or a Hugging Face directory, any format `infer --model` reads. The
    /// kernels are timed at its shapes, the whole model with its weights;
    /// the report gives its size as stored next to the bytes the engine
    /// reads per token.
    #[arg(long, value_name = "PATH", conflicts_with = "preset")]
    pub model: Option<std::path::PathBuf>,
    /// Thread counts to measure, e.g. 1,2.
    #[arg(long, value_delimiter = ',', default_value = "1,2", value_name = "N,N")]
    pub threads: Vec<usize>,
    /// Kernel path (scalar, avx2, avx2-lut, avx512, neon, amx; default: the fastest present).
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<String>,
    /// Prompt length of the prefill measurement (also the batch of the
    /// prefill kernel rows); the whole-model prefill is the fastest of three
    /// forwards of the prompt on fresh sessions.
    #[arg(long, default_value_t = 128, value_name = "N")]
    pub prefill_tokens: usize,
    /// Decode steps timed, in pairs of two tokens each right after one
    /// bandwidth pass ("of floor" is the median of the pairs' ratios; "of
    /// best" is mean speed against the best bandwidth of the whole run).
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub decode_tokens: usize,
    /// Positions cached (one prompt forward) before the timed decode steps:
    /// each step's attention reads their keys and values (the "KV MB"
    /// column; a longer context shows what the f16 cache, row `-kv16`,
    /// saves). Also the positions of the attention kernel rows (one decode
    /// step's attention of one layer) from 64 on; below that, those rows
    /// attend to 2,048 (or the model's context, if shorter).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub context: usize,
    /// Timed calls per kernel measurement, the fastest reported: decode
    /// rows each from cold caches; prompt rows warm, and at least a quarter
    /// second of them.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub reps: usize,
    /// Only the kernels and the bandwidth, not the whole model.
    #[arg(long, conflicts_with = "no_kernels")]
    pub kernels_only: bool,
    /// Only the bandwidth and the whole model, not the kernels (what
    /// `make bench-peers` needs).
    #[arg(long)]
    pub no_kernels: bool,
    /// Skip the comparison of the two kernel families (lookup-table vs
    /// multiply-add, AVX2 decode).
    #[arg(long)]
    pub no_families: bool,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Most tokens of a bench's prefill or decode measurement (the 2B4T
/// context is 4096).
const MAX_BENCH_TOKENS: usize = 4096;

impl BenchArgs {
    /// See [`super::applies()`].
    pub fn needs(&self) -> Vec<Needs> {
        vec![
            Needs::new(
                "--backend gpu",
                self.backend == BenchBackend::Gpu,
                &["gpu_bandwidth"],
            ),
            Needs::new(
                "--backend simd (the GPU kernel: TRITIUM_GPU_KERNEL=dot4|shifts)",
                self.backend == BenchBackend::Simd,
                &["threads", "kernel", "no_families", "no_kernels", "context"],
            ),
        ]
    }
}

pub fn run(a: &BenchArgs) -> Result<()> {
    if a.threads.is_empty() || a.threads.len() > 16 {
        return Err(Error::Usage("--threads: give 1 to 16 thread counts".into()));
    }
    for &n in &a.threads {
        tritium_simd::check_threads(n).map_err(|e| Error::arg(format!("--threads {n}"), e))?;
    }
    for (flag, v, max) in [
        ("--prefill-tokens", a.prefill_tokens, MAX_BENCH_TOKENS),
        ("--decode-tokens", a.decode_tokens, MAX_BENCH_TOKENS),
        ("--context", a.context, MAX_BENCH_TOKENS),
        ("--reps", a.reps, 1000),
    ] {
        if !(1..=max).contains(&v) {
            return Err(Error::Usage(format!("{flag} {v}: expected 1..={max}")));
        }
    }
    if a.backend == BenchBackend::Gpu {
        return run_gpu(a);
    }
    let isa = kernel_arg(a.kernel.as_deref())?;
    let preset = a.preset.preset();
    let bar = Bar::spinner(a.json);
    // A file is loaded first (its shape sets the kernels'); a preset's
    // synthetic model after the kernels, only if the whole model runs.
    let loaded = match &a.model {
        Some(path) => {
            bar.message(&format!("loading {}", path.display()));
            let m = tritium_model::load(path, None)?.model;
            Some((m, file_bytes(path)?))
        }
        None => None,
    };
    let opts = BenchOptions {
        config: match &loaded {
            Some((m, _)) => m.config().clone(),
            None => preset.config(),
        },
        model_name: match &a.model {
            Some(p) => p.display().to_string(),
            None => preset.name().to_string(),
        },
        file_bytes: loaded.as_ref().map(|l| l.1),
        threads: a.threads.clone(),
        isa,
        prefill_tokens: a.prefill_tokens,
        decode_tokens: a.decode_tokens,
        context: a.context,
        cold_reps: a.reps,
        kernels: !a.no_kernels,
        families: !a.no_families,
        progress: !a.json,
    };
    // Decode steps run in pairs: an odd count rounds up.
    let positions = a.context + a.decode_tokens.next_multiple_of(2);
    let max = opts.config.max_position_embeddings;
    if !a.kernels_only && positions > max {
        return Err(Error::Usage(format!(
            "--context {} with --decode-tokens {}: {positions} positions, more than the model's context of {max}",
            a.context, a.decode_tokens
        )));
    }
    if !a.no_kernels && a.context > max {
        return Err(Error::Usage(format!(
            "--context {}: the attention kernel rows would attend to more positions than the model's context of {max}",
            a.context
        )));
    }
    let model = if a.kernels_only {
        None
    } else if let Some((m, _)) = loaded {
        Some(m)
    } else {
        bar.message(&format!(
            "building the synthetic {} model (in memory)",
            preset.name()
        ));
        Some(tritium_model::synthetic::preset_model(preset, 1)?)
    };
    let report = run_bench(&opts, model.as_ref(), |m| bar.message(m))?;
    drop(bar);
    if a.json {
        print_json(&report)
    } else {
        print(&render(&report))
    }
}

/// Bytes of a model as stored: the file, or every regular file of a
/// checkpoint directory (weights, config, tokenizer).
fn file_bytes(path: &std::path::Path) -> Result<u64> {
    let meta = |p: &std::path::Path| {
        std::fs::metadata(p).map_err(|e| Error::Usage(format!("--model {}: {e}", p.display())))
    };
    if !path.is_dir() {
        return Ok(meta(path)?.len());
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| Error::Usage(format!("--model {}: {e}", path.display())))?;
    let mut total = 0u64;
    for e in entries {
        let e = e.map_err(|e| Error::Usage(format!("--model {}: {e}", path.display())))?;
        let m = meta(&e.path())?;
        if m.is_file() {
            total = total.saturating_add(m.len());
        }
    }
    Ok(total)
}

/// `bench --backend gpu` (the SIMD-only flags refused).
#[cfg(feature = "gpu")]
fn run_gpu(a: &BenchArgs) -> Result<()> {
    let preset = a.preset.preset();
    let bar = Bar::spinner(a.json);
    let (model, name) = match &a.model {
        Some(path) => {
            bar.message(&format!("loading {}", path.display()));
            let m = tritium_model::load(path, None)?.model;
            (m, path.display().to_string())
        }
        None => {
            bar.message(&format!(
                "building the synthetic {} model (in memory)",
                preset.name()
            ));
            let m = tritium_model::synthetic::preset_model(preset, 1)?;
            (m, format!("preset {}", preset.name()))
        }
    };
    drop(bar);
    super::bench_gpu::run(&super::bench_gpu::GpuBench {
        model: &model,
        model_name: &name,
        prefill_tokens: a.prefill_tokens,
        decode_tokens: a.decode_tokens,
        reps: a.reps,
        bandwidth_gbps: a.gpu_bandwidth,
        kernels_only: a.kernels_only,
        json: a.json,
    })
}

#[cfg(not(feature = "gpu"))]
fn run_gpu(_a: &BenchArgs) -> Result<()> {
    Err(Error::Usage(
        "this tritium was built without the `gpu` feature (wgpu)".into(),
    ))
}
