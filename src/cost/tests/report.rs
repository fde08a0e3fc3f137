//! The cost model through its API: the paper's figures, the checked-in
//! example reports, JSON round trip, plots, a report from co-simulations
//! of the RTL, and bad input. (The analytic cycle model against the RTL is
//! tests/accel_model.rs.) (What the command line adds,
//! flags and their messages, is in the top-level tests/cli.rs.)

use std::path::{Path, PathBuf};

use tritium_cost::decoder::SynthFigures;
use tritium_cost::report::{self, Mode, Report};
use tritium_cost::write::{to_json, write};
use tritium_cost::{
    b2b4t_zero_fractions, CostOptions, Node, ReportRequest, Variant, ZeroFractions,
};
use tritium_golden::Preset;
use tritium_model::synthetic::preset_model;

/// The repository root (this crate is src/cost).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What `tritium report --preset P --node N --no-fpga` asks for.
fn request(preset: Preset, node: Node) -> ReportRequest {
    let config = preset.config();
    let zeros = match preset {
        Preset::B2b4t => b2b4t_zero_fractions(&config),
        p => ZeroFractions::measure(
            &preset_model(p, 1).unwrap(),
            "counted from the synthetic preset's weights (seed 1)",
        ),
    };
    ReportRequest::new(preset.name(), config, zeros, node.table().unwrap())
}

fn build(preset: Preset, node: Node) -> Report {
    request(preset, node).build().unwrap()
}

#[test]
fn paper_mode_gives_71_4x_at_7nm_and_50x_at_45nm() {
    for (node, want) in [(Node::N7, 71.4), (Node::N45, 50.0)] {
        for preset in [Preset::B2b4t, Preset::Tiny] {
            let r = build(preset, node);
            let got = r.summary.paper_fp16_over_ternary;
            assert!((got - want).abs() < 0.05, "{preset:?} {node:?}: {got}");
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
    let r = build(Preset::B2b4t, Node::N7);
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
    let with = |f: f64| {
        let mut q = request(Preset::Small, Node::N7);
        q.zeros = ZeroFractions::uniform(q.config.num_layers, f, "given");
        q.zeros_given = true;
        q.build().unwrap()
    };
    let (a, b) = (with(0.0), with(0.5));
    let (ta, tb) = (
        a.evaluation.variant(Variant::Ternary2),
        b.evaluation.variant(Variant::Ternary2),
    );
    assert_eq!(ta.decode.total.dram_pj, tb.decode.total.dram_pj);
    assert!(tb.decode.bitlinear.arith_pj < ta.decode.bitlinear.arith_pj);
    let f = |r: &Report| r.evaluation.variant(Variant::Fp16).decode.total;
    assert_eq!(f(&a), f(&b));
}

/// The request of `tritium report --preset 2b4t --node N` run from the
/// repository root, with its FPGA results; `args` are the command's other
/// arguments, for the message.
fn example_request(node: Node) -> ReportRequest {
    let mut q = request(Preset::B2b4t, node);
    let results = root().join("fpga/results/results.json");
    q.fpga = Some(tritium_fpga::load_results(&results).unwrap());
    q.synth = Some(SynthFigures::read(&results, &q.table).unwrap());
    q
}

/// Compares `dir/report.json` with what `q` builds now. Paths under the
/// repository root are written relative to it, as the command run from the
/// root writes them.
fn check_example(dir: &str, q: &ReportRequest, command: &str) -> Report {
    let path = root().join(dir).join("report.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate with the command in README.md",
            path.display()
        )
    });
    let checked_in: serde_json::Value = serde_json::from_str(&text).unwrap();
    let r = q.build().unwrap();
    let json = to_json(&r)
        .unwrap()
        .replace(&format!("{}/", root().display()), "");
    let now: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut diffs = Vec::new();
    json_diff("", &checked_in, &now, &mut diffs);
    assert!(
        diffs.is_empty(),
        "{} no longer matches `{command}` ({} differences, first: {:?}); regenerate it (README.md)",
        path.display(),
        diffs.len(),
        &diffs[..diffs.len().min(5)]
    );
    r
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
    for node in [Node::N7, Node::N45] {
        let dir = format!("reports/2b4t-{}", node.name());
        let command = format!(
            "tritium report --preset 2b4t --node {} --out {dir}",
            node.name()
        );
        check_example(&dir, &example_request(node), &command);
    }
}

/// The KV260 example: from its checked-in co-simulations of the RTL (not
/// re-run here), next to the published KV260 design; and what it shows.
#[test]
fn checked_in_kv260_example_matches_and_meets_its_targets() {
    let dir = "reports/2b4t-kv260";
    let mut q = example_request(Node::N7);
    q.cosim = ["cosim-decode.json", "cosim-prefill.json"]
        .iter()
        .map(|f| root().join(dir).join(f))
        .collect();
    q.published = tritium_cost::published::by_name("kv260");
    let r = check_example(
        dir,
        &q,
        "tritium report --preset 2b4t --node 7nm --from-cosim reports/2b4t-kv260/cosim-decode.json --from-cosim reports/2b4t-kv260/cosim-prefill.json --published kv260 --out reports/2b4t-kv260",
    );
    let cc = r.cosim.as_ref().unwrap();
    assert_eq!(cc.accel_name, "kv260");
    assert!(cc.counts_equal && cc.max_cycle_error < 0.005, "{cc:?}");
    assert_eq!(r.options.workload.prompt_tokens, 128);
    let row = |v, phase| {
        r.accelerator
            .rows
            .iter()
            .find(|x| x.variant == v && x.phase == phase)
            .unwrap()
    };
    // Decode at >= 95 % of the memory floor, >= 36 tokens/s equivalent,
    // measured on the RTL.
    let d = row(Variant::Ternary16, "decode");
    assert!(d.measured && row(Variant::Ternary16, "prefill").measured);
    assert!(
        d.memory_floor_fraction >= 0.95,
        "{}",
        d.memory_floor_fraction
    );
    assert!(
        d.bitlinear_tokens_per_second >= 36.0,
        "{}",
        d.bitlinear_tokens_per_second
    );
    // Base-3 moves about 20 % fewer DRAM bytes than 2-bit on the same port.
    let ratio = r.accelerator.base3_over_2bit_dram_bytes;
    assert!((0.79..=0.81).contains(&ratio), "{ratio}");
    // Prefill in jobs of 16 rows reads the weights 16 times less per token.
    let p = row(Variant::Ternary16, "prefill");
    assert!((d.dram_bytes_per_token / p.dram_bytes_per_token - 16.0).abs() < 1e-9);
    let c = r.published.as_ref().unwrap();
    assert_eq!(c.published.decode_tokens_per_second, 16.78);
}

#[test]
fn report_json_round_trips_and_files_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let r = build(Preset::Tiny, Node::N45);
    assert_eq!(r.schema_version, report::SCHEMA_VERSION);
    let text = to_json(&r).unwrap();
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
    let w = write(&r, &out, true).unwrap();
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
    assert_eq!(w.plots.len(), 2 * tritium_cost::plots::PLOTS.len());
    for p in &w.plots {
        if p.extension().is_some_and(|e| e == "png") {
            let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
            let mut reader = dec.read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size()];
            let info = reader.next_frame(&mut buf).unwrap();
            assert_eq!(
                (info.width, info.height),
                tritium_cost::plots::SIZE,
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

/// The FPGA flow's plot, from the checked-in results.
#[test]
fn fpga_resource_plot_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let res = tritium_fpga::load_results(root().join("fpga/results/results.json")).unwrap();
    tritium_cost::fpga_plot::write_plots(&res, dir.path()).unwrap();
    for f in ["resources.svg", "resources.png"] {
        assert!(
            std::fs::metadata(dir.path().join(f)).unwrap().len() > 1000,
            "{f}"
        );
    }
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("mine.toml");
    std::fs::write(&table, "schema_version = 1\nnode = \"x\"\n").unwrap();
    let e = tritium_cost::EnergyTable::read(&table)
        .unwrap_err()
        .to_string();
    assert!(e.contains("mine.toml") && e.contains("energy table"), "{e}");
    let mut q = request(Preset::Tiny, Node::N7);
    q.options.bandwidth_gbs = f64::NAN;
    let e = q.build().unwrap_err().to_string();
    assert!(e.contains("bandwidth_gbs"), "{e}");
    let mut q = request(Preset::Tiny, Node::N7);
    q.options.array.lanes = 0;
    assert!(q.build().unwrap_err().to_string().contains("array"));
    let cos = dir.path().join("cosim.json");
    std::fs::write(&cos, "{\"schema_version\": 2}").unwrap();
    let mut q = request(Preset::Tiny, Node::N7);
    q.cosim = vec![cos];
    let e = q.build().unwrap_err().to_string();
    assert!(e.contains("cosim.json") && e.contains("model"), "{e}");
    let mut q = request(Preset::Tiny, Node::N7);
    q.options.accel.batch = 17;
    assert!(q.build().unwrap_err().to_string().contains("batch"));
    let mut q = request(Preset::Tiny, Node::N7);
    q.zeros.per_linear.pop();
    let e = q.build().unwrap_err().to_string();
    assert!(e.contains("zero fractions for 1 layers"), "{e}");
    let o: CostOptions = tritium_cost::DEFAULT_OPTIONS;
    assert!(o.check().is_ok());
}

mod rtl {
    use super::*;
    use tritium_rtl::{run_cosim, CosimOptions, MemoryConfig, RtlBackend, ACCEL_CONFIGS};

    /// `tritium cosim --json` of the tiny preset on accelerator `acc2`
    /// (4x5 2-bit, TMax 4) at 4 bytes per cycle: `prompt`, then `steps`
    /// decode steps; written to `dir/name`.
    fn cosim_file(dir: &Path, name: &str, prompt: &[u32], steps: usize) -> PathBuf {
        let model = preset_model(Preset::Tiny, 1).unwrap();
        let cfg = ACCEL_CONFIGS.iter().find(|c| c.name == "acc2").unwrap();
        let mem = MemoryConfig {
            bytes_per_cycle: 4.0,
            latency: 6,
        };
        let mut rtl = RtlBackend::new(cfg, cfg.tokens, mem).unwrap();
        let opts = CosimOptions {
            layers: None,
            decode_steps: steps,
            mismatch_wave: dir.join("m.vcd"),
            clock_mhz: 250.0,
            shard: Default::default(),
        };
        let c = run_cosim(
            &model,
            "preset tiny (seed 1)",
            &mut rtl,
            prompt,
            &opts,
            None,
        )
        .unwrap();
        assert!(c.passed);
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_string(&c).unwrap()).unwrap();
        path
    }

    #[test]
    fn report_from_cosim_uses_the_measured_cycles_counts_and_skips() {
        let dir = tempfile::tempdir().unwrap();
        let decode = cosim_file(dir.path(), "decode.json", &[1], 2);
        let prefill = cosim_file(dir.path(), "prefill.json", &[1, 2, 3, 4, 5, 6], 0);
        let mut q = request(Preset::Tiny, Node::N7);
        q.cosim = vec![decode.clone(), prefill.clone()];
        let r = q.build().unwrap();
        let cc = r.cosim.as_ref().unwrap();
        // Two files, 2 layers x 7 BitLinears each, all on the RTL.
        assert_eq!(cc.rows.len(), 2 * 2 * 7);
        assert_eq!(cc.accel_name, "acc2");
        assert_eq!(cc.measured_layers, [0, 1]);
        assert!(cc.counts_equal, "{:?}", cc.rows);
        assert!(cc.max_cycle_error < 0.02, "{}", cc.max_cycle_error);
        // The co-simulated accelerator, memory, clock and prompt are the
        // report's; the other format is its twin.
        let acc2 = ACCEL_CONFIGS.iter().find(|c| c.name == "acc2").unwrap();
        assert_eq!(r.options.accel.two_bit, acc2.accel);
        assert_eq!(r.options.accel.base3.array.lanes, 6);
        assert_eq!((r.options.clock_mhz, r.options.bandwidth_gbs), (250.0, 1.0));
        assert_eq!(r.options.workload.prompt_tokens, 6);
        // Decode cycles of the 2-bit variant are the RTL's per call.
        for row in cc.rows.iter().filter(|x| cc.files[x.file].kind == "decode") {
            let l = &r.evaluation.linears[row.layer * 7
                + [
                    "q_proj",
                    "k_proj",
                    "v_proj",
                    "o_proj",
                    "gate_proj",
                    "up_proj",
                    "down_proj",
                ]
                .iter()
                .position(|p| *p == row.proj)
                .unwrap()];
            assert_eq!(
                l.decode_cycles[2],
                row.measured_cycles as f64 / row.calls as f64
            );
            assert!(l.measured);
        }
        assert!(r.accelerator.rows.iter().any(|x| x.measured));
        // Zero fractions from the RTL's skip counters equal the weights'.
        let direct = build(Preset::Tiny, Node::N7);
        assert!((cc.measured_zero_fraction - direct.summary.zero_fraction).abs() < 1e-12);
        // A co-simulation of another model is refused.
        let mut q = request(Preset::Small, Node::N7);
        q.cosim = vec![decode.clone()];
        let e = q.build().unwrap_err().to_string();
        assert!(e.contains("was the co-simulation run on this model"), "{e}");
        // Schema 1 (the array backend) is refused with what to do.
        let text = std::fs::read_to_string(&decode).unwrap();
        let old = dir.path().join("old.json");
        std::fs::write(
            &old,
            text.replace("\"schema_version\":2", "\"schema_version\":1"),
        )
        .unwrap();
        let mut q = request(Preset::Tiny, Node::N7);
        q.cosim = vec![old];
        let e = q.build().unwrap_err().to_string();
        assert!(
            e.contains("schema_version 1") && e.contains("re-run"),
            "{e}"
        );
    }
}

/// Paper mode changes the plot and the summary line, not the figures.
#[test]
fn paper_mode_report_holds_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let mut q = request(Preset::Tiny, Node::N7);
    q.mode = Mode::Paper;
    let p = q.build().unwrap();
    let d = build(Preset::Tiny, Node::N7);
    assert_eq!(p.mode, Mode::Paper);
    assert_eq!(p.summary, d.summary);
    assert_eq!(p.evaluation, d.evaluation);
    let w = write(&p, &out, true).unwrap();
    let svg = std::fs::read_to_string(out.join("energy_per_token.svg")).unwrap();
    assert!(
        svg.contains("paper mode, BitLinear arithmetic only"),
        "{}",
        w.json.display()
    );
}
