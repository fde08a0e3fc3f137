//! The input of `tritium report --from-cosim`: `tritium cosim --json`
//! outputs (schema 2: the accelerator `tri_accel`), checked against the
//! report's model and against the analytic accelerator model, turned into
//! measured cycles and counts per BitLinear call and measured zero
//! fractions.
//!
//! A file's calls are classified by its workload: a one-token prompt makes
//! every call one token row (`decode`: figures per call); no decoded token
//! makes one call of the prompt's rows (`prefill`); a longer prompt with
//! decode steps (`mixed`) is checked against the model but its calls cannot
//! be split by phase, so its figures are not used for latency. Every file
//! must come from the same accelerator, memory, batch and clock.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tritium_golden::{linear_shape, AccelConfig, ArrayConfig, ModelConfig, Proj, WeightFormat};

use crate::accel::{AccelCounts, AccelMemory};
use crate::count::{accel_layer, Measured, MeasuredCall, Variant};
use crate::error::{Error, Result};
use crate::report::{CosimCheck, CosimFileInfo, CycleCheckRow};

/// The co-simulation schema this reads.
pub const COSIM_SCHEMA: u32 = 2;

#[derive(Deserialize, Clone, PartialEq)]
struct CosimArray {
    name: String,
    cols: usize,
    lanes: usize,
    k_max: usize,
    buffer_tokens: usize,
    batch: usize,
    weight_format: String,
    bus_bytes: usize,
    word_bytes: usize,
    mem_bytes_per_cycle: f64,
    mem_latency: u32,
    clock_mhz: f64,
}

#[derive(Deserialize)]
struct CosimRow {
    layer: usize,
    proj: String,
    calls: u64,
    macs: u64,
    zero_skips: u64,
    cycles: u64,
    dram_bytes: u64,
    buffer_reads: u64,
    buffer_writes: u64,
    token_rows: u64,
}

#[derive(Deserialize)]
struct Version {
    schema_version: u32,
}

#[derive(Deserialize)]
struct CosimFile {
    model: String,
    array: CosimArray,
    prompt_tokens: Vec<u32>,
    generated_tokens: Vec<u32>,
    rows: Vec<CosimRow>,
    passed: bool,
    #[serde(default)]
    wall_seconds: f64,
}

/// What `--from-cosim` files give the report.
#[derive(Debug, Clone)]
pub struct CosimInput {
    pub check: CosimCheck,
    /// Zero fractions counted by the RTL (`[layer][proj]`; None where it
    /// did not run).
    pub zeros: Vec<[Option<f64>; 7]>,
    /// Measured calls, extrapolated to the layers not co-simulated.
    pub measured: Measured,
    pub memory: AccelMemory,
    /// The prompt length of the prefill file, if one was given.
    pub prompt_tokens: Option<usize>,
}

fn bad(path: &Path, m: String) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        what: "co-simulation JSON (from `tritium cosim --json`)",
        message: m,
    }
}

fn read_file(path: &Path) -> Result<CosimFile> {
    let text = tritium_util::file::read_to_string_regular(path)?;
    let v: Version = serde_json::from_str(&text).map_err(|e| bad(path, e.to_string()))?;
    if v.schema_version != COSIM_SCHEMA {
        return Err(bad(
            path,
            format!(
                "schema_version {} (this tritium reads {COSIM_SCHEMA}: the accelerator tri_accel with DRAM and buffer counters); re-run `tritium cosim --json` to regenerate it",
                v.schema_version
            ),
        ));
    }
    let de = &mut serde_json::Deserializer::from_str(&text);
    let f: CosimFile =
        serde_path_to_error::deserialize(de).map_err(|e| bad(path, e.to_string()))?;
    if !f.passed {
        return Err(bad(
            path,
            "the co-simulation failed (RTL and golden model disagree): its cycles are not evidence"
                .into(),
        ));
    }
    Ok(f)
}

fn accel_of(path: &Path, a: &CosimArray) -> Result<(AccelConfig, AccelMemory)> {
    let format: WeightFormat = a
        .weight_format
        .parse()
        .map_err(|e: String| bad(path, format!("array.weight_format: {e}")))?;
    let array =
        ArrayConfig::new(a.cols, a.lanes, a.k_max).map_err(|e| bad(path, format!("array: {e}")))?;
    let cfg = AccelConfig {
        array,
        tokens: a.buffer_tokens,
        bus_bytes: a.bus_bytes,
        format,
        word_bytes: a.word_bytes,
    };
    cfg.check().map_err(|e| bad(path, format!("array: {e}")))?;
    if !(1..=cfg.tokens).contains(&a.batch) {
        return Err(bad(
            path,
            format!("array.batch {} is not in 1..={}", a.batch, cfg.tokens),
        ));
    }
    if !(a.clock_mhz.is_finite() && (1e-3..=1e6).contains(&a.clock_mhz)) {
        return Err(bad(path, format!("array.clock_mhz {}", a.clock_mhz)));
    }
    let mem = AccelMemory {
        bytes_per_cycle: a.mem_bytes_per_cycle,
        latency: a.mem_latency,
    };
    mem.check(cfg.bus_bytes)
        .map_err(|e| bad(path, format!("array: {e}")))?;
    Ok((cfg, mem))
}

/// Sums of measured calls per `[layer][proj]`, with their call counts.
type Sums = Vec<[Option<(MeasuredCall, f64)>; 7]>;

fn add(s: &mut Sums, l: usize, i: usize, r: &CosimRow, calls: f64) {
    let e = s[l][i].get_or_insert((MeasuredCall::default(), 0.0));
    e.0.cycles += r.cycles as f64;
    e.0.dram_bytes += r.dram_bytes as f64;
    e.0.buffer_reads += r.buffer_reads as f64;
    e.0.buffer_writes += r.buffer_writes as f64;
    e.1 += calls;
}

/// Means per call, and each projection's mean over the layers measured
/// for the layers that were not.
fn per_call(s: &Sums) -> Vec<[Option<MeasuredCall>; 7]> {
    let mean = |(m, n): (MeasuredCall, f64)| MeasuredCall {
        cycles: m.cycles / n,
        dram_bytes: m.dram_bytes / n,
        buffer_reads: m.buffer_reads / n,
        buffer_writes: m.buffer_writes / n,
    };
    let mut out: Vec<[Option<MeasuredCall>; 7]> =
        s.iter().map(|row| row.map(|x| x.map(mean))).collect();
    for i in 0..7 {
        let got: Vec<MeasuredCall> = out.iter().filter_map(|r| r[i]).collect();
        if got.is_empty() {
            continue;
        }
        let n = got.len() as f64;
        let avg = got
            .iter()
            .fold(MeasuredCall::default(), |a, m| MeasuredCall {
                cycles: a.cycles + m.cycles / n,
                dram_bytes: a.dram_bytes + m.dram_bytes / n,
                buffer_reads: a.buffer_reads + m.buffer_reads / n,
                buffer_writes: a.buffer_writes + m.buffer_writes / n,
            });
        for r in &mut out {
            r[i].get_or_insert(avg);
        }
    }
    out
}

/// Reads `tritium cosim --json` outputs and checks them against the
/// model: every measured BitLinear must have the model's shape, every file
/// the same accelerator. Each row is compared with the analytic model of
/// the same calls (the first call of a file has the prompt's rows, the
/// others one row each).
pub fn read_cosim(paths: &[PathBuf], c: &ModelConfig) -> Result<CosimInput> {
    let mut files = Vec::new();
    let mut rows = Vec::new();
    let mut zeros = vec![[None; 7]; c.num_layers];
    let (mut zs, mut ms) = (0f64, 0f64);
    let mut dec: Sums = vec![[None; 7]; c.num_layers];
    let mut pre: Sums = vec![[None; 7]; c.num_layers];
    let mut first: Option<(PathBuf, CosimArray, AccelConfig, AccelMemory)> = None;
    let mut prompt: Option<usize> = None;
    let mut layers = std::collections::BTreeSet::new();
    for path in paths {
        let f = read_file(path)?;
        let (cfg, mem) = accel_of(path, &f.array)?;
        match &first {
            Some((p0, a0, ..)) if *a0 != f.array => {
                return Err(bad(
                    path,
                    format!(
                        "another accelerator, memory, batch or clock than {} (every --from-cosim file must come from the same `tritium cosim` settings)",
                        p0.display()
                    ),
                ));
            }
            Some(_) => {}
            None => first = Some((path.clone(), f.array.clone(), cfg, mem)),
        }
        let p_rows = f.prompt_tokens.len().max(1);
        let kind = if p_rows == 1 {
            "decode"
        } else if f.generated_tokens.is_empty() {
            if prompt.is_some_and(|p| p != p_rows) {
                return Err(bad(
                    path,
                    format!(
                        "a prefill of {p_rows} tokens next to one of {} tokens: give one prompt length",
                        prompt.unwrap_or(0)
                    ),
                ));
            }
            prompt = Some(p_rows);
            "prefill"
        } else {
            "mixed"
        };
        let fi = files.len();
        files.push(CosimFileInfo {
            file: path.display().to_string(),
            model: f.model.clone(),
            kind: kind.into(),
            prompt_tokens: f.prompt_tokens.len(),
            decode_steps: f.generated_tokens.len(),
            wall_seconds: f.wall_seconds,
        });
        // The analytic counts of the file's calls: the prompt's, then one row.
        let batch = f.array.batch;
        let one = accel_layer(c, &cfg, &mem, 1, batch)?;
        let prompt_counts = accel_layer(c, &cfg, &mem, p_rows, batch)?;
        for r in &f.rows {
            let Some(pi) = Proj::ALL.iter().position(|p| p.hf_name() == r.proj) else {
                return Err(bad(
                    path,
                    format!("row with unknown projection {:?}", r.proj),
                ));
            };
            if r.layer >= c.num_layers {
                return Err(bad(path, format!(
                    "layer {} does not exist in the model of the report ({} layers); was the co-simulation run on this model?",
                    r.layer, c.num_layers
                )));
            }
            if r.token_rows == 0 || r.macs == 0 {
                continue;
            }
            let (n, k) = linear_shape(c, Proj::ALL[pi]);
            if r.token_rows.checked_mul((n * k) as u64) != Some(r.macs) || r.zero_skips > r.macs {
                return Err(bad(path, format!(
                    "layer {} {}: {} MACs over {} token rows is not the model's {n} x {k} shape; was the co-simulation run on this model?",
                    r.layer, r.proj, r.macs, r.token_rows
                )));
            }
            zeros[r.layer][pi] = Some(r.zero_skips as f64 / r.macs as f64);
            zs += r.zero_skips as f64;
            ms += r.macs as f64;
            if r.cycles == 0 {
                continue;
            }
            let expected_rows = p_rows as u64 + r.calls.saturating_sub(1);
            if r.calls == 0 || r.token_rows != expected_rows {
                return Err(bad(path, format!(
                    "layer {} {}: {} token rows in {} calls, but a prompt of {p_rows} and {} decode steps make {expected_rows}",
                    r.layer, r.proj, r.token_rows, r.calls, r.calls.saturating_sub(1)
                )));
            }
            layers.insert(r.layer);
            let extra = r.calls - 1;
            let ana = |f: fn(&AccelCounts) -> u64| f(&prompt_counts[pi]) + extra * f(&one[pi]);
            rows.push(CycleCheckRow {
                file: fi,
                layer: r.layer,
                proj: r.proj.clone(),
                n,
                k,
                calls: r.calls,
                token_rows: r.token_rows,
                measured_cycles: r.cycles,
                analytic_cycles: ana(|x| x.cycles),
                measured_dram_bytes: r.dram_bytes,
                analytic_dram_bytes: ana(|x| x.dram_bytes),
                measured_buffer_reads: r.buffer_reads,
                analytic_buffer_reads: ana(|x| x.issues),
                measured_buffer_writes: r.buffer_writes,
                analytic_buffer_writes: ana(|x| x.buffer_writes),
            });
            match kind {
                "decode" => add(&mut dec, r.layer, pi, r, r.calls as f64),
                "prefill" => add(&mut pre, r.layer, pi, r, 1.0),
                _ => {}
            }
        }
    }
    let Some((_, array, cfg, memory)) = first else {
        return Err(Error::Option {
            name: "from_cosim",
            message: "no co-simulation file given".into(),
        });
    };
    if rows.is_empty() {
        return Err(bad(&paths[0], "no BitLinear with measured cycles".into()));
    }
    let total = |f: fn(&CycleCheckRow) -> u64| rows.iter().map(|r| f(r) as f64).sum::<f64>();
    let check = CosimCheck {
        files,
        accel_name: array.name.clone(),
        accel: cfg,
        batch: array.batch,
        mem_bytes_per_cycle: memory.bytes_per_cycle,
        mem_latency: memory.latency,
        clock_mhz: array.clock_mhz,
        measured_over_analytic: total(|r| r.measured_cycles) / total(|r| r.analytic_cycles),
        max_cycle_error: rows
            .iter()
            .map(|r| r.cycle_error().abs())
            .fold(0.0, f64::max),
        counts_equal: rows.iter().all(CycleCheckRow::counts_equal),
        measured_layers: layers.into_iter().collect(),
        measured_zero_fraction: if ms == 0.0 { 0.0 } else { zs / ms },
        rows,
    };
    let variant = match cfg.format {
        WeightFormat::TwoBit => Variant::Ternary2,
        WeightFormat::Base3 => Variant::Ternary16,
    };
    Ok(CosimInput {
        check,
        zeros,
        measured: Measured {
            variant,
            decode: per_call(&dec),
            prefill: per_call(&pre),
        },
        memory,
        prompt_tokens: prompt,
    })
}
