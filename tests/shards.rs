//! Sharded co-simulation end to end: `cosim --shard I/N` parts merged by
//! `cosim-merge`, and `cosim --shards N` on the local and the Slurm
//! launcher, each equal to the single-process run (table text byte for
//! byte; JSON except times and waveform paths), on passing and failing
//! runs; the merge's refusals (a missing, duplicated or foreign part); and
//! a 4-point `tritium sweep` measured on the Slurm cluster.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn tritium_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tritium"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run tritium")
}

/// Runs a command and returns its stdout; `code` is the expected status.
fn run(dir: &Path, args: &[&str], code: i32) -> String {
    let out = tritium_in(dir, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "tritium {args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    String::from_utf8(out.stdout).unwrap()
}

/// The per-layer table and its totals line.
fn table(text: &str) -> String {
    let mut t = String::new();
    for line in text.lines().skip(1) {
        t += line;
        t.push('\n');
        if line.trim_start().starts_with("total") {
            return t;
        }
    }
    panic!("no table in\n{text}");
}

/// The JSON report without what differs between processes by nature:
/// times, rates, the shard list and the waveform's path.
fn comparable(path: &Path) -> Value {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let o = v.as_object_mut().unwrap();
    for k in [
        "wall_seconds",
        "simulated_cycles_per_second",
        "verified_macs_per_second",
        "shards",
        "projection",
    ] {
        o.remove(k);
    }
    if let Some(d) = o.get_mut("first_divergence").and_then(Value::as_object_mut) {
        d.remove("waveform");
    }
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The single-process run of `args` and its sharded runs (parts merged by
/// hand, and --shards on the local launcher) agree.
fn sharded_equals_single(args: &[&str], shards: usize, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let with = |extra: &[&str]| -> Vec<String> {
        args.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let single = run(d, &strs(&with(&["--out", "single.json"])), code);
    // Parts by hand, merged in reverse order.
    let mut files = Vec::new();
    for i in 1..=shards {
        let spec = format!("{i}/{shards}");
        let out = format!("part{i}.json");
        let text = run(d, &strs(&with(&["--shard", &spec, "--out", &out])), 0);
        assert!(text.starts_with(&format!("shard {spec}:")), "{text}");
        files.push(out);
    }
    files.reverse();
    let mut merge = vec!["cosim-merge".to_string()];
    merge.extend(files.iter().cloned());
    merge.extend(["--out".into(), "merged.json".into()]);
    let merged = run(d, &strs(&merge), code);
    assert_eq!(table(&merged), table(&single));
    assert_eq!(merged.lines().last(), single.lines().last());
    assert_eq!(
        comparable(&d.join("merged.json")),
        comparable(&d.join("single.json"))
    );
    // The local launcher.
    let n = shards.to_string();
    let launched = run(
        d,
        &strs(&with(&[
            "--shards",
            &n,
            "--jobs",
            "2",
            "--run-dir",
            "run",
            "--out",
            "launched.json",
        ])),
        code,
    );
    assert_eq!(table(&launched), table(&single));
    assert!(launched.contains("projected wall time"), "{launched}");
    assert_eq!(
        comparable(&d.join("launched.json")),
        comparable(&d.join("single.json"))
    );
    for i in 0..shards {
        assert!(d.join(format!("run/task-{i:04}/shard.json")).is_file());
    }
}

#[test]
fn tiny_sharded_equals_single_process() {
    sharded_equals_single(&["cosim", "-n", "2"], 4, 0);
}

#[test]
fn small_sharded_equals_single_process() {
    sharded_equals_single(
        &["cosim", "--preset", "small", "-n", "1", "--layers", "1-3"],
        3,
        0,
    );
}

#[test]
fn a_divergence_found_by_any_shard_is_the_single_process_divergence() {
    // Layer 1's up_proj is late in the run: not shard 1's.
    sharded_equals_single(&["cosim", "--inject-fault", "1,up,5,17"], 4, 1);
}

#[test]
fn the_merge_refuses_missing_duplicated_and_foreign_parts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for i in 1..=3 {
        let spec = format!("{i}/3");
        let out = format!("p{i}.json");
        run(d, &["cosim", "-n", "1", "--shard", &spec, "--out", &out], 0);
    }
    run(
        d,
        &["cosim", "-n", "2", "--shard", "1/3", "--out", "other.json"],
        0,
    );
    let fails = |args: &[&str]| -> String {
        let out = tritium_in(d, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = fails(&["cosim-merge", "p1.json", "p3.json"]);
    assert!(e.contains("shard 2/3 missing"), "{e}");
    let e = fails(&["cosim-merge", "p1.json", "p2.json", "p2.json", "p3.json"]);
    assert!(e.contains("both shard 2/3"), "{e}");
    let e = fails(&["cosim-merge", "other.json", "p2.json", "p3.json"]);
    assert!(e.contains("different runs"), "{e}");
    std::fs::write(d.join("junk.json"), "{}").unwrap();
    let e = fails(&["cosim-merge", "junk.json"]);
    assert!(
        e.contains("junk.json") && e.contains("not a shard file"),
        "{e}"
    );
    // A part whose groups were cut short is incomplete, not a gap.
    let mut v: Value = serde_json::from_slice(&std::fs::read(d.join("p2.json")).unwrap()).unwrap();
    v["groups"].as_array_mut().unwrap().pop();
    std::fs::write(d.join("p2cut.json"), v.to_string()).unwrap();
    let e = fails(&["cosim-merge", "p1.json", "p2cut.json", "p3.json"]);
    assert!(e.contains("p2cut.json") && e.contains("incomplete"), "{e}");
    // Bad specs and launcher options without --shards.
    let e = fails(&["cosim", "--shard", "4/3"]);
    assert!(e.contains("--shard") && e.contains("expected I/N"), "{e}");
    let e = fails(&["cosim", "--jobs", "2"]);
    assert!(e.contains("--jobs applies only to --shards"), "{e}");
    let e = fails(&["cosim", "--shards", "0"]);
    assert!(e.contains("--shards 0"), "{e}");
    // More parts than groups on the RTL: parts without work are refused
    // before a run directory is made (65,537 task directories and
    // processes, each repeating the golden pass, were made before).
    let e = fails(&["cosim", "--shards", "41", "--run-dir", "many"]);
    assert!(
        e.contains("40 groups") && e.contains("(5 forward passes x 2 layers x 4)"),
        "{e}"
    );
    let e = fails(&["cosim", "--shards", "5", "--layers", "1", "-n", "0"]);
    assert!(e.contains("at most 4 parts"), "{e}");
    assert!(!d.join("many").exists());
    // An existing run directory is never reused.
    std::fs::create_dir(d.join("taken")).unwrap();
    let e = fails(&["cosim", "--shards", "2", "--run-dir", "taken"]);
    assert!(e.contains("already exists"), "{e}");
}

#[test]
fn a_shard_that_fails_fails_the_run() {
    // The weights are missing: the parent reads the shape (config.json)
    // alone, every part fails to load the model.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = tritium_in(d, &["gen-model", "--out", "broken"]);
    assert!(out.status.success(), "{out:?}");
    std::fs::remove_file(d.join("broken/model.safetensors")).unwrap();
    let out = tritium_in(
        d,
        &[
            "cosim",
            "--model",
            "broken",
            "--shards",
            "2",
            "--run-dir",
            "run",
        ],
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("2 of 2 tasks failed") && e.contains("no model.safetensors"),
        "{e}"
    );
    // A model that is not there at all is the parent's error.
    let out = tritium_in(d, &["cosim", "--model", "no-such-model", "--shards", "2"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("no-such-model") && !e.contains("tasks failed"),
        "{e}"
    );
}

/// Whether a Slurm controller answers here; without one a test skips,
/// unless TRITIUM_REQUIRE_SLURM is set (CI), where it fails.
fn cluster_up() -> bool {
    let up = Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success());
    if !up {
        assert!(
            std::env::var_os("TRITIUM_REQUIRE_SLURM").is_none(),
            "TRITIUM_REQUIRE_SLURM is set but no Slurm controller answers (sinfo)"
        );
        eprintln!("no Slurm cluster here (scripts/with-slurm.sh starts one): skipped");
    }
    up
}

#[test]
fn sharded_on_the_slurm_cluster_equals_single_process() {
    if !cluster_up() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let single = run(d, &["cosim", "-n", "2", "--out", "single.json"], 0);
    let args = [
        "cosim",
        "-n",
        "2",
        "--shards",
        "4",
        "--launcher",
        "slurm",
        "--timeout",
        "300",
        "--run-dir",
        "run",
        "--out",
        "slurm.json",
    ];
    let merged = run(d, &args, 0);
    assert_eq!(table(&merged), table(&single));
    assert_eq!(
        comparable(&d.join("slurm.json")),
        comparable(&d.join("single.json"))
    );
    assert!(d.join("run/slurm-array.sh").is_file());
}

#[test]
fn a_sweep_on_the_slurm_cluster_measures_its_points_there() {
    if !cluster_up() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = [
        "sweep",
        "--preset",
        "tiny",
        "--configs",
        "small",
        "--formats",
        "2bit,base3",
        "--batch",
        "1,4",
        "--node",
        "7nm",
        "--out",
        "s",
        "--json",
        "--launcher",
        "slurm",
        "--timeout",
        "300",
        "--run-dir",
        "run",
    ];
    let v: Value = serde_json::from_str(&run(d, &args, 0)).unwrap();
    assert_eq!(v["points"], 4, "{v}");
    assert_eq!(v["measurements_run"], 4, "{v}");
    assert!(d.join("run/slurm-array.sh").is_file());
    assert!(d.join("s/pareto_energy_latency.svg").is_file());
}
