//! `tritium sweep`: a grid of accelerator design points, each with cycles
//! measured on the RTL, priced by the cost model, with its ASIC area and
//! FPGA resources; sweep.json, sweep.md and the Pareto plots.
//!
//! The RTL measurements a grid needs (one per built model, batch and
//! memory: the clock and the node only change the pricing) run as tasks
//! of a launcher (`tritium sweep-point`, module `sweep_point`), each
//! cached; the pricing, the lookups and the fronts are done here, after
//! the tasks ([`tritium_cost::sweep`]).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use tritium_cost::decoder::{DecoderCost, SynthFigures};
use tritium_cost::sweep::{
    asic_area, fpga_resources, mark_fronts, price, PointCycles, PointResult, PointSpec,
    PriceInputs, Sweep, SWEEP_SCHEMA,
};
use tritium_cost::sweep_report::{sweep_file_names, write_sweep};
use tritium_cost::{MeasuredCall, Node, ZeroFractions};
use tritium_golden::{AccelConfig, ModelConfig, Preset, Proj};
use tritium_launch::{check_outcomes, Batch, Task};
use tritium_util::{AtPath, Inputs};

use super::args::{accel_model_name, ArrayArg, FormatArg, PresetArg};
use super::error::{Error, Result};
use super::launch::{strip_options, this_exe, workdir, LaunchArgs, LAUNCH_OPTIONS};
use super::output::{print_json, println};
use super::progress::Bar;
use super::report::NodeArg;
use super::sweep_point::{cache_file, cached, MeasureSpec, Measurement};

/// Most values of one axis, and most points of a sweep.
const MAX_AXIS: usize = 64;
const MAX_POINTS: usize = 4096;

/// Arguments of `tritium sweep`.
#[derive(Debug, Args)]
#[command(after_help = "\
Every axis is a comma-separated list; the sweep is every combination.
Each point gets: BitLinear cycles measured on the RTL (Verilator) for one
layer of the model, at 1 token row (decode) and at T rows (a step); energy
and latency per token from the cost model; ASIC area and FPGA resources of
the configuration from fpga/results/results.json ('n/s' where it was not
synthesized). RTL measurements are cached in --cache: a re-run (with
--force) only measures points whose configuration, batch, memory, model or
RTL changed; clock and node changes need no RTL at all.

Examples:
  tritium sweep --out reports/sweep-2b4t --force           (the 24-point 2B4T example)
  tritium sweep --preset tiny --configs small --batch 1,4 --node 7nm --out /tmp/s   (4 points, seconds)
  tritium sweep --launcher slurm --sbatch-arg=--partition=debug --out /shared/sweep")]
pub struct SweepArgs {
    /// Model shape whose layer is measured (2b4t: microsoft/bitnet-b1.58-2B-4T).
    #[arg(long, value_enum, default_value = "2b4t")]
    pub preset: PresetArg,
    /// Array geometries (small: 4 columns x 5 lanes; kv260: 64 x 5 in
    /// base-3, 64 x 4 in 2-bit).
    #[arg(long, default_value = "small,kv260", value_name = "LIST")]
    pub configs: String,
    /// Stored weight formats: 2bit, base3.
    #[arg(long, default_value = "2bit,base3", value_name = "LIST")]
    pub formats: String,
    /// Batch T: token rows per call and per job (each weight fetched serves
    /// T rows). Above a configuration's buffer rows, its buffer rows.
    #[arg(long, default_value = "1,16", value_name = "LIST")]
    pub batch: String,
    /// Weight memory bandwidth in bytes per accelerator cycle. Above a
    /// configuration's weight port, the port's width.
    #[arg(long, default_value = "16,64", value_name = "LIST")]
    pub mem_bytes_per_cycle: String,
    /// Weight memory latency in cycles (one value).
    #[arg(long, default_value_t = 1, value_name = "L")]
    pub mem_latency: u32,
    /// Accelerator clock in MHz (prices time; the cycles do not change).
    #[arg(long, default_value = "250", value_name = "LIST")]
    pub clock_mhz: String,
    /// Technology nodes of the energy tables: 45nm, 7nm.
    #[arg(long, default_value = "45nm,7nm", value_name = "LIST")]
    pub node: String,
    /// Synthesis results (default: fpga/results/results.json if it exists).
    #[arg(long, value_name = "FILE")]
    pub fpga: Option<PathBuf>,
    /// FPGA family whose tri_accel resources are reported.
    #[arg(long, default_value = "xcup", value_name = "FAMILY")]
    pub fpga_family: String,
    /// Output directory: sweep.json, sweep.md, pareto_*.svg/png.
    #[arg(long, value_name = "DIR", default_value = "sweep")]
    pub out: PathBuf,
    /// Cache of RTL measurements (default: OUT/cache).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Simulate every output tile instead of extrapolating (slow on 2B4T).
    #[arg(long)]
    pub full_layers: bool,
    /// Write into an --out that is not empty (its cache is reused).
    #[arg(long)]
    pub force: bool,
    /// Print a JSON summary on stdout (and no progress bar).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub launch: LaunchArgs,
}

/// The values of a comma-separated axis, checked (not empty, not too
/// many), duplicates dropped.
fn axis<'a>(flag: &str, s: &'a str) -> Result<Vec<&'a str>> {
    let mut v: Vec<&str> = Vec::new();
    for x in s.split(',').map(str::trim) {
        if x.is_empty() {
            return Err(Error::Usage(format!(
                "{flag} {s:?}: empty value (give a comma-separated list, e.g. {flag} 1,16)"
            )));
        }
        if !v.contains(&x) {
            v.push(x);
        }
    }
    if v.len() > MAX_AXIS {
        return Err(Error::Usage(format!(
            "{flag}: {} values, at most {MAX_AXIS}",
            v.len()
        )));
    }
    Ok(v)
}

/// An axis of numbers in `lo..=hi`.
fn numbers<T>(flag: &str, s: &str, lo: T, hi: T) -> Result<Vec<T>>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    axis(flag, s)?
        .into_iter()
        .map(|x| match x.parse::<T>() {
            Ok(v) if v >= lo && v <= hi => Ok(v),
            _ => Err(Error::Usage(format!(
                "{flag} {x}: expected a number in {lo}..={hi}"
            ))),
        })
        .collect()
}

/// An axis of a clap value enum.
fn names<T: ValueEnum>(flag: &str, s: &str) -> Result<Vec<T>> {
    let known: Vec<String> = T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
        .collect();
    axis(flag, s)?
        .into_iter()
        .map(|x| {
            T::from_str(x, true).map_err(|_| {
                Error::Usage(format!("{flag} {x}: unknown (known: {})", known.join(", ")))
            })
        })
        .collect()
}

/// The checked axes.
struct Axes {
    configs: Vec<ArrayArg>,
    formats: Vec<FormatArg>,
    batch: Vec<usize>,
    mem: Vec<f64>,
    clock: Vec<f64>,
    nodes: Vec<Node>,
}

fn axes(a: &SweepArgs) -> Result<Axes> {
    let x = Axes {
        configs: names("--configs", &a.configs)?,
        formats: names("--formats", &a.formats)?,
        batch: numbers("--batch", &a.batch, 1, 4096)?,
        mem: numbers(
            "--mem-bytes-per-cycle",
            &a.mem_bytes_per_cycle,
            0.001,
            4096.0,
        )?,
        clock: numbers("--clock-mhz", &a.clock_mhz, 0.001, 1e5)?,
        nodes: names::<NodeArg>("--node", &a.node)?
            .into_iter()
            .map(|n| match n {
                NodeArg::N45 => Node::N45,
                NodeArg::N7 => Node::N7,
            })
            .collect(),
    };
    if !(1..=1 << 20).contains(&a.mem_latency) {
        return Err(Error::Usage(format!(
            "--mem-latency {}: expected 1..=1048576 cycles",
            a.mem_latency
        )));
    }
    // Checked before anything is allocated per point.
    let n = [
        x.configs.len(),
        x.formats.len(),
        x.batch.len(),
        x.mem.len(),
        x.clock.len(),
        x.nodes.len(),
    ]
    .iter()
    .product::<usize>();
    if n > MAX_POINTS {
        return Err(Error::Usage(format!(
            "the axes make {n} points, at most {MAX_POINTS}: sweep fewer values"
        )));
    }
    Ok(x)
}

/// The accelerator configuration of a built model.
fn accel_of(name: &str) -> Result<AccelConfig> {
    #[cfg(feature = "rtl")]
    {
        tritium_rtl::AccelSimConfig::by_name(name)
            .map(|c| c.accel)
            .ok_or_else(|| Error::Usage(format!("accelerator model {name} was not built")))
    }
    #[cfg(not(feature = "rtl"))]
    {
        Err(Error::Usage(format!(
            "this tritium was built without the `rtl` feature (Verilator): no model {name}"
        )))
    }
}

/// One planned point and the measurement it needs.
struct Planned {
    spec: PointSpec,
    measure: MeasureSpec,
}

/// Every point of the grid, values beyond a configuration's limits
/// brought to them and the resulting duplicates merged (said in `notes`).
fn plan(a: &SweepArgs, x: &Axes, c: &ModelConfig) -> Result<(Vec<Planned>, Vec<String>)> {
    let preset = a.preset.preset();
    let shapes: Vec<(usize, usize)> = Proj::ALL.iter().map(|p| p.shape(c)).collect();
    let mut out: Vec<Planned> = Vec::new();
    let mut notes = Vec::new();
    let mut merged = 0usize;
    for &geom in &x.configs {
        let geom_name = geom
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string());
        for &fmt in &x.formats {
            let model = accel_model_name(geom, fmt);
            let acc = accel_of(model)?;
            for &b in &x.batch {
                let batch = b.min(acc.tokens);
                if batch != b {
                    notes.push(format!(
                        "--batch {b}: {model} buffers {} token rows; T = {batch} used",
                        acc.tokens
                    ));
                }
                for &m in &x.mem {
                    let bpc = m.min(acc.bus_bytes as f64);
                    for &clock_mhz in &x.clock {
                        for &node in &x.nodes {
                            let spec = PointSpec {
                                config: geom_name.clone(),
                                model: model.to_string(),
                                accel: acc,
                                batch,
                                mem_bytes_per_cycle: bpc,
                                mem_requested: (bpc != m).then_some(m),
                                mem_latency: a.mem_latency,
                                clock_mhz,
                                node,
                            };
                            let same = |p: &Planned| {
                                let s = &p.spec;
                                s.model == spec.model
                                    && s.batch == spec.batch
                                    && s.mem_bytes_per_cycle == spec.mem_bytes_per_cycle
                                    && s.clock_mhz == spec.clock_mhz
                                    && s.node == spec.node
                            };
                            if out.iter().any(same) {
                                merged += 1;
                                continue;
                            }
                            let measure = MeasureSpec {
                                model: model.to_string(),
                                preset: preset.name().to_string(),
                                shapes: shapes.clone(),
                                batch,
                                mem_bytes_per_cycle: bpc,
                                mem_latency: a.mem_latency,
                                full: a.full_layers,
                            };
                            out.push(Planned { spec, measure });
                        }
                    }
                }
            }
        }
    }
    notes.sort();
    notes.dedup();
    if x.mem
        .iter()
        .any(|&m| out.iter().any(|p| p.spec.mem_requested == Some(m)))
    {
        notes.push(
            "memory above a configuration's weight port is limited to the port (`of X`: requested)"
                .into(),
        );
    }
    if merged > 0 {
        notes.push(format!(
            "{merged} combinations became equal to another point once limited: merged"
        ));
    }
    Ok((out, notes))
}

/// Zero-weight fractions of the model (energy only: cycles do not depend
/// on the weights' values).
fn zeros_of(preset: Preset, c: &ModelConfig) -> Result<ZeroFractions> {
    Ok(match preset {
        Preset::B2b4t => tritium_cost::b2b4t_zero_fractions(c),
        p => {
            let m = tritium_model::synthetic::preset_model(p, 1)?;
            ZeroFractions::measure(&m, "counted from the synthetic preset's weights (seed 1)")
        }
    })
}

/// Runs the measurements not in the cache as tasks of the launcher.
fn run_missing(a: &SweepArgs, cache: &Path, missing: &[&MeasureSpec]) -> Result<()> {
    if missing.is_empty() {
        return Ok(());
    }
    let launcher = a.launch.launcher()?;
    let run_dir = if a.launch.run_dir.is_some() {
        a.launch.run_dir("sweep")?
    } else {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        cache
            .join("runs")
            .join(format!("sweep-{secs}-{}", std::process::id()))
    };
    let specs = cache.join("specs");
    std::fs::create_dir_all(&specs).at(&specs)?;
    let exe = this_exe()?;
    let mut tasks = Vec::with_capacity(missing.len());
    for s in missing {
        let key = s.key();
        let spec_file = specs.join(format!("{key}.json"));
        let text = serde_json::to_string_pretty(s)
            .map_err(|e| Error::Usage(format!("measurement spec JSON: {e}")))?;
        tritium_util::write_atomic(&spec_file, text.as_bytes())?;
        tasks.push(Task {
            name: format!("{} T{} {}B/cycle", s.model, s.batch, s.mem_bytes_per_cycle),
            program: exe.clone(),
            args: vec![
                "sweep-point".into(),
                "--spec".into(),
                spec_file.into_os_string(),
                "--out".into(),
                cache_file(cache, s).into_os_string(),
            ],
        });
    }
    let batch = Batch {
        name: "tritium-sweep".into(),
        run_dir,
        workdir: workdir()?,
        tasks,
    };
    let bar = Bar::new("RTL measurements", a.json);
    let outcomes = launcher.launch(&batch, Some(&bar))?;
    drop(bar);
    check_outcomes(&outcomes)?;
    Ok(())
}

/// A layer's counters as the cost model takes them.
fn calls(p: &super::sweep_point::Phase) -> [MeasuredCall; 7] {
    std::array::from_fn(|i| {
        let c = p.calls.get(i).copied().unwrap_or_default();
        MeasuredCall {
            cycles: c.cycles as f64,
            dram_bytes: c.dram_bytes as f64,
            buffer_reads: c.buffer_reads as f64,
            buffer_writes: c.buffer_writes as f64,
        }
    })
}

/// `full`, `exact from t=2` or `approx from t=8 (dev 1)` per group.
fn method_text(m: &Measurement) -> String {
    let one = |v: &serde_json::Value| match v.get("kind").and_then(|k| k.as_str()) {
        Some("extrapolated") => {
            let t = v.get("t").and_then(serde_json::Value::as_u64).unwrap_or(0);
            let p = v
                .get("period")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(1);
            let t = if p > 1 {
                format!("{t}/p{p}")
            } else {
                t.to_string()
            };
            if v.get("affine").and_then(serde_json::Value::as_bool) == Some(true) {
                format!("exact@{t}")
            } else {
                let d = v
                    .get("max_deviation")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0);
                format!("approx@{t}(dev {d})")
            }
        }
        _ => "full".to_string(),
    };
    let f = |p: &super::sweep_point::Phase| p.methods.iter().map(one).collect::<Vec<_>>().join(",");
    format!("decode [{}], step [{}]", f(&m.decode), f(&m.step))
}

/// Counts of the groups' methods over all measurements: (exact, approx,
/// full, largest deviation).
fn method_counts(ms: &[&Measurement]) -> (usize, usize, usize, u64) {
    let (mut exact, mut approx, mut full, mut dev) = (0, 0, 0, 0u64);
    for v in ms
        .iter()
        .flat_map(|m| m.decode.methods.iter().chain(&m.step.methods))
    {
        match v.get("kind").and_then(|k| k.as_str()) {
            Some("extrapolated") => {
                if v.get("affine").and_then(serde_json::Value::as_bool) == Some(true) {
                    exact += 1;
                } else {
                    approx += 1;
                    dev = dev.max(v.get("max_deviation").and_then(|d| d.as_u64()).unwrap_or(0));
                }
            }
            _ => full += 1,
        }
    }
    (exact, approx, full, dev)
}

/// `tritium sweep`.
pub fn run(a: &SweepArgs) -> Result<()> {
    let t0 = Instant::now();
    let x = axes(a)?;
    let family = tritium_fpga::Family::parse(&a.fpga_family).ok_or_else(|| {
        Error::Usage(format!(
            "--fpga-family {}: unknown (known: generic, ice40, xilinx, xcup, asic)",
            a.fpga_family
        ))
    })?;
    let preset = a.preset.preset();
    let c = preset.config();
    let (planned, notes) = plan(a, &x, &c)?;
    let fpga_path = a
        .fpga
        .clone()
        .unwrap_or_else(|| PathBuf::from("fpga/results/results.json"));
    let fpga = if a.fpga.is_some() || fpga_path.exists() {
        Some(tritium_fpga::load_results(&fpga_path)?)
    } else {
        None
    };
    // Outputs: refused if they are inputs, or exist without --force.
    let cwd = workdir()?;
    let out = cwd.join(&a.out);
    let inputs = match &a.fpga {
        Some(p) => Inputs::new().with(p),
        None => Inputs::new(),
    };
    if !a.force && std::fs::read_dir(&out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::Usage(format!(
            "--out {}: exists and is not empty; pass --force to replace its sweep files (cached measurements in it are reused)",
            a.out.display()
        )));
    }
    let names = sweep_file_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    tritium_util::output::check_output_dir("--out", &out, &names, true, &inputs)?;
    let cache = a
        .cache
        .as_ref()
        .map_or_else(|| out.join("cache"), |p| cwd.join(p));
    std::fs::create_dir_all(&cache).at(&cache)?;

    // The distinct measurements, and which the cache has.
    let mut specs: BTreeMap<String, &MeasureSpec> = BTreeMap::new();
    for p in &planned {
        specs.entry(p.measure.key()).or_insert(&p.measure);
    }
    let missing: Vec<&MeasureSpec> = specs
        .values()
        .filter(|s| cached(&cache, s).is_none())
        .copied()
        .collect();
    let n_cached = specs.len() - missing.len();
    run_missing(a, &cache, &missing)?;
    let mut found: BTreeMap<String, (Measurement, bool)> = BTreeMap::new();
    for (key, s) in &specs {
        let m = cached(&cache, s).ok_or_else(|| {
            Error::Usage(format!(
                "the measurement of {} (batch {}, {} B/cycle) left no valid {}",
                s.model,
                s.batch,
                s.mem_bytes_per_cycle,
                cache_file(&cache, s).display()
            ))
        })?;
        let was_cached = !missing.iter().any(|x| x.key() == *key);
        found.insert(key.clone(), (m, was_cached));
    }

    // Pricing: per node, its table and decoder energy.
    let zeros = zeros_of(preset, &c)?;
    let mut tables = BTreeMap::new();
    for &n in &x.nodes {
        let t = n.table()?;
        let dec = match (&fpga, fpga_path.exists()) {
            (Some(_), true) => SynthFigures::read(&fpga_path, &t)?.decoder,
            _ => DecoderCost::assumed(&t),
        };
        tables.insert(n.name(), (t, dec));
    }
    let mut points = Vec::with_capacity(planned.len());
    for (i, p) in planned.iter().enumerate() {
        let (m, was_cached) = &found[&p.measure.key()];
        let (table, dec) = &tables[p.spec.node.name()];
        let cycles = PointCycles {
            decode: calls(&m.decode),
            step: calls(&m.step),
            method: method_text(m),
        };
        let inp = PriceInputs {
            model: &c,
            zeros: &zeros,
            table,
            decoder_pj_per_byte: dec.pj_per_byte,
        };
        let (step, decode) = price(&p.spec, &cycles, &inp)?;
        points.push(PointResult {
            index: i,
            label: p.spec.label(),
            spec: p.spec.clone(),
            cycles,
            step,
            decode,
            asic_area: fpga.as_ref().and_then(|r| asic_area(r, &p.spec.accel)),
            fpga: fpga
                .as_ref()
                .and_then(|r| fpga_resources(r, family, &p.spec.accel)),
            front_latency: false,
            front_area: false,
            cached: *was_cached,
        });
    }
    mark_fronts(&mut points);

    let ms: Vec<&Measurement> = found.values().map(|(m, _)| m).collect();
    let (exact, approx, full, dev) = method_counts(&ms);
    let dec_source = tables
        .values()
        .next()
        .map_or_else(String::new, |(_, d)| d.source.clone());
    let method = vec![
        format!(
            "BitLinear cycles, DRAM bytes and activation-buffer accesses: measured on the Verilator model of tri_accel (RTL digest {}) for one layer of {} (q/k/v, o, gate/up, down grouped as the RTL backend runs them, random ternary weights), one call of 1 token row (decode) and one of T rows (step); every layer has the same shapes, so these counters stand for all {} layers.",
            ms.first().map_or("?", |m| m.rtl_digest.as_str()),
            preset.name(),
            c.num_layers
        ),
        format!(
            "Output tiles: each group was simulated with every BitLinear cut to c, c+p and c+2p output tiles (c >= t in the phase of its own tile count, p the tiles after which its image is beat-aligned again: 2 for the 2-bit small array with an odd number of words per tile, else 1; t = 2, doubled up to 8 while the two differences disagree), and every counter extrapolated linearly to the BitLinear's own tile count (a job streams identical tiles; tritium-rtl's tests/layer_cycles.rs checks the extrapolation equals a full simulation on every built configuration, decode and batch, two memories). In the table's method column `exact@t` means both differences were equal. Groups: {exact} extrapolated with both differences equal (exact), {approx} approximate (largest disagreement {dev}), {full} simulated whole."
        ),
        format!(
            "Energy: tritium-cost's detailed model with the node's table (reports/energy/<node>.toml) from these counters; zero weights: {}; base-3 decoder: {dec_source}",
            zeros.source
        ),
        "Latency per token: BitLinear cycles at the clock, plus attention, the 16-bit LM head and the embedding at the memory bandwidth (bytes per cycle x clock), as `tritium report --from-cosim` prices them. Step figures divide one call of T rows by T.".into(),
    ];
    let synthesis = match &fpga {
        Some(r) => format!(
            "{} ({}; {}): ASIC area = tri_mac_array + tri_wdec of the configuration in the asic family (standard cells, logic only: no activation buffer, FIFO or control); FPGA = tri_accel in {}",
            fpga_path.display(),
            r.tools.yosys,
            r.tools.liberty.as_deref().unwrap_or("no Liberty library named"),
            family.name()
        ),
        None => "no synthesis results (fpga/results/results.json not found): every point is 'not synthesized'".into(),
    };
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut strip: Vec<&str> = LAUNCH_OPTIONS.to_vec();
    strip.push("--cache");
    let command: Vec<String> = strip_options(&args, &strip, &["--json", "--force"])
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let sweep = Sweep {
        schema_version: SWEEP_SCHEMA,
        generator: format!("tritium {}", env!("CARGO_PKG_VERSION")),
        command: format!("tritium {}", command.join(" ")),
        model: format!("{} ({} layers)", preset.name(), c.num_layers),
        method,
        synthesis,
        points,
        measured: missing.len(),
        cached: n_cached,
        notes,
        wall_seconds: t0.elapsed().as_secs_f64(),
    };
    let files = write_sweep(&sweep, &out)?;
    report(a, &sweep, &files)
}

/// What the command prints.
fn report(a: &SweepArgs, s: &Sweep, files: &[PathBuf]) -> Result<()> {
    let front = |f: fn(&PointResult) -> bool| -> Vec<String> {
        s.points
            .iter()
            .filter(|p| f(p))
            .map(|p| format!("#{} {}", p.index, p.label))
            .collect()
    };
    if a.json {
        return print_json(&serde_json::json!({
            "points": s.points.len(),
            "measurements_run": s.measured,
            "measurements_cached": s.cached,
            "wall_seconds": s.wall_seconds,
            "front_energy_latency": front(|p| p.front_latency),
            "front_energy_area": front(|p| p.front_area),
            "files": files,
        }));
    }
    println(&format!(
        "{} points; RTL measurements: {} run, {} from the cache; {:.1} s",
        s.points.len(),
        s.measured,
        s.cached,
        s.wall_seconds
    ))?;
    println(&format!(
        "Pareto front, energy vs latency per token: {}",
        front(|p| p.front_latency).join("; ")
    ))?;
    println(&format!(
        "Pareto front, energy per token vs ASIC area: {}",
        front(|p| p.front_area).join("; ")
    ))?;
    for f in files {
        println(&format!("wrote {}", f.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        a: SweepArgs,
    }

    fn args(extra: &[&str]) -> SweepArgs {
        let mut v = vec!["sweep"];
        v.extend_from_slice(extra);
        Cli::parse_from(v).a
    }

    fn err(extra: &[&str]) -> String {
        match axes(&args(extra)) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{extra:?} accepted"),
        }
    }

    #[test]
    fn bad_axes_are_errors_naming_the_flag() {
        assert!(err(&["--batch", ""]).contains("--batch"));
        assert!(err(&["--batch", "1,,2"]).contains("--batch"));
        assert!(err(&["--batch", "0"]).contains("--batch 0"));
        assert!(err(&["--batch", "99999"]).contains("--batch 99999"));
        assert!(err(&["--configs", "huge"]).contains("--configs huge: unknown"));
        assert!(err(&["--formats", "3bit"]).contains("--formats 3bit"));
        assert!(err(&["--node", "3nm"]).contains("--node 3nm"));
        assert!(err(&["--mem-bytes-per-cycle", "0"]).contains("--mem-bytes-per-cycle 0"));
        assert!(err(&["--mem-bytes-per-cycle", "nan"]).contains("--mem-bytes-per-cycle nan"));
        assert!(err(&["--clock-mhz=-5"]).contains("--clock-mhz -5"));
        assert!(err(&["--mem-latency", "0"]).contains("--mem-latency 0"));
        // The grid's size is checked before any point exists.
        let many: Vec<String> = (1..=64).map(|i| i.to_string()).collect();
        let many = many.join(",");
        let e = err(&[
            "--batch",
            &many,
            "--clock-mhz",
            &many,
            "--mem-bytes-per-cycle",
            "1,2",
        ]);
        assert!(e.contains("65536 points, at most 4096"), "{e}");
        let many: Vec<String> = (1..=65).map(|i| i.to_string()).collect();
        assert!(err(&["--batch", &many.join(",")]).contains("at most 64"));
    }

    #[test]
    fn default_axes_parse_and_duplicates_are_dropped() {
        let x = axes(&args(&["--batch", "1,4,1"])).unwrap();
        assert_eq!(x.batch, [1, 4]);
        assert_eq!(x.nodes, [Node::N45, Node::N7]);
        assert_eq!(x.configs, [ArrayArg::Small, ArrayArg::Kv260]);
    }
}
