//! The cost model and `tritium report`: the paper's figures, the checked-in
//! example reports, JSON round trip, plots, the analytic cycle model against
//! cycles measured on the RTL, and bad input.

use std::path::Path;

use clap::Parser;
use tritium::cost::cli::{build_report, ReportArgs};
use tritium::cost::report::{self, Report};

#[derive(Parser)]
struct T {
    #[command(flatten)]
    a: ReportArgs,
}

fn args(extra: &[&str]) -> ReportArgs {
    let mut v = vec!["t"];
    v.extend_from_slice(extra);
    T::try_parse_from(v).unwrap().a
}

#[test]
fn paper_mode_gives_71_4x_at_7nm_and_50x_at_45nm() {
    for (node, want) in [("7nm", 71.4), ("45nm", 50.0)] {
        for preset in ["2b4t", "tiny"] {
            let r =
                build_report(&args(&["--preset", preset, "--node", node, "--no-fpga"])).unwrap();
            let got = r.summary.paper_fp16_over_ternary;
            assert!((got - want).abs() < 0.05, "{preset} {node}: {got}");
            // Every model size of the paper gives the same paper figure.
            for z in &r.model_sizes {
                assert!(
                    (z.paper_fp16_over_ternary - want).abs() < 0.05,
                    "{}",
                    z.name
                );
            }
        }
    }
}

#[test]
fn detailed_mode_is_below_paper_mode_and_memory_dominates_decode() {
    let r = build_report(&args(&["--preset", "2b4t", "--no-fpga"])).unwrap();
    let s = &r.summary;
    assert!(s.fp16_over_ternary_decode.bitlinear_arith < s.paper_fp16_over_ternary);
    assert!(s.fp16_over_ternary_decode.total < s.fp16_over_ternary_decode.bitlinear_total);
    assert!(s.ternary_decode_memory_share > 0.9);
    // 2-bit ternary weights move 8x fewer bits than FP16: the BitLinears'
    // decode saving including memory is close to (and below) 8x plus the
    // arithmetic saving on top.
    let b = s.fp16_over_ternary_decode.bitlinear_total;
    assert!(b > 6.0 && b < 10.0, "{b}");
    // Built-in 2B4T zero fractions are about 30%.
    assert!(
        (s.zero_fraction - 0.3027).abs() < 1e-3,
        "{}",
        s.zero_fraction
    );
}

#[test]
fn a_given_zero_fraction_changes_only_the_ternary_arithmetic() {
    let a = build_report(&args(&[
        "--preset",
        "small",
        "--zero-fraction",
        "0",
        "--no-fpga",
    ]))
    .unwrap();
    let b = build_report(&args(&[
        "--preset",
        "small",
        "--zero-fraction",
        "0.5",
        "--no-fpga",
    ]))
    .unwrap();
    let (ta, tb) = (
        a.evaluation.variant(tritium::cost::Variant::Ternary2),
        b.evaluation.variant(tritium::cost::Variant::Ternary2),
    );
    assert_eq!(ta.decode.total.dram_pj, tb.decode.total.dram_pj);
    assert!(tb.decode.bitlinear.arith_pj < ta.decode.bitlinear.arith_pj);
    let f = |r: &Report| {
        r.evaluation
            .variant(tritium::cost::Variant::Fp16)
            .decode
            .total
    };
    assert_eq!(f(&a), f(&b));
}

fn check_example(dir: &str, node: &str) {
    let path = Path::new(dir).join("report.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate with the command in README.md",
            path.display()
        )
    });
    let checked_in: serde_json::Value = serde_json::from_str(&text).unwrap();
    let r = build_report(&args(&["--preset", "2b4t", "--node", node])).unwrap();
    let now: serde_json::Value = serde_json::from_str(&report::to_json(&r).unwrap()).unwrap();
    let mut diffs = Vec::new();
    json_diff("", &checked_in, &now, &mut diffs);
    assert!(
        diffs.is_empty(),
        "{} no longer matches `tritium report --preset 2b4t --node {node} --out {dir}` ({} differences, first: {:?}); regenerate it (README.md)",
        path.display(),
        diffs.len(),
        &diffs[..diffs.len().min(5)]
    );
}

/// Structural comparison; numbers agree to 1e-12 relative (the report's
/// SRAM interpolation uses log2 from the platform's libm).
fn json_diff(at: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value as V;
    match (a, b) {
        (V::Object(x), V::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => json_diff(&format!("{at}.{k}"), p, q, out),
                    _ => out.push(format!("{at}.{k}: present in one only")),
                }
            }
        }
        (V::Array(x), V::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                json_diff(&format!("{at}[{i}]"), p, q, out);
            }
        }
        (V::Number(x), V::Number(y)) => {
            let (p, q) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (p - q).abs() > 1e-12 * p.abs().max(q.abs()) {
                out.push(format!("{at}: {p} vs {q}"));
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{at}: {a} vs {b}")),
    }
}

#[test]
fn checked_in_example_reports_match_what_the_command_produces() {
    check_example("reports/2b4t-7nm", "7nm");
    check_example("reports/2b4t-45nm", "45nm");
}

#[test]
fn report_json_round_trips_and_files_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let a = args(&[
        "--preset",
        "tiny",
        "--node",
        "45nm",
        "--no-fpga",
        "--out",
        out.to_str().unwrap(),
    ]);
    let r = build_report(&a).unwrap();
    assert_eq!(r.schema_version, report::SCHEMA_VERSION);
    let text = report::to_json(&r).unwrap();
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
    let w = report::write(&r, &out, true).unwrap();
    let back: Report = serde_json::from_str(&std::fs::read_to_string(&w.json).unwrap()).unwrap();
    assert_eq!(back, r);
    let md = std::fs::read_to_string(&w.markdown).unwrap();
    for want in [
        "paper mode",
        "in plain words",
        "Roofline",
        "| 700M |",
        "| 70B |",
        "energy_per_token.svg",
    ] {
        assert!(md.contains(want), "report.md lacks {want}");
    }
    assert_eq!(w.plots.len(), 2 * tritium::cost::plots::PLOTS.len());
    for p in &w.plots {
        if p.extension().is_some_and(|e| e == "png") {
            let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
            let mut reader = dec.read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size()];
            let info = reader.next_frame(&mut buf).unwrap();
            assert_eq!(
                (info.width, info.height),
                tritium::cost::plots::SIZE,
                "{}",
                p.display()
            );
            // Not a blank image: many distinct colours.
            let mut colours: Vec<&[u8]> = buf.chunks(3).collect();
            colours.sort_unstable();
            colours.dedup();
            assert!(
                colours.len() > 10,
                "{}: {} colours",
                p.display(),
                colours.len()
            );
        } else {
            let svg = std::fs::read_to_string(p).unwrap();
            assert!(
                svg.starts_with("<svg") && svg.contains("</svg>"),
                "{}",
                p.display()
            );
        }
    }
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("mine.toml");
    std::fs::write(&table, "schema_version = 1\nnode = \"x\"\n").unwrap();
    let e = build_report(&args(&["--energy", table.to_str().unwrap(), "--no-fpga"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("mine.toml") && e.contains("energy table"), "{e}");
    let e = build_report(&args(&["--zero-fraction", "1.5", "--no-fpga"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("--zero-fraction"), "{e}");
    let e = build_report(&args(&["--bandwidth-gbs", "NaN", "--no-fpga"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("--bandwidth-gbs"), "{e}");
    let cos = dir.path().join("cosim.json");
    std::fs::write(&cos, "{\"schema_version\": 1}").unwrap();
    let e = build_report(&args(&[
        "--preset",
        "tiny",
        "--from-cosim",
        cos.to_str().unwrap(),
        "--no-fpga",
    ]))
    .unwrap_err()
    .to_string();
    assert!(e.contains("cosim.json") && e.contains("model"), "{e}");
    let cfg = dir.path().join("config.json");
    std::fs::write(&cfg, "{}").unwrap();
    let e = build_report(&args(&["--model", cfg.to_str().unwrap(), "--no-fpga"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("config.json"), "{e}");
}

#[cfg(feature = "rtl")]
mod rtl {
    use super::*;
    use tritium::cost::ArraySpec;
    use tritium::rtl::{run_cosim, run_layer_cosim, CosimOptions, LayerCosimOptions, RtlBackend};
    use tritium_sim::{ArrayConfig, LARGE, SMALL};

    fn spec(c: &ArrayConfig) -> ArraySpec {
        ArraySpec {
            cols: c.cols,
            lanes: c.lanes,
            k_max: c.k_max,
            tile_overhead_cycles: tritium::cost::cli::TILE_OVERHEAD_CYCLES,
        }
    }

    /// Stated tolerance of the analytic cycle model: none, the cycle
    /// counts must be equal.

    #[test]
    fn analytic_cycles_equal_cycles_measured_on_the_rtl() {
        let dir = tempfile::tempdir().unwrap();
        let shapes: &[(&ArrayConfig, usize, usize, usize)] = &[
            (&SMALL, 4, 8, 1),
            (&SMALL, 5, 9, 1),
            (&SMALL, 13, 40, 3),
            (&SMALL, 64, 256, 2),
            (&SMALL, 3, 8200, 1),
            (&LARGE, 16, 32, 1),
            (&LARGE, 40, 100, 2),
            (&LARGE, 17, 8193, 1),
        ];
        for &(cfg, n, k, rows) in shapes {
            let mut rtl = RtlBackend::new(cfg).unwrap();
            let r = run_layer_cosim(
                &mut rtl,
                LayerCosimOptions {
                    n,
                    k,
                    rows,
                    seed: 7,
                },
                dir.path().join("w.vcd"),
            )
            .unwrap();
            assert!(r.passed);
            let measured = r.total.stats.cycles;
            let analytic = rows as u64 * spec(cfg).cycles_per_row(n, k);
            assert_eq!(
                measured, analytic,
                "{} {n}x{k} x{rows}: measured vs analytic cycles",
                cfg.name
            );
        }
    }

    #[test]
    fn report_from_cosim_uses_the_measured_cycles_and_skips() {
        let dir = tempfile::tempdir().unwrap();
        let model = tritium::synth::preset_model(tritium_golden::Preset::Tiny, 1).unwrap();
        let mut rtl = RtlBackend::new(&SMALL).unwrap();
        let opts = CosimOptions {
            layers: None,
            decode_steps: 2,
            mismatch_wave: dir.path().join("m.vcd"),
            progress: false,
        };
        let c = run_cosim(
            &model,
            "preset tiny (seed 1)",
            &mut rtl,
            &[1, 2, 3, 4],
            &opts,
        )
        .unwrap();
        let path = dir.path().join("cosim.json");
        std::fs::write(&path, serde_json::to_string(&c).unwrap()).unwrap();
        let r = build_report(&args(&[
            "--preset",
            "tiny",
            "--from-cosim",
            path.to_str().unwrap(),
            "--no-fpga",
        ]))
        .unwrap();
        let cc = r.cosim.as_ref().unwrap();
        assert_eq!(cc.rows.len(), 2 * 7);
        assert_eq!(cc.measured_over_analytic, 1.0);
        assert_eq!((cc.array.cols, cc.array.lanes), (SMALL.cols, SMALL.lanes));
        assert_eq!(r.options.array.cols, SMALL.cols);
        // Zero fractions from the RTL's skip counters equal the weights'.
        let direct = build_report(&args(&["--preset", "tiny", "--no-fpga"])).unwrap();
        assert!((cc.measured_zero_fraction - direct.summary.zero_fraction).abs() < 1e-12);
        // A co-simulation of another model is refused.
        let e = build_report(&args(&[
            "--preset",
            "small",
            "--from-cosim",
            path.to_str().unwrap(),
            "--no-fpga",
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("was the co-simulation run on this model"), "{e}");
    }
}

/// `--model DIR` counts zero weights from the checkpoint; `--model
/// config.json` takes the shape alone and needs `--zero-fraction`.
#[test]
fn report_of_a_checkpoint_directory_and_of_a_config_json() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_tritium"))
        .args(["gen-model", "--preset", "tiny", "--seed", "1", "--out"])
        .arg(&ck)
        .status()
        .unwrap();
    assert!(st.success());
    let from_dir = build_report(&args(&["--model", ck.to_str().unwrap(), "--no-fpga"])).unwrap();
    let preset = build_report(&args(&["--preset", "tiny", "--no-fpga"])).unwrap();
    assert_eq!(from_dir.summary.zero_fraction, preset.summary.zero_fraction);
    assert!(from_dir
        .zero_fraction_source
        .contains("counted from the weights"));
    assert_eq!(from_dir.evaluation.variants, preset.evaluation.variants);
    let cfg = ck.join("config.json");
    let e = build_report(&args(&["--model", cfg.to_str().unwrap(), "--no-fpga"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("--zero-fraction"), "{e}");
    let r = build_report(&args(&[
        "--model",
        cfg.to_str().unwrap(),
        "--zero-fraction",
        "0.25",
        "--no-fpga",
    ]))
    .unwrap();
    assert_eq!(r.summary.zero_fraction, 0.25);
    assert_eq!(r.model.ternary_params, preset.model.ternary_params);
}

/// `--mode paper` changes the plot and the summary line, not the figures.
#[test]
fn paper_mode_report_holds_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let p = build_report(&args(&["--preset", "tiny", "--mode", "paper", "--no-fpga"])).unwrap();
    let d = build_report(&args(&["--preset", "tiny", "--no-fpga"])).unwrap();
    assert_eq!(p.mode, report::Mode::Paper);
    assert_eq!(p.summary, d.summary);
    assert_eq!(p.evaluation, d.evaluation);
    let w = report::write(&p, &out, true).unwrap();
    let svg = std::fs::read_to_string(out.join("energy_per_token.svg")).unwrap();
    assert!(
        svg.contains("paper mode, BitLinear arithmetic only"),
        "{}",
        w.json.display()
    );
}
