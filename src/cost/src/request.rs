//! A report request: everything `tritium report` gathers from its
//! arguments, as an API. [`ReportRequest::build`] checks it, reads the
//! co-simulation it points to and builds the [`Report`].

use std::path::PathBuf;

use tritium_fpga::SynthResults;
use tritium_golden::{ArrayConfig, ModelConfig, Proj};

use crate::cosim_input::read_cosim;
use crate::count::{evaluate, CostOptions, Variant, Workload, ZeroFractions};
use crate::energy::EnergyTable;
use crate::error::{Error, Result};
use crate::report::{
    first_non_finite, summary, CosimCheck, Mode, ModelInfo, Report, RooflinePoint, SizeRow,
    ROOFLINE_ARRAYS, ROOFLINE_BANDWIDTHS, SCHEMA_VERSION,
};
use crate::shapes::{paper_sizes, param_count};

/// The defaults of `tritium report`: a 16 x 32 array (KMax 8192) at 1 GHz,
/// 68 GB/s of DRAM (LPDDR5X-8533 on a 64-bit bus), a 128-token prompt and
/// 128 decoded tokens, a 16-bit LM head and KV cache.
pub const DEFAULT_OPTIONS: CostOptions = CostOptions {
    array: ArrayConfig {
        cols: 16,
        lanes: 32,
        k_max: 8192,
    },
    clock_mhz: 1000.0,
    bandwidth_gbs: 68.0,
    workload: Workload {
        prompt_tokens: 128,
        decode_tokens: 128,
    },
    ternary_head_bits: 16,
    kv_bits: 16,
};

/// Largest prompt of a workload.
pub const MAX_PROMPT_TOKENS: usize = 1 << 20;
/// Most decoded tokens of a workload.
pub const MAX_DECODE_TOKENS: usize = 1 << 16;

impl CostOptions {
    /// Checks every option against its range (a report of NaN or infinity
    /// is refused here rather than written).
    pub fn check(&self) -> Result<()> {
        let option = |name: &'static str, message: String| Error::Option { name, message };
        for (name, v, lo, hi) in [
            ("clock_mhz", self.clock_mhz, 1e-3, 1e6),
            ("bandwidth_gbs", self.bandwidth_gbs, 1e-3, 1e6),
        ] {
            if !(v.is_finite() && (lo..=hi).contains(&v)) {
                return Err(option(name, format!("must be in {lo}..={hi}, got {v}")));
            }
        }
        ArrayConfig::new(self.array.cols, self.array.lanes, self.array.k_max)
            .map_err(|e| option("array", e.to_string()))?;
        let w = self.workload;
        for (name, v, max) in [
            ("prompt_tokens", w.prompt_tokens, MAX_PROMPT_TOKENS),
            ("decode_tokens", w.decode_tokens, MAX_DECODE_TOKENS),
            ("ternary_head_bits", self.ternary_head_bits as usize, 32),
            ("kv_bits", self.kv_bits as usize, 32),
        ] {
            if !(1..=max).contains(&v) {
                return Err(option(name, format!("must be in 1..={max}, got {v}")));
            }
        }
        Ok(())
    }
}

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// The model's name in the report.
    pub name: String,
    pub config: ModelConfig,
    /// Zero-weight fractions, with their source.
    pub zeros: ZeroFractions,
    /// The zero fractions were given by the user: a co-simulation's
    /// measured skips do not replace them.
    pub zeros_given: bool,
    pub table: EnergyTable,
    pub options: CostOptions,
    pub mode: Mode,
    /// A `tritium cosim --json` output of this model: its array, measured
    /// cycles and (unless `zeros_given`) measured zero fractions are used.
    pub cosim: Option<PathBuf>,
    /// FPGA synthesis results to include.
    pub fpga: Option<SynthResults>,
}

impl ReportRequest {
    /// A request with [`DEFAULT_OPTIONS`], detailed mode, no co-simulation
    /// and no FPGA results.
    pub fn new(
        name: impl Into<String>,
        config: ModelConfig,
        zeros: ZeroFractions,
        table: EnergyTable,
    ) -> ReportRequest {
        ReportRequest {
            name: name.into(),
            config,
            zeros,
            zeros_given: false,
            table,
            options: DEFAULT_OPTIONS,
            mode: Mode::Detailed,
            cosim: None,
            fpga: None,
        }
    }

    /// Checks the options, reads the co-simulation, builds the report.
    pub fn build(&self) -> Result<Report> {
        self.options.check()?;
        let mut options = self.options;
        let mut zeros = self.zeros.clone();
        let cosim = match &self.cosim {
            Some(p) => {
                let (check, measured) = read_cosim(p, &self.config)?;
                options.array = check.array;
                if !self.zeros_given {
                    for (l, row) in measured.iter().enumerate() {
                        for (i, z) in row.iter().enumerate() {
                            if let Some(z) = z {
                                zeros.per_linear[l][i] = *z;
                            }
                        }
                    }
                    zeros.source = format!(
                        "counted by the RTL's zero-skip counters in {} (BitLinears it ran), {}",
                        p.display(),
                        zeros.source
                    );
                }
                Some(check)
            }
            None => None,
        };
        assemble(
            self,
            Resolved {
                options,
                zeros,
                cosim,
            },
        )
    }
}

/// Builds the whole report (no files written).
/// `req` after its co-simulation was read: the options (with the
/// co-simulated array) and zero fractions to use, and the cycle check.
struct Resolved {
    options: CostOptions,
    zeros: ZeroFractions,
    cosim: Option<CosimCheck>,
}

fn assemble(req: &ReportRequest, inp: Resolved) -> Result<Report> {
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
    let overall = summary(&ev, zero);
    let model_sizes = paper_sizes()
        .into_iter()
        .map(|s| {
            let z = ZeroFractions::uniform(s.config.num_layers, sizes_zero_fraction, "");
            let e = evaluate(&s.config, &z, &req.table, &o, None);
            let sm = summary(&e, sizes_zero_fraction);
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
        summary: overall,
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
