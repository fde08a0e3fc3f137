//! A flag typed where it means nothing is refused, naming the flag and what
//! it needs, before anything runs (`src/cli/applies.rs`). Each case here was
//! once silently ignored (or, for the launcher and backend flags, checked by
//! hand in one place each), so the run was not the one asked for.

use std::process::{Command, Output};

fn tritium(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tritium"))
        .args(args)
        .output()
        .expect("run tritium")
}

/// `args` fail with exit code `code` and a message containing `want`;
/// returns the message.
fn refused(args: &[&str], code: i32, want: &str) -> String {
    let out = tritium(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "tritium {args:?}: {err}");
    assert!(err.contains(want), "tritium {args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn flags_of_another_mode_are_refused_by_name() {
    let cases: &[(&[&str], &str)] = &[
        // Single-layer shape without --layer: the whole preset network ran.
        (
            &["cosim", "--k", "2560", "--n-out", "100"],
            "--n-out and --k apply only to single-layer mode (--layer)",
        ),
        (
            &["cosim", "--seed", "3"],
            "--seed applies only to single-layer mode (--layer)",
        ),
        // The network's flags with --layer: the random layer ran.
        (
            &["cosim", "--layer", "--preset", "small", "-n", "3"],
            "--preset and --decode-steps apply only to whole-network mode (without --layer)",
        ),
        (
            &["cosim", "--layer", "--tokens", "1,2", "--layers", "0"],
            "--tokens and --layers apply only to whole-network mode",
        ),
        (&["cosim", "--jobs", "2"], "--jobs applies only to --shards"),
        (
            &["cosim", "--shards", "2", "--timeout", "9"],
            "--timeout applies only to --launcher slurm",
        ),
        (
            &["sweep", "--sbatch-arg=-p", "--out", "/nonexistent/sweep"],
            "--sbatch-arg applies only to --launcher slurm",
        ),
        // The accelerator and SIMD options on another backend.
        (
            &["infer", "--config", "kv260", "--weight-format", "2bit"],
            "--config and --weight-format apply only to --backend rtl",
        ),
        (
            &["infer", "--backend", "golden", "--body", "base3"],
            "--body applies only to --backend simd",
        ),
        (
            &[
                "infer",
                "--backend",
                "golden",
                "--kernel",
                "avx2",
                "--threads",
                "2",
            ],
            "--kernel and --threads apply only to --backend simd",
        ),
        (
            &["bench", "--backend", "gpu", "--kernel", "avx2"],
            "--kernel applies only to --backend simd",
        ),
        (
            &["bench", "--gpu-bandwidth", "100"],
            "--gpu-bandwidth applies only to --backend gpu",
        ),
        // A co-simulation brings its own accelerator and clock.
        (
            &[
                "report",
                "--from-cosim",
                "c.json",
                "--cols",
                "8",
                "--clock-mhz",
                "100",
            ],
            "--cols and --clock-mhz apply only to reports without --from-cosim",
        ),
        (
            &["synth", "--families", "generic", "--liberty", "x.lib"],
            "--liberty applies only to the asic family",
        ),
        (
            &[
                "gen-model",
                "--out",
                "/nonexistent/m",
                "--gguf-embed",
                "bf16",
            ],
            "--gguf-embed applies only to the GGUF formats",
        ),
        (
            &[
                "gen-model",
                "--out",
                "/nonexistent/m",
                "--format",
                "hf-bf16",
                "--linear-class",
                "bitlinear",
            ],
            "--linear-class applies only to --format hf-packed",
        ),
        (
            &[
                "gen-model",
                "--out",
                "/nonexistent/m.gguf",
                "--format",
                "gguf-i2s",
                "--linear-class",
                "bitlinear",
            ],
            "--linear-class applies only to --format hf-packed",
        ),
    ];
    for (args, want) in cases {
        refused(args, 1, want);
    }
}

#[test]
fn convert_from_gguf_refuses_the_gguf_writing_flags() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.gguf");
    let f = f.to_str().unwrap();
    let out = tritium(&["gen-model", "--out", f, "--format", "gguf-i2s"]);
    assert!(out.status.success(), "{out:?}");
    let to = dir.path().join("hf");
    let to = to.to_str().unwrap();
    refused(
        &[
            "convert",
            "--from",
            f,
            "--to",
            to,
            "--weights",
            "tq2",
            "--embed",
            "f16",
        ],
        1,
        "--weights and --embed apply only to writing GGUF (--from a checkpoint directory)",
    );
    assert!(!dir.path().join("hf").exists(), "nothing written");
    // Without them the same conversion runs.
    let out = tritium(&["convert", "--from", f, "--to", to]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn exclusive_flags_are_clap_conflicts() {
    for (args, a, b) in [
        (
            &["infer", "--model", "m", "--preset-seed", "3"][..],
            "--model",
            "--preset-seed",
        ),
        (
            &["report", "--node", "45nm", "--energy", "e.toml"][..],
            "--node",
            "--energy",
        ),
        (
            &["report", "--fpga", "r.json", "--no-fpga"][..],
            "--fpga",
            "--no-fpga",
        ),
    ] {
        let err = refused(args, 2, "cannot be used with");
        assert!(err.contains(a) && err.contains(b), "{err}");
    }
}

/// The same flags in their own mode are accepted (a rule that held the
/// wrong way round would refuse these).
#[test]
fn flags_in_their_own_mode_run() {
    for args in [
        &["infer", "--backend", "golden", "-n", "2"][..],
        &["infer", "--body", "2bit", "--threads", "1", "-n", "2"][..],
        &["infer", "--preset-seed", "3", "-n", "2"][..],
        &[
            "bench",
            "--preset",
            "tiny",
            "--threads",
            "1",
            "--kernels-only",
            "--reps",
            "1",
            "--no-families",
        ][..],
        &[
            "bench",
            "--preset",
            "tiny",
            "--threads",
            "1",
            "--no-kernels",
            "--decode-tokens",
            "2",
            "--prefill-tokens",
            "2",
        ][..],
    ] {
        let out = tritium(args);
        assert!(
            out.status.success(),
            "tritium {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
