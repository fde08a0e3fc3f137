//! The report of `tritium report`: the evaluation of one model plus the
//! sweeps (paper model sizes, array sizes x memory bandwidths), the optional
//! co-simulation cross-check and FPGA area, as one serializable [`Report`].
//! Rendering is elsewhere: [`crate::markdown`], [`crate::plots`], written
//! by [`crate::write`].

use serde::{Deserialize, Serialize};
use tritium_golden::{AccelConfig, ModelConfig};

use crate::count::{CostOptions, Evaluation, Variant, VariantCost};
use crate::decoder::SynthFigures;
use crate::energy::EnergyTable;
use crate::shapes::param_count;

/// Version of report.json's layout; bumped on any incompatible change.
/// 2: the ternary variants on the accelerator (options.accel, accelerator,
/// per-variant cycles of each BitLinear), co-simulation schema 2 with
/// measured counts, the published-design comparison.
pub const SCHEMA_VERSION: u32 = 2;

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

/// One co-simulation file read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CosimFileInfo {
    pub file: String,
    pub model: String,
    /// `decode` (a one-token prompt: every call one row), `prefill` (no
    /// decoded token: one call of the prompt's rows) or `mixed` (a prompt
    /// and decode steps: checked, not used for latency).
    pub kind: String,
    pub prompt_tokens: usize,
    pub decode_steps: usize,
    /// Wall-clock seconds the co-simulation took.
    pub wall_seconds: f64,
}

/// Measured (RTL) against analytic cycles and counts of one BitLinear of
/// one co-simulation file (all its calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleCheckRow {
    /// Index into [`CosimCheck::files`].
    pub file: usize,
    pub layer: usize,
    pub proj: String,
    pub n: usize,
    pub k: usize,
    pub calls: u64,
    pub token_rows: u64,
    pub measured_cycles: u64,
    pub analytic_cycles: u64,
    pub measured_dram_bytes: u64,
    pub analytic_dram_bytes: u64,
    pub measured_buffer_reads: u64,
    pub analytic_buffer_reads: u64,
    pub measured_buffer_writes: u64,
    pub analytic_buffer_writes: u64,
}

impl CycleCheckRow {
    /// Measured over analytic cycles, minus one.
    pub fn cycle_error(&self) -> f64 {
        self.measured_cycles as f64 / self.analytic_cycles.max(1) as f64 - 1.0
    }

    /// DRAM bytes and buffer reads and writes are what the model counts.
    pub fn counts_equal(&self) -> bool {
        self.measured_dram_bytes == self.analytic_dram_bytes
            && self.measured_buffer_reads == self.analytic_buffer_reads
            && self.measured_buffer_writes == self.analytic_buffer_writes
    }
}

/// What the `tritium cosim --json` runs contributed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CosimCheck {
    pub files: Vec<CosimFileInfo>,
    /// The co-simulated accelerator (`tritium_sim::ACCEL_CONFIGS` name),
    /// its configuration, batch, memory and clock.
    pub accel_name: String,
    pub accel: AccelConfig,
    pub batch: usize,
    pub mem_bytes_per_cycle: f64,
    pub mem_latency: u32,
    pub clock_mhz: f64,
    pub rows: Vec<CycleCheckRow>,
    /// Total measured over total analytic cycles.
    pub measured_over_analytic: f64,
    /// Largest |measured / analytic - 1| of a row.
    pub max_cycle_error: f64,
    /// Every row's DRAM bytes and buffer reads and writes equal the model's.
    pub counts_equal: bool,
    /// Layers the RTL ran; the other layers' BitLinears take the measured
    /// figures of the same projection (the same shape: the accelerator's
    /// timing does not depend on the weights' values).
    pub measured_layers: Vec<usize>,
    /// Zero fraction counted by the RTL's skip counters.
    pub measured_zero_fraction: f64,
}

/// One ternary variant and phase on the accelerator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccelPhaseRow {
    pub variant: Variant,
    /// `decode` or `prefill`.
    pub phase: String,
    /// The BitLinears' cycles, DRAM bytes and time per token.
    pub cycles_per_token: f64,
    pub dram_bytes_per_token: f64,
    /// Tokens per second if only the BitLinears ran (tokens/s equivalent).
    pub bitlinear_tokens_per_second: f64,
    /// The memory floor (DRAM bytes over bytes per cycle) over the cycles.
    pub memory_floor_fraction: f64,
    /// Cycles and counts measured on the RTL (else the analytic model).
    pub measured: bool,
}

/// The accelerator the ternary variants run on, and how they do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccelSummary {
    /// Weight memory bytes per cycle of the 2-bit and base-3 accelerators.
    pub mem_bytes_per_cycle: [f64; 2],
    pub rows: Vec<AccelPhaseRow>,
    /// Decode DRAM bytes per token of the BitLinears, base-3 over 2-bit.
    pub base3_over_2bit_dram_bytes: f64,
    /// Synthesis figures used (decoder energy, areas).
    pub synth: SynthFigures,
}

/// A published accelerator's figures, with what they include.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedDesign {
    pub name: String,
    pub source: String,
    pub includes: String,
    pub decode_tokens_per_second: f64,
    pub joules_per_token: f64,
    pub luts: u64,
    pub dsps: u64,
    pub clock_mhz: f64,
    pub engines: String,
    pub achieved_gbs: f64,
    pub weight_bytes_per_token: f64,
    pub weight_packing: String,
}

/// This report's figures next to a published design's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedComparison {
    pub published: PublishedDesign,
    /// What our side includes.
    pub includes: String,
    pub variant: Variant,
    pub clock_mhz: f64,
    pub peak_gbs: f64,
    pub bitlinear_decode_tokens_per_second: f64,
    pub bitlinear_prefill_tokens_per_second: f64,
    /// The whole model in this report's latency model: the BitLinears on
    /// the accelerator, attention, the KV cache and the head at the memory
    /// bandwidth.
    pub model_decode_tokens_per_second: f64,
    /// Bits per LM-head weight in that model.
    pub head_bits: u32,
    pub decode_memory_floor_fraction: f64,
    pub weight_bytes_per_token: f64,
    /// Weight bytes per token over the decode time of the BitLinears.
    pub achieved_gbs: f64,
    /// The whole model per token in this report's energy model (estimate,
    /// chip only: no board, host or DRAM interface power).
    pub model_joules_per_token: f64,
    /// From results.json's `tri_accel` of this configuration, if synthesized.
    pub luts: Option<u64>,
    pub dsps: Option<u64>,
    pub luts_family: Option<String>,
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
    /// The ternary variants on the accelerator.
    pub accelerator: AccelSummary,
    pub cosim: Option<CosimCheck>,
    /// A published design next to this report's figures, if asked for.
    pub published: Option<PublishedComparison>,
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
