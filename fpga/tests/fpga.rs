//! Quick synthesis of tiny configurations with the real flow (Yosys), so a
//! broken RTL change or a broken flow is caught by `cargo test`: the MAC
//! arrays at 2x4, the smallest accelerator `tri_accel` (generic and
//! UltraScale+), and the base-3 decoders in standard cells. The full sweep
//! is `tritium synth` / `make synth`.
//!
//! Needs yosys (scripts/install-deps.sh installs it) and, for the asic
//! test, the SKY130 Liberty file in ../shared/pdk; fails, does not skip,
//! without them.

use std::path::Path;
use std::process::Command;

use tritium_fpga::{
    load_results, markdown_table, parse_accel, run_sweep, write_results, ArraySize, Family, Level,
    MacKind, SweepConfig, SCHEMA_VERSION,
};

fn require_yosys() {
    let ok = Command::new("yosys")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "yosys is not installed: run scripts/install-deps.sh (Debian: apt-get install yosys)"
    );
}

#[test]
fn tiny_sweep_ternary_int8_fp16() {
    require_yosys();
    // The repository root: the crate is its fpga/ folder.
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let scratch = tempfile::tempdir().unwrap();
    let mut cfg = SweepConfig::new(root);
    cfg.sizes = vec![ArraySize::parse("2x4").unwrap()];
    cfg.families = vec![Family::Generic, Family::Ice40];
    cfg.accels = Vec::new();
    cfg.pnr = None;
    cfg.work_dir = scratch.path().join("work");
    let res = run_sweep(&cfg, None).expect("tiny sweep");
    assert_eq!(res.schema_version, SCHEMA_VERSION);
    assert!(res.tools.yosys.starts_with("Yosys"), "{}", res.tools.yosys);

    for family in [Family::Generic, Family::Ice40] {
        let get = |kind, level, c, l| {
            res.find(kind, level, family, c, l)
                .unwrap_or_else(|| panic!("missing {kind:?} {level:?} {c}x{l} {family:?}"))
        };
        let tri = get(MacKind::Ternary, Level::Array, 2, 4);
        let int8 = get(MacKind::Int8, Level::Array, 2, 4);
        let fp16 = get(MacKind::Fp16, Level::Array, 2, 4);
        let fp16_unit = get(MacKind::Fp16, Level::MacUnit, 1, 1);
        // The ternary array has no multiplier at all; the INT8 one one per lane.
        assert_eq!(tri.resources.multipliers, 0, "{family:?}: {:?}", tri.cells);
        assert_eq!(int8.resources.multipliers, 8, "{family:?}");
        assert_eq!(tri.resources.dsp, 0);
        // Real logic and registers, and the same control in both arrays.
        assert!(
            tri.resources.luts > 100 && tri.resources.ffs > 300,
            "{:?}",
            tri.resources
        );
        assert!(!tri.estimate && !int8.estimate);
        // Same shape: the ternary array needs less logic than the INT8 one.
        assert!(
            tri.resources.luts < int8.resources.luts,
            "{family:?}: ternary {} vs INT8 {}",
            tri.resources.luts,
            int8.resources.luts
        );
        // PEs: select < 8x8 multiply < binary16 multiply.
        let pe = |k| get(k, Level::Pe, 1, 1).resources.luts;
        assert!(pe(MacKind::Ternary) < pe(MacKind::Int8), "{family:?}");
        assert!(pe(MacKind::Int8) < pe(MacKind::Fp16), "{family:?}");
        assert_eq!(get(MacKind::Fp16, Level::Pe, 1, 1).resources.multipliers, 1);
        // The FP16 array row is an estimate: 8 MAC units.
        assert!(fp16.estimate && fp16.cells.is_empty());
        assert_eq!(fp16.resources, fp16_unit.resources.scaled(8));
        assert_eq!(
            fp16_unit.resources.ffs, 16,
            "{family:?}: one binary16 accumulator"
        );
    }
    // No iCE40 cell outside the known kinds is lost: LUTs, FFs and carries
    // are all there is in these designs.
    let tri = res
        .find(MacKind::Ternary, Level::Array, Family::Ice40, 2, 4)
        .unwrap();
    let r = &tri.resources;
    assert_eq!(r.luts + r.ffs + r.carry, r.cells, "{:?}", tri.cells);

    // Written files read back identically; the table names every kind.
    let out = scratch.path().join("results");
    write_results(&res, &out).unwrap();
    assert_eq!(load_results(out.join("results.json")).unwrap(), res);
    let md = markdown_table(&res);
    for needle in [
        "| 2x4 ternary |",
        "| 2x4 INT8 |",
        "fp16_mac_pe x N (estimate)",
        "## ice40",
    ] {
        assert!(md.contains(needle), "{needle} missing:\n{md}");
    }
}

#[test]
fn load_results_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("results.json");
    assert!(load_results(&p).is_err(), "missing file");
    std::fs::write(&p, "{").unwrap();
    assert!(load_results(&p).is_err(), "malformed JSON");
    std::fs::write(&p, r#"{"schema_version": 999}"#).unwrap();
    let e = load_results(&p).unwrap_err().to_string();
    assert!(e.contains("schema_version"), "{e}");
    std::fs::write(&p, format!(r#"{{"schema_version": {SCHEMA_VERSION}}}"#)).unwrap();
    assert!(load_results(&p).is_err(), "fields missing");
}

#[test]
fn missing_yosys_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = SweepConfig::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    cfg.yosys = "/nonexistent/yosys".into();
    cfg.pnr = None;
    cfg.work_dir = dir.path().into();
    let e = run_sweep(&cfg, None).unwrap_err().to_string();
    assert!(e.contains("install-deps.sh"), "{e}");
}

/// A sweep of only the accelerator units of `accel` for `families`.
fn accel_sweep(accel: &str, families: &[Family], decoders: bool) -> tritium_fpga::SynthResults {
    require_yosys();
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let scratch = tempfile::tempdir().unwrap();
    let mut cfg = SweepConfig::new(root);
    cfg.sizes = Vec::new();
    cfg.pes = false;
    cfg.accels = vec![parse_accel(accel).unwrap()];
    cfg.decoders = decoders;
    cfg.families = families.to_vec();
    cfg.pnr = None;
    cfg.work_dir = scratch.path().join("work");
    run_sweep(&cfg, None).unwrap_or_else(|e| panic!("{accel} {families:?}: {e}"))
}

/// The smallest accelerator (4x5 array, base-3 weights, so the decoder
/// and the deserializing front end are in) synthesizes, has no multiplier
/// before mapping and no DSP after, and its memories are memories: kept
/// as such by `generic`, mapped to RAM cells on UltraScale+.
#[test]
fn smallest_accelerator_generic_and_xcup() {
    let res = accel_sweep("small-base3", &[Family::Generic, Family::Xcup], false);
    let cfg = parse_accel("small-base3").unwrap();
    assert_eq!(res.accels, [cfg]);
    for family in [Family::Generic, Family::Xcup] {
        let u = res
            .find_accel(Level::Accel, family, &cfg)
            .unwrap_or_else(|| panic!("no tri_accel result for {family:?}"));
        let r = &u.resources;
        assert_eq!(u.module, "tri_accel");
        assert_eq!((u.cols, u.lanes, u.kind), (4, 5, MacKind::Ternary));
        assert_eq!(r.multipliers, 0, "{family:?}: $mul/$macc before mapping");
        assert_eq!(r.dsp, 0, "{family:?}: {:?}", u.cells);
        // Logic and registers of a whole accelerator (the 4x5 array alone
        // has over 100 of each), not an optimized-away shell.
        assert!(r.luts > 500 && r.ffs > 300, "{family:?}: {r:?}");
        // Every cell is a cell of the target: nothing left unmapped.
        if family == Family::Xcup {
            let unmapped: Vec<_> = u.cells.keys().filter(|t| t.starts_with('$')).collect();
            assert!(unmapped.is_empty(), "unmapped cells {unmapped:?}");
            assert!(r.carry > 0, "{r:?}");
            // The activation buffer, accumulator bank and FIFOs are RAM
            // cells (LUT-RAM at this size, block RAM when large).
            assert!(r.bram + r.lutram + r.uram > 0, "no RAM cell: {:?}", u.cells);
        } else {
            // generic keeps memories abstract: at least the activation buffer.
            assert!(r.bram >= 1, "no $mem_v2 cell: {:?}", u.cells);
        }
    }
    let md = markdown_table(&res);
    assert!(
        md.contains("| small-base3 | 4x5 | base3 | 4 | 128 | 2 |"),
        "{md}"
    );
}

/// Standard-cell areas of the base-3 decoders with the SKY130 library of
/// ../shared/pdk: one byte decoder, the 4-byte word decoder (four of
/// them), and the 4x5 array for comparison; no multiplier anywhere.
#[test]
fn base3_decoder_area_in_standard_cells() {
    let res = accel_sweep("small-base3", &[Family::Asic], true);
    let cfg = parse_accel("small-base3").unwrap();
    assert!(
        res.tools
            .liberty
            .as_deref()
            .unwrap_or("")
            .contains("sky130_fd_sc_hd"),
        "{:?}",
        res.tools.liberty
    );
    let area = |u: &tritium_fpga::UnitResult| u.cell_area_um2.expect("asic rows have an area");
    let byte = res
        .find_module("tri_dec_base3", Family::Asic)
        .expect("byte decoder");
    let word = res
        .find_accel(Level::Decoder, Family::Asic, &cfg)
        .expect("word decoder");
    let array = res
        .find_accel(Level::Array, Family::Asic, &cfg)
        .expect("4x5 array");
    assert_eq!(word.module, "tri_wdec");
    assert!(res.find_accel(Level::Accel, Family::Asic, &cfg).is_none());
    for u in [byte, word, array] {
        assert_eq!(u.resources.multipliers, 0, "{}", u.module);
        assert!(
            u.cells.keys().all(|c| c.starts_with("sky130_fd_sc_hd__")),
            "{:?}",
            u.cells
        );
    }
    // A byte decoder is tens of cells, combinational; four of them in the
    // word, each within a factor of two of the lone one.
    assert!(
        (20..400).contains(&byte.resources.luts),
        "{:?}",
        byte.resources
    );
    assert_eq!(byte.resources.ffs, 0);
    assert!(area(byte) > 100.0, "{}", area(byte));
    let ratio = area(word) / area(byte);
    assert!((2.0..8.0).contains(&ratio), "word/byte area {ratio}");
    // The array has flip-flops (accumulators, counters) and dwarfs a decoder.
    assert!(array.resources.ffs > 100 && area(array) > 10.0 * area(byte));
}
