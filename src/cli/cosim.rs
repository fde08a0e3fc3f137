//! `tritium cosim`: the RTL against the golden model, whole network or one layer.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tritium_golden::Proj;
#[cfg(feature = "rtl")]
use tritium_util::Progress;

use super::applies::Needs;
use super::args::{ModelArgs, PromptArgs, RtlArgs};
#[cfg(feature = "rtl")]
use super::cosim_report::{show, write_json};
use super::error::{Error, Result};
use super::launch::LaunchArgs;

#[derive(Debug, Args)]
#[command(after_help = "\
Two modes: the whole network (a preset or --model, a prompt, -n decode
steps; --layers picks the layers whose BitLinears run on the RTL), or one
random BitLinear (--layer, with --n-out, --k, --rows and --seed). Exit
status: 0 PASS, 1 a divergence (located: layer, projection, token, output
row, K tile and cycle; the tile's waveform in --mismatch-wave) or an error,
2 an injected fault the workload never exercises.

Examples:
  tritium cosim                                   (tiny preset, small accelerator: seconds)
  tritium cosim --config kv260 --weight-format 2bit -n 8
  tritium cosim --model DIR --layers 0-3 --trace run.vcd
  tritium cosim --layer --n-out 300 --k 2560 --rows 4
  tritium cosim --inject-fault 1,up,5,17          (checker self-test: must fail and locate it)
  tritium cosim --shards 4 --launcher slurm       (parts in parallel, merged into one report)")]
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
    /// The accelerator and its memory.
    #[command(flatten)]
    pub rtl: RtlArgs,
    /// Write a VCD waveform of the whole run to FILE (large for big models).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Where the waveform of the first divergent tile goes (default:
    /// tritium-mismatch.vcd in the temporary directory, replaced freely).
    #[arg(long, value_name = "FILE")]
    pub mismatch_wave: Option<PathBuf>,
    /// Replace an existing --trace or --mismatch-wave file.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON report instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Single-layer mode: one BitLinear of shape --n-out x --k from random data.
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
    /// Check only part I of N (1 <= I <= N) of the whole-network run on the
    /// RTL: the golden pass covers the whole run, the RTL the part's groups
    /// of calls (balanced by MACs; the same cut in every part). Writes the
    /// part's JSON to --out (or stdout) and exits 0 whenever it wrote it:
    /// the verdict is `tritium cosim-merge`'s, over all N parts.
    #[arg(long, value_name = "I/N", conflicts_with_all = ["shards", "layer", "trace"])]
    pub shard: Option<String>,
    /// Cut the whole-network run into N parts (--shard), run them with
    /// --launcher (local processes or a Slurm job array) and merge them:
    /// the report of one process, in less wall time.
    #[arg(long, value_name = "N", conflicts_with_all = ["layer", "trace"])]
    pub shards: Option<usize>,
    /// How --shards runs its parts.
    #[command(flatten)]
    pub launch: LaunchArgs,
    /// Also write the JSON report (with --shard: the part) to FILE
    /// (atomically; an existing file needs --force).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Checker self-test: flip weight (ROW, COL) of LAYER's PROJ (q,k,v,o,gate,up,down)
    /// in what is fed to the RTL only, e.g. `1,up,5,17`. The run must then
    /// fail (exit 1) and locate it; a site the workload never exercises (a
    /// sign flip whose column only ever sees zero activations) is reported
    /// as NOT EXERCISED with exit 2. The layer must be one --layers runs.
    #[arg(long, value_name = "LAYER,PROJ,ROW,COL")]
    pub inject_fault: Option<String>,
}

impl CosimArgs {
    /// See [`super::applies()`].
    pub fn needs(&self) -> Vec<Needs> {
        vec![
            Needs::new(
                "single-layer mode (--layer)",
                self.layer,
                &["n_out", "k", "rows", "seed"],
            ),
            Needs::new(
                "whole-network mode (without --layer)",
                !self.layer,
                &[
                    "model",
                    "preset",
                    "preset_seed",
                    "prompt",
                    "tokens",
                    "decode_steps",
                    "layers",
                ],
            ),
        ]
        .into_iter()
        .chain(self.launch.needs("--shards", self.shards.is_some()))
        .collect()
    }
}

#[cfg_attr(not(feature = "rtl"), allow(dead_code))]
/// Parses `0,2-4` into a set of layer indices, each below `layers` (checked
/// before a range is expanded).
pub fn parse_layers(s: &str, layers: usize) -> Result<BTreeSet<usize>> {
    let bad = || Error::Usage(format!("--layers {s:?}: expected a list like 0,2-4"));
    let check = |l: usize| {
        if l < layers {
            Ok(l)
        } else {
            Err(Error::Usage(format!(
                "--layers {s:?}: layer {l} does not exist (the model has {layers}: 0-{})",
                layers.saturating_sub(1)
            )))
        }
    };
    let mut set = BTreeSet::new();
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
                set.extend(check(a)?..=check(b)?);
            }
            None => {
                set.insert(check(part.parse().map_err(|_| bad())?)?);
            }
        }
    }
    if set.is_empty() {
        return Err(bad());
    }
    Ok(set)
}

#[cfg_attr(not(feature = "rtl"), allow(dead_code))]
/// Parses `LAYER,PROJ,ROW,COL` of --inject-fault.
pub fn parse_fault(s: &str) -> Result<(usize, Proj, usize, usize)> {
    let bad = || {
        Error::Usage(format!(
            "--inject-fault {s:?}: expected LAYER,PROJ,ROW,COL, e.g. 1,up,5,17"
        ))
    };
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() != 4 {
        return Err(bad());
    }
    let proj = Proj::parse(parts[1]).ok_or_else(bad)?;
    let num = |i: usize| parts[i].parse::<usize>().map_err(|_| bad());
    Ok((num(0)?, proj, num(2)?, num(3)?))
}

/// Largest --n-out and --k of the single-layer mode (K as the golden
/// model's exact-i32 bound).
const MAX_LAYER_DIM: usize = 1 << 20;
/// Largest --rows of the single-layer mode.
const MAX_LAYER_ROWS: usize = 4096;
/// Most weights (and activations) of the single-layer mode's random data.
const MAX_LAYER_ELEMENTS: usize = 1 << 28;

/// Checks the single-layer shape before anything is allocated.
#[cfg_attr(not(feature = "rtl"), allow(dead_code))]
fn check_layer_shape(a: &CosimArgs) -> Result<()> {
    for (flag, v, max) in [
        ("--n-out", a.n_out, MAX_LAYER_DIM),
        ("--k", a.k, MAX_LAYER_DIM),
        ("--rows", a.rows, MAX_LAYER_ROWS),
    ] {
        if !(1..=max).contains(&v) {
            return Err(Error::Usage(format!("{flag} {v}: expected 1..={max}")));
        }
    }
    for (what, n) in [
        ("--n-out x --k", a.n_out.checked_mul(a.k)),
        ("--rows x --k", a.rows.checked_mul(a.k)),
    ] {
        if n.is_none_or(|n| n > MAX_LAYER_ELEMENTS) {
            return Err(Error::Usage(format!(
                "{what} = {} x {}: at most {MAX_LAYER_ELEMENTS} values",
                if what.starts_with("--n") {
                    a.n_out
                } else {
                    a.rows
                },
                a.k
            )));
        }
    }
    Ok(())
}

#[cfg(feature = "rtl")]
pub fn run(a: &CosimArgs) -> Result<ExitCode> {
    use tritium_golden::LinearId;
    use tritium_rtl::{
        merge, run_cosim_shard, run_layer_cosim, CosimOptions, LayerCosimOptions, PlantedFault,
        ShardSpec,
    };

    use super::args::{load_model_args, prompt_tokens, rtl_backend};
    use super::output::println;
    use super::progress::Bar;
    use tritium_util::output::check_stream_output_file;

    let shard = a
        .shard
        .as_deref()
        .map(|s| ShardSpec::parse(s).map_err(|e| Error::Usage(format!("--shard {e}"))))
        .transpose()?;
    let rtl_err = |e: tritium_rtl::SimError| Error::from(tritium_rtl::Error::from(e));
    let inputs = a.model.inputs();
    if let Some(t) = &a.trace {
        check_stream_output_file("--trace", t, a.force, &inputs)?;
    }
    let mismatch_wave = match &a.mismatch_wave {
        Some(p) => {
            check_stream_output_file("--mismatch-wave", p, a.force, &inputs)?;
            p.clone()
        }
        None => std::env::temp_dir().join("tritium-mismatch.vcd"),
    };
    let mut rtl = rtl_backend(&a.rtl)?;
    if let Some(t) = &a.trace {
        rtl.trace_to(t).map_err(rtl_err)?;
    }
    let report = if a.layer {
        check_layer_shape(a)?;
        if let Some(f) = &a.inject_fault {
            let (_, _, row, col) = parse_fault(f)?;
            if row >= a.n_out || col >= a.k {
                return Err(Error::Usage(format!(
                    "--inject-fault {f}: the layer is {} x {} (--n-out x --k)",
                    a.n_out, a.k
                )));
            }
            let id = LinearId::new(0, Proj::Q);
            rtl.plant_fault(PlantedFault { id, row, col });
        }
        let o = LayerCosimOptions {
            n: a.n_out,
            k: a.k,
            rows: a.rows,
            seed: a.seed,
            clock_mhz: a.rtl.clock_mhz,
        };
        // One call, run as whole jobs inside the model's native loop: no
        // steps to count, but a 2B4T-sized layer takes minutes on kv260.
        let bar = Bar::spinner(a.json);
        bar.message(&format!(
            "cosim: {} x {} layer, {} rows, on the RTL",
            a.n_out, a.k, a.rows
        ));
        let r = run_layer_cosim(&mut rtl, o, mismatch_wave)?;
        drop(bar);
        r
    } else {
        let run = load_model_args(&a.model, a.json)?;
        let prompt = prompt_tokens(&run, &a.prompt)?;
        if let Some(f) = &a.inject_fault {
            let (layer, proj, row, col) = parse_fault(f)?;
            let id = LinearId { layer, proj };
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
        let n = a.decode_steps;
        run.model
            .config()
            .check_request(prompt.len(), n)
            .map_err(|e| Error::arg(format!("--decode-steps {n}"), e))?;
        let num_layers = run.model.config().num_layers;
        let layers = a
            .layers
            .as_deref()
            .map(|s| parse_layers(s, num_layers))
            .transpose()?;
        if let (Some(set), Some(f)) = (&layers, &a.inject_fault) {
            let (layer, ..) = parse_fault(f)?;
            if !set.contains(&layer) {
                return Err(Error::Usage(format!(
                    "--inject-fault {f}: layer {layer} does not run on the RTL (--layers {})",
                    a.layers.as_deref().unwrap_or_default()
                )));
            }
        }
        let opts = CosimOptions {
            layers,
            decode_steps: a.decode_steps,
            mismatch_wave,
            clock_mhz: a.rtl.clock_mhz,
            shard: shard.unwrap_or_default(),
        };
        let bar = Bar::new("cosim: BitLinear calls", a.json);
        let part = run_cosim_shard(&run.model, &run.name, &mut rtl, &prompt, &opts, Some(&bar))
            .map_err(|e| match e {
                tritium_rtl::Error::NoSuchLayer { .. } => {
                    Error::arg(format!("--layers {}", a.layers.as_deref().unwrap_or("")), e)
                }
                e => e.into(),
            })?;
        drop(bar);
        if let Some(spec) = shard {
            // A part: written for the merge, whatever its verdict.
            let rtl_macs = part.rtl_macs();
            let summary = format!(
                "shard {spec}: {} groups, {rtl_macs} MACs on the RTL, {:.2} s ({:.2} s golden pass){}",
                part.groups.len(),
                part.wall_seconds,
                part.golden_seconds,
                if part.divergence.is_some() { ", stopped at a divergence" } else { "" }
            );
            match &a.out {
                Some(out) => {
                    write_json(out, &part, a.force, &inputs)?;
                    if !a.json {
                        println(&format!("{summary}; wrote {}", out.display()))?;
                    }
                }
                None => super::output::print_json(&part)?,
            }
            return Ok(ExitCode::SUCCESS);
        }
        merge(&[(run.name.clone(), part)])?
    };
    if a.trace.is_some() {
        rtl.trace_stop().map_err(rtl_err)?;
    }
    if let Some(out) = &a.out {
        write_json(out, &report, a.force, &inputs)?;
    }
    show(&report, a.json)
}

#[cfg(not(feature = "rtl"))]
pub fn run(_: &CosimArgs) -> Result<ExitCode> {
    Err(Error::Usage(
        "this tritium was built without the `rtl` feature (Verilator)".into(),
    ))
}
