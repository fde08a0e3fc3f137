//! The report of `tritium report`: the evaluation of one model plus the
//! sweeps (paper model sizes, array sizes x memory bandwidths), the optional
//! co-simulation cross-check and FPGA area, as one serializable [`Report`].
//! Rendering is elsewhere: [`crate::markdown`], [`crate::plots`], written
//! by [`crate::write`].

use serde::{Deserialize, Serialize};
use tritium_golden::{ArrayConfig, ModelConfig, Proj};

use crate::count::{evaluate, CostOptions, Evaluation, Variant, VariantCost, ZeroFractions};
use crate::energy::EnergyTable;
use crate::error::{Error, Result};
use crate::request::ReportRequest;
use crate::shapes::{paper_sizes, param_count};

/// Version of report.json's layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Which mode the energy-per-token plot and the summary line show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    pub array: ArrayConfig,
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
    pub fpga: Option<tritium_fpga::SynthResults>,
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

/// The first number of `r` that is NaN or infinite, by its path in
/// report.json (`summary.fp16_over_ternary_decode.total`), if any: a report
/// never shows such a number (JSON would print it as null).
pub fn first_non_finite(r: &Report) -> Option<String> {
    use serde_value::Value;
    fn walk(v: &Value, at: &str) -> Option<String> {
        match v {
            Value::F64(x) if !x.is_finite() => Some(format!("{at} = {x}")),
            Value::F32(x) if !x.is_finite() => Some(format!("{at} = {x}")),
            Value::Option(Some(b)) | Value::Newtype(b) => walk(b, at),
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, &format!("{at}[{i}]"))),
            Value::Map(m) => m.iter().find_map(|(k, x)| {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                walk(
                    x,
                    &if at.is_empty() {
                        key
                    } else {
                        format!("{at}.{key}")
                    },
                )
            }),
            _ => None,
        }
    }
    match serde_value::to_value(r) {
        Ok(v) => walk(&v, ""),
        Err(e) => Some(format!("(the report does not serialize: {e})")),
    }
}

/// Builds the whole report (no files written).
/// `req` after its co-simulation was read: the options (with the
/// co-simulated array) and zero fractions to use, and the cycle check.
pub(crate) struct Resolved {
    pub options: CostOptions,
    pub zeros: ZeroFractions,
    pub cosim: Option<CosimCheck>,
}

pub(crate) fn build(req: &ReportRequest, inp: Resolved) -> Result<Report> {
    let c = &req.config;
    if inp.zeros.per_linear.len() != c.num_layers {
        return Err(Error::ZeroFractionLayers {
            given: inp.zeros.per_linear.len(),
            layers: c.num_layers,
        });
    }
    let o = inp.options;
    let sizes_zero_fraction = inp.zeros.overall(c);
    let measured = inp.cosim.as_ref().map(|cc| measured_cycles(c, cc));
    let ev = evaluate(c, &inp.zeros, &req.table, &o, measured.as_deref());
    let zero = inp.zeros.overall(c);
    let summary = summary(&ev, zero);
    let model_sizes = paper_sizes()
        .into_iter()
        .map(|s| {
            let z = ZeroFractions::uniform(s.config.num_layers, sizes_zero_fraction, "");
            let e = evaluate(&s.config, &z, &req.table, &o, None);
            let sm = self::summary(&e, sizes_zero_fraction);
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
            let e = evaluate(c, &inp.zeros, &req.table, &oo, None);
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
    let report = Report {
        schema_version: SCHEMA_VERSION,
        generator: format!("tritium {}", env!("CARGO_PKG_VERSION")),
        mode: req.mode,
        model: ModelInfo::new(&req.name, c),
        options: o,
        zero_fraction_source: inp.zeros.source.clone(),
        energy_table: req.table.clone(),
        summary,
        evaluation: ev,
        sizes_zero_fraction,
        model_sizes,
        roofline,
        cosim: inp.cosim,
        fpga: req.fpga.clone(),
    };
    if let Some(at) = first_non_finite(&report) {
        return Err(Error::NonFinite { at });
    }
    Ok(report)
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
