//! Counting and pricing: operations, memory traffic, energy and latency of
//! one model shape on one workload (a prompt, then decoded tokens).
//!
//! # Where the variants run
//! The ternary variants run on the accelerator `tri_accel`
//! ([`AccelOptions`]: one configuration per stored format, 2-bit and
//! base-3, fed by a memory of the options' bandwidth); what they count
//! and how long they take comes from the accelerator: its analytic model
//! ([`crate::accel`]) or, where the RTL was co-simulated, its measured
//! counters ([`Measured`]). FP16 and INT8 run on a MAC array of the
//! options' geometry ([`ArrayConfig`](tritium_golden::ArrayConfig), the old `tri_mac_array` model) with
//! the same weight reuse: weights are streamed once per job of `batch`
//! token rows in every variant.
//!
//! # What is counted (detailed mode)
//! Per BitLinear call of `M` token rows, `N x K` weights:
//! - **MACs** `M*N*K`. FP16 prices each as one FP16 mul + one FP16 add;
//!   INT8 as one INT8 mul + one 32-bit add; ternary as one add at the
//!   accumulator's width *for non-zero weights only* (zero weights gate the
//!   adder and cost nothing). INT8 and ternary also quantize the input row
//!   (K fp32 absmax compares and K fp32 multiplies) and dequantize the
//!   outputs (N fp32 multiplies). Base-3 adds its decoder: every weight
//!   word fetched is decoded once ([`EvalInputs::decoder_pj_per_byte`] per
//!   stored byte; the 2-bit decoder is wiring).
//! - **Weights, ternary (accelerator)**: the DRAM bytes the accelerator
//!   reads (whole bus beats of each run's image, once per job), through its
//!   2-beat input FIFO (registers, priced as one write and one read of the
//!   table's smallest SRAM: an upper estimate).
//! - **Weights, FP16 and INT8 (array)**: read from DRAM once per job at
//!   16 or 8 bits per weight, written once per job into an on-chip weight
//!   buffer that holds one tile (`cols x K` weights) and read from it once
//!   per token row.
//! - **Activations, ternary**: the accelerator's activation buffer words
//!   (`lanes` int8 each) written by the loads and read once per issue, at
//!   the buffer's size (`TMax * ceil(KMax / lanes)` words); the token
//!   accumulator bank (`TMax` words of `cols` accumulators) read once per
//!   issue and written back except on a tile's last beat.
//!   **FP16 and INT8**: the input row read from an on-chip buffer once per
//!   output tile (the array broadcasts it to all columns); accumulators in
//!   the array's registers (not priced).
//! - Outputs are written once (32-bit accumulators; FP16: 16-bit).
//! - Every SRAM is priced by its size (the table's SRAM energies
//!   interpolated in log2 capacity).
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
//! Ternary: the accelerator's cycles per BitLinear call (memory stalls
//! included: the memory is the options' bandwidth over the clock, at most
//! the weight port's bus bytes per cycle), measured or from the analytic
//! model, at the clock. FP16 and INT8: cycles of the array from
//! [`ArrayConfig::cycles_per_row`](tritium_golden::ArrayConfig::cycles_per_row), and each call takes
//! `max(cycles / f, DRAM bytes / bandwidth)` (weights streamed while the
//! array computes). Attention, the head and the embedding are taken as
//! memory bound: their DRAM bytes over the bandwidth.

use serde::{Deserialize, Serialize};
use tritium_golden::{linear_shape, AccelConfig, ModelConfig, Proj, WeightFormat};

use crate::accel::{accel_group, AccelCounts, AccelMemory};
use crate::energy::EnergyTable;
pub use crate::inputs::{
    AccelOptions, CostOptions, Energy, EvalInputs, Measured, MeasuredCall, Variant, Workload,
    ZeroFractions,
};

/// One BitLinear: shape, sparsity, cycles, and energy per token of each
/// phase for every variant (indexed like [`Variant::ALL`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearCost {
    pub layer: usize,
    pub proj: String,
    pub n: usize,
    pub k: usize,
    pub zero_fraction: f64,
    /// Cycles of one decode call (one token row), per variant: the array's
    /// compute cycles (FP16, INT8) or the accelerator's, memory stalls
    /// included (ternary).
    pub decode_cycles: Vec<f64>,
    /// Cycles of the prompt call, per variant (as `decode_cycles`).
    pub prefill_cycles: Vec<f64>,
    /// The co-simulated variant's cycles and counts of this BitLinear were
    /// measured on the RTL (in this layer or, for its shape, in another).
    pub measured: bool,
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
    /// Seconds per token: the BitLinears' time plus attention and the head
    /// at the memory bandwidth (module docs).
    pub seconds_per_token: f64,
    /// Seconds per token spent in BitLinears that are compute bound.
    pub compute_bound_seconds: f64,
    pub dram_bytes_per_token: f64,
    /// The BitLinears alone: seconds, cycles and DRAM bytes per token.
    pub bitlinear_seconds_per_token: f64,
    pub bitlinear_cycles_per_token: f64,
    pub bitlinear_dram_bytes_per_token: f64,
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

/// The BitLinears that share one input and so one accelerator job
/// (q/k/v, o, gate/up, down), as indices into `Proj::ALL`.
pub const GROUPS: [&[usize]; 4] = [&[0, 1, 2], &[3], &[4, 5], &[6]];

/// Counts of one ternary BitLinear call on the accelerator.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct AccelCall {
    cycles: f64,
    dram_bytes: f64,
    buffer_reads: f64,
    buffer_writes: f64,
    /// Weight words decoded.
    words: f64,
}

impl From<AccelCounts> for AccelCall {
    fn from(c: AccelCounts) -> AccelCall {
        AccelCall {
            cycles: c.cycles as f64,
            dram_bytes: c.dram_bytes as f64,
            buffer_reads: c.issues as f64,
            buffer_writes: c.buffer_writes as f64,
            words: c.words as f64,
        }
    }
}

impl AccelCall {
    fn measured(self, m: Option<MeasuredCall>) -> AccelCall {
        match m {
            Some(m) => AccelCall {
                cycles: m.cycles,
                dram_bytes: m.dram_bytes,
                buffer_reads: m.buffer_reads,
                buffer_writes: m.buffer_writes,
                words: self.words,
            },
            None => self,
        }
    }
}

/// The analytic counts of one call of `m` rows of every BitLinear of a
/// layer (`Proj::ALL` order) on `cfg`, grouped as the backend runs them.
pub fn accel_layer(
    c: &ModelConfig,
    cfg: &AccelConfig,
    mem: &AccelMemory,
    m: usize,
    batch: usize,
) -> crate::Result<[AccelCounts; 7]> {
    let mut out = [AccelCounts::default(); 7];
    for g in GROUPS {
        let ns: Vec<usize> = g.iter().map(|&i| linear_shape(c, Proj::ALL[i]).0).collect();
        let k = linear_shape(c, Proj::ALL[g[0]]).1;
        for (&i, counts) in g
            .iter()
            .zip(accel_group(cfg, mem, &ns, k, m, batch.min(cfg.tokens))?)
        {
            out[i] = counts;
        }
    }
    Ok(out)
}

struct Pricer<'a> {
    t: &'a EnergyTable,
    o: &'a CostOptions,
    decoder_pj_per_byte: f64,
}

/// Jobs of a call of `m` rows (each streams the weights once).
fn jobs(m: f64, batch: usize) -> f64 {
    (m / batch.max(1) as f64).ceil().max(1.0)
}

impl Pricer<'_> {
    fn sram_pj_per_byte(&self, buffer_bytes: f64) -> f64 {
        self.t.sram_pj_per_64bit(buffer_bytes) / 8.0
    }

    fn quant_pj(&self, n: f64, k: f64, m: f64) -> f64 {
        let a = &self.t.arith;
        m * (k * (a.fp32_mul.pj + a.fp32_add.pj) + n * a.fp32_mul.pj)
    }

    /// Detailed energy of one FP16 or INT8 BitLinear call of `m` rows on
    /// the array (module docs).
    fn linear(&self, v: Variant, n: usize, k: usize, m: f64) -> Energy {
        let a = &self.t.arith;
        let (nf, kf) = (n as f64, k as f64);
        let macs = m * nf * kf;
        let arith_pj = match v {
            Variant::Int8 => {
                macs * (a.int8_mul.pj + self.t.int_add_pj(32)) + self.quant_pj(nf, kf, m)
            }
            _ => macs * (a.fp16_mul.pj + a.fp16_add.pj),
        };
        let jobs = jobs(m, self.o.accel.batch);
        let wbytes = nf * kf * v.weight_bits() / 8.0;
        let tile_bytes = (self.o.array.cols as f64) * kf * v.weight_bits() / 8.0;
        let w_sram = self.sram_pj_per_byte(tile_bytes) * wbytes * (jobs + m);
        let in_bytes = kf * v.act_bits() as f64 / 8.0;
        let out_bytes = nf * v.out_bits() as f64 / 8.0;
        let tiles = n.div_ceil(self.o.array.cols) as f64;
        let a_sram = self.sram_pj_per_byte(in_bytes) * m * in_bytes * tiles
            + self.sram_pj_per_byte(out_bytes) * m * out_bytes;
        Energy {
            arith_pj,
            sram_pj: w_sram + a_sram,
            dram_pj: self.t.dram_pj_per_byte() * wbytes * jobs,
        }
    }

    /// Detailed energy of one ternary BitLinear call of `m` rows on the
    /// variant's accelerator, from its counts (module docs).
    fn ternary(
        &self,
        cfg: &AccelConfig,
        n: usize,
        k: usize,
        zero: f64,
        m: f64,
        x: &AccelCall,
    ) -> Energy {
        let a = &cfg.array;
        let (nf, kf) = (n as f64, k as f64);
        let macs = m * nf * kf;
        let mut arith_pj = macs * (1.0 - zero) * self.t.int_add_pj(a.acc_width() as u32)
            + self.quant_pj(nf, kf, m);
        if cfg.format == WeightFormat::Base3 {
            arith_pj += x.words * cfg.packed_word_bytes() as f64 * self.decoder_pj_per_byte;
        }
        let lanes = a.lanes as f64;
        let act_buffer = (cfg.act_depth() * a.lanes) as f64;
        let act = self.sram_pj_per_byte(act_buffer) * (x.buffer_reads + x.buffer_writes) * lanes;
        // The accumulator bank: TMax words of cols accumulators; one read
        // per issue, one write per issue but a tile's last beat.
        let acc_word = (a.cols * a.acc_width()) as f64 / 8.0;
        let results = m * a.tiles(n) as f64 * a.segments(k).count() as f64;
        let bank = self.sram_pj_per_byte(cfg.tokens as f64 * acc_word)
            * acc_word
            * (2.0 * x.buffer_reads - results).max(0.0);
        // The 2-beat input FIFO: one write and one read per byte.
        let fifo = self.sram_pj_per_byte(2.0 * cfg.bus_bytes as f64) * 2.0 * x.dram_bytes;
        let out_bytes = nf * 4.0;
        let out = self.sram_pj_per_byte(out_bytes) * m * out_bytes;
        Energy {
            arith_pj,
            sram_pj: act + bank + fifo + out,
            dram_pj: self.t.dram_pj_per_byte() * x.dram_bytes,
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
    fn attention(&self, c: &ModelConfig, pos0: f64, m: usize) -> (Energy, f64) {
        let a = &self.t.arith;
        let mf = m as f64;
        // Sum over rows i of (pos0 + i + 1) keys attended.
        let keys = mf * pos0 + mf * (mf + 1.0) / 2.0;
        let macs = 2.0 * c.q_dim() as f64 * keys;
        let kv_elem = 2.0 * c.kv_dim() as f64 * f64::from(self.o.kv_bits) / 8.0;
        let dram_bytes = kv_elem * (pos0 + mf);
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

    /// Cycles, energy and DRAM bytes of one call of `m` rows of every
    /// BitLinear of layer `l` in variant `v`; `calls` are the layer's
    /// ternary counts (analytic, measured ones already in).
    fn layer_linears(
        &self,
        c: &ModelConfig,
        zeros: &[f64; 7],
        v: Variant,
        m: usize,
        calls: Option<&[AccelCall; 7]>,
    ) -> [(f64, Energy, f64, bool); 7] {
        let f = self.o.clock_mhz * 1e6;
        let bw = self.o.bandwidth_gbs * 1e9;
        let mf = m as f64;
        std::array::from_fn(|i| {
            let (n, k) = linear_shape(c, Proj::ALL[i]);
            match (self.o.accel.of(v), calls) {
                (Some(cfg), Some(calls)) => {
                    let x = &calls[i];
                    let e = self.ternary(cfg, n, k, zeros[i], mf, x);
                    let floor = x.dram_bytes / self.o.accel_memory(cfg).bytes_per_cycle;
                    (x.cycles / f, e, x.dram_bytes, x.buffer_reads >= floor)
                }
                _ => {
                    let e = self.linear(v, n, k, mf);
                    let bytes = e.dram_pj / self.t.dram_pj_per_byte();
                    let compute = mf * self.o.array.cycles_per_row(n, k) as f64 / f;
                    let memory = bytes / bw;
                    (compute.max(memory), e, bytes, compute >= memory)
                }
            }
        })
    }

    /// Energy and time of one forward call of `m` rows, the first at
    /// position `pos0`; `calls` are the ternary counts per layer (analytic,
    /// with the measured ones). Only attention depends on the position, and
    /// linearly, so a fractional `pos0` prices the mean of calls at
    /// neighbouring positions.
    fn call(
        &self,
        c: &ModelConfig,
        zeros: &ZeroFractions,
        v: Variant,
        pos0: f64,
        m: usize,
        calls: Option<&[[AccelCall; 7]]>,
    ) -> PhaseCost {
        let mut p = PhaseCost::default();
        let f = self.o.clock_mhz * 1e6;
        let bw = self.o.bandwidth_gbs * 1e9;
        let mut secs = 0.0;
        let mut dram = 0.0;
        for l in 0..c.num_layers {
            let lin = self.layer_linears(c, &zeros.per_linear[l], v, m, calls.map(|x| &x[l]));
            for (s, e, bytes, compute_bound) in lin {
                p.bitlinear += e;
                dram += bytes;
                p.bitlinear_dram_bytes_per_token += bytes;
                p.bitlinear_seconds_per_token += s;
                if compute_bound {
                    p.compute_bound_seconds += s;
                }
                secs += s;
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
        p.bitlinear_cycles_per_token = p.bitlinear_seconds_per_token * f;
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
    p.bitlinear_seconds_per_token *= s;
    p.bitlinear_cycles_per_token *= s;
    p.bitlinear_dram_bytes_per_token *= s;
    p
}

/// The ternary counts of one call of `m` rows of every BitLinear of every
/// layer on `v`'s accelerator: the analytic model's, replaced by `measured`
/// where given. None for FP16 and INT8.
fn ternary_calls(
    c: &ModelConfig,
    o: &CostOptions,
    v: Variant,
    m: usize,
    measured: Option<&[[Option<MeasuredCall>; 7]]>,
) -> crate::Result<Option<Vec<[AccelCall; 7]>>> {
    let Some(cfg) = o.accel.of(v) else {
        return Ok(None);
    };
    let layer = accel_layer(c, cfg, &o.accel_memory(cfg), m, o.accel.batch)?.map(AccelCall::from);
    Ok(Some(
        (0..c.num_layers)
            .map(|l| {
                std::array::from_fn(|i| {
                    layer[i].measured(measured.and_then(|x| x.get(l).and_then(|r| r[i])))
                })
            })
            .collect(),
    ))
}

/// Evaluates a model shape on the workload of `o` with energy table `t`;
/// `inp.measured` replaces the analytic cycles and counts of the
/// co-simulated variant where given.
pub fn evaluate(
    c: &ModelConfig,
    zeros: &ZeroFractions,
    t: &EnergyTable,
    o: &CostOptions,
    inp: &EvalInputs<'_>,
) -> crate::Result<Evaluation> {
    let pr = Pricer {
        t,
        o,
        decoder_pj_per_byte: inp.decoder_pj_per_byte,
    };
    let (pt, dt) = (o.workload.prompt_tokens.max(1), o.workload.decode_tokens);
    let measured = |v: Variant, decode: bool| {
        inp.measured.filter(|m| m.variant == v).map(|m| {
            if decode {
                m.decode.as_slice()
            } else {
                m.prefill.as_slice()
            }
        })
    };
    // Per variant: ternary counts of a decode call and of the prompt call.
    let mut dec_calls = Vec::new();
    let mut pre_calls = Vec::new();
    for v in Variant::ALL {
        dec_calls.push(ternary_calls(c, o, v, 1, measured(v, true))?);
        pre_calls.push(ternary_calls(c, o, v, pt, measured(v, false))?);
    }
    let mut linears = Vec::new();
    for l in 0..c.num_layers {
        let z = &zeros.per_linear[l];
        let per = |vi: usize, m: usize, calls: &[Option<Vec<[AccelCall; 7]>>]| {
            pr.layer_linears(c, z, Variant::ALL[vi], m, calls[vi].as_ref().map(|x| &x[l]))
        };
        let dec: Vec<_> = (0..Variant::ALL.len())
            .map(|vi| per(vi, 1, &dec_calls))
            .collect();
        let pre: Vec<_> = (0..Variant::ALL.len())
            .map(|vi| per(vi, pt, &pre_calls))
            .collect();
        for (i, proj) in Proj::ALL.iter().enumerate() {
            let (n, k) = linear_shape(c, *proj);
            let macs = (n * k) as f64;
            let f = o.clock_mhz * 1e6;
            linears.push(LinearCost {
                layer: l,
                proj: proj.hf_name().to_string(),
                n,
                k,
                zero_fraction: z[i],
                decode_cycles: dec.iter().map(|x| x[i].0 * f).collect(),
                prefill_cycles: pre.iter().map(|x| x[i].0 * f).collect(),
                measured: inp.measured.is_some_and(|m| {
                    m.decode.get(l).is_some_and(|r| r[i].is_some())
                        || m.prefill.get(l).is_some_and(|r| r[i].is_some())
                }),
                decode_per_token: dec.iter().map(|x| x[i].1).collect(),
                prefill_per_token: pre.iter().map(|x| x[i].1.scaled(1.0 / pt as f64)).collect(),
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
        .enumerate()
        .map(|(vi, &v)| {
            let prefill = per_token(
                pr.call(c, zeros, v, 0.0, pt, pre_calls[vi].as_deref()),
                pt as f64,
            );
            // The mean of the steps at positions pt .. pt + dt - 1: one call
            // at their mean position (the cost is linear in it), not one
            // call per step (a 65,536-token decode took minutes).
            let decode = if dt == 0 {
                PhaseCost::default()
            } else {
                let mean = pt as f64 + (dt - 1) as f64 / 2.0;
                pr.call(c, zeros, v, mean, 1, dec_calls[vi].as_deref())
            };
            VariantCost {
                variant: v,
                label: v.label().to_string(),
                weight_bits: v.weight_bits(),
                decode,
                prefill,
                paper_arith_pj_per_token: paper_macs * pr.paper_mac_pj(v),
            }
        })
        .collect();
    Ok(Evaluation { linears, variants })
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
    use tritium_golden::ArrayConfig;

    fn opts(cols: usize, lanes: usize) -> CostOptions {
        let two_bit = AccelConfig::new(
            ArrayConfig::new(cols, lanes, 8192).unwrap(),
            4,
            8,
            WeightFormat::TwoBit,
        )
        .unwrap();
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
            accel: AccelOptions {
                two_bit,
                base3: crate::accel::twin(&two_bit, WeightFormat::Base3).unwrap(),
                batch: 4,
                mem_latency: 10,
            },
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

    /// A 2x3 layer by hand at 45 nm, one row.
    #[test]
    fn hand_computed_energy_of_a_tiny_layer() {
        let t = Node::N45.table().unwrap();
        let o = opts(4, 8);
        let pr = Pricer {
            t: &t,
            o: &o,
            decoder_pj_per_byte: 0.5,
        };
        // FP16: 6 MACs x (1.1 + 0.4) pJ.
        let e = pr.linear(Variant::Fp16, 2, 3, 1.0);
        assert!((e.arith_pj - 9.0).abs() < 1e-12);
        // Weights: 6 x 2 bytes from DRAM at 1300/8 pJ per byte.
        assert!((e.dram_pj - 12.0 * 162.5).abs() < 1e-9);
        // SRAM (all buffers fit 8 KB, 10/8 pJ per byte): weights written
        // once and read once (24 B), input 3 x 2 B read once (1 tile),
        // output 2 x 2 B written.
        assert!((e.sram_pj - (24.0 + 6.0 + 4.0) * 1.25).abs() < 1e-12);
        // INT8: 6 x (0.2 + 0.1) + quantization (3 x (3.7 + 0.9)) and
        // dequantization (2 x 3.7).
        let e = pr.linear(Variant::Int8, 2, 3, 1.0);
        assert!((e.arith_pj - (6.0 * 0.3 + 3.0 * 4.6 + 2.0 * 3.7)).abs() < 1e-12);
        // 9 rows in jobs of 4: the weights are streamed 3 times.
        let e = pr.linear(Variant::Int8, 2, 3, 9.0);
        assert!((e.dram_pj - 3.0 * 6.0 * 162.5).abs() < 1e-9);
        // Ternary on the 2-bit accelerator (4x8, AccW 22, TMax 4, 8-byte
        // bus), a third of the weights zero, from its counts: 1 word of 8
        // bytes, 1 issue, 1 buffer word loaded.
        let z = 2.0 / 6.0;
        let x = AccelCall {
            cycles: 20.0,
            dram_bytes: 8.0,
            buffer_reads: 1.0,
            buffer_writes: 1.0,
            words: 1.0,
        };
        let e = pr.ternary(&o.accel.two_bit, 2, 3, z, 1.0, &x);
        // 4 non-zero adds at 22 bits (0.06875 pJ), quantization, no decoder.
        let want = 4.0 * 0.06875 + 3.0 * 4.6 + 2.0 * 3.7;
        assert!((e.arith_pj - want).abs() < 1e-12, "{}", e.arith_pj);
        assert!((e.dram_pj - 8.0 * 162.5).abs() < 1e-9);
        // SRAM: the activation buffer (4 rows x 1024 words x 8 B = 32 KB,
        // 2.5 pJ per byte) 2 words x 8 B; at 1.25 pJ per byte (8 KB and
        // less): the bank, one read and no write (one beat: it is the last)
        // of 4 x 22 bits = 11 B; the FIFO 2 x 8 B; outputs 2 x 4 B.
        let want = 16.0 * 2.5 + (11.0 + 16.0 + 8.0) * 1.25;
        assert!((e.sram_pj - want).abs() < 1e-12, "{}", e.sram_pj);
        // Base-3: the decoder prices each decoded byte of the word.
        let b3 = &o.accel.base3;
        let e3 = pr.ternary(b3, 2, 3, z, 1.0, &x);
        let dec = b3.packed_word_bytes() as f64 * 0.5;
        let adds = 4.0 * t.int_add_pj(b3.array.acc_width() as u32);
        assert!((e3.arith_pj - (adds + 3.0 * 4.6 + 2.0 * 3.7 + dec)).abs() < 1e-12);
    }

    #[test]
    fn paper_mode_reproduces_the_papers_ratios() {
        for (node, want) in [(Node::N7, 71.4), (Node::N45, 50.0)] {
            let t = node.table().unwrap();
            let o = opts(16, 32);
            let pr = Pricer {
                t: &t,
                o: &o,
                decoder_pj_per_byte: 0.0,
            };
            let r = pr.paper_mac_pj(Variant::Fp16) / pr.paper_mac_pj(Variant::Ternary2);
            assert!((r - want).abs() < 0.05, "{}: {r}", node.name());
        }
    }

    /// The decode phase is priced at the mean position of its steps: the
    /// same as the mean of one call per step (what it replaced, which took
    /// minutes at 65,536 steps), since only attention depends on the
    /// position, linearly.
    #[test]
    fn decode_at_the_mean_position_is_the_mean_of_the_steps() {
        let c = tritium_golden::Preset::Tiny.config();
        let t = Node::N7.table().unwrap();
        let mut o = opts(4, 8);
        let zeros = ZeroFractions::uniform(c.num_layers, 0.3, "test");
        let pr = Pricer {
            t: &t,
            o: &o,
            decoder_pj_per_byte: 0.5,
        };
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs());
        let (pt, dt) = (5, 9);
        for v in Variant::ALL {
            let calls = ternary_calls(&c, &o, v, 1, None).unwrap();
            let mut sum = PhaseCost::default();
            for s in 0..dt {
                add_phase(
                    &mut sum,
                    &pr.call(&c, &zeros, v, (pt + s) as f64, 1, calls.as_deref()),
                );
            }
            let want = per_token(sum, dt as f64);
            let got = pr.call(&c, &zeros, v, pt as f64 + 4.0, 1, calls.as_deref());
            for (g, w) in [
                (got.total.arith_pj, want.total.arith_pj),
                (got.total.sram_pj, want.total.sram_pj),
                (got.total.dram_pj, want.total.dram_pj),
                (got.attention.dram_pj, want.attention.dram_pj),
                (got.seconds_per_token, want.seconds_per_token),
                (got.dram_bytes_per_token, want.dram_bytes_per_token),
                (
                    got.bitlinear_cycles_per_token,
                    want.bitlinear_cycles_per_token,
                ),
            ] {
                assert!(close(g, w), "{v:?}: {g} against {w}");
            }
            // Attention grows with the position, so the test can tell.
            let first = pr.call(&c, &zeros, v, pt as f64, 1, calls.as_deref());
            assert!(first.attention.dram_pj < got.attention.dram_pj);
        }
        // evaluate() gives the same, and the longest decode is priced at once.
        o.workload = Workload {
            prompt_tokens: pt,
            decode_tokens: dt,
        };
        let inputs = EvalInputs {
            measured: None,
            decoder_pj_per_byte: 0.5,
        };
        let ev = evaluate(&c, &zeros, &t, &o, &inputs).unwrap();
        let v = Variant::ALL[0];
        let calls = ternary_calls(&c, &o, v, 1, None).unwrap();
        let pr = Pricer {
            t: &t,
            o: &o,
            decoder_pj_per_byte: 0.5,
        };
        let mid = pr.call(&c, &zeros, v, pt as f64 + 4.0, 1, calls.as_deref());
        assert_eq!(ev.variant(v).decode, mid);
        o.workload.decode_tokens = 1 << 16; // the longest decode a request takes
        let ev = evaluate(&c, &zeros, &t, &o, &inputs).unwrap();
        assert!(ev.variant(v).decode.attention.dram_pj > mid.attention.dram_pj);
    }

    fn add_phase(acc: &mut PhaseCost, p: &PhaseCost) {
        acc.bitlinear += p.bitlinear;
        acc.attention += p.attention;
        acc.head += p.head;
        acc.total += p.total;
        acc.seconds_per_token += p.seconds_per_token;
        acc.compute_bound_seconds += p.compute_bound_seconds;
        acc.dram_bytes_per_token += p.dram_bytes_per_token;
        acc.bitlinear_seconds_per_token += p.bitlinear_seconds_per_token;
        acc.bitlinear_cycles_per_token += p.bitlinear_cycles_per_token;
        acc.bitlinear_dram_bytes_per_token += p.bitlinear_dram_bytes_per_token;
    }
}
