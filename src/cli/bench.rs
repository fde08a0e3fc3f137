//! `tritium bench`: the SIMD engine against this machine's memory bandwidth
//! (or, with `--backend gpu`, the GPU kernels: bench_gpu.rs).

use clap::Args;
use tritium_simd::bench::{render, run_bench, BenchOptions};
use tritium_util::Progress;

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

/// Most tokens of a bench's prefill or decode measurement (the 2B4T
/// context is 4096).
const MAX_BENCH_TOKENS: usize = 4096;

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
        ("--reps", a.reps, 1000),
    ] {
        if !(1..=max).contains(&v) {
            return Err(Error::Usage(format!("{flag} {v}: expected 1..={max}")));
        }
    }
    if a.backend == BenchBackend::Gpu {
        return run_gpu(a);
    }
    if a.gpu_bandwidth.is_some() {
        return Err(Error::Usage(
            "--gpu-bandwidth applies to --backend gpu only".into(),
        ));
    }
    let isa = kernel_arg(a.kernel.as_deref())?;
    let preset = a.preset.preset();
    let opts = BenchOptions {
        preset,
        threads: a.threads.clone(),
        isa,
        prefill_tokens: a.prefill_tokens,
        decode_tokens: a.decode_tokens,
        cold_reps: a.reps,
        families: !a.no_families,
        progress: !a.json,
    };
    let bar = Bar::spinner(a.json);
    let model = if a.kernels_only {
        None
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

/// `bench --backend gpu` (the SIMD-only flags refused).
#[cfg(feature = "gpu")]
fn run_gpu(a: &BenchArgs) -> Result<()> {
    if a.kernel.is_some() || a.no_families {
        return Err(Error::Usage(
            "--kernel and --no-families apply to --backend simd only (the GPU kernel: TRITIUM_GPU_KERNEL=dot4|shifts)".into(),
        ));
    }
    let preset = a.preset.preset();
    let bar = Bar::spinner(a.json);
    bar.message(&format!(
        "building the synthetic {} model (in memory)",
        preset.name()
    ));
    let model = tritium_model::synthetic::preset_model(preset, 1)?;
    drop(bar);
    super::bench_gpu::run(&super::bench_gpu::GpuBench {
        model: &model,
        model_name: &format!("preset {}", preset.name()),
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
