//! A report request: everything `tritium report` gathers from its
//! arguments, as an API. [`ReportRequest::build`] checks it, reads the
//! co-simulation it points to and builds the [`Report`].

use std::path::PathBuf;

use tritium_fpga::SynthResults;
use tritium_golden::{AccelConfig, ArrayConfig, ModelConfig, WeightFormat};

use crate::accel::twin;
use crate::cosim_input::{read_cosim, CosimInput};
use crate::count::{
    evaluate, AccelOptions, CostOptions, EvalInputs, Measured, Variant, Workload, ZeroFractions,
};
use crate::decoder::SynthFigures;
use crate::energy::EnergyTable;
use crate::error::{Error, Result};
use crate::report::{
    first_non_finite, summary, AccelPhaseRow, AccelSummary, CosimCheck, Mode, ModelInfo,
    PublishedDesign, Report, RooflinePoint, SizeRow, ROOFLINE_ARRAYS, ROOFLINE_BANDWIDTHS,
    SCHEMA_VERSION,
};
use crate::shapes::{paper_sizes, param_count};
use crate::Evaluation;

const DEFAULT_ARRAY: ArrayConfig = ArrayConfig {
    cols: 16,
    lanes: 32,
    k_max: 8192,
};

/// The defaults of `tritium report`: a 16 x 32 array (KMax 8192) at 1 GHz,
/// 68 GB/s of DRAM (LPDDR5X-8533 on a 64-bit bus), a 128-token prompt and
/// 128 decoded tokens, a 16-bit LM head and KV cache; the ternary variants
/// on `tri_accel` with that array (2-bit; base-3: 16 x 40, the same 128
/// bytes per word) on a 128-byte weight port, 16 token rows per job, 100
/// cycles (100 ns) of memory latency.
pub const DEFAULT_OPTIONS: CostOptions = CostOptions {
    array: DEFAULT_ARRAY,
    clock_mhz: 1000.0,
    bandwidth_gbs: 68.0,
    workload: Workload {
        prompt_tokens: 128,
        decode_tokens: 128,
    },
    ternary_head_bits: 16,
    kv_bits: 16,
    accel: AccelOptions {
        two_bit: AccelConfig {
            array: DEFAULT_ARRAY,
            tokens: 16,
            bus_bytes: 128,
            format: WeightFormat::TwoBit,
            word_bytes: 128,
        },
        base3: AccelConfig {
            array: ArrayConfig {
                cols: 16,
                lanes: 40,
                k_max: 8192,
            },
            tokens: 16,
            bus_bytes: 128,
            format: WeightFormat::Base3,
            word_bytes: 128,
        },
        batch: 16,
        mem_latency: 100,
    },
};

/// The accelerators of a 2-bit array of `array` (and its base-3 twin on
/// the same bus): `tokens` token rows, a bus of `bus_bytes` (None: one
/// 2-bit word per beat, at most `BUS_BYTES_LIMIT`).
pub fn accel_pair(
    array: ArrayConfig,
    tokens: usize,
    bus_bytes: Option<usize>,
) -> Result<(AccelConfig, AccelConfig)> {
    let bus = bus_bytes.unwrap_or_else(|| {
        array
            .macs_per_beat()
            .div_ceil(4)
            .min(tritium_golden::accel::BUS_BYTES_LIMIT)
    });
    let two =
        AccelConfig::new(array, tokens, bus, WeightFormat::TwoBit).map_err(|e| Error::Option {
            name: "accelerator",
            message: e.to_string(),
        })?;
    Ok((two, twin(&two, WeightFormat::Base3)?))
}

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
        let acc = &self.accel;
        for cfg in [&acc.two_bit, &acc.base3] {
            cfg.check()
                .map_err(|e| option("accel", format!("{cfg}: {e}")))?;
            if !(1..=cfg.tokens).contains(&acc.batch) {
                return Err(option(
                    "batch",
                    format!(
                        "must be in 1..={} (the buffer's token rows), got {}",
                        cfg.tokens, acc.batch
                    ),
                ));
            }
            self.accel_memory(cfg).check(cfg.bus_bytes)?;
        }
        if acc.two_bit.format != WeightFormat::TwoBit || acc.base3.format != WeightFormat::Base3 {
            return Err(option(
                "accel",
                "two_bit must be a 2-bit and base3 a base-3 configuration".into(),
            ));
        }
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
    /// `tritium cosim --json` outputs of this model (one accelerator): its
    /// accelerator, memory, clock, measured cycles and counts and (unless
    /// `zeros_given`) measured zero fractions are used
    /// ([`crate::cosim_input`]).
    pub cosim: Vec<PathBuf>,
    /// FPGA synthesis results to include.
    pub fpga: Option<SynthResults>,
    /// The accelerator's synthesis figures (decoder energy and area); None:
    /// the decoder's assumption ([`SynthFigures::none`]).
    pub synth: Option<SynthFigures>,
    /// A published design to compare with.
    pub published: Option<PublishedDesign>,
}

impl ReportRequest {
    /// A request with [`DEFAULT_OPTIONS`], detailed mode, no co-simulation,
    /// no FPGA results and no comparison.
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
            cosim: Vec::new(),
            fpga: None,
            synth: None,
            published: None,
        }
    }

    /// Checks the options, reads the co-simulation, builds the report.
    pub fn build(&self) -> Result<Report> {
        self.options.check()?;
        let mut options = self.options;
        let mut zeros = self.zeros.clone();
        let cosim = if self.cosim.is_empty() {
            None
        } else {
            let inp = read_cosim(&self.cosim, &self.config)?;
            let cc = &inp.check;
            // The co-simulated accelerator, memory and clock; its twin in
            // the other format; the FP16 and INT8 array of its geometry.
            let other = match cc.accel.format {
                WeightFormat::TwoBit => WeightFormat::Base3,
                WeightFormat::Base3 => WeightFormat::TwoBit,
            };
            let tw = twin(&cc.accel, other)?;
            let (two_bit, base3) = match cc.accel.format {
                WeightFormat::TwoBit => (cc.accel, tw),
                WeightFormat::Base3 => (tw, cc.accel),
            };
            options.accel = AccelOptions {
                two_bit,
                base3,
                batch: cc.batch,
                mem_latency: cc.mem_latency,
            };
            options.array = cc.accel.array;
            options.clock_mhz = cc.clock_mhz;
            options.bandwidth_gbs = inp.memory.bytes_per_cycle * cc.clock_mhz / 1e3;
            if let Some(p) = inp.prompt_tokens {
                options.workload.prompt_tokens = p;
            }
            if !self.zeros_given {
                for (l, row) in inp.zeros.iter().enumerate() {
                    for (i, z) in row.iter().enumerate() {
                        if let Some(z) = z {
                            zeros.per_linear[l][i] = *z;
                        }
                    }
                }
                let files: Vec<String> =
                    self.cosim.iter().map(|p| p.display().to_string()).collect();
                zeros.source = format!(
                    "counted by the RTL's zero-skip counters in {} (BitLinears it ran), {}",
                    files.join(", "),
                    zeros.source
                );
            }
            options.check()?;
            Some(inp)
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

/// `req` after its co-simulation was read: the options (with the
/// co-simulated accelerator) and zero fractions to use, and what the
/// co-simulation gave.
struct Resolved {
    options: CostOptions,
    zeros: ZeroFractions,
    cosim: Option<CosimInput>,
}

/// The accelerator summary of an evaluation.
fn accel_summary(
    ev: &Evaluation,
    o: &CostOptions,
    measured: Option<&Measured>,
    synth: SynthFigures,
) -> AccelSummary {
    let bpc = [
        o.accel_memory(&o.accel.two_bit).bytes_per_cycle,
        o.accel_memory(&o.accel.base3).bytes_per_cycle,
    ];
    let mut rows = Vec::new();
    for (vi, v) in [Variant::Ternary2, Variant::Ternary16]
        .into_iter()
        .enumerate()
    {
        let vc = ev.variant(v);
        for (phase, p) in [("decode", &vc.decode), ("prefill", &vc.prefill)] {
            rows.push(AccelPhaseRow {
                variant: v,
                phase: phase.into(),
                cycles_per_token: p.bitlinear_cycles_per_token,
                dram_bytes_per_token: p.bitlinear_dram_bytes_per_token,
                bitlinear_tokens_per_second: 1.0 / p.bitlinear_seconds_per_token,
                memory_floor_fraction: p.bitlinear_dram_bytes_per_token
                    / bpc[vi]
                    / p.bitlinear_cycles_per_token,
                measured: measured.is_some_and(|m| {
                    let calls = if phase == "decode" {
                        &m.decode
                    } else {
                        &m.prefill
                    };
                    m.variant == v && calls.iter().any(|r| r.iter().any(Option::is_some))
                }),
            });
        }
    }
    let d = |v| ev.variant(v).decode.bitlinear_dram_bytes_per_token;
    AccelSummary {
        mem_bytes_per_cycle: bpc,
        rows,
        base3_over_2bit_dram_bytes: d(Variant::Ternary16) / d(Variant::Ternary2),
        synth,
    }
}

/// Builds the whole report (no files written).
fn assemble(req: &ReportRequest, inp: Resolved) -> Result<Report> {
    let c = &req.config;
    if inp.zeros.per_linear.len() != c.num_layers {
        return Err(Error::ZeroFractionLayers {
            given: inp.zeros.per_linear.len(),
            layers: c.num_layers,
        });
    }
    let o = inp.options;
    let synth = req
        .synth
        .clone()
        .unwrap_or_else(|| SynthFigures::none(&req.table));
    let dec = synth.decoder.pj_per_byte;
    let analytic = EvalInputs {
        measured: None,
        decoder_pj_per_byte: dec,
    };
    let sizes_zero_fraction = inp.zeros.overall(c);
    let ev = evaluate(
        c,
        &inp.zeros,
        &req.table,
        &o,
        &EvalInputs {
            measured: inp.cosim.as_ref().map(|x| &x.measured),
            decoder_pj_per_byte: dec,
        },
    )?;
    let zero = inp.zeros.overall(c);
    let overall = summary(&ev, zero);
    let mut model_sizes = Vec::new();
    for s in paper_sizes() {
        let z = ZeroFractions::uniform(s.config.num_layers, sizes_zero_fraction, "");
        let e = evaluate(&s.config, &z, &req.table, &o, &analytic)?;
        let sm = summary(&e, sizes_zero_fraction);
        let (f, t) = (e.variant(Variant::Fp16), e.variant(Variant::Ternary2));
        model_sizes.push(SizeRow {
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
        });
    }
    let mut roofline = Vec::new();
    // Latency does not depend on the prompt beyond the KV cache: a short
    // decode keeps the sweep fast.
    for &(cols, lanes) in &ROOFLINE_ARRAYS {
        for &bw in &ROOFLINE_BANDWIDTHS {
            let mut oo = o;
            oo.array.cols = cols;
            oo.array.lanes = lanes;
            let (two_bit, base3) = accel_pair(oo.array, o.accel.two_bit.tokens, None)?;
            oo.accel.two_bit = two_bit;
            oo.accel.base3 = base3;
            oo.bandwidth_gbs = bw;
            oo.workload.decode_tokens = o.workload.decode_tokens.min(8);
            let e = evaluate(c, &inp.zeros, &req.table, &oo, &analytic)?;
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
    let measured_variant = inp.cosim.as_ref().map(|x| x.measured.variant);
    let accelerator = accel_summary(&ev, &o, inp.cosim.as_ref().map(|x| &x.measured), synth);
    let cosim: Option<CosimCheck> = inp.cosim.map(|x| x.check);
    let published = req.published.clone().map(|p| {
        let variant = measured_variant.unwrap_or(Variant::Ternary16);
        let cfg = *o.accel.of(variant).unwrap_or(&o.accel.base3);
        let includes = match &cosim {
            Some(cc) => format!(
                "the {} BitLinears only, on one tri_accel engine ({}): cycles measured on its RTL ({}) for layer(s) {:?} and extrapolated to every layer by projection, at {} B/cycle of weight memory ({} cycles of latency) and an assumed {} MHz clock (timing not closed); no attention, KV cache, LM head, embedding or host",
                c.num_layers * 7, cfg, cc.accel_name, cc.measured_layers, cc.mem_bytes_per_cycle, cc.mem_latency, o.clock_mhz
            ),
            None => format!(
                "the {} BitLinears only, on one tri_accel engine ({}), cycles from the analytic model; no attention, KV cache, LM head, embedding or host",
                c.num_layers * 7, cfg
            ),
        };
        crate::published::compare(p, &ev, &accelerator, variant, &o, includes)
    });
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
        accelerator,
        cosim,
        published,
        fpga: req.fpga.clone(),
    };
    if let Some(at) = first_non_finite(&report) {
        return Err(Error::NonFinite { at });
    }
    Ok(report)
}
