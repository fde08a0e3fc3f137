//! Published accelerator figures to set next to a report's, and the
//! comparison (what each side includes is part of it).

use crate::count::{CostOptions, Variant};
use crate::report::{AccelSummary, PublishedComparison, PublishedDesign};
use crate::Evaluation;

/// The published KV260 design for BitNet b1.58 2B4T, with the figures
/// quoted in tritium's issue 15 (the publication is to be cited there).
pub fn kv260() -> PublishedDesign {
    PublishedDesign {
        name: "published KV260 ternary LLM design".into(),
        source: "figures as quoted in tritium issue 15 (published KV260 design for BitNet b1.58 2B4T); not re-measured here".into(),
        includes: "the whole 2B4T model on the AMD KV260 board: every BitLinear, attention, KV cache, LM head and the host's share; energy measured at the board".into(),
        decode_tokens_per_second: 16.78,
        joules_per_token: 0.381,
        luts: 42_271,
        dsps: 0,
        clock_mhz: 250.0,
        engines: "four engines, each one 16-byte beat per clock (64 B/clock in all)".into(),
        achieved_gbs: 12.73,
        weight_bytes_per_token: 417.5e6,
        weight_packing: "5 ternary weights per byte (base-3, 1.6 bits)".into(),
    }
}

/// Named designs `--published` accepts.
pub fn by_name(name: &str) -> Option<PublishedDesign> {
    match name {
        "kv260" => Some(kv260()),
        _ => None,
    }
}

/// Our side of the comparison: the ternary variant of the accelerator
/// (the co-simulated one, else base-3 when the published design packs 5
/// weights per byte), its BitLinear figures and the synthesis results.
pub(crate) fn compare(
    p: PublishedDesign,
    ev: &Evaluation,
    acc: &AccelSummary,
    variant: Variant,
    o: &CostOptions,
    includes: String,
) -> PublishedComparison {
    let accel = o.accel.of(variant).unwrap_or(&o.accel.base3);
    let clock_mhz = o.clock_mhz;
    let v = ev.variant(variant);
    let vi = usize::from(variant == Variant::Ternary16);
    let floor = acc
        .rows
        .iter()
        .find(|r| r.variant == variant && r.phase == "decode")
        .map_or(0.0, |r| r.memory_floor_fraction);
    let unit = ["xcup", "xilinx"]
        .iter()
        .find_map(|f| acc.synth.accel_unit("tri_accel", f, accel).map(|u| (f, u)));
    PublishedComparison {
        published: p,
        includes,
        variant,
        clock_mhz,
        peak_gbs: acc.mem_bytes_per_cycle[vi] * clock_mhz * 1e-3,
        bitlinear_decode_tokens_per_second: 1.0 / v.decode.bitlinear_seconds_per_token,
        bitlinear_prefill_tokens_per_second: 1.0 / v.prefill.bitlinear_seconds_per_token,
        model_decode_tokens_per_second: 1.0 / v.decode.seconds_per_token,
        head_bits: o.ternary_head_bits,
        decode_memory_floor_fraction: floor,
        weight_bytes_per_token: v.decode.bitlinear_dram_bytes_per_token,
        achieved_gbs: v.decode.bitlinear_dram_bytes_per_token
            / v.decode.bitlinear_seconds_per_token
            * 1e-9,
        model_joules_per_token: v.decode.total.total_pj() * 1e-12,
        luts: unit.map(|(_, u)| u.luts),
        dsps: unit.map(|(_, u)| u.dsp),
        luts_family: unit.map(|(f, _)| f.to_string()),
    }
}
