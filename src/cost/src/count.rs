//! Counting and pricing: operations, memory traffic, energy and latency of
//! one model shape on one workload (a prompt, then decoded tokens).
//!
//! # What is counted (detailed mode)
//! Per BitLinear call of `M` token rows, `N x K` weights:
//! - **MACs** `M*N*K`. FP16 prices each as one FP16 mul + one FP16 add;
//!   INT8 as one INT8 mul + one 32-bit add; ternary as one add at the
//!   array's accumulator width *for non-zero weights only* (zero weights
//!   gate the adder and cost nothing). INT8 and ternary also quantize the
//!   input row (K fp32 absmax compares and K fp32 multiplies) and dequantize
//!   the outputs (N fp32 multiplies).
//! - **Weights**: read from DRAM once per call at the variant's bits per
//!   weight (16, 8, 2, 1.6), written once into an on-chip weight buffer that
//!   holds one tile (`cols x K` weights), and read from it once per token row.
//! - **Activations**: the int8 (FP16: 16-bit) input row is read from an
//!   on-chip buffer once per output tile (the array broadcasts it to all
//!   columns); outputs are written once (32-bit accumulators; FP16: 16-bit).
//! - Every SRAM is priced by its size (the table's SRAM energies
//!   interpolated in log2 capacity), so a wider weight tile costs more per
//!   access.
//!
//! Outside the BitLinears, the same in every variant (b1.58 keeps them in
//! floating point): attention `QK^T` and `AV` (FP16 mul + add per MAC), the
//! KV cache in DRAM (written once, read once per call for all earlier
//! positions), the embedding row (16-bit, DRAM) and the LM head for the last
//! row of each call (its own bits per weight: FP16 16, INT8 8, ternary
//! models keep a 16-bit head as 2B4T does unless told otherwise).
//! Norms, RoPE and activation functions are O(hidden) per token and left out.
//!
//! # Paper mode
//! The b1.58 paper's assumptions: BitLinear arithmetic only, FP16 MAC = FP16
//! mul + FP16 add, ternary MAC = one INT8 add whatever the weight, INT8 MAC
//! = INT8 mul + INT8 add; no memory, no attention, no head.
//!
//! # Latency
//! Cycles of the tritium array per BitLinear from [`ArrayConfig::cycles_per_row`]
//! (validated against RTL co-simulation), at a clock; each BitLinear call
//! takes `max(cycles / f, DRAM bytes / bandwidth)` (weights are streamed
//! while the array computes). Attention, the head and the embedding are
//! taken as memory bound: their DRAM bytes over the bandwidth.

use serde::{Deserialize, Serialize};
use tritium_golden::{linear_shape, ArrayConfig, ModelConfig, Proj};

use super::energy::EnergyTable;

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

    fn act_bits(self) -> u64 {
        match self {
            Variant::Fp16 => 16,
            _ => 8,
        }
    }

    fn out_bits(self) -> u64 {
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
    fn scaled(self, s: f64) -> Energy {
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

/// Everything besides the model shape and the energy table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostOptions {
    pub array: ArrayConfig,
    pub clock_mhz: f64,
    pub bandwidth_gbs: f64,
    pub workload: Workload,
    /// Bits per LM-head weight in the ternary variants (16: as 2B4T ships).
    pub ternary_head_bits: u32,
    /// Bits per KV-cache element (all variants).
    pub kv_bits: u32,
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

/// Operation and traffic counts of one call, before pricing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub macs: f64,
    /// Adds issued by the ternary array (non-zero weights).
    pub ternary_adds: f64,
    pub cycles: f64,
}

/// One BitLinear: shape, sparsity, cycles, and energy per token of each
/// phase for every variant (indexed like [`Variant::ALL`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearCost {
    pub layer: usize,
    pub proj: String,
    pub n: usize,
    pub k: usize,
    pub zero_fraction: f64,
    pub cycles_per_row: u64,
    /// Energy per decoded token, per variant.
    pub decode_per_token: Vec<Energy>,
    /// Energy per prompt token (the prompt as one call), per variant.
    pub prefill_per_token: Vec<Energy>,
    /// Paper-mode arithmetic energy per token (MAC count x paper price).
    pub paper_per_token_pj: Vec<f64>,
}

/// Energy and latency of one phase for one variant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseCost {
    /// BitLinears only.
    pub bitlinear: Energy,
    /// Attention arithmetic and KV-cache traffic.
    pub attention: Energy,
    /// LM head and embedding row.
    pub head: Energy,
    pub total: Energy,
    /// Seconds per token: the roofline sum described in the module docs.
    pub seconds_per_token: f64,
    /// Seconds per token spent in BitLinears that are compute bound.
    pub compute_bound_seconds: f64,
    pub dram_bytes_per_token: f64,
}

/// One variant's costs for the workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantCost {
    pub variant: Variant,
    pub label: String,
    pub weight_bits: f64,
    /// Averaged over the decoded tokens.
    pub decode: PhaseCost,
    /// Per prompt token.
    pub prefill: PhaseCost,
    /// BitLinear arithmetic per token under the paper's assumptions.
    pub paper_arith_pj_per_token: f64,
}

/// The whole evaluation of one shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub linears: Vec<LinearCost>,
    pub variants: Vec<VariantCost>,
}

struct Pricer<'a> {
    t: &'a EnergyTable,
    o: &'a CostOptions,
}

impl Pricer<'_> {
    fn sram_pj_per_byte(&self, buffer_bytes: f64) -> f64 {
        self.t.sram_pj_per_64bit(buffer_bytes) / 8.0
    }

    /// Detailed energy of one BitLinear call of `m` rows.
    fn linear(&self, v: Variant, n: usize, k: usize, zero: f64, m: f64) -> Energy {
        let a = &self.t.arith;
        let (nf, kf) = (n as f64, k as f64);
        let macs = m * nf * kf;
        let quant = m * (kf * (a.fp32_mul.pj + a.fp32_add.pj) + nf * a.fp32_mul.pj);
        let arith_pj = match v {
            Variant::Fp16 => macs * (a.fp16_mul.pj + a.fp16_add.pj),
            Variant::Int8 => macs * (a.int8_mul.pj + self.t.int_add_pj(32)) + quant,
            Variant::Ternary2 | Variant::Ternary16 => {
                macs * (1.0 - zero) * self.t.int_add_pj(self.o.array.acc_width() as u32) + quant
            }
        };
        let wbytes = nf * kf * v.weight_bits() / 8.0;
        let tile_bytes = (self.o.array.cols as f64) * kf * v.weight_bits() / 8.0;
        let w_sram = self.sram_pj_per_byte(tile_bytes) * wbytes * (1.0 + m);
        let in_bytes = kf * v.act_bits() as f64 / 8.0;
        let out_bytes = nf * v.out_bits() as f64 / 8.0;
        let tiles = n.div_ceil(self.o.array.cols) as f64;
        let a_sram = self.sram_pj_per_byte(in_bytes) * m * in_bytes * tiles
            + self.sram_pj_per_byte(out_bytes) * m * out_bytes;
        Energy {
            arith_pj,
            sram_pj: w_sram + a_sram,
            dram_pj: self.t.dram_pj_per_byte() * wbytes,
        }
    }

    fn paper_mac_pj(&self, v: Variant) -> f64 {
        let a = &self.t.arith;
        match v {
            Variant::Fp16 => a.fp16_mul.pj + a.fp16_add.pj,
            Variant::Int8 => a.int8_mul.pj + a.int8_add.pj,
            Variant::Ternary2 | Variant::Ternary16 => a.int8_add.pj,
        }
    }

    fn head_bits(&self, v: Variant) -> u32 {
        match v {
            Variant::Fp16 => 16,
            Variant::Int8 => 8,
            _ => self.o.ternary_head_bits,
        }
    }

    /// Attention of one layer for `m` query rows starting at `pos0`:
    /// energy and DRAM bytes.
    fn attention(&self, c: &ModelConfig, pos0: usize, m: usize) -> (Energy, f64) {
        let a = &self.t.arith;
        let (pos0f, mf) = (pos0 as f64, m as f64);
        // Sum over rows i of (pos0 + i + 1) keys attended.
        let keys = mf * pos0f + mf * (mf + 1.0) / 2.0;
        let macs = 2.0 * c.q_dim() as f64 * keys;
        let kv_elem = 2.0 * c.kv_dim() as f64 * f64::from(self.o.kv_bits) / 8.0;
        let dram_bytes = kv_elem * (pos0f + mf);
        (
            Energy {
                arith_pj: macs * (a.fp16_mul.pj + a.fp16_add.pj),
                sram_pj: 0.0,
                dram_pj: dram_bytes * self.t.dram_pj_per_byte(),
            },
            dram_bytes,
        )
    }

    /// LM head for one row and the embedding rows of `m` tokens.
    fn head(&self, c: &ModelConfig, v: Variant, m: usize) -> (Energy, f64) {
        let a = &self.t.arith;
        let macs = (c.vocab_size * c.hidden_size) as f64;
        let bits = self.head_bits(v);
        let mac_pj = if bits <= 8 {
            a.int8_mul.pj + self.t.int_add_pj(32)
        } else {
            a.fp16_mul.pj + a.fp16_add.pj
        };
        let dram_bytes = macs * f64::from(bits) / 8.0 + (m * c.hidden_size * 2) as f64;
        (
            Energy {
                arith_pj: macs * mac_pj,
                sram_pj: 0.0,
                dram_pj: dram_bytes * self.t.dram_pj_per_byte(),
            },
            dram_bytes,
        )
    }

    /// Energy and time of one forward call of `m` rows at `pos0`.
    fn call(
        &self,
        c: &ModelConfig,
        zeros: &ZeroFractions,
        v: Variant,
        pos0: usize,
        m: usize,
        measured: Option<&[[u64; 7]]>,
    ) -> PhaseCost {
        let mut p = PhaseCost::default();
        let f = self.o.clock_mhz * 1e6;
        let bw = self.o.bandwidth_gbs * 1e9;
        let mut secs = 0.0;
        let mut dram = 0.0;
        for l in 0..c.num_layers {
            for (i, proj) in Proj::ALL.iter().enumerate() {
                let (n, k) = linear_shape(c, *proj);
                let e = self.linear(v, n, k, zeros.per_linear[l][i], m as f64);
                p.bitlinear += e;
                let bytes = e.dram_pj / self.t.dram_pj_per_byte();
                dram += bytes;
                let cycles = match measured.map(|x| x[l][i]) {
                    Some(c) if c > 0 => c,
                    _ => self.o.array.cycles_per_row(n, k),
                };
                let compute = (m as u64 * cycles) as f64 / f;
                let memory = bytes / bw;
                if compute >= memory {
                    p.compute_bound_seconds += compute;
                }
                secs += compute.max(memory);
            }
            let (e, bytes) = self.attention(c, pos0, m);
            p.attention += e;
            dram += bytes;
            secs += bytes / bw;
        }
        let (e, bytes) = self.head(c, v, m);
        p.head = e;
        dram += bytes;
        secs += bytes / bw;
        p.total = p.bitlinear;
        p.total += p.attention;
        p.total += p.head;
        p.seconds_per_token = secs;
        p.dram_bytes_per_token = dram;
        p
    }
}

fn per_token(mut p: PhaseCost, tokens: f64) -> PhaseCost {
    let s = 1.0 / tokens;
    p.bitlinear = p.bitlinear.scaled(s);
    p.attention = p.attention.scaled(s);
    p.head = p.head.scaled(s);
    p.total = p.total.scaled(s);
    p.seconds_per_token *= s;
    p.compute_bound_seconds *= s;
    p.dram_bytes_per_token *= s;
    p
}

fn add_phase(acc: &mut PhaseCost, p: &PhaseCost) {
    acc.bitlinear += p.bitlinear;
    acc.attention += p.attention;
    acc.head += p.head;
    acc.total += p.total;
    acc.seconds_per_token += p.seconds_per_token;
    acc.compute_bound_seconds += p.compute_bound_seconds;
    acc.dram_bytes_per_token += p.dram_bytes_per_token;
}

/// Evaluates a model shape on the workload of `o` with energy table `t`.
/// `measured` replaces the analytic cycles per token row of a BitLinear
/// (`[layer][proj]`, 0 = not measured) by cycles measured in RTL
/// co-simulation.
pub fn evaluate(
    c: &ModelConfig,
    zeros: &ZeroFractions,
    t: &EnergyTable,
    o: &CostOptions,
    measured: Option<&[[u64; 7]]>,
) -> Evaluation {
    let pr = Pricer { t, o };
    let (pt, dt) = (o.workload.prompt_tokens.max(1), o.workload.decode_tokens);
    let mut linears = Vec::new();
    for l in 0..c.num_layers {
        for (i, proj) in Proj::ALL.iter().enumerate() {
            let (n, k) = linear_shape(c, *proj);
            let z = zeros.per_linear[l][i];
            let macs = (n * k) as f64;
            linears.push(LinearCost {
                layer: l,
                proj: proj.hf_name().to_string(),
                n,
                k,
                zero_fraction: z,
                cycles_per_row: match measured.map(|x| x[l][i]) {
                    Some(c) if c > 0 => c,
                    _ => o.array.cycles_per_row(n, k),
                },
                decode_per_token: Variant::ALL
                    .iter()
                    .map(|&v| pr.linear(v, n, k, z, 1.0))
                    .collect(),
                prefill_per_token: Variant::ALL
                    .iter()
                    .map(|&v| pr.linear(v, n, k, z, pt as f64).scaled(1.0 / pt as f64))
                    .collect(),
                paper_per_token_pj: Variant::ALL
                    .iter()
                    .map(|&v| macs * pr.paper_mac_pj(v))
                    .collect(),
            });
        }
    }
    let paper_macs = c.ternary_params() as f64;
    let variants = Variant::ALL
        .iter()
        .map(|&v| {
            let prefill = per_token(pr.call(c, zeros, v, 0, pt, measured), pt as f64);
            let mut decode = PhaseCost::default();
            for s in 0..dt {
                add_phase(&mut decode, &pr.call(c, zeros, v, pt + s, 1, measured));
            }
            VariantCost {
                variant: v,
                label: v.label().to_string(),
                weight_bits: v.weight_bits(),
                decode: per_token(decode, dt.max(1) as f64),
                prefill,
                paper_arith_pj_per_token: paper_macs * pr.paper_mac_pj(v),
            }
        })
        .collect();
    Evaluation { linears, variants }
}

impl Evaluation {
    pub fn variant(&self, v: Variant) -> &VariantCost {
        let i = Variant::ALL.iter().position(|&x| x == v).unwrap_or(0);
        &self.variants[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::Node;

    fn opts(cols: usize, lanes: usize) -> CostOptions {
        CostOptions {
            array: ArrayConfig {
                cols,
                lanes,
                k_max: 8192,
            },
            clock_mhz: 1000.0,
            bandwidth_gbs: 100.0,
            workload: Workload {
                prompt_tokens: 4,
                decode_tokens: 2,
            },
            ternary_head_bits: 16,
            kv_bits: 16,
        }
    }

    #[test]
    fn cycles_follow_tiles_segments_and_overhead() {
        let a = opts(4, 8).array;
        assert_eq!(a.acc_width(), 22);
        // 10 rows -> 3 tiles; K = 20 -> 3 beats; + 2 overhead.
        assert_eq!(a.cycles_per_row(10, 20), 3 * (3 + 2));
        // K longer than k_max: two segments.
        assert_eq!(a.cycles_per_row(4, 8192 + 8), 8192 / 8 + 2 + 1 + 2);
    }

    /// A 2x3 layer by hand at 45 nm, one row, a third of the weights zero.
    #[test]
    fn hand_computed_energy_of_a_tiny_layer() {
        let t = Node::N45.table().unwrap();
        let o = opts(4, 8);
        let pr = Pricer { t: &t, o: &o };
        let z = 2.0 / 6.0;
        // FP16: 6 MACs x (1.1 + 0.4) pJ.
        let e = pr.linear(Variant::Fp16, 2, 3, z, 1.0);
        assert!((e.arith_pj - 9.0).abs() < 1e-12);
        // Weights: 6 x 2 bytes from DRAM at 1300/8 pJ per byte.
        assert!((e.dram_pj - 12.0 * 162.5).abs() < 1e-9);
        // SRAM (all buffers fit 8 KB, 10/8 pJ per byte): weights written
        // once and read once (24 B), input 3 x 2 B read once (1 tile),
        // output 2 x 2 B written.
        assert!((e.sram_pj - (24.0 + 6.0 + 4.0) * 1.25).abs() < 1e-12);
        // Ternary: 4 non-zero adds at 22 bits (0.06875 pJ), plus
        // quantization (3 x (3.7 + 0.9)) and dequantization (2 x 3.7).
        let e = pr.linear(Variant::Ternary2, 2, 3, z, 1.0);
        let want = 4.0 * 0.06875 + 3.0 * 4.6 + 2.0 * 3.7;
        assert!((e.arith_pj - want).abs() < 1e-12, "{}", e.arith_pj);
        // 6 weights x 2 bits = 1.5 bytes from DRAM.
        assert!((e.dram_pj - 1.5 * 162.5).abs() < 1e-9);
        // INT8: 6 x (0.2 + 0.1) + the same quantization.
        let e = pr.linear(Variant::Int8, 2, 3, z, 1.0);
        assert!((e.arith_pj - (6.0 * 0.3 + 3.0 * 4.6 + 2.0 * 3.7)).abs() < 1e-12);
    }

    #[test]
    fn paper_mode_reproduces_the_papers_ratios() {
        for (node, want) in [(Node::N7, 71.4), (Node::N45, 50.0)] {
            let t = node.table().unwrap();
            let o = opts(16, 32);
            let pr = Pricer { t: &t, o: &o };
            let r = pr.paper_mac_pj(Variant::Fp16) / pr.paper_mac_pj(Variant::Ternary2);
            assert!((r - want).abs() < 0.05, "{}: {r}", node.name());
        }
    }
}
