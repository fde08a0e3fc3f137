//! `tritium report`: the arguments, turned into a [`ReportRequest`] of the
//! cost crate (which checks, builds and writes the report).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tritium_cost::decoder::SynthFigures;
use tritium_cost::report::Mode;
use tritium_cost::write::{to_json, write};
use tritium_cost::{
    accel_pair, AccelOptions, CostOptions, EnergyTable, Node, ReportRequest, Workload,
    ZeroFractions, DEFAULT_OPTIONS, MAX_DECODE_TOKENS, MAX_PROMPT_TOKENS,
};
use tritium_golden::{ArrayConfig, ModelConfig, Preset};

use tritium_util::output::check_output_dir;
use tritium_util::Inputs;

use super::applies::Needs;
use super::args::PresetArg;
use super::error::{Error, Result};
use super::output::{print, println};

/// Built-in technology nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NodeArg {
    #[value(name = "45nm")]
    N45,
    #[value(name = "7nm")]
    N7,
}

/// Which mode the energy-per-token plot and the summary line show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// The b1.58 paper: BitLinear arithmetic only, ternary MAC = one INT8 add.
    Paper,
    /// Real accumulator widths, zero-weight skipping, memory traffic,
    /// attention and the LM head.
    Detailed,
}

/// Arguments of `tritium report`.
#[derive(Debug, Args, Clone)]
#[command(after_help = "\
Examples:
  tritium report --preset 2b4t --node 7nm --out reports/2b4t-7nm
  tritium report --model ~/bitnet-b1.58-2B-4T --node 45nm --out /tmp/r   (zero weights counted from the checkpoint)
  tritium cosim --json > cosim.json && tritium report --preset tiny --from-cosim cosim.json --out /tmp/r
  tritium report --preset 2b4t --from-cosim decode.json --from-cosim prefill.json --published kv260 --out /tmp/kv

Energy per operation comes from a table with the source of every number
(reports/energy/7nm.toml and 45nm.toml are built in). The report holds both
modes: 'paper' (the b1.58 paper: arithmetic only, a ternary MAC = one INT8
add: 71.4x at 7nm, 50x at 45nm) and 'detailed' (accumulator-width adds,
zero weights skipped, weights/activations/KV cache through SRAM and DRAM,
attention and the LM head). --mode picks which one the headline uses.
The ternary variants run on the accelerator tri_accel (2-bit: the --cols x
--lanes array; base-3: its twin with 5/4 the lanes on the same bus), its
cycles from the analytic model or, with --from-cosim, measured on the RTL.")]
pub struct ReportArgs {
    /// Built-in model shape (used when --model is not given).
    #[arg(long, value_enum, default_value = "2b4t")]
    pub preset: PresetArg,
    /// A Hugging Face checkpoint directory (zero weights are counted from
    /// its weights) or a config.json file alone (shape only).
    #[arg(long, value_name = "PATH", conflicts_with = "preset")]
    pub model: Option<PathBuf>,
    /// Technology node of the built-in energy table.
    #[arg(long, value_enum, default_value = "7nm")]
    pub node: NodeArg,
    /// Your own energy table (TOML or JSON, the schema of
    /// reports/energy/7nm.toml); replaces --node's table.
    #[arg(long, value_name = "FILE", conflicts_with = "node")]
    pub energy: Option<PathBuf>,
    /// Which mode the energy-per-token plot and the summary line show
    /// (report.md and report.json always hold both).
    #[arg(long, value_enum, default_value = "detailed")]
    pub mode: ModeArg,
    /// Prompt length (one prefill call).
    #[arg(long, default_value_t = DEFAULT_OPTIONS.workload.prompt_tokens, value_name = "N")]
    pub prompt_tokens: usize,
    /// Tokens decoded after the prompt.
    #[arg(long, default_value_t = DEFAULT_OPTIONS.workload.decode_tokens, value_name = "N")]
    pub decode_tokens: usize,
    /// Array output columns: the FP16/INT8 array and the 2-bit
    /// accelerator's (not with --from-cosim, which brings the co-simulated
    /// accelerator).
    #[arg(long, default_value_t = DEFAULT_OPTIONS.array.cols, value_name = "N")]
    pub cols: usize,
    /// Array activation lanes (int8 per cycle).
    #[arg(long, default_value_t = DEFAULT_OPTIONS.array.lanes, value_name = "N")]
    pub lanes: usize,
    /// Largest K per array tile.
    #[arg(long, default_value_t = DEFAULT_OPTIONS.array.k_max, value_name = "N")]
    pub k_max: usize,
    /// Token rows of the accelerator's activation buffer (TMax).
    #[arg(long, default_value_t = DEFAULT_OPTIONS.accel.two_bit.tokens, value_name = "T")]
    pub buffer_tokens: usize,
    /// Token rows per accelerator job (each weight fetched serves them all).
    #[arg(long, default_value_t = DEFAULT_OPTIONS.accel.batch, value_name = "T")]
    pub batch: usize,
    /// Bytes of the accelerator's weight port (default: one 2-bit word of
    /// the array per beat).
    #[arg(long, value_name = "B")]
    pub bus_bytes: Option<usize>,
    /// Weight memory latency in accelerator cycles.
    #[arg(long, default_value_t = DEFAULT_OPTIONS.accel.mem_latency, value_name = "L")]
    pub mem_latency: u32,
    /// Array clock in MHz.
    #[arg(long, default_value_t = DEFAULT_OPTIONS.clock_mhz, value_name = "MHZ")]
    pub clock_mhz: f64,
    /// DRAM bandwidth in GB/s (68: LPDDR5X-8533 on a 64-bit bus).
    #[arg(long, default_value_t = DEFAULT_OPTIONS.bandwidth_gbs, value_name = "GBS")]
    pub bandwidth_gbs: f64,
    /// Zero-weight fraction to assume instead of counting it (0..1).
    #[arg(long, value_name = "F")]
    pub zero_fraction: Option<f64>,
    /// Bits per LM-head weight of the ternary models (16 as 2B4T ships; 8
    /// for a W8A8 head).
    #[arg(long, default_value_t = DEFAULT_OPTIONS.ternary_head_bits, value_name = "BITS")]
    pub ternary_head_bits: u32,
    /// Bits per KV-cache element.
    #[arg(long, default_value_t = DEFAULT_OPTIONS.kv_bits, value_name = "BITS")]
    pub kv_bits: u32,
    /// Measured cycles, DRAM and buffer counts and zero-skip counts from
    /// `tritium cosim --json` (schema 2; the report's model must be the
    /// co-simulated one). Repeatable: a one-token prompt gives decode
    /// figures, a prompt without decode steps prefill figures. The
    /// co-simulated accelerator, memory, batch, clock and prompt length are
    /// used (--cols, --lanes, --k-max, --buffer-tokens, --batch,
    /// --bus-bytes, --mem-latency, --clock-mhz and --bandwidth-gbs are then
    /// refused).
    #[arg(long, value_name = "FILE")]
    pub from_cosim: Vec<PathBuf>,
    /// Set a published design's figures next to this report's: `kv260`.
    #[arg(long, value_name = "NAME")]
    pub published: Option<String>,
    /// FPGA synthesis results to include (default: fpga/results/results.json
    /// if it exists).
    #[arg(long, value_name = "FILE", conflicts_with = "no_fpga")]
    pub fpga: Option<PathBuf>,
    /// Leave the FPGA area out even if results exist.
    #[arg(long)]
    pub no_fpga: bool,
    /// Output directory (report.md, report.json, plots as SVG and PNG).
    #[arg(long, value_name = "DIR", default_value = "report")]
    pub out: PathBuf,
    /// Skip the plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Also print report.json on stdout.
    #[arg(long)]
    pub json: bool,
    /// Replace the report files already in --out.
    #[arg(long)]
    pub force: bool,
}

impl ReportArgs {
    /// See [`super::applies()`].
    pub fn needs(&self) -> Vec<Needs> {
        vec![Needs::new(
            "reports without --from-cosim (with it, the co-simulated accelerator, memory and clock are used)",
            self.from_cosim.is_empty(),
            &[
                "cols",
                "lanes",
                "k_max",
                "buffer_tokens",
                "batch",
                "bus_bytes",
                "mem_latency",
                "clock_mhz",
                "bandwidth_gbs",
            ],
        )]
    }
}

fn check_range(flag: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{flag} must be in {lo}..={hi}, got {v}"
        )))
    }
}

/// The model shape, its zero fractions and a name.
fn model_inputs(a: &ReportArgs) -> Result<(String, ModelConfig, ZeroFractions)> {
    if let Some(path) = &a.model {
        let (cfg_path, dir) = if path.is_dir() {
            (path.join("config.json"), Some(path.as_path()))
        } else {
            (path.clone(), None)
        };
        let (config, _) = tritium_model::hfconfig::read_config(&cfg_path)?;
        let has_weights = dir.is_some_and(|d| {
            std::fs::read_dir(d).is_ok_and(|mut it| {
                it.any(|e| {
                    e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "safetensors"))
                })
            })
        });
        let zeros = match (a.zero_fraction, dir) {
            (Some(f), _) => ZeroFractions::uniform(config.num_layers, f, "given (--zero-fraction)"),
            (None, Some(d)) if has_weights => {
                let loaded = tritium_model::checkpoint::load_dir(d, None)?;
                ZeroFractions::measure(
                    &loaded.model,
                    format!("counted from the weights in {}", d.display()),
                )
            }
            _ => {
                return Err(Error::Usage(format!(
                    "{}: no weights to count zero weights from; pass --zero-fraction F",
                    path.display()
                )))
            }
        };
        return Ok((path.display().to_string(), config, zeros));
    }
    let preset = a.preset.preset();
    let config = preset.config();
    let zeros = match (a.zero_fraction, preset) {
        (Some(f), _) => ZeroFractions::uniform(config.num_layers, f, "given (--zero-fraction)"),
        (None, Preset::B2b4t) => tritium_cost::b2b4t_zero_fractions(&config),
        (None, p) => {
            let m = tritium_model::synthetic::preset_model(p, 1)?;
            ZeroFractions::measure(&m, "counted from the synthetic preset's weights (seed 1)")
        }
    };
    Ok((preset.name().to_string(), config, zeros))
}

/// The request the arguments ask for (flags checked here, by name).
pub fn request(a: &ReportArgs) -> Result<ReportRequest> {
    check_range("--clock-mhz", a.clock_mhz, 1e-3, 1e6)?;
    check_range("--bandwidth-gbs", a.bandwidth_gbs, 1e-3, 1e6)?;
    if let Some(f) = a.zero_fraction {
        check_range("--zero-fraction", f, 0.0, 1.0)?;
    }
    let array = ArrayConfig::new(a.cols, a.lanes, a.k_max).map_err(|e| {
        Error::arg(
            format!("--cols {} --lanes {} --k-max {}", a.cols, a.lanes, a.k_max),
            e,
        )
    })?;
    let (two_bit, base3) = accel_pair(array, a.buffer_tokens, a.bus_bytes).map_err(|e| {
        Error::arg(
            format!(
                "--buffer-tokens {} --bus-bytes {}",
                a.buffer_tokens,
                a.bus_bytes
                    .map_or("(default)".to_string(), |b| b.to_string())
            ),
            e,
        )
    })?;
    if !(1..=a.buffer_tokens).contains(&a.batch) {
        return Err(Error::Usage(format!(
            "--batch {}: expected 1..={} (--buffer-tokens)",
            a.batch, a.buffer_tokens
        )));
    }
    if !(1..=1 << 20).contains(&a.mem_latency) {
        return Err(Error::Usage(format!(
            "--mem-latency {}: expected 1..=1048576 cycles",
            a.mem_latency
        )));
    }
    let published = match a.published.as_deref() {
        Some(n) => Some(tritium_cost::published::by_name(n).ok_or_else(|| {
            Error::Usage(format!("--published {n}: unknown design (known: kv260)"))
        })?),
        None => None,
    };
    for (flag, v, max) in [
        ("--prompt-tokens", a.prompt_tokens, MAX_PROMPT_TOKENS),
        ("--decode-tokens", a.decode_tokens, MAX_DECODE_TOKENS),
    ] {
        if !(1..=max).contains(&v) {
            return Err(Error::Usage(format!(
                "{flag} {v}: expected 1..={max} (figures are per token)"
            )));
        }
    }
    for (flag, b) in [
        ("--ternary-head-bits", a.ternary_head_bits),
        ("--kv-bits", a.kv_bits),
    ] {
        if !(1..=32).contains(&b) {
            return Err(Error::Usage(format!("{flag} must be in 1..=32, got {b}")));
        }
    }
    let table = match &a.energy {
        Some(p) => EnergyTable::read(p)?,
        None => match a.node {
            NodeArg::N45 => Node::N45,
            NodeArg::N7 => Node::N7,
        }
        .table()?,
    };
    let (name, config, zeros) = model_inputs(a)?;
    let mut r = ReportRequest::new(name, config, zeros, table);
    r.zeros_given = a.zero_fraction.is_some();
    r.options = CostOptions {
        array,
        clock_mhz: a.clock_mhz,
        bandwidth_gbs: a.bandwidth_gbs,
        workload: Workload {
            prompt_tokens: a.prompt_tokens,
            decode_tokens: a.decode_tokens,
        },
        ternary_head_bits: a.ternary_head_bits,
        kv_bits: a.kv_bits,
        accel: AccelOptions {
            two_bit,
            base3,
            batch: a.batch,
            mem_latency: a.mem_latency,
        },
    };
    r.mode = match a.mode {
        ModeArg::Paper => Mode::Paper,
        ModeArg::Detailed => Mode::Detailed,
    };
    r.cosim = a.from_cosim.clone();
    r.fpga = fpga_results(a)?;
    r.synth = synth_figures(a, &r.table)?;
    r.published = published;
    Ok(r)
}

/// The accelerator's synthesis figures (decoder, tri_accel) from the
/// results file the FPGA results come from.
fn synth_figures(a: &ReportArgs, t: &EnergyTable) -> Result<Option<SynthFigures>> {
    if a.no_fpga {
        return Ok(None);
    }
    let path = a
        .fpga
        .clone()
        .unwrap_or_else(|| PathBuf::from("fpga/results/results.json"));
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(SynthFigures::read(&path, t)?))
}

fn fpga_results(a: &ReportArgs) -> Result<Option<tritium_fpga::SynthResults>> {
    if a.no_fpga {
        return Ok(None);
    }
    let (path, required) = match &a.fpga {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("fpga/results/results.json"), false),
    };
    if !required && !path.exists() {
        return Ok(None);
    }
    Ok(tritium_fpga::load_results(&path).map(Some)?)
}

/// `tritium report`.
pub fn run(a: &ReportArgs) -> Result<()> {
    let mut inputs = Inputs::new();
    for p in [&a.model, &a.energy, &a.fpga]
        .into_iter()
        .flatten()
        .chain(&a.from_cosim)
    {
        inputs.add(p);
    }
    let names = tritium_cost::write::file_names(!a.no_plots);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let q = request(a)?;
    check_output_dir("--out", &a.out, &names, a.force, &inputs)?;
    let r = q.build()?;
    let w = write(&r, &a.out, !a.no_plots)?;
    if a.json {
        print(&to_json(&r)?)?;
    } else {
        let sm = &r.summary;
        match r.mode {
            Mode::Paper => println(&format!(
                "{} at {}: paper mode FP16/ternary BitLinear arithmetic {:.1}x (INT8/ternary {:.1}x)",
                r.model.name, r.energy_table.node, sm.paper_fp16_over_ternary, sm.paper_int8_over_ternary
            ))?,
            Mode::Detailed => println(&format!(
                "{} at {}: paper mode FP16/ternary {:.1}x; detailed decode: BitLinear arithmetic {:.1}x, whole model {:.2}x (memory {:.1}% of ternary decode energy)",
                r.model.name,
                r.energy_table.node,
                sm.paper_fp16_over_ternary,
                sm.fp16_over_ternary_decode.bitlinear_arith,
                sm.fp16_over_ternary_decode.total,
                sm.ternary_decode_memory_share * 100.0
            ))?,
        }
        println(&format!(
            "wrote {} and {}",
            w.markdown.display(),
            w.json.display()
        ))?;
        for p in &w.plots {
            println(&format!("wrote {}", p.display()))?;
        }
    }
    Ok(())
}
