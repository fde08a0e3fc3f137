//! `tritium bench`: the SIMD engine against this machine's memory bandwidth.

use clap::Args;
use tritium_simd::bench::{render, run_bench, BenchOptions};
use tritium_util::Progress;

use super::args::{kernel_arg, PresetArg};
use super::error::{Error, Result};
use super::output::{print, print_json};
use super::progress::Bar;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model shape whose matrices and whole network are measured.
    #[arg(long, value_enum, default_value = "2b4t")]
    pub preset: PresetArg,
    /// Thread counts to measure, e.g. 1,2.
    #[arg(long, value_delimiter = ',', default_value = "1,2", value_name = "N,N")]
    pub threads: Vec<usize>,
    /// Kernel path (scalar, avx2, avx512, neon, amx; default: the fastest present).
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
