//! Design-space sweep (`tritium sweep`): each design point's cycles,
//! measured on the RTL by the caller, priced by the cost model, with its
//! areas and FPGA resources from the synthesis results, and the Pareto
//! fronts of the whole sweep.
//!
//! A point is one accelerator configuration (geometry and stored format),
//! a batch `T` (token rows per call and per job), a weight memory (bytes
//! per cycle, latency), a clock and a technology node. Its figures:
//!
//! - **step** (the Pareto axes): one call of `T` token rows of every
//!   BitLinear (a prefill chunk, or `T` sequences decoding together),
//!   attention at positions `0..T` and one LM-head row; energy and latency
//!   per token are the step's divided by `T` ([`crate::count`]'s prefill
//!   phase with a prompt of `T` tokens);
//! - **decode**: one token row per call (the same for every `T`).
//!
//! The BitLinears' cycles, DRAM bytes and buffer accesses are the RTL's
//! ([`PointCycles`], one layer, the same for every layer of a b1.58
//! model); everything else (energy per operation, attention, the head at
//! the same memory bandwidth `bytes per cycle x clock`) is the cost
//! model's, as in `tritium report --from-cosim`.
//!
//! Areas: the `asic` family of the synthesis results (standard cells,
//! logic only): the accelerator's `tri_mac_array` (the array is the same
//! for both formats of one geometry and `KMax`, so either format's result
//! serves) plus its weight decoder `tri_wdec` (none for 2-bit). Activation
//! buffer, FIFOs and control are not in it: the flow has no `asic` result
//! of the whole `tri_accel`. FPGA resources: `tri_accel` in one FPGA
//! family (default `xcup`, the KV260's). A configuration the flow has not
//! synthesized has neither ("not synthesized").

use serde::{Deserialize, Serialize};
use tritium_fpga::{Family, Level, SynthResults};
use tritium_golden::{AccelConfig, ModelConfig, WeightFormat};

use crate::accel::twin;
use crate::count::{evaluate, AccelOptions, CostOptions, EvalInputs, Measured, MeasuredCall};
use crate::count::{PhaseCost, Variant, Workload, ZeroFractions};
use crate::energy::{EnergyTable, Node};
use crate::error::{Error, Result};

/// The sweep's JSON schema.
pub const SWEEP_SCHEMA: u32 = 1;

/// One design point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointSpec {
    /// Geometry name as given (`small`, `kv260`).
    pub config: String,
    /// The built model (`acc2`, `kv260`, ...).
    pub model: String,
    pub accel: AccelConfig,
    /// Token rows per call and per job.
    pub batch: usize,
    /// Weight memory, bytes per cycle (at most the port's `bus_bytes`).
    pub mem_bytes_per_cycle: f64,
    /// Requested before the port limit, if it was above.
    pub mem_requested: Option<f64>,
    pub mem_latency: u32,
    pub clock_mhz: f64,
    pub node: Node,
}

impl PointSpec {
    /// A short label for tables and plots: `kv260 b3 T16 64B 7nm`.
    pub fn label(&self) -> String {
        let f = match self.accel.format {
            WeightFormat::TwoBit => "2b",
            WeightFormat::Base3 => "b3",
        };
        format!(
            "{} {f} T{} {}B {}",
            self.config,
            self.batch,
            short(self.mem_bytes_per_cycle),
            self.node.name()
        )
    }

    /// Memory bandwidth in GB/s.
    pub fn bandwidth_gbs(&self) -> f64 {
        self.mem_bytes_per_cycle * self.clock_mhz / 1e3
    }
}

fn short(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A layer's BitLinears measured on the RTL (`Proj::ALL` order): one call
/// of one token row (decode) and one of `batch` rows (the step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointCycles {
    pub decode: [MeasuredCall; 7],
    pub step: [MeasuredCall; 7],
    /// How they were measured (extrapolated over tiles or whole).
    pub method: String,
}

/// Energy and time per token of one phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TokenCost {
    /// Whole model: BitLinears, attention, LM head (mJ).
    pub energy_mj: f64,
    /// The BitLinears alone (mJ).
    pub bitlinear_energy_mj: f64,
    pub latency_ms: f64,
    pub tokens_per_second: f64,
    /// BitLinears alone: accelerator cycles per token.
    pub bitlinear_cycles: f64,
    pub dram_bytes: f64,
}

impl TokenCost {
    fn of(p: &PhaseCost) -> TokenCost {
        TokenCost {
            energy_mj: p.total.total_pj() * 1e-9,
            bitlinear_energy_mj: p.bitlinear.total_pj() * 1e-9,
            latency_ms: p.seconds_per_token * 1e3,
            tokens_per_second: 1.0 / p.seconds_per_token,
            bitlinear_cycles: p.bitlinear_cycles_per_token,
            dram_bytes: p.dram_bytes_per_token,
        }
    }
}

/// FPGA resources of `tri_accel` in one family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FpgaResources {
    pub family: String,
    pub luts: u64,
    pub ffs: u64,
    pub dsp: u64,
    pub bram: u64,
}

/// Standard-cell area of the point's array and decoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsicArea {
    pub array_um2: f64,
    pub decoder_um2: f64,
    pub total_um2: f64,
}

/// One evaluated point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Index in the sweep (the plots' and tables' `#`).
    pub index: usize,
    pub label: String,
    pub spec: PointSpec,
    pub cycles: PointCycles,
    /// The step of `batch` rows, per token (the Pareto axes).
    pub step: TokenCost,
    /// Decode, one row per call, per token.
    pub decode: TokenCost,
    /// None: not synthesized.
    pub asic_area: Option<AsicArea>,
    pub fpga: Option<FpgaResources>,
    /// On the front of step energy vs step latency.
    pub front_latency: bool,
    /// On the front of step energy vs ASIC area (points with an area only).
    pub front_area: bool,
    /// The RTL measurement came from the cache.
    pub cached: bool,
}

/// What a point's pricing needs besides its spec and cycles.
pub struct PriceInputs<'a> {
    pub model: &'a ModelConfig,
    pub zeros: &'a ZeroFractions,
    pub table: &'a EnergyTable,
    /// Energy of decoding one stored base-3 byte (pJ; [`crate::decoder`]).
    pub decoder_pj_per_byte: f64,
}

/// The cost model's options of a point: its accelerator (and the twin of
/// the other format), memory, clock, and a workload of a `batch`-token
/// prompt and one decoded token.
pub fn point_options(s: &PointSpec) -> Result<CostOptions> {
    let other = match s.accel.format {
        WeightFormat::TwoBit => WeightFormat::Base3,
        WeightFormat::Base3 => WeightFormat::TwoBit,
    };
    let tw = twin(&s.accel, other)?;
    let (two_bit, base3) = match s.accel.format {
        WeightFormat::TwoBit => (s.accel, tw),
        WeightFormat::Base3 => (tw, s.accel),
    };
    let o = CostOptions {
        array: s.accel.array,
        clock_mhz: s.clock_mhz,
        bandwidth_gbs: s.bandwidth_gbs(),
        workload: Workload {
            prompt_tokens: s.batch,
            decode_tokens: 1,
        },
        ternary_head_bits: 16,
        kv_bits: 16,
        accel: AccelOptions {
            two_bit,
            base3,
            batch: s.batch,
            mem_latency: s.mem_latency,
        },
    };
    o.check()?;
    Ok(o)
}

/// The variant of a stored format.
pub fn variant_of(f: WeightFormat) -> Variant {
    match f {
        WeightFormat::TwoBit => Variant::Ternary2,
        WeightFormat::Base3 => Variant::Ternary16,
    }
}

/// Prices point `s` with its measured cycles: (step, decode) per token.
pub fn price(
    s: &PointSpec,
    cycles: &PointCycles,
    inp: &PriceInputs<'_>,
) -> Result<(TokenCost, TokenCost)> {
    let o = point_options(s)?;
    let layers = inp.model.num_layers;
    let v = variant_of(s.accel.format);
    let measured = Measured {
        variant: v,
        decode: vec![cycles.decode.map(Some); layers],
        prefill: vec![cycles.step.map(Some); layers],
    };
    let ev = evaluate(
        inp.model,
        inp.zeros,
        inp.table,
        &o,
        &EvalInputs {
            measured: Some(&measured),
            decoder_pj_per_byte: inp.decoder_pj_per_byte,
        },
    )?;
    let vc = ev.variant(v);
    let (step, decode) = (TokenCost::of(&vc.prefill), TokenCost::of(&vc.decode));
    for (what, x) in [
        ("step energy", step.energy_mj),
        ("step latency", step.latency_ms),
        ("decode energy", decode.energy_mj),
        ("decode latency", decode.latency_ms),
    ] {
        if !(x.is_finite() && x > 0.0) {
            return Err(Error::NonFinite {
                at: format!("point {}: {what} {x}", s.label()),
            });
        }
    }
    Ok((step, decode))
}

/// The ASIC area of `cfg` in `r` (module docs), if synthesized.
pub fn asic_area(r: &SynthResults, cfg: &AccelConfig) -> Option<AsicArea> {
    let array = r
        .units
        .iter()
        .filter(|u| u.level == Level::Array && u.family == Family::Asic && !u.estimate)
        .find(|u| u.accel.as_ref().is_some_and(|a| a.array == cfg.array))?
        .cell_area_um2?;
    let decoder = r
        .find_accel(Level::Decoder, Family::Asic, cfg)?
        .cell_area_um2?;
    Some(AsicArea {
        array_um2: array,
        decoder_um2: decoder,
        total_um2: array + decoder,
    })
}

/// `tri_accel`'s resources for `cfg` in `family`, if synthesized.
pub fn fpga_resources(
    r: &SynthResults,
    family: Family,
    cfg: &AccelConfig,
) -> Option<FpgaResources> {
    let u = r.find_accel(Level::Accel, family, cfg)?;
    Some(FpgaResources {
        family: family.name().to_string(),
        luts: u.resources.luts,
        ffs: u.resources.ffs,
        dsp: u.resources.dsp,
        bram: u.resources.bram,
    })
}

/// Whether `a` dominates `b` (both minimized): no worse in both, better in one.
fn dominates(a: [f64; 2], b: [f64; 2]) -> bool {
    a[0] <= b[0] && a[1] <= b[1] && (a[0] < b[0] || a[1] < b[1])
}

/// The Pareto front of `points` (both coordinates minimized; None: not
/// part of the comparison): true for the points no other point dominates.
/// Equal points are all on the front.
pub fn pareto_front(points: &[Option<[f64; 2]>]) -> Vec<bool> {
    points
        .iter()
        .map(|p| p.is_some_and(|p| !points.iter().any(|q| q.is_some_and(|q| dominates(q, p)))))
        .collect()
}

/// Marks both fronts on `points`.
pub fn mark_fronts(points: &mut [PointResult]) {
    let lat: Vec<_> = points
        .iter()
        .map(|p| Some([p.step.latency_ms, p.step.energy_mj]))
        .collect();
    let area: Vec<_> = points
        .iter()
        .map(|p| {
            p.asic_area
                .as_ref()
                .map(|a| [a.total_um2, p.step.energy_mj])
        })
        .collect();
    for ((p, l), a) in points
        .iter_mut()
        .zip(pareto_front(&lat))
        .zip(pareto_front(&area))
    {
        p.front_latency = l;
        p.front_area = a;
    }
}

/// The whole sweep, as sweep.json holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub schema_version: u32,
    pub generator: String,
    /// The command that reproduces it (launcher and output options left out).
    pub command: String,
    /// Model shape the points were measured on.
    pub model: String,
    /// How the RTL cycles were obtained, the pricing, the areas.
    pub method: Vec<String>,
    /// Where the areas and FPGA resources come from.
    pub synthesis: String,
    pub points: Vec<PointResult>,
    /// RTL measurements (tasks) run, and taken from the cache.
    pub measured: usize,
    pub cached: usize,
    /// Axis values left out or merged (beyond a configuration's limits).
    pub notes: Vec<String>,
    /// Wall seconds of the whole sweep.
    pub wall_seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn front_of_a_hand_made_set() {
        let p = |x: f64, y: f64| Some([x, y]);
        let pts = [
            p(1.0, 5.0),
            p(2.0, 2.0),
            p(3.0, 3.0),
            p(5.0, 1.0),
            None,
            p(2.0, 2.0),
        ];
        assert_eq!(pareto_front(&pts), [true, true, false, true, false, true]);
    }

    proptest! {
        /// No front point is dominated; every other point (with
        /// coordinates) is dominated by some point.
        #[test]
        fn front_is_exactly_the_undominated_points(
            pts in proptest::collection::vec(
                proptest::option::weighted(0.9, (0u8..20, 0u8..20)), 0..40)
        ) {
            let pts: Vec<Option<[f64; 2]>> = pts
                .iter()
                .map(|o| o.map(|(a, b)| [f64::from(a), f64::from(b)]))
                .collect();
            let front = pareto_front(&pts);
            for (i, p) in pts.iter().enumerate() {
                match p {
                    None => prop_assert!(!front[i]),
                    Some(p) => {
                        // Written out again, independently of `dominates`.
                        let beaten_by = |q: &[f64; 2]| {
                            (q[0] < p[0] && q[1] <= p[1]) || (q[0] <= p[0] && q[1] < p[1])
                        };
                        let dominated = pts.iter().flatten().any(beaten_by);
                        prop_assert_eq!(front[i], !dominated, "point {} {:?}", i, p);
                    }
                }
            }
            // A non-empty set has a front.
            if pts.iter().any(Option::is_some) {
                prop_assert!(front.iter().any(|&f| f));
            }
        }
    }
}
