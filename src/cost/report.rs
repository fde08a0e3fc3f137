//! `tritium report`: the evaluation of one model plus the sweeps (paper model
//! sizes, array sizes x memory bandwidths), the optional co-simulation
//! cross-check and FPGA area, as report.json, report.md and plots.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tritium_golden::network::linear_shape;
use tritium_golden::{ModelConfig, Proj};

use super::count::{
    evaluate, ArraySpec, CostOptions, Evaluation, Variant, VariantCost, ZeroFractions,
};
use super::energy::EnergyTable;
use super::shapes::{paper_sizes, param_count};
use crate::error::{Error, Result};

/// Version of report.json's layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Which mode the energy-per-token plot and the summary line show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The b1.58 paper: BitLinear arithmetic only, ternary MAC = one INT8 add.
    Paper,
    /// Real accumulator widths, zero-weight skipping, memory traffic,
    /// attention and the LM head.
    Detailed,
}

/// The model the report is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub layers: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub vocab_size: usize,
    pub ternary_params: u64,
    pub total_params: u64,
}

impl ModelInfo {
    pub fn new(name: &str, c: &ModelConfig) -> ModelInfo {
        ModelInfo {
            name: name.to_string(),
            layers: c.num_layers,
            hidden_size: c.hidden_size,
            intermediate_size: c.intermediate_size,
            heads: c.num_heads,
            kv_heads: c.num_kv_heads,
            vocab_size: c.vocab_size,
            ternary_params: c.ternary_params(),
            total_params: param_count(c),
        }
    }
}

/// FP16 (and INT8) energy over ternary 2-bit energy, per phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ratios {
    /// BitLinear arithmetic only (detailed pricing).
    pub bitlinear_arith: f64,
    /// BitLinears with their memory traffic.
    pub bitlinear_total: f64,
    /// Everything counted: BitLinears, attention, KV cache, head, embedding.
    pub total: f64,
}

fn ratios(a: &VariantCost, b: &VariantCost, decode: bool) -> Ratios {
    let (pa, pb) = if decode {
        (&a.decode, &b.decode)
    } else {
        (&a.prefill, &b.prefill)
    };
    Ratios {
        bitlinear_arith: pa.bitlinear.arith_pj / pb.bitlinear.arith_pj,
        bitlinear_total: pa.bitlinear.total_pj() / pb.bitlinear.total_pj(),
        total: pa.total.total_pj() / pb.total.total_pj(),
    }
}

/// The headline comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Paper mode: FP16 over ternary BitLinear arithmetic (71.4x at 7nm, 50x at 45nm).
    pub paper_fp16_over_ternary: f64,
    pub paper_int8_over_ternary: f64,
    pub fp16_over_ternary_decode: Ratios,
    pub fp16_over_ternary_prefill: Ratios,
    pub int8_over_ternary_decode: Ratios,
    /// Zero fraction over all ternary weights.
    pub zero_fraction: f64,
    /// Decode: fraction of ternary energy that is memory traffic.
    pub ternary_decode_memory_share: f64,
}

/// One of the paper's model sizes under the same options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeRow {
    pub name: String,
    pub source: String,
    pub total_params: u64,
    pub paper_fp16_over_ternary: f64,
    pub fp16_over_ternary_decode: Ratios,
    pub fp16_over_ternary_prefill: Ratios,
    pub ternary_decode_mj_per_token: f64,
    pub fp16_decode_mj_per_token: f64,
    pub ternary_decode_ms_per_token: f64,
    pub fp16_decode_ms_per_token: f64,
}

/// Decode latency of one array size at one memory bandwidth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RooflinePoint {
    pub cols: usize,
    pub lanes: usize,
    pub macs_per_cycle: u64,
    pub bandwidth_gbs: f64,
    pub ternary_decode_ms_per_token: f64,
    pub fp16_decode_ms_per_token: f64,
    /// Ternary decode's lower bound at this bandwidth: its DRAM bytes per
    /// token over the bandwidth.
    pub ternary_memory_floor_ms: f64,
}

/// Measured (RTL) against analytic cycles of one BitLinear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleCheckRow {
    pub layer: usize,
    pub proj: String,
    pub n: usize,
    pub k: usize,
    pub token_rows: u64,
    pub measured_cycles: u64,
    pub analytic_cycles: u64,
}

/// What a `tritium cosim --json` run contributed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CosimCheck {
    pub file: String,
    pub model: String,
    pub array: ArraySpec,
    pub rows: Vec<CycleCheckRow>,
    /// Total measured over total analytic cycles.
    pub measured_over_analytic: f64,
    /// Zero fraction counted by the RTL's skip counters.
    pub measured_zero_fraction: f64,
}

/// Everything report.json holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub generator: String,
    pub mode: Mode,
    pub model: ModelInfo,
    pub options: CostOptions,
    pub zero_fraction_source: String,
    pub energy_table: EnergyTable,
    pub summary: Summary,
    pub evaluation: Evaluation,
    /// Zero fraction assumed for every model size of the sweep.
    pub sizes_zero_fraction: f64,
    pub model_sizes: Vec<SizeRow>,
    pub roofline: Vec<RooflinePoint>,
    pub cosim: Option<CosimCheck>,
    /// FPGA synthesis results (fpga/results/results.json), if given.
    pub fpga: Option<crate::fpga::SynthResults>,
}

/// Inputs of [`build`].
pub struct ReportInputs<'a> {
    pub name: &'a str,
    pub config: &'a ModelConfig,
    pub zeros: ZeroFractions,
    pub table: EnergyTable,
    pub options: CostOptions,
    pub mode: Mode,
    /// Zero fraction used for the paper's model sizes.
    pub sizes_zero_fraction: f64,
    pub cosim: Option<CosimCheck>,
    pub fpga: Option<crate::fpga::SynthResults>,
}

/// Array sizes (cols x lanes) of the roofline sweep.
pub const ROOFLINE_ARRAYS: [(usize, usize); 9] = [
    (4, 8),
    (8, 16),
    (16, 32),
    (32, 32),
    (32, 64),
    (64, 64),
    (64, 128),
    (128, 128),
    (128, 256),
];

/// Memory bandwidths (GB/s) of the roofline sweep.
pub const ROOFLINE_BANDWIDTHS: [f64; 5] = [25.0, 50.0, 100.0, 200.0, 400.0];

fn summary(ev: &Evaluation, zero: f64) -> Summary {
    let (f, i, t) = (
        ev.variant(Variant::Fp16),
        ev.variant(Variant::Int8),
        ev.variant(Variant::Ternary2),
    );
    Summary {
        paper_fp16_over_ternary: f.paper_arith_pj_per_token / t.paper_arith_pj_per_token,
        paper_int8_over_ternary: i.paper_arith_pj_per_token / t.paper_arith_pj_per_token,
        fp16_over_ternary_decode: ratios(f, t, true),
        fp16_over_ternary_prefill: ratios(f, t, false),
        int8_over_ternary_decode: ratios(i, t, true),
        zero_fraction: zero,
        ternary_decode_memory_share: t.decode.total.memory_pj() / t.decode.total.total_pj(),
    }
}

/// Builds the whole report (no files written).
pub fn build(inp: ReportInputs<'_>) -> Result<Report> {
    let c = inp.config;
    if inp.zeros.per_linear.len() != c.num_layers {
        return Err(Error::Usage(format!(
            "zero fractions for {} layers, the model has {}",
            inp.zeros.per_linear.len(),
            c.num_layers
        )));
    }
    let o = inp.options;
    let measured = inp.cosim.as_ref().map(|cc| measured_cycles(c, cc));
    let ev = evaluate(c, &inp.zeros, &inp.table, &o, measured.as_deref());
    let zero = inp.zeros.overall(c);
    let summary = summary(&ev, zero);
    let model_sizes = paper_sizes()
        .into_iter()
        .map(|s| {
            let z = ZeroFractions::uniform(s.config.num_layers, inp.sizes_zero_fraction, "");
            let e = evaluate(&s.config, &z, &inp.table, &o, None);
            let sm = self::summary(&e, inp.sizes_zero_fraction);
            let (f, t) = (e.variant(Variant::Fp16), e.variant(Variant::Ternary2));
            SizeRow {
                name: s.name.to_string(),
                source: s.source.to_string(),
                total_params: param_count(&s.config),
                paper_fp16_over_ternary: sm.paper_fp16_over_ternary,
                fp16_over_ternary_decode: sm.fp16_over_ternary_decode,
                fp16_over_ternary_prefill: sm.fp16_over_ternary_prefill,
                ternary_decode_mj_per_token: t.decode.total.total_pj() * 1e-9,
                fp16_decode_mj_per_token: f.decode.total.total_pj() * 1e-9,
                ternary_decode_ms_per_token: t.decode.seconds_per_token * 1e3,
                fp16_decode_ms_per_token: f.decode.seconds_per_token * 1e3,
            }
        })
        .collect();
    let mut roofline = Vec::new();
    // Latency does not depend on the prompt beyond the KV cache: a short
    // decode keeps the sweep fast.
    for &(cols, lanes) in &ROOFLINE_ARRAYS {
        for &bw in &ROOFLINE_BANDWIDTHS {
            let mut oo = o;
            oo.array.cols = cols;
            oo.array.lanes = lanes;
            oo.bandwidth_gbs = bw;
            oo.workload.decode_tokens = o.workload.decode_tokens.min(8);
            let e = evaluate(c, &inp.zeros, &inp.table, &oo, None);
            let t = e.variant(Variant::Ternary2);
            roofline.push(RooflinePoint {
                cols,
                lanes,
                macs_per_cycle: (cols * lanes) as u64,
                bandwidth_gbs: bw,
                ternary_decode_ms_per_token: t.decode.seconds_per_token * 1e3,
                fp16_decode_ms_per_token: e.variant(Variant::Fp16).decode.seconds_per_token * 1e3,
                ternary_memory_floor_ms: t.decode.dram_bytes_per_token / (bw * 1e9) * 1e3,
            });
        }
    }
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        generator: format!("tritium {}", env!("CARGO_PKG_VERSION")),
        mode: inp.mode,
        model: ModelInfo::new(inp.name, c),
        options: o,
        zero_fraction_source: inp.zeros.source.clone(),
        energy_table: inp.table,
        summary,
        evaluation: ev,
        sizes_zero_fraction: inp.sizes_zero_fraction,
        model_sizes,
        roofline,
        cosim: inp.cosim,
        fpga: inp.fpga,
    })
}

/// Measured cycles per token row `[layer][proj]` (0: not measured).
fn measured_cycles(c: &ModelConfig, cc: &CosimCheck) -> Vec<[u64; 7]> {
    let mut m = vec![[0u64; 7]; c.num_layers];
    for r in &cc.rows {
        if let Some(i) = Proj::ALL.iter().position(|p| p.hf_name() == r.proj) {
            if r.layer < c.num_layers && r.token_rows > 0 {
                m[r.layer][i] = r.measured_cycles / r.token_rows;
            }
        }
    }
    m
}

// ---- tritium cosim --json input ----------------------------------------

#[derive(Deserialize)]
struct CosimArray {
    cols: usize,
    lanes: usize,
    k_max: usize,
}

#[derive(Deserialize)]
struct CosimRow {
    layer: usize,
    proj: String,
    macs: u64,
    zero_skips: u64,
    cycles: u64,
    token_rows: u64,
}

#[derive(Deserialize)]
struct CosimFile {
    schema_version: u32,
    model: String,
    array: CosimArray,
    rows: Vec<CosimRow>,
    passed: bool,
}

/// Reads a `tritium cosim --json` output and checks it against the model:
/// every measured BitLinear must have the model's shape. Returns the cycle
/// comparison and the measured zero fractions (`None` where the RTL did not
/// run that BitLinear).
pub fn read_cosim(
    path: &Path,
    c: &ModelConfig,
    tile_overhead_cycles: u64,
) -> Result<(CosimCheck, Vec<[Option<f64>; 7]>)> {
    let bad = |m: String| Error::Input {
        path: path.to_path_buf(),
        what: "co-simulation JSON (from `tritium cosim --json`)",
        message: m,
    };
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let f: CosimFile = serde_path_to_error::deserialize(de).map_err(|e| bad(e.to_string()))?;
    if f.schema_version != 1 {
        return Err(bad(format!(
            "schema_version {} (this tritium reads 1)",
            f.schema_version
        )));
    }
    if !f.passed {
        return Err(bad(
            "the co-simulation failed (RTL and golden model disagree): its cycles are not evidence"
                .into(),
        ));
    }
    if f.array.cols == 0 || f.array.lanes == 0 || f.array.k_max == 0 {
        return Err(bad("array cols, lanes and k_max must be positive".into()));
    }
    let array = ArraySpec {
        cols: f.array.cols,
        lanes: f.array.lanes,
        k_max: f.array.k_max,
        tile_overhead_cycles,
    };
    let mut zeros = vec![[None; 7]; c.num_layers];
    let mut rows = Vec::new();
    let (mut zs, mut ms) = (0u64, 0u64);
    for r in &f.rows {
        let Some(pi) = Proj::ALL.iter().position(|p| p.hf_name() == r.proj) else {
            return Err(bad(format!("row with unknown projection {:?}", r.proj)));
        };
        if r.layer >= c.num_layers {
            return Err(bad(format!(
                "layer {} does not exist in the model of the report ({} layers); was the co-simulation run on this model?",
                r.layer, c.num_layers
            )));
        }
        if r.token_rows == 0 || r.macs == 0 {
            continue;
        }
        let (n, k) = linear_shape(c, Proj::ALL[pi]);
        if r.macs != r.token_rows * (n * k) as u64 || r.zero_skips > r.macs {
            return Err(bad(format!(
                "layer {} {}: {} MACs over {} token rows is not the model's {n} x {k} shape; was the co-simulation run on this model?",
                r.layer, r.proj, r.macs, r.token_rows
            )));
        }
        zeros[r.layer][pi] = Some(r.zero_skips as f64 / r.macs as f64);
        zs += r.zero_skips;
        ms += r.macs;
        if r.cycles > 0 {
            rows.push(CycleCheckRow {
                layer: r.layer,
                proj: r.proj.clone(),
                n,
                k,
                token_rows: r.token_rows,
                measured_cycles: r.cycles,
                analytic_cycles: r.token_rows * array.cycles_per_row(n, k),
            });
        }
    }
    if rows.is_empty() {
        return Err(bad("no BitLinear with measured cycles".into()));
    }
    let meas: u64 = rows.iter().map(|r| r.measured_cycles).sum();
    let ana: u64 = rows.iter().map(|r| r.analytic_cycles).sum();
    Ok((
        CosimCheck {
            file: path.display().to_string(),
            model: f.model,
            array,
            rows,
            measured_over_analytic: meas as f64 / ana as f64,
            measured_zero_fraction: if ms == 0 { 0.0 } else { zs as f64 / ms as f64 },
        },
        zeros,
    ))
}

// ---- report.md ----------------------------------------------------------

/// Picojoules as millijoules, three significant digits or more.
fn mj(pj: f64) -> String {
    let v = pj * 1e-9;
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else if v >= 0.01 {
        format!("{v:.4}")
    } else {
        format!("{v:.2e}")
    }
}

fn x(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.1}x")
    } else {
        format!("{r:.2}x")
    }
}

/// The Markdown report.
pub fn markdown(r: &Report, plots: &[(&str, &str)]) -> String {
    let mut s = String::new();
    let m = &r.model;
    let o = &r.options;
    let sm = &r.summary;
    let node = &r.energy_table.node;
    let _ = writeln!(s, "# tritium cost report: {} at {node}\n", m.name);
    let _ = writeln!(
        s,
        "Generated by `{}` (report.json schema {}). Model: {} layers, hidden {}, intermediate {}, {} heads ({} KV), vocabulary {}; {:.3} G ternary weights, {:.3} G parameters in all.\n",
        r.generator, r.schema_version, m.layers, m.hidden_size, m.intermediate_size, m.heads, m.kv_heads, m.vocab_size,
        m.ternary_params as f64 * 1e-9, m.total_params as f64 * 1e-9
    );
    let _ = writeln!(
        s,
        "Workload: a {}-token prompt, then {} decoded tokens. Array: {} columns x {} lanes ({} MACs/cycle, {}-bit accumulators) at {} MHz; memory bandwidth {} GB/s. Zero weights: {:.1}% ({}).\n",
        o.workload.prompt_tokens, o.workload.decode_tokens, o.array.cols, o.array.lanes,
        o.array.peak_macs_per_cycle(), o.array.acc_width(), o.clock_mhz, o.bandwidth_gbs,
        sm.zero_fraction * 100.0, r.zero_fraction_source
    );
    let _ = writeln!(s, "## Headline\n");
    let _ = writeln!(s, "| | FP16 / ternary | INT8 / ternary |\n|---|---:|---:|");
    let _ = writeln!(
        s,
        "| **paper mode**: BitLinear arithmetic, ternary MAC = one INT8 add | {} | {} |",
        x(sm.paper_fp16_over_ternary),
        x(sm.paper_int8_over_ternary)
    );
    let (d, p, i) = (
        &sm.fp16_over_ternary_decode,
        &sm.fp16_over_ternary_prefill,
        &sm.int8_over_ternary_decode,
    );
    let _ = writeln!(
        s,
        "| detailed, decode: BitLinear arithmetic | {} | {} |",
        x(d.bitlinear_arith),
        x(i.bitlinear_arith)
    );
    let _ = writeln!(
        s,
        "| detailed, decode: BitLinears with memory traffic | {} | {} |",
        x(d.bitlinear_total),
        x(i.bitlinear_total)
    );
    let _ = writeln!(
        s,
        "| detailed, decode: whole model per token | {} | {} |",
        x(d.total),
        x(i.total)
    );
    let _ = writeln!(
        s,
        "| detailed, prefill: BitLinear arithmetic / BitLinears / whole model | {} / {} / {} | |\n",
        x(p.bitlinear_arith),
        x(p.bitlinear_total),
        x(p.total)
    );
    let _ = writeln!(s, "### Paper mode and detailed mode, in plain words\n");
    let _ = writeln!(
        s,
        "Paper mode repeats the b1.58 paper's arithmetic-only estimate: every multiply-accumulate of a BitLinear costs one FP16 multiply plus one FP16 add in the FP16 model and one INT8 add in the ternary model, whatever the weight. That ratio is a property of the energy table alone ({}x here).\n",
        format_args!("{:.1}", sm.paper_fp16_over_ternary)
    );
    let _ = writeln!(
        s,
        "Detailed mode prices what the tritium array actually does. (1) The ternary add happens at the accumulator's width ({} bits, because a sum of up to {} int8 products needs it), which costs more than an 8-bit add. (2) Zero weights ({:.1}% here) gate the adder and cost nothing. (3) INT8 and ternary quantize each input row and dequantize each output, in fp32. (4) Weights, activations and the KV cache move through SRAM and DRAM; moving a bit costs far more than adding it, so memory dominates decode ({:.1}% of the ternary model's decode energy). The FP16 model moves 8x more weight bits than the 2-bit ternary model, so the whole-model saving is set mostly by bits per weight, not by the adder. (5) Attention, the KV cache, the embedding and the LM head are the same in both models (b1.58 keeps them in 16-bit; 2B4T's head alone is {:.0} M weights), which caps the whole-model saving.\n",
        o.array.acc_width(), o.array.k_max, sm.zero_fraction * 100.0, sm.ternary_decode_memory_share * 100.0,
        (m.vocab_size * m.hidden_size) as f64 * 1e-6
    );
    let _ = writeln!(s, "## Energy per token\n");
    let _ = writeln!(
        s,
        "mJ per token. BitLinears | attention + KV cache | head + embedding, each as arithmetic + SRAM + DRAM.\n"
    );
    let _ = writeln!(s, "| variant | phase | arithmetic | SRAM | DRAM | total | BitLinears | attention | head | ms/token |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for v in &r.evaluation.variants {
        for (phase, pc) in [("decode", &v.decode), ("prefill", &v.prefill)] {
            let _ = writeln!(
                s,
                "| {} | {phase} | {} | {} | {} | **{}** | {} | {} | {} | {:.3} |",
                v.label,
                mj(pc.total.arith_pj),
                mj(pc.total.sram_pj),
                mj(pc.total.dram_pj),
                mj(pc.total.total_pj()),
                mj(pc.bitlinear.total_pj()),
                mj(pc.attention.total_pj()),
                mj(pc.head.total_pj()),
                pc.seconds_per_token * 1e3
            );
        }
    }
    let _ = writeln!(s);
    for (title, file) in plots {
        let _ = writeln!(s, "![{title}]({file})\n");
    }
    let _ = writeln!(s, "## Latency\n");
    let t = r.evaluation.variant(Variant::Ternary2);
    let f16 = r.evaluation.variant(Variant::Fp16);
    let _ = writeln!(
        s,
        "Ternary decode: {:.3} ms/token ({:.1} tokens/s); {:.0}% of it in compute-bound BitLinears, the rest waiting for memory ({:.1} MB of DRAM traffic per token). FP16 on an array of the same geometry: {:.3} ms/token. Prefill: {:.0} tokens/s ternary, {:.0} tokens/s FP16.\n",
        t.decode.seconds_per_token * 1e3,
        1.0 / t.decode.seconds_per_token,
        100.0 * t.decode.compute_bound_seconds / t.decode.seconds_per_token,
        t.decode.dram_bytes_per_token * 1e-6,
        f16.decode.seconds_per_token * 1e3,
        1.0 / t.prefill.seconds_per_token,
        1.0 / f16.prefill.seconds_per_token,
    );
    let _ = writeln!(
        s,
        "Cycles per BitLinear come from an analytic model of the array (`ceil(N/cols)` output tiles, each `ceil(K/lanes)` beats plus {} cycles), validated against cycles measured in RTL co-simulation by the test suite; each BitLinear takes the longer of its compute time and its weight-streaming time (a roofline), attention and the head are memory bound.\n",
        o.array.tile_overhead_cycles
    );
    if let Some(cc) = &r.cosim {
        let _ = writeln!(
            s,
            "Co-simulation `{}` (model {}, array {}x{}): {} BitLinears measured; measured / analytic cycles = {:.4}; RTL-counted zero fraction {:.1}%.\n",
            cc.file, cc.model, cc.array.cols, cc.array.lanes, cc.rows.len(), cc.measured_over_analytic, cc.measured_zero_fraction * 100.0
        );
    }
    let _ = writeln!(
        s,
        "Roofline (ternary decode ms/token by array size and bandwidth):\n"
    );
    let _ = write!(s, "| array | MACs/cycle |");
    for bw in ROOFLINE_BANDWIDTHS {
        let _ = write!(s, " {bw} GB/s |");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "|---|---:|{}", "---:|".repeat(ROOFLINE_BANDWIDTHS.len()));
    for ch in r.roofline.chunks(ROOFLINE_BANDWIDTHS.len()) {
        let _ = write!(
            s,
            "| {}x{} | {} |",
            ch[0].cols, ch[0].lanes, ch[0].macs_per_cycle
        );
        for p in ch {
            let _ = write!(s, " {:.3} |", p.ternary_decode_ms_per_token);
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "\n## Savings versus model size\n");
    let _ = writeln!(
        s,
        "Same options and energy table; zero fraction {:.1}% for every size.\n",
        100.0 * r.sizes_zero_fraction
    );
    let _ = writeln!(s, "| model | parameters | paper | decode arithmetic | decode total | prefill total | ternary mJ/token | FP16 mJ/token | ternary ms/token | FP16 ms/token | shape |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for z in &r.model_sizes {
        let _ = writeln!(
            s,
            "| {} | {:.2} G | {} | {} | {} | {} | {:.1} | {:.1} | {:.2} | {:.2} | {} |",
            z.name,
            z.total_params as f64 * 1e-9,
            x(z.paper_fp16_over_ternary),
            x(z.fp16_over_ternary_decode.bitlinear_arith),
            x(z.fp16_over_ternary_decode.total),
            x(z.fp16_over_ternary_prefill.total),
            z.ternary_decode_mj_per_token,
            z.fp16_decode_mj_per_token,
            z.ternary_decode_ms_per_token,
            z.fp16_decode_ms_per_token,
            z.source
        );
    }
    let _ = writeln!(
        s,
        "\n## Per layer and per projection (decode, mJ per token)\n"
    );
    let mut by_proj: BTreeMap<usize, (String, [f64; 4], f64)> = BTreeMap::new();
    for l in &r.evaluation.linears {
        let i = Proj::ALL
            .iter()
            .position(|p| p.hf_name() == l.proj)
            .unwrap_or(0);
        let e = by_proj.entry(i).or_insert((l.proj.clone(), [0.0; 4], 0.0));
        for (j, en) in l.decode_per_token.iter().enumerate() {
            e.1[j] += en.total_pj();
        }
        e.2 += l.zero_fraction / m.layers as f64;
    }
    let _ = writeln!(s, "| projection | N x K | zero | FP16 | INT8 | ternary 2-bit | ternary 1.6-bit |\n|---|---|---:|---:|---:|---:|---:|");
    for (i, (name, e, z)) in &by_proj {
        let l = &r.evaluation.linears[*i];
        let _ = writeln!(
            s,
            "| {name} (all layers) | {} x {} | {:.1}% | {} | {} | {} | {} |",
            l.n,
            l.k,
            z * 100.0,
            mj(e[0]),
            mj(e[1]),
            mj(e[2]),
            mj(e[3])
        );
    }
    let _ = writeln!(s, "\n| layer | zero | FP16 | INT8 | ternary 2-bit | ternary 1.6-bit | cycles/token |\n|---:|---:|---:|---:|---:|---:|---:|");
    for (li, ch) in r.evaluation.linears.chunks(7).enumerate() {
        let mut e = [0.0; 4];
        let mut cyc = 0;
        let mut z = 0.0;
        let mut w = 0.0;
        for l in ch {
            for (j, en) in l.decode_per_token.iter().enumerate() {
                e[j] += en.total_pj();
            }
            cyc += l.cycles_per_row;
            z += l.zero_fraction * (l.n * l.k) as f64;
            w += (l.n * l.k) as f64;
        }
        let _ = writeln!(
            s,
            "| {li} | {:.1}% | {} | {} | {} | {} | {cyc} |",
            100.0 * z / w,
            mj(e[0]),
            mj(e[1]),
            mj(e[2]),
            mj(e[3])
        );
    }
    if let Some(fpga) = &r.fpga {
        let _ = writeln!(
            s,
            "\n## FPGA area: ternary vs INT8 vs FP16 (Yosys, from `tritium synth`)\n\nThe arrays above priced as hardware: resources of the project's own RTL, the ternary array next to an INT8 array of the same shape and an IEEE FP16 MAC unit (FP16 arrays are N x the MAC unit, an estimate). See fpga/README.md.\n"
        );
        // The table's own headings, two levels down, under this section.
        for line in crate::fpga::markdown_table(fpga).lines() {
            if line.starts_with("<!--") {
                continue;
            }
            if line.starts_with('#') {
                s.push_str("##");
            }
            s.push_str(line);
            s.push('\n');
        }
    }
    let _ = writeln!(
        s,
        "\n## Energy table ({node})\n\n{}\n",
        r.energy_table.description
    );
    let _ = writeln!(s, "| entry | pJ | source |\n|---|---:|---|");
    let a = &r.energy_table.arith;
    for (n, e) in [
        ("FP16 add", &a.fp16_add),
        ("FP16 mul", &a.fp16_mul),
        ("FP32 add", &a.fp32_add),
        ("FP32 mul", &a.fp32_mul),
        ("INT8 add", &a.int8_add),
        ("INT8 mul", &a.int8_mul),
    ] {
        let _ = writeln!(s, "| {n} | {} | {} |", e.pj, e.source);
    }
    for e in &r.energy_table.int_add {
        let _ = writeln!(
            s,
            "| {}-bit integer add | {} | {} |",
            e.bits, e.pj, e.source
        );
    }
    for e in &r.energy_table.sram {
        let _ = writeln!(
            s,
            "| SRAM {} KB, 64-bit access | {} | {} |",
            e.capacity_bytes / 1024,
            e.pj_per_64bit,
            e.source
        );
    }
    let _ = writeln!(
        s,
        "| DRAM 64-bit access | {} | {} |",
        r.energy_table.dram.pj_per_64bit, r.energy_table.dram.source
    );
    let _ = writeln!(s, "\nWhat is counted and what is left out: see the documentation of `tritium::cost` (`cargo doc --open`) or `tritium report --help`.");
    s
}

/// Where `write` put things.
pub struct Written {
    pub json: PathBuf,
    pub markdown: PathBuf,
    pub plots: Vec<PathBuf>,
}

/// Writes report.json, report.md and (unless `plots` is false) the plots
/// as SVG and PNG into `dir`.
pub fn write(r: &Report, dir: &Path, plots: bool) -> Result<Written> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    let mut refs = Vec::new();
    if plots {
        for (title, stem) in super::plots::PLOTS {
            super::plots::draw(r, stem, dir)?;
            files.push(dir.join(format!("{stem}.svg")));
            files.push(dir.join(format!("{stem}.png")));
            refs.push((*title, *stem));
        }
    }
    let names: Vec<(String, String)> = refs
        .iter()
        .map(|(t, s)| (t.to_string(), format!("{s}.svg")))
        .collect();
    let names_ref: Vec<(&str, &str)> = names
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let json = dir.join("report.json");
    let text = to_json(r)?;
    std::fs::write(&json, text).map_err(|e| Error::io(&json, e))?;
    let md = dir.join("report.md");
    std::fs::write(&md, markdown(r, &names_ref)).map_err(|e| Error::io(&md, e))?;
    Ok(Written {
        json,
        markdown: md,
        plots: files,
    })
}

/// report.json's text (pretty, with a final newline).
pub fn to_json(r: &Report) -> Result<String> {
    let mut s =
        serde_json::to_string_pretty(r).map_err(|e| Error::Usage(format!("report JSON: {e}")))?;
    s.push('\n');
    Ok(s)
}
