//! The accelerator's synthesis figures that the report uses: the base-3
//! weight decoder's area (`tri_dec_base3`, one byte; `tri_wdec`, one word
//! of a configuration) and the whole `tri_accel`, read from the FPGA flow's
//! `fpga/results/results.json` when it holds them, and the decoder's energy
//! per decoded byte derived from them.
//!
//! # Energy of the decoder
//! No switching activity is simulated. The energy of decoding one stored
//! base-3 byte is the table's INT8 multiply energy scaled by area: `int8_mul
//! x area(tri_dec_base3) / area(int8_pe)`, both synthesized by the same
//! flow for the same target (preferably standard cells, `cell_area_um2`;
//! else iCE40 LUTs; else generic gates): combinational logic of equal
//! activity and technology, so energy in proportion to its size. Until the
//! flow has synthesized `tri_dec_base3`, the decoder is *assumed* to cost
//! one INT8 multiply per byte (a 243-entry, 10-bit-output function next to
//! an 8 x 8 multiplier: about as large or smaller), and the report says so.
//! The 2-bit decoder is wiring and costs nothing.
//!
//! The reader is tolerant: it takes `units[]` entries with a `module`, a
//! `family`, `resources` (`luts`, `ffs`, `dsp`, `bram`) and, where present,
//! `cell_area_um2` and `accel` (the unit's `AccelConfig`), and ignores
//! everything else, so it reads results.json before and after the flow
//! learns the accelerator.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tritium_golden::AccelConfig;

use crate::energy::EnergyTable;
use crate::error::{Error, Result};

/// One synthesized unit of results.json, as much as the report uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthUnit {
    pub module: String,
    pub family: String,
    /// The accelerator configuration the unit belongs to, if any.
    pub accel: Option<AccelConfig>,
    pub luts: u64,
    pub ffs: u64,
    pub dsp: u64,
    pub bram: u64,
    /// Standard-cell area (ASIC flow only).
    pub cell_area_um2: Option<f64>,
}

/// The decoder's energy per decoded byte and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecoderCost {
    /// Energy of decoding one stored base-3 byte, pJ.
    pub pj_per_byte: f64,
    /// True when no synthesis figure was available (the assumption).
    pub assumed: bool,
    /// How the figure was obtained.
    pub source: String,
}

/// What the report takes from results.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthFigures {
    /// The file read, if any.
    pub file: Option<String>,
    /// Decoders (`tri_dec_base3`, `tri_wdec`) and accelerators (`tri_accel`).
    pub units: Vec<SynthUnit>,
    pub decoder: DecoderCost,
}

/// Modules the report looks for.
const MODULES: [&str; 4] = ["tri_dec_base3", "tri_wdec", "tri_accel", "int8_pe"];

fn units_of(v: &serde_json::Value) -> Vec<SynthUnit> {
    let Some(units) = v.get("units").and_then(|u| u.as_array()) else {
        return Vec::new();
    };
    units
        .iter()
        .filter_map(|u| {
            let module = u.get("module")?.as_str()?;
            if !MODULES.contains(&module)
                || u.get("estimate").and_then(|e| e.as_bool()) == Some(true)
            {
                return None;
            }
            let r = u.get("resources")?;
            let n = |k: &str| r.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
            Some(SynthUnit {
                module: module.to_string(),
                family: u.get("family")?.as_str()?.to_string(),
                accel: u
                    .get("accel")
                    .and_then(|a| serde_json::from_value(a.clone()).ok()),
                luts: n("luts"),
                ffs: n("ffs"),
                dsp: n("dsp"),
                bram: n("bram"),
                cell_area_um2: u.get("cell_area_um2").and_then(|x| x.as_f64()),
            })
        })
        .collect()
}

impl DecoderCost {
    /// The assumption used without synthesis figures: one INT8 multiply
    /// per decoded byte.
    pub fn assumed(t: &EnergyTable) -> DecoderCost {
        DecoderCost {
            pj_per_byte: t.arith.int8_mul.pj,
            assumed: true,
            source: format!(
                "ASSUMED (tri_dec_base3 not yet in the FPGA results): one INT8 multiply per decoded byte ({} pJ, the table's int8_mul), a 243-entry 10-bit-output function being about as large as an 8x8 multiplier or smaller",
                t.arith.int8_mul.pj
            ),
        }
    }

    /// From synthesized units: the table's INT8 multiply scaled by the
    /// area of `tri_dec_base3` over `int8_pe` in the same target (module
    /// docs); the assumption when the units do not have both.
    pub fn from_units(units: &[SynthUnit], t: &EnergyTable) -> DecoderCost {
        let find = |m: &str, f: &str| {
            units
                .iter()
                .find(|u| u.module == m && u.family == f && u.accel.is_none())
        };
        type Measure = fn(&SynthUnit) -> Option<f64>;
        let targets: [(&str, &str, Measure); 3] = [
            ("asic", "um^2 of standard cells", |u| u.cell_area_um2),
            ("ice40", "iCE40 LUTs", |u| Some(u.luts as f64)),
            ("generic", "generic gates", |u| Some(u.luts as f64)),
        ];
        for (family, what, measure) in targets {
            let (Some(dec), Some(mul)) = (find("tri_dec_base3", family), find("int8_pe", family))
            else {
                continue;
            };
            let (Some(a), Some(b)) = (measure(dec), measure(mul)) else {
                continue;
            };
            if a > 0.0 && b > 0.0 {
                let r = a / b;
                return DecoderCost {
                    pj_per_byte: t.arith.int8_mul.pj * r,
                    assumed: false,
                    source: format!(
                        "derived from synthesis ({family}): int8_mul {} pJ x area(tri_dec_base3) {a} / area(int8_pe) {b} {what} = {:.4} pJ per decoded byte (energy in proportion to area at equal activity; not from switching activity)",
                        t.arith.int8_mul.pj,
                        t.arith.int8_mul.pj * r
                    ),
                };
            }
        }
        DecoderCost::assumed(t)
    }
}

impl SynthFigures {
    /// Nothing synthesized: the decoder's assumption.
    pub fn none(t: &EnergyTable) -> SynthFigures {
        SynthFigures {
            file: None,
            units: Vec::new(),
            decoder: DecoderCost::assumed(t),
        }
    }

    /// From results.json's text.
    pub fn parse(path: &Path, text: &str, t: &EnergyTable) -> Result<SynthFigures> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            what: "FPGA results (fpga/results/results.json)",
            message: e.to_string(),
        })?;
        let units = units_of(&v);
        Ok(SynthFigures {
            file: Some(path.display().to_string()),
            decoder: DecoderCost::from_units(&units, t),
            units,
        })
    }

    /// Reads results.json.
    pub fn read(path: &Path, t: &EnergyTable) -> Result<SynthFigures> {
        let text = tritium_util::file::read_to_string_regular(path)?;
        SynthFigures::parse(path, &text, t)
    }

    /// The unit of `module` for accelerator `cfg` in `family`.
    pub fn accel_unit(&self, module: &str, family: &str, cfg: &AccelConfig) -> Option<&SynthUnit> {
        self.units
            .iter()
            .find(|u| u.module == module && u.family == family && u.accel.as_ref() == Some(cfg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::Node;

    #[test]
    fn decoder_energy_scales_int8_mul_by_area_or_is_assumed() {
        let t = Node::N7.table().unwrap();
        let p = Path::new("results.json");
        // Today's results: no decoder, so the assumption.
        let none = r#"{"units": [{"module": "int8_pe", "family": "asic", "resources": {"luts": 1}, "cell_area_um2": 800.0}]}"#;
        let s = SynthFigures::parse(p, none, &t).unwrap();
        assert!(s.decoder.assumed && s.decoder.source.contains("ASSUMED"));
        assert_eq!(s.decoder.pj_per_byte, 0.07);
        let with = r#"{"schema_version": 1, "units": [
            {"module": "int8_pe", "family": "asic", "resources": {"luts": 90}, "cell_area_um2": 800.0},
            {"module": "tri_dec_base3", "family": "asic", "resources": {"luts": 40}, "cell_area_um2": 200.0},
            {"module": "tri_dec_base3", "family": "xcup", "resources": {"luts": 12}},
            {"module": "tri_wdec", "family": "xcup", "resources": {"luts": 700, "ffs": 0},
             "accel": {"array": {"cols": 64, "lanes": 5, "k_max": 8192, "tile_overhead_cycles": 2}, "tokens": 16,
                       "bus_bytes": 64, "format": "base3", "word_bytes": 64}},
            {"module": "tri_pe", "family": "asic", "resources": {"luts": 9}}]}"#;
        let s = SynthFigures::parse(p, with, &t).unwrap();
        assert!(!s.decoder.assumed);
        assert!((s.decoder.pj_per_byte - 0.07 / 4.0).abs() < 1e-15);
        assert_eq!(s.units.len(), 4);
        let kv = s.units[3].accel.unwrap();
        assert_eq!(s.accel_unit("tri_wdec", "xcup", &kv).unwrap().luts, 700);
        assert!(SynthFigures::parse(p, "{", &t).is_err());
    }
}
