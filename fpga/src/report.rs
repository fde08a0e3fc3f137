//! The Markdown comparison table (`fpga/results/results.md`).

use std::fmt::Write as _;

use super::accel::accel_label;
use super::{Family, Level, MacKind, SynthResults, UnitResult};

fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.2}x", a as f64 / b as f64)
    }
}

fn logic_name(f: Family) -> &'static str {
    match f {
        Family::Generic => "gates",
        Family::Asic => "cells",
        _ => "LUTs",
    }
}

fn row(out: &mut String, label: &str, u: &UnitResult, base: Option<&UnitResult>) {
    let r = &u.resources;
    let vs = base.map_or("-".into(), |b| ratio(r.luts, b.resources.luts));
    let per_mac = r.luts as f64 / u.macs() as f64;
    let _ = writeln!(
        out,
        "| {label} | {}{} | {} | {} | {} | {} | {} | {} | {per_mac:.1} | {vs} |",
        u.module,
        if u.estimate { " x N (estimate)" } else { "" },
        r.luts,
        r.ffs,
        r.carry,
        r.dsp,
        r.bram,
        r.multipliers,
    );
}

fn header(out: &mut String, first: &str, f: Family) {
    let l = logic_name(f);
    let _ = writeln!(
        out,
        "| {first} | design | {l} | FFs | carry | DSP | BRAM | multipliers | {l} per MAC | {l} vs ternary |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
}

/// RAMB36 tiles of a Xilinx unit (`bram18 / 2`), "-" elsewhere.
fn ramb36(f: Family, u: &UnitResult) -> String {
    match f {
        Family::Xilinx | Family::Xcup => format!("{:.1}", u.resources.bram18 as f64 / 2.0),
        _ => "-".into(),
    }
}

/// The `tri_accel` rows of family `f`, one per configuration.
fn accel_table(out: &mut String, res: &SynthResults, f: Family) {
    let rows: Vec<&UnitResult> = res
        .units
        .iter()
        .filter(|u| u.family == f && u.level == Level::Accel)
        .collect();
    if rows.is_empty() {
        return;
    }
    let l = logic_name(f);
    let mem = if f == Family::Generic {
        "memories"
    } else {
        "BRAM"
    };
    let _ = writeln!(
        out,
        "Accelerator `tri_accel` (array, weight front end and decoder, activation \
buffer, accumulator bank, result FIFO, counters):\n"
    );
    let _ = writeln!(
        out,
        "| configuration | array | weights | TMax | KMax | bus bytes | {l} | FFs | carry | DSP | {mem} | RAMB36 tiles | URAM | LUT-RAM | multipliers |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for u in rows {
        let Some(a) = &u.accel else { continue };
        let r = &u.resources;
        let _ = writeln!(
            out,
            "| {} | {}x{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            accel_label(a),
            a.array.cols,
            a.array.lanes,
            a.format,
            a.tokens,
            a.array.k_max,
            a.bus_bytes,
            r.luts,
            r.ffs,
            r.carry,
            r.dsp,
            r.bram,
            ramb36(f, u),
            r.uram,
            r.lutram,
            r.multipliers
        );
    }
    out.push('\n');
}

/// What a decoder row decodes: "64 B -> 320 codes (kv260-base3)".
fn decoder_what(u: &UnitResult) -> (String, u64) {
    match &u.accel {
        Some(a) => {
            let codes = (a.array.cols * a.array.lanes) as u64;
            (
                format!(
                    "{} word, {} B -> {codes} codes ({})",
                    a.format,
                    a.word_bytes,
                    accel_label(a)
                ),
                codes,
            )
        }
        None => ("one base3 byte -> 5 codes".into(), 5),
    }
}

/// The weight decoders of family `f` (FPGA and generic families).
fn decoder_table(out: &mut String, res: &SynthResults, f: Family) {
    let rows: Vec<&UnitResult> = res
        .units
        .iter()
        .filter(|u| u.family == f && u.level == Level::Decoder)
        .collect();
    if rows.is_empty() {
        return;
    }
    let l = logic_name(f);
    let _ = writeln!(
        out,
        "Weight decoders alone (combinational; 2-bit words are wiring):\n"
    );
    let _ = writeln!(out, "| design | decodes | {l} | carry | {l} per weight |");
    let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: |");
    for u in rows {
        let (what, codes) = decoder_what(u);
        let r = &u.resources;
        let _ = writeln!(
            out,
            "| {} | {what} | {} | {} | {:.2} |",
            u.module,
            r.luts,
            r.carry,
            r.luts as f64 / codes as f64
        );
    }
    out.push('\n');
}

/// The `asic` family: cell counts and area of every unit.
fn asic_table(out: &mut String, res: &SynthResults) {
    let mut rows: Vec<&UnitResult> = res
        .units
        .iter()
        .filter(|u| u.family == Family::Asic && !u.estimate)
        .collect();
    if rows.is_empty() {
        return;
    }
    // PEs first, then decoders, then arrays (smallest first).
    rows.sort_by_key(|u| (u.level, u.kind, u.macs(), u.accel.is_some()));
    let _ = writeln!(
        out,
        "Standard cells, library {}: `synth`, `dfflibmap` and `abc -liberty` (area-oriented, \
not timing-driven); area = sum of the cells' Liberty areas (um^2), logic only \
(no placement density, routing or memories).\n",
        res.tools.liberty.as_deref().unwrap_or("(not recorded)")
    );
    let _ = writeln!(
        out,
        "| unit | design | logic cells | flip-flops | area (um^2) | um^2 per MAC or weight | multipliers |"
    );
    let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for u in rows {
        let r = &u.resources;
        let area = u.cell_area_um2.unwrap_or(0.0);
        let (label, per) = match u.level {
            Level::Decoder => {
                let (what, codes) = decoder_what(u);
                (format!("decoder: {what}"), codes)
            }
            Level::Array => (
                format!(
                    "array {}x{}, KMax {}",
                    u.cols,
                    u.lanes,
                    u.accel.map_or(res.k_max as usize, |a| a.array.k_max)
                ),
                u.macs(),
            ),
            Level::MacUnit => (format!("{} MAC unit", u.kind.label()), 1),
            _ => (format!("{} PE", u.kind.label()), u.macs()),
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {area:.0} | {:.1} | {} |",
            u.module,
            r.luts,
            r.ffs,
            area / per.max(1) as f64,
            r.multipliers
        );
    }
}

/// Renders the comparison as Markdown: per PE and per array for every
/// family (ternary vs INT8 vs FP16, with ratios to ternary), the
/// accelerator and its decoders, the standard-cell areas, and the Fmax of
/// the place-and-route runs. The first line says the file is generated.
pub fn markdown_table(res: &SynthResults) -> String {
    let mut out = String::new();
    out += "<!-- Generated by `tritium synth` from results.json; do not edit. -->\n";
    out += "# FPGA synthesis: ternary vs INT8 vs FP16 multiply-accumulate\n\n";
    let _ = writeln!(
        out,
        "{}; {}KMax = {} (accumulator width). Counts from Yosys `stat -json`.\n",
        res.tools.yosys,
        res.tools
            .nextpnr
            .as_ref()
            .map(|v| format!("{v}; "))
            .unwrap_or_default(),
        res.k_max
    );
    out += "Families: `generic` = Yosys `synth` (gates are technology-independent cells, \
not LUTs); `ice40` = `synth_ice40` without DSP inference (LUT fabric); `xilinx` = \
`synth_xilinx -family xc7` (DSP48E1 inference on); `xcup` = `synth_xilinx -family \
xcup` (UltraScale+, the KV260's family; DSP48E2 inference on; LUTs used as \
distributed RAM are not in the LUT column; Yosys 0.23 maps carries to CARRY4 \
and infers no URAM without `-uram`); `asic` = standard cells with a Liberty \
library. `multipliers` = `$mul`/`$macc` \
cells of the elaborated design before mapping. FP16 array rows are estimates: \
Cols*Lanes independent `fp16_mac_pe` units (no reduction tree, no control), \
not synthesized. `generic` keeps memories as abstract `$mem_v2` cells (the \
`memories` column), not gates.\n";

    for f in res.families() {
        let _ = writeln!(out, "\n## {}\n", f.name());
        if f == Family::Asic {
            asic_table(&mut out, res);
            continue;
        }
        let pes: Vec<&UnitResult> = res
            .units
            .iter()
            .filter(|u| u.family == f && matches!(u.level, Level::Pe | Level::MacUnit))
            .collect();
        if !pes.is_empty() {
            let _ = writeln!(
                out,
                "Per PE (one lane; `fp16_mac_pe` is a whole MAC unit):\n"
            );
            header(&mut out, "kind", f);
            let base = res.find(MacKind::Ternary, Level::Pe, f, 1, 1);
            for u in pes {
                let label = match u.level {
                    Level::MacUnit => format!("{} MAC unit", u.kind.label()),
                    _ => format!("{} PE", u.kind.label()),
                };
                row(&mut out, &label, u, base);
            }
            out.push('\n');
        }
        let arrays = res.sizes.iter().any(|s| {
            MacKind::ALL
                .iter()
                .any(|&k| res.find(k, Level::Array, f, s.cols, s.lanes).is_some())
        });
        if arrays {
            let _ = writeln!(out, "Per array (Cols x Lanes):\n");
            header(&mut out, "size, kind", f);
            for s in &res.sizes {
                let base = res.find(MacKind::Ternary, Level::Array, f, s.cols, s.lanes);
                for k in MacKind::ALL {
                    if let Some(u) = res.find(k, Level::Array, f, s.cols, s.lanes) {
                        row(&mut out, &format!("{s} {}", k.label()), u, base);
                    }
                }
            }
            out.push('\n');
        }
        accel_table(&mut out, res, f);
        decoder_table(&mut out, res, f);
    }

    if !res.pnr.is_empty() {
        out += "\n## Fmax (nextpnr-ice40)\n\n";
        out += "Each design wrapped in input/output shift registers (fpga/pnr_wrap.sv), \
placed and routed on an iCE40; logic cells include the wrapper.\n\n";
        out += "| kind | design | size | device | Fmax (MHz) | logic cells | critical path |\n";
        out += "| --- | --- | --- | --- | ---: | ---: | --- |\n";
        for p in &res.pnr {
            let _ = writeln!(
                out,
                "| {} | {} | {}x{} | {} | {:.1} | {} / {} | `{}` -> `{}` |",
                p.kind.label(),
                p.module,
                p.cols,
                p.lanes,
                p.device,
                p.fmax_mhz,
                p.lc_used,
                p.lc_available,
                p.critical_from,
                p.critical_to
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_accel, Resources, ToolVersions, SCHEMA_VERSION};

    fn unit(module: &str, level: Level, family: Family, accel: &str) -> UnitResult {
        let accel = (!accel.is_empty()).then(|| parse_accel(accel).unwrap());
        UnitResult {
            kind: MacKind::Ternary,
            level,
            module: module.into(),
            cols: accel.map_or(1, |a| a.array.cols as u32),
            lanes: accel.map_or(1, |a| a.array.lanes as u32),
            family,
            resources: Resources {
                luts: 640,
                ffs: 10,
                bram: 65,
                bram18: 65,
                ..Resources::default()
            },
            estimate: false,
            cells: Default::default(),
            seconds: 1.0,
            accel,
            cell_area_um2: (family == Family::Asic).then_some(3200.0),
        }
    }

    #[test]
    fn accelerator_decoder_and_asic_tables() {
        let res = SynthResults {
            schema_version: SCHEMA_VERSION,
            tools: ToolVersions {
                yosys: "Yosys 0.23".into(),
                nextpnr: None,
                liberty: Some("lib1 (lib1.lib)".into()),
            },
            k_max: 8192,
            sizes: Vec::new(),
            accels: vec![parse_accel("kv260-base3").unwrap()],
            units: vec![
                unit("tri_accel", Level::Accel, Family::Xcup, "kv260-base3"),
                unit("tri_wdec", Level::Decoder, Family::Xcup, "kv260-base3"),
                unit("tri_dec_base3", Level::Decoder, Family::Asic, ""),
                unit("tri_mac_array", Level::Array, Family::Asic, "kv260-base3"),
                unit("tri_pe", Level::Pe, Family::Asic, ""),
            ],
            pnr: Vec::new(),
            seconds: 1.0,
        };
        let md = markdown_table(&res);
        for needle in [
            "| kv260-base3 | 64x5 | base3 | 16 | 8192 | 64 | 640 | 10 | 0 | 0 | 65 | 32.5 | 0 | 0 | 0 |",
            "| tri_wdec | base3 word, 64 B -> 320 codes (kv260-base3) | 640 | 0 | 2.00 |",
            "library lib1 (lib1.lib)",
            "| decoder: one base3 byte -> 5 codes | tri_dec_base3 | 640 | 10 | 3200 | 640.0 | 0 |",
            "| array 64x5, KMax 8192 | tri_mac_array | 640 | 10 | 3200 | 10.0 | 0 |",
        ] {
            assert!(md.contains(needle), "{needle} missing:\n{md}");
        }
        // asic: PE, then decoder, then array; no array table without sweep sizes.
        let pos = |s: &str| md.find(s).unwrap();
        assert!(pos("| ternary PE | tri_pe") < pos("| decoder: one"));
        assert!(pos("| decoder: one") < pos("| array 64x5"));
        assert!(!md.contains("Per array"), "{md}");
    }
}
