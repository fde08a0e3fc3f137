//! What the cost model prices and with what: the variants compared, the
//! options (the array, the accelerator, the memory, the workload), the
//! zero-weight fractions, and the measurements of a co-simulation that
//! replace the analytic counts. The pricing itself is in [`crate::count`].

use serde::{Deserialize, Serialize};
use tritium_golden::{linear_shape, AccelConfig, ArrayConfig, ModelConfig, Proj};

use crate::accel::AccelMemory;

/// The arithmetic variants compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    Fp16,
    Int8,
    /// Ternary weights stored 2 bits each (the format the array reads).
    Ternary2,
    /// Ternary weights stored base-3, 5 per byte (1.6 bits), decoded on chip.
    Ternary16,
}

impl Variant {
    pub const ALL: [Variant; 4] = [
        Variant::Fp16,
        Variant::Int8,
        Variant::Ternary2,
        Variant::Ternary16,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Variant::Fp16 => "FP16",
            Variant::Int8 => "INT8",
            Variant::Ternary2 => "ternary 2-bit",
            Variant::Ternary16 => "ternary 1.6-bit",
        }
    }

    pub fn weight_bits(self) -> f64 {
        match self {
            Variant::Fp16 => 16.0,
            Variant::Int8 => 8.0,
            Variant::Ternary2 => 2.0,
            Variant::Ternary16 => 1.6,
        }
    }

    pub(crate) fn act_bits(self) -> u64 {
        match self {
            Variant::Fp16 => 16,
            _ => 8,
        }
    }

    pub(crate) fn out_bits(self) -> u64 {
        match self {
            Variant::Fp16 => 16,
            _ => 32,
        }
    }

    pub fn is_ternary(self) -> bool {
        matches!(self, Variant::Ternary2 | Variant::Ternary16)
    }
}

/// Energy split by where it is spent, in picojoules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Energy {
    pub arith_pj: f64,
    pub sram_pj: f64,
    pub dram_pj: f64,
}

impl Energy {
    pub fn memory_pj(&self) -> f64 {
        self.sram_pj + self.dram_pj
    }
    pub fn total_pj(&self) -> f64 {
        self.arith_pj + self.sram_pj + self.dram_pj
    }
    pub(crate) fn scaled(self, s: f64) -> Energy {
        Energy {
            arith_pj: self.arith_pj * s,
            sram_pj: self.sram_pj * s,
            dram_pj: self.dram_pj * s,
        }
    }
}

impl std::ops::AddAssign for Energy {
    fn add_assign(&mut self, o: Energy) {
        self.arith_pj += o.arith_pj;
        self.sram_pj += o.sram_pj;
        self.dram_pj += o.dram_pj;
    }
}

/// A prompt, then `decode_tokens` single-token steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    pub prompt_tokens: usize,
    pub decode_tokens: usize,
}

/// The accelerator `tri_accel` the ternary variants run on: one
/// configuration per stored format (by default twins on the same bus,
/// [`crate::accel::twin`]), the rows per job and the memory latency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AccelOptions {
    /// The 2-bit variant's accelerator.
    pub two_bit: AccelConfig,
    /// The base-3 (1.6-bit) variant's accelerator.
    pub base3: AccelConfig,
    /// Token rows per job, `1..=` each configuration's `tokens`: every
    /// weight fetched serves this many rows (prefill), in every variant.
    pub batch: usize,
    /// Cycles from a weight read to its data.
    pub mem_latency: u32,
}

impl AccelOptions {
    /// The accelerator of a ternary variant.
    pub fn of(&self, v: Variant) -> Option<&AccelConfig> {
        match v {
            Variant::Ternary2 => Some(&self.two_bit),
            Variant::Ternary16 => Some(&self.base3),
            _ => None,
        }
    }
}

/// Everything besides the model shape and the energy table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostOptions {
    /// The MAC array of the FP16 and INT8 variants.
    pub array: ArrayConfig,
    pub clock_mhz: f64,
    pub bandwidth_gbs: f64,
    pub workload: Workload,
    /// Bits per LM-head weight in the ternary variants (16: as 2B4T ships).
    pub ternary_head_bits: u32,
    /// Bits per KV-cache element (all variants).
    pub kv_bits: u32,
    /// The accelerator of the ternary variants.
    pub accel: AccelOptions,
}

impl CostOptions {
    /// The weight memory of accelerator `cfg` in its cycles: the bandwidth
    /// over the clock, at most the weight port (`bus_bytes` per cycle).
    pub fn accel_memory(&self, cfg: &AccelConfig) -> AccelMemory {
        AccelMemory {
            bytes_per_cycle: (self.bandwidth_gbs * 1e3 / self.clock_mhz).min(cfg.bus_bytes as f64),
            latency: self.accel.mem_latency,
        }
    }
}

/// One BitLinear call measured on the RTL: the accelerator's counters
/// (means over the co-simulation's calls of this BitLinear and phase).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasuredCall {
    pub cycles: f64,
    pub dram_bytes: f64,
    pub buffer_reads: f64,
    pub buffer_writes: f64,
}

/// Co-simulated BitLinear calls (`[layer][proj]`, `Proj::ALL` order; None
/// where not measured) of one ternary variant: they replace the analytic
/// model's cycles and counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// The variant of the co-simulated accelerator (its stored format).
    pub variant: Variant,
    /// One decode call (one token row).
    pub decode: Vec<[Option<MeasuredCall>; 7]>,
    /// The prompt call (`workload.prompt_tokens` rows).
    pub prefill: Vec<[Option<MeasuredCall>; 7]>,
}

/// What the evaluation takes besides the shape, the zero fractions, the
/// table and the options.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvalInputs<'a> {
    /// Measured calls that replace the analytic ones.
    pub measured: Option<&'a Measured>,
    /// Energy of decoding one stored base-3 byte, pJ (see
    /// [`crate::decoder`]).
    pub decoder_pj_per_byte: f64,
}

/// Fraction of zero weights of every BitLinear, `[layer][proj]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZeroFractions {
    pub per_linear: Vec<[f64; 7]>,
    /// How the fractions were obtained.
    pub source: String,
}

impl ZeroFractions {
    pub fn uniform(layers: usize, f: f64, source: impl Into<String>) -> ZeroFractions {
        ZeroFractions {
            per_linear: vec![[f; 7]; layers],
            source: source.into(),
        }
    }

    /// Counted from the weights of a loaded model.
    pub fn measure(model: &tritium_golden::Model, source: impl Into<String>) -> ZeroFractions {
        let per_linear = model
            .layers()
            .iter()
            .map(|l| {
                Proj::ALL.map(|p| {
                    let w = l.linear(p);
                    let total = (w.n() * w.k()) as f64;
                    1.0 - w.nonzeros() as f64 / total
                })
            })
            .collect();
        ZeroFractions {
            per_linear,
            source: source.into(),
        }
    }

    /// Zero fraction over all ternary weights (weighted by matrix size).
    pub fn overall(&self, c: &ModelConfig) -> f64 {
        let (mut z, mut t) = (0.0, 0.0);
        for row in &self.per_linear {
            for (i, p) in Proj::ALL.iter().enumerate() {
                let (n, k) = linear_shape(c, *p);
                let s = (n * k) as f64;
                z += row[i] * s;
                t += s;
            }
        }
        if t == 0.0 {
            0.0
        } else {
            z / t
        }
    }
}
