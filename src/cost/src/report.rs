//! The report of `tritium report`: the evaluation of one model plus the
//! sweeps (paper model sizes, array sizes x memory bandwidths), the optional
//! co-simulation cross-check and FPGA area, as one serializable [`Report`].
//! Rendering is elsewhere: [`crate::markdown`], [`crate::plots`], written
//! by [`crate::write`].

use serde::{Deserialize, Serialize};
use tritium_golden::{ArrayConfig, ModelConfig};

use crate::count::{CostOptions, Evaluation, Variant, VariantCost};
use crate::energy::EnergyTable;
use crate::shapes::param_count;

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

pub(crate) fn summary(ev: &Evaluation, zero: f64) -> Summary {
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
