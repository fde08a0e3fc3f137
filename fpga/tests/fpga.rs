//! Quick synthesis of a tiny configuration with the real flow (Yosys), so a
//! broken RTL change or a broken flow is caught by `cargo test`. The full
//! sweep is `tritium synth` / `make synth`.
//!
//! Needs yosys (scripts/install-deps.sh installs it); fails, does not skip,
//! without it.

use std::path::Path;
use std::process::Command;

use tritium_fpga::{
    load_results, markdown_table, run_sweep, write_results, ArraySize, Family, Level, MacKind,
    SweepConfig, SCHEMA_VERSION,
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
