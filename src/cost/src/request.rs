//! A report request: everything `tritium report` gathers from its
//! arguments, as an API. [`ReportRequest::build`] checks it, reads the
//! co-simulation it points to and builds the [`Report`].

use std::path::PathBuf;

use tritium_fpga::SynthResults;
use tritium_golden::{ArrayConfig, ModelConfig};

use crate::cosim_input::read_cosim;
use crate::count::{CostOptions, Workload, ZeroFractions};
use crate::energy::EnergyTable;
use crate::error::{Error, Result};
use crate::report::{build, Mode, Report, Resolved};

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
        build(
            self,
            Resolved {
                options,
                zeros,
                cosim,
            },
        )
    }
}
