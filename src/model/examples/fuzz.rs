//! The fuzz campaign over tritium's model loaders, as one command (stable
//! Rust; no cargo-fuzz). Targets (see `tritium_model::fuzz`):
//!
//! - `gguf`: mutants of small GGUF files (tiny I2_S; tiny256 TQ2_0, TQ1_0,
//!   IQ2_BN, IQ1_BN; BF16, F32 and Q8_0 embeddings; ik_llama.cpp's own
//!   IQ2_BN + Q6_K and IQ1_BN files), parsed, loaded, tokenizer built from
//!   metadata;
//! - `safetensors`: mutants of the tiny preset's model.safetensors (packed
//!   and bf16), parsed as a shard and assembled as a checkpoint directory;
//! - `config`: mutants of config.json, through parse_config, validate and
//!   the loader's shape checks.
//!
//! Every input runs under `catch_unwind` and is timed: a panic or an input
//! slower than `--max-input-ms` (1000) stops the target and saves the input
//! to `--out` (the temp directory); an input still running after 10 times
//! that is saved and the process exits with status 3. Runs are
//! deterministic: input `i` of `--seed s` replays with `--skip i`, and the
//! progress lines say where to resume after a crash. The exit status is 1
//! if any target failed (2: bad arguments).
//!
//! ```sh
//! cargo run --release -p tritium-model --features fuzzing --example fuzz -- \
//!     --target all --inputs 1000000 --seed 1
//! ```
//!
//! Options: `--target gguf|safetensors|config|all` (all), `--inputs N`
//! (1000000 per target), `--seed S` (1), `--skip K` (0), `--seconds T` (a
//! time budget per target), `--base NAME` (one GGUF base only, e.g.
//! `tiny256-tq2` or `ik-iq2bn-q6k`; a wrong name lists them), `--progress N` (a line every N inputs;
//! 100000), `--max-input-ms MS` (1000), `--out DIR`, `--threads N` (rayon
//! threads; 1), `--trace` (print every input's number to stderr first).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tritium_model::fuzz::{config::ConfigTarget, run, shard::SafetensorsTarget, Campaign, Target};
use tritium_model::gguf::fuzz::{GgufBase, GgufTarget, ALL_BASES};

/// The command line.
struct Args {
    targets: Vec<String>,
    bases: Vec<GgufBase>,
    campaign: Campaign,
    progress: u64,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut a = Args {
        targets: vec!["gguf".into(), "safetensors".into(), "config".into()],
        bases: ALL_BASES.to_vec(),
        campaign: Campaign::new(1, 1_000_000),
        progress: 100_000,
        threads: 1,
    };
    a.campaign.out_dir = Some(std::env::temp_dir());
    let mut max_input_ms = 1000u64;
    while let Some(flag) = args.next() {
        if flag == "--trace" {
            a.campaign.trace = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = || {
            value
                .replace('_', "")
                .parse::<u64>()
                .map_err(|_| format!("{flag} {value}: not a non-negative integer"))
        };
        match flag.as_str() {
            "--target" => {
                a.targets = match value.as_str() {
                    "all" => a.targets.clone(),
                    "gguf" | "safetensors" | "config" => vec![value.clone()],
                    _ => {
                        return Err(format!(
                            "--target {value}: gguf, safetensors, config or all"
                        ))
                    }
                }
            }
            "--base" => {
                let base = ALL_BASES
                    .iter()
                    .find(|b| b.name() == value)
                    .ok_or_else(|| {
                        let names: Vec<String> = ALL_BASES.iter().map(|b| b.name()).collect();
                        format!("--base {value}: one of {}", names.join(", "))
                    })?;
                a.bases = vec![*base];
            }
            "--inputs" => a.campaign.inputs = num()?,
            "--seed" => a.campaign.seed = num()?,
            "--skip" => a.campaign.skip = num()?,
            "--seconds" => a.campaign.budget = Some(Duration::from_secs(num()?)),
            "--progress" => a.progress = num()?,
            "--max-input-ms" => max_input_ms = num()?.max(1),
            "--threads" => a.threads = num()?.clamp(1, 64) as usize,
            "--out" => a.campaign.out_dir = Some(PathBuf::from(&value)),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    a.campaign.max_input_time = Duration::from_millis(max_input_ms);
    a.campaign.watchdog = Some(Duration::from_millis(max_input_ms.saturating_mul(10)));
    Ok(a)
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fuzz: {e} (see the doc comment of examples/fuzz.rs)");
            return ExitCode::from(2);
        }
    };
    // One worker thread by default: the loaders decode layers with rayon,
    // and a campaign should not take the whole machine.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads)
        .build_global();
    tritium_model::fuzz::quiet_panic_hook();
    let c = &a.campaign;
    println!(
        "fuzz: targets {}, {} inputs each from input {}, seed {}, hang limit {} ms, failures saved to {}",
        a.targets.join(", "),
        c.inputs,
        c.skip,
        c.seed,
        c.max_input_time.as_millis(),
        c.out_dir.as_ref().map_or("nowhere".into(), |d| d.display().to_string())
    );
    let mut failed = false;
    let mut summaries = Vec::new();
    for name in &a.targets {
        let target: Box<dyn Target> = match name.as_str() {
            "gguf" => Box::new(GgufTarget::new(&a.bases).expect("GGUF base files")),
            "safetensors" => Box::new(SafetensorsTarget::new().expect("safetensors bases")),
            _ => Box::new(ConfigTarget::new().expect("config bases")),
        };
        let r = run(target.as_ref(), c, a.progress, &mut |r| {
            println!(
                "  {}: {} inputs, {:.0} s, {:.0}/s, {} parsed, slowest {:.2} ms; after a crash resume with --target {} --seed {} --skip {}",
                r.target,
                r.inputs,
                r.elapsed.as_secs_f64(),
                r.rate(),
                r.parsed,
                r.slowest.as_secs_f64() * 1e3,
                r.target,
                r.seed,
                r.first + r.inputs
            );
        });
        println!("{}", r.summary());
        failed |= r.failure.is_some();
        summaries.push(r.summary());
    }
    if a.targets.len() > 1 {
        println!("summary:");
        for s in &summaries {
            println!("  {s}");
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
