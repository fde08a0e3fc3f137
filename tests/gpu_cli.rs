//! `tritium infer|bench --backend gpu` end to end: the same tokens as the
//! golden backend, a bench report, and a clear error without an adapter.
#![cfg(feature = "gpu")]

use std::process::{Command, Output};

fn tritium(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tritium"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run tritium")
}

/// Whether an adapter exists (else the test is skipped, saying so, unless
/// TRITIUM_REQUIRE_GPU=1, which makes it fail).
fn have_gpu() -> bool {
    tritium_gpu::GpuBackend::for_tests(Default::default())
        .unwrap()
        .is_some()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn gpu_infer_generates_the_golden_tokens() {
    if !have_gpu() {
        return;
    }
    let args = |b| {
        [
            "infer",
            "--preset",
            "tiny",
            "-n",
            "6",
            "--tokens",
            "5,77,300,9",
            "--json",
            "--backend",
            b,
        ]
    };
    let g = json(&tritium(&args("golden"), &[]));
    for kernel in ["dot4", "shifts"] {
        let o = json(&tritium(&args("gpu"), &[("TRITIUM_GPU_KERNEL", kernel)]));
        assert_eq!(o["backend"], format!("gpu-{kernel}"));
        assert_eq!(o["generated_tokens"], g["generated_tokens"], "{kernel}");
    }
}

#[test]
fn gpu_bench_reports_kernels_and_whole_model() {
    if !have_gpu() {
        return;
    }
    let args = [
        "bench",
        "--backend",
        "gpu",
        "--preset",
        "tiny",
        "--prefill-tokens",
        "8",
        "--decode-tokens",
        "4",
        "--reps",
        "2",
        "--gpu-bandwidth",
        "10",
        "--json",
    ];
    let r = json(&tritium(&args, &[]));
    let k = r["kernels"].as_array().unwrap();
    assert_eq!(k.len(), 2);
    assert!(k[0]["weight_gb_per_s"].as_f64().unwrap() > 0.0);
    assert!(k[1]["of_bandwidth"].as_f64().unwrap() > 0.0);
    // 4 new tokens: the first comes from the prefill, 3 decode steps.
    assert_eq!(r["whole_model"]["decode_tokens"], 3);
    assert!(r["whole_model"]["prefill_tokens_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn no_adapter_and_bad_flags_are_clear_errors() {
    // No backend this build can open (GL is not compiled in): no adapter.
    let o = tritium(
        &["infer", "--backend", "gpu", "-n", "2", "--tokens", "1,2"],
        &[("WGPU_BACKEND", "gl")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no GPU adapter found") && err.contains("mesa-vulkan-drivers"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let o = tritium(
        &["infer", "--backend", "gpu", "-n", "2", "--tokens", "1,2"],
        &[("TRITIUM_GPU_KERNEL", "dp4a")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("TRITIUM_GPU_KERNEL") && err.contains("`dp4a`"),
        "{err}"
    );
    let o = tritium(&["bench", "--backend", "gpu", "--gpu-bandwidth=-3"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--gpu-bandwidth -3"), "{err}");
}

/// `--backend cuda`: without the `cuda` feature, or without a CUDA device,
/// an error saying which (a CUDA machine with the feature runs it).
#[test]
fn cuda_backend_is_a_clear_error_without_the_feature_or_a_device() {
    let o = tritium(
        &["infer", "--backend", "cuda", "-n", "2", "--tokens", "1,2"],
        &[],
    );
    if o.status.success() {
        eprintln!("CUDA device present: --backend cuda ran");
        return;
    }
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("without the `cuda` feature") || err.contains("no CUDA device"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
