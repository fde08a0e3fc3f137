//! The `tritium` command line: one module per command, each turning its
//! arguments into calls of the library crates. `main.rs` only calls [`main`].

mod applies;
mod args;
mod bench;
#[cfg(feature = "gpu")]
mod bench_gpu;
mod checkpoint;
mod cosim;
#[cfg(feature = "rtl")]
mod cosim_report;
mod error;
mod infer;
mod launch;
mod output;
mod progress;
mod report;
mod shards;
mod sweep;
mod sweep_point;
mod synth;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    Infer(infer::InferArgs),
    /// Write a synthetic checkpoint from a preset and a seed: a Hugging Face
    /// directory, or one GGUF file (--format gguf-i2s|gguf-tq2|gguf-tq1|gguf-iq2bn|gguf-iq1bn).
    GenModel(checkpoint::GenModelArgs),
    /// Convert between a Hugging Face packed checkpoint directory and a GGUF
    /// file (I2_S by default). The direction follows --from: a directory
    /// becomes a GGUF file, a GGUF file becomes a directory.
    Convert(checkpoint::ConvertArgs),
    /// Co-simulate the RTL ternary MAC array (Verilator) against the golden model:
    /// every BitLinear of every layer, every accumulator compared with ==.
    Cosim(cosim::CosimArgs),
    /// Join the parts of a sharded co-simulation (`cosim --shard I/N --out
    /// FILE`, all N of one run) into the report one process gives: the same
    /// table and totals, the first divergence in run order.
    CosimMerge(shards::MergeArgs),
    /// Measure the SIMD CPU engine: memory bandwidth, kernel GB/s and GMAC/s
    /// per 2B4T matrix shape, whole-model decode and prefill tokens/s, decode
    /// as a fraction of the memory-bandwidth floor.
    Bench(bench::BenchArgs),
    /// Energy and latency report: ternary vs FP16 vs INT8 arithmetic and
    /// memory traffic per token, from the paper's and a detailed cost model,
    /// array cycles and the memory roofline; report.md, report.json, plots.
    Report(report::ReportArgs),
    /// FPGA synthesis of the ternary MAC array next to INT8 and FP16
    /// multiply-accumulate designs, of the accelerator tri_accel and its
    /// weight decoders (Yosys + nextpnr-ice40): LUTs, FFs, carry cells,
    /// DSPs, BRAM and Fmax, plus standard-cell areas, written to fpga/results/.
    Synth(synth::SynthArgs),
    /// Design-space sweep over array geometry, weight format, batch, memory
    /// bandwidth, clock and node: each point's cycles measured on the RTL
    /// (extrapolated over output tiles), energy and latency per token from
    /// the cost model, ASIC area and FPGA resources from the synthesis
    /// results; sweep.json, sweep.md and Pareto plots. Cached: a re-run
    /// measures only what changed.
    Sweep(sweep::SweepArgs),
    /// One RTL measurement of a sweep (run by `tritium sweep`'s launcher).
    #[command(hide = true)]
    SweepPoint(sweep_point::SweepPointArgs),
}

impl Command {
    /// The flags of this command that mean something in one of its modes
    /// only ([`applies()`]).
    fn needs(&self) -> Vec<applies::Needs> {
        match self {
            Command::Infer(a) => a.needs(),
            Command::GenModel(a) => a.needs(),
            Command::Convert(a) => a.needs(),
            Command::Cosim(a) => a.needs(),
            Command::Bench(a) => a.needs(),
            Command::Report(a) => a.needs(),
            Command::Synth(a) => a.needs(),
            Command::Sweep(a) => a.launch.needs("tritium sweep", true).into(),
            Command::CosimMerge(_) | Command::SweepPoint(_) => Vec::new(),
        }
    }
}

/// Parses the command line (refusing flags given where they mean nothing),
/// runs it, and maps errors to a message (with every cause) and exit code 1.
pub fn main() -> ExitCode {
    let mut cmd = Cli::command();
    let matches = cmd.get_matches_mut();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let r = applies(&cmd, &matches, &cli.command).and_then(|()| run(&cli.command));
    match r {
        Ok(code) => code,
        // The reader of our output is gone: what it read was complete.
        Err(error::Error::StdoutClosed) => ExitCode::SUCCESS,
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

/// [`applies::check`] of the subcommand given.
fn applies(
    cli: &clap::Command,
    matches: &clap::ArgMatches,
    command: &Command,
) -> error::Result<()> {
    match matches.subcommand() {
        Some((name, sub)) => match cli.find_subcommand(name) {
            Some(cmd) => applies::check(cmd, sub, &command.needs()),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// Runs one command.
fn run(command: &Command) -> error::Result<ExitCode> {
    let ok = |r: error::Result<()>| r.map(|()| ExitCode::SUCCESS);
    match command {
        Command::Infer(a) => ok(infer::run(a)),
        Command::GenModel(a) => ok(checkpoint::run_gen_model(a)),
        Command::Convert(a) => ok(checkpoint::run_convert(a)),
        Command::Cosim(a) => match a.shards {
            Some(n) => shards::run_sharded(a, n),
            None => cosim::run(a),
        },
        Command::CosimMerge(a) => shards::run_merge(a),
        Command::Bench(a) => ok(bench::run(a)),
        Command::Report(a) => ok(report::run(a)),
        Command::Synth(a) => ok(synth::run(a)),
        Command::Sweep(a) => ok(sweep::run(a)),
        Command::SweepPoint(a) => ok(sweep_point::run(a)),
    }
}
