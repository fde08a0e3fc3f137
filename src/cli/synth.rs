//! `tritium synth`: the FPGA flow (Yosys, nextpnr-ice40) and its plot.

use std::path::PathBuf;

use clap::Args;
use tritium_fpga::{ArraySize, Family, SweepConfig};

use super::applies::Needs;
use super::error::{Error, Result};
use super::progress::Bar;

/// `tritium synth`: runs Yosys (and nextpnr-ice40) over the RTL of rtl/files.f.
///
/// For each array size it synthesizes the ternary `tri_mac_array` and the
/// INT8 `int8_mac_array` (same shape and control), and per PE `tri_pe`,
/// `int8_pe`, `fp16_mul` and the FP16 MAC unit `fp16_mac_pe`; FP16 arrays are
/// estimated as Cols*Lanes MAC units. For each accelerator configuration it
/// synthesizes the accelerator `tri_accel` and its weight decoder
/// (`tri_wdec`; plus one base-3 byte decoder `tri_dec_base3`), and for the
/// asic family the configuration's array, with areas from a Liberty file.
/// Then it places and routes a small array of each kind on an iCE40 HX8K
/// for an Fmax. Writes results.json, results.md and resources.svg/.png to
/// --out. Needs yosys (installed by scripts/install-deps.sh) and, for P&R,
/// nextpnr-ice40 (fpga/install-pnr.sh). The default sweep takes over an
/// hour on 2 cores (the KV260-class accelerators are minutes each); --update
/// refreshes a part of it.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Array sizes, COLSxLANES (output channels x activations per beat).
    #[arg(long, value_delimiter = ',', value_name = "CxL,..")]
    #[arg(default_value = "1x8,4x8,8x8,16x16")]
    pub sizes: Vec<String>,
    /// Synthesis targets: generic (Yosys gates), ice40, xilinx (7-series),
    /// xcup (UltraScale+, as on the AMD KV260), asic (standard cells of
    /// --liberty: PEs, decoders and the accelerators' arrays only).
    #[arg(long, value_delimiter = ',', value_name = "F,..")]
    #[arg(default_value = "generic,ice40,xilinx,xcup,asic")]
    pub families: Vec<String>,
    /// Accelerator configurations (tri_accel): presets small-2bit,
    /// small-base3, kv260-base3, kv260-2bit, or CxL:FORMAT:kKMAX:tTMAX:bBUS
    /// (e.g. 64x5:base3:k8192:t16:b64). Empty: none.
    #[arg(long, value_delimiter = ',', value_name = "A,..")]
    #[arg(default_value = "small-2bit,small-base3,kv260-base3,kv260-2bit")]
    pub accels: Vec<String>,
    /// Skip the weight decoders alone (tri_wdec per accelerator, tri_dec_base3).
    #[arg(long)]
    pub no_decoders: bool,
    /// Liberty file (plain or .gz) of the asic family [default:
    /// ../shared/pdk/sky130_fd_sc_hd__tt_025C_1v80.lib.gz under --root].
    #[arg(long, value_name = "FILE")]
    pub liberty: Option<PathBuf>,
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
    /// Replace the results already in --out.
    #[arg(long)]
    pub force: bool,
    /// Merge into the results already in --out (their results.json must
    /// exist and come from the same Yosys and KMax): the rows this run
    /// measures replace the same rows, every other row is kept. For
    /// refreshing part of the sweep, e.g. --sizes '' --no-pnr --families xcup.
    #[arg(long)]
    pub update: bool,
}

impl SynthArgs {
    /// See [`super::applies()`].
    pub fn needs(&self) -> Vec<Needs> {
        let asic = self.families.iter().any(|f| f.trim() == "asic");
        vec![Needs::new(
            "the asic family (--families with asic)",
            asic,
            &["liberty"],
        )]
    }
}

fn size_arg(flag: &str, s: &str) -> Result<ArraySize> {
    ArraySize::parse(s).map_err(|e| Error::arg(format!("{flag} {s}"), e))
}

/// The files `tritium synth` writes into --out.
const RESULT_FILES: [&str; 4] = [
    "results.json",
    "results.md",
    "resources.svg",
    "resources.png",
];

/// Most tool processes `--jobs` runs at once.
const MAX_JOBS: usize = 256;

pub fn run(a: &SynthArgs) -> Result<()> {
    if !(1..=MAX_JOBS).contains(&a.jobs) {
        return Err(Error::Usage(format!(
            "--jobs {}: expected 1..={MAX_JOBS} (tool processes at once)",
            a.jobs
        )));
    }
    let inputs = tritium_util::Inputs::new().with(&a.root.join("rtl"));
    tritium_util::output::check_output_dir(
        "--out",
        &a.out,
        &RESULT_FILES,
        a.force || a.update,
        &inputs,
    )?;
    // Read first: a missing or incompatible file fails before the sweep.
    let earlier = if a.update {
        Some(tritium_fpga::load_results(a.out.join("results.json"))?)
    } else {
        None
    };
    let mut cfg = SweepConfig::new(&a.root);
    cfg.sizes = a
        .sizes
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| size_arg("--sizes", s))
        .collect::<Result<_>>()?;
    cfg.families = a
        .families
        .iter()
        .map(|f| {
            Family::parse(f.trim()).ok_or_else(|| {
                Error::Usage(format!(
                    "--families: unknown family `{f}` (expected generic, ice40, xilinx, xcup or asic)"
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
        Some(size_arg("--pnr", &a.pnr)?)
    };
    cfg.pes = !a.no_pes;
    cfg.accels = a
        .accels
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| tritium_fpga::parse_accel(s).map_err(|e| Error::arg(format!("--accels {s}"), e)))
        .collect::<Result<_>>()?;
    cfg.decoders = !a.no_decoders;
    if let Some(lib) = &a.liberty {
        cfg.liberty = lib.clone();
    }
    if a.k_max == 0 || a.k_max > 1 << 16 {
        return Err(Error::Usage(format!(
            "--k-max {}: expected 1..=65536 (the INT8 accumulator must fit 31 bits)",
            a.k_max
        )));
    }
    cfg.k_max = a.k_max;
    cfg.jobs = a.jobs;
    cfg.work_dir = a.work.clone();
    let out_dir = a.out.clone();
    let results = {
        let bar = Bar::new("synthesis: tool runs", false);
        tritium_fpga::run_sweep(&cfg, Some(&bar))?
    };
    let results = match earlier {
        Some(old) => old.merge(results).map_err(|m| {
            Error::Usage(format!(
                "--update: {} {m}",
                a.out.join("results.json").display()
            ))
        })?,
        None => results,
    };
    tritium_fpga::write_results(&results, &out_dir)?;
    tritium_cost::fpga_plot::write_plots(&results, &out_dir)?;
    if a.json {
        super::output::print_json(&results)?;
    } else {
        super::output::print(
            &(tritium_fpga::markdown_table(&results)
                + "
"),
        )?;
    }
    eprintln!(
        "tritium synth: {} results in {:.0} s, written to {}",
        results.units.len() + results.pnr.len(),
        results.seconds,
        out_dir.display()
    );
    Ok(())
}
