//! End-to-end tests of the `tritium` binary: what a user types, what they see.

use std::path::Path;
use std::process::{Command, Output};

fn tritium(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tritium"))
        .args(args)
        .output()
        .expect("run tritium")
}

fn ok(args: &[&str]) -> String {
    let out = tritium(args);
    assert!(
        out.status.success(),
        "tritium {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail, and returns its stderr.
fn fails(args: &[&str]) -> String {
    let out = tritium(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "tritium {args:?} should fail cleanly: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn default_infer_streams_text_and_reports_speed() {
    let out = tritium(&["infer", "-n", "8"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[simd-") && err.contains("prefill") && err.contains("tok/s"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
}

#[test]
fn json_output_and_logits_file() {
    let dir = tempfile::tempdir().unwrap();
    let logits = dir.path().join("logits.json");
    let infer = ["infer", "--tokens", "510,1,2,3", "-n", "4", "--json"];
    let out = ok(&[&infer[..], &["--logits", logits.to_str().unwrap()]].concat());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["prompt_tokens"], serde_json::json!([510, 1, 2, 3]));
    let generated = v["generated_tokens"].as_array().unwrap();
    assert_eq!(generated.len(), 4);
    // Sampling is timed apart from the forward passes.
    let t = &v["timings"];
    assert_eq!(t["decode_steps"], 4);
    assert!(t["sample_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{t}");
    let rows: Vec<Vec<f32>> =
        serde_json::from_str(&std::fs::read_to_string(&logits).unwrap()).unwrap();
    assert_eq!(rows.len(), 4 + 4);
    assert!(rows.iter().all(|r| r.len() == 512));
    // Greedy: generated token i is the argmax of row 3 + i.
    for (i, t) in generated.iter().enumerate() {
        let row = &rows[3 + i];
        let best = (0..row.len()).fold(0, |b, j| if row[j] > row[b] { j } else { b });
        assert_eq!(t.as_u64().unwrap() as usize, best);
    }
    assert_eq!(v["kv_cache"], "f32");
    // --kv f16: other logits (keys and values rounded as they are cached),
    // named in the JSON.
    let logits16 = dir.path().join("logits16.json");
    let kv16 = ["--kv", "f16", "--logits", logits16.to_str().unwrap()];
    let out = ok(&[&infer[..], &kv16].concat());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kv_cache"], "f16");
    let rows16: Vec<Vec<f32>> =
        serde_json::from_str(&std::fs::read_to_string(&logits16).unwrap()).unwrap();
    assert_eq!(rows16.len(), rows.len());
    assert!(rows16 != rows, "--kv f16 changed nothing");
}

#[test]
fn seeded_sampling_is_reproducible() {
    let args = [
        "infer",
        "--json",
        "-n",
        "12",
        "--temperature",
        "1.0",
        "--top-k",
        "40",
        "--seed",
        "9",
    ];
    let tokens = |args: &[&str]| {
        let v: serde_json::Value = serde_json::from_str(&ok(args)).unwrap();
        v["generated_tokens"].clone()
    };
    assert_eq!(tokens(&args), tokens(&args));
    let mut other = args;
    other[9] = "10";
    assert_ne!(tokens(&args), tokens(&other));
}

#[test]
fn gen_model_then_infer_from_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("tiny");
    let p = ckpt.to_str().unwrap();
    ok(&["gen-model", "--preset", "tiny", "--seed", "1", "--out", p]);
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        assert!(Path::new(p).join(f).exists(), "{f}");
    }
    // Same seed as the built-in preset: the same model, so the same tokens.
    let from_dir = ok(&["infer", "--model", p, "--json", "-n", "6"]);
    let from_preset = ok(&[
        "infer",
        "--preset",
        "tiny",
        "--preset-seed",
        "1",
        "--json",
        "-n",
        "6",
    ]);
    let toks =
        |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["generated_tokens"].clone();
    assert_eq!(toks(&from_dir), toks(&from_preset));
    // Refuses to overwrite without --force.
    let err = fails(&["gen-model", "--out", p]);
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    ok(&[
        "gen-model",
        "--out",
        p,
        "--force",
        "--format",
        "hf-bf16",
        "--untied",
    ]);
    ok(&["infer", "--model", p, "-n", "2"]);
}

#[test]
fn bad_requests_are_clear_errors() {
    let long: Vec<String> = (0..300).map(|i| (i % 500).to_string()).collect();
    let err = fails(&["infer", "--tokens", &long.join(","), "-n", "1"]);
    assert!(
        err.contains("--max-new-tokens 1")
            && err.contains("300 + 1 tokens (prompt + new) exceed the context length 256"),
        "{err}"
    );
    // Regression: a budget near usize::MAX wrapped around and generated
    // until the context ran out.
    let err = fails(&["infer", "--tokens", "1,2", "-n", &u64::MAX.to_string()]);
    assert!(
        err.contains("exceed the context length 256: at most 254 new tokens"),
        "{err}"
    );
    let err = fails(&["infer", "--tokens", "1,2,9999"]);
    assert!(err.contains("token id 9999 at position 2"), "{err}");
    let err = fails(&["infer", "--prompt", ""]);
    assert!(err.contains("empty"), "{err}");
    let err = fails(&["infer", "--model", "/nonexistent/model"]);
    assert!(err.contains("/nonexistent/model"), "{err}");
    let err = fails(&["infer", "--temperature=-1"]);
    assert!(err.contains("temperature"), "{err}");
    let err = fails(&[
        "gen-model",
        "--out",
        "/tmp/x-never",
        "--format",
        "hf-bf16",
        "--linear-class",
        "bitlinear",
    ]);
    assert!(err.contains("only to --format hf-packed"), "{err}");
}

#[test]
fn corrupt_checkpoint_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_str().unwrap();
    ok(&["gen-model", "--out", p, "--force"]);
    let st = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&st).unwrap();
    std::fs::write(&st, &bytes[..bytes.len() - 10]).unwrap();
    let err = fails(&["infer", "--model", p]);
    assert!(
        err.contains("model.safetensors") && err.contains("not a valid safetensors file"),
        "{err}"
    );
}

/// The same run on every backend and kernel path: identical logits files
/// (byte for byte) and tokens.
#[test]
fn simd_and_golden_write_identical_logits() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let path = dir.path().join(format!("{name}.json"));
        let mut args = vec![
            "infer",
            "--preset",
            "small",
            "--tokens",
            "5,77,300,1999,42",
            "-n",
            "5",
            "--ignore-eos",
            "--json",
            "--logits",
            path.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let v: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
        (v["generated_tokens"].clone(), std::fs::read(&path).unwrap())
    };
    let golden = run("golden", &["--backend", "golden"]);
    for isa in tritium_simd::present_kernels().unwrap() {
        let got = run(isa.name(), &["--kernel", isa.name(), "--threads", "2"]);
        assert_eq!(got.0, golden.0, "{isa:?} tokens");
        assert!(got.1 == golden.1, "{isa:?}: logits files differ");
    }
}

/// `--fast-head` (int8) and `--fast-head int4` run and differ from the
/// exact logits; a Q8_0 head (`gen-model --gguf-embed q8_0`) is exact on
/// the SIMD engine (its logits file is golden's, byte for byte), and so is
/// decoding from the base-3 body (`--body base3`).
#[test]
fn fast_heads_and_a_q8_0_head_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("q8.gguf");
    let fs = f.to_str().unwrap();
    ok(&[
        "gen-model",
        "--preset",
        "small",
        "--format",
        "gguf-i2s",
        "--gguf-embed",
        "q8_0",
        "--out",
        fs,
    ]);
    let run = |name: &str, extra: &[&str]| {
        let path = dir.path().join(format!("{name}.json"));
        let mut args = vec![
            "infer",
            "--model",
            fs,
            "--tokens",
            "5,77,300",
            "-n",
            "3",
            "--ignore-eos",
            "--logits",
            path.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ok(&args);
        std::fs::read(&path).unwrap()
    };
    let golden = run("golden", &["--backend", "golden"]);
    assert!(
        run("simd", &[]) == golden,
        "Q8_0 head: SIMD logits differ from golden"
    );
    // The base-3 body is lossless: the same file, byte for byte.
    assert!(
        run("b3", &["--body", "base3", "--threads", "2"]) == golden,
        "--body base3: logits differ from golden"
    );
    assert!(run("int8", &["--fast-head"]) != golden);
    assert!(run("int4", &["--fast-head", "int4"]) != golden);
    let out = tritium(&["infer", "--model", fs, "--fast-head", "int3"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("int3") && err.contains("int4"), "{err}");
}

#[test]
fn simd_options_are_checked() {
    let err = fails(&["infer", "--kernel", "sse9"]);
    assert!(err.contains("unknown kernel `sse9`"), "{err}");
    let err = fails(&["infer", "--backend", "golden", "--threads", "2"]);
    assert!(err.contains("only to --backend simd"), "{err}");
    let err = fails(&["infer", "--threads", "0"]);
    assert!(err.contains("at least 1"), "{err}");
    let err = fails(&["bench", "--threads", "0"]);
    assert!(err.contains("at least 1"), "{err}");
    let err = fails(&["bench", "--context", "0"]);
    assert!(err.contains("--context 0: expected 1..=4096"), "{err}");
    let err = fails(&[
        "bench",
        "--preset",
        "tiny",
        "--context",
        "251",
        "--decode-tokens",
        "5",
    ]);
    assert!(
        err.contains("--context 251 with --decode-tokens 5: 257 positions")
            && err.contains("context of 256"),
        "{err}"
    );
}

/// A short `tritium bench --json` run (1 thread, 4 prompt tokens, 2 decode
/// steps, 1 rep) with `extra` arguments, parsed.
fn quick_bench(extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "bench",
        "--threads",
        "1",
        "--prefill-tokens",
        "4",
        "--decode-tokens",
        "2",
        "--reps",
        "1",
        "--json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&args)).unwrap()
}

#[test]
fn bench_prints_json_for_scripts() {
    let v = quick_bench(&["--preset", "tiny"]);
    assert_eq!(v["schema_version"], 4);
    assert!(v["file_bytes"].is_null());
    assert!(v["bandwidth"][0]["read_gb_s"].as_f64().unwrap() > 0.0);
    // 4 distinct tiny shapes x (decode from 2 bits, decode from base 3,
    // prefill) + the heads (exact bf16, f16, Q8_0 (Q6_K's 256 blocks do not
    // divide hidden 64), int8 of bf16 and of Q8_0, int4), and with AVX2 the two 2-bit kernel
    // families side by side (4 shapes x 2).
    let families = if tritium_simd::Isa::Avx2.available() {
        4 * 2
    } else {
        0
    };
    let kernels = v["kernels"].as_array().unwrap();
    // One decode step's attention of one layer (f32 and f16 caches; by KV
    // head groups and by pairs side by side where the path has groups), at
    // 256 positions: the tiny model's context, below the default 2,048.
    let attention: Vec<_> = kernels
        .iter()
        .filter(|k| k["name"].as_str().unwrap().starts_with("attention "))
        .collect();
    let kernel_of = |k: &serde_json::Value| k["kernel"].as_str().unwrap().to_string();
    let groups = attention
        .iter()
        .any(|k| kernel_of(k).ends_with(" (groups)"));
    assert_eq!(attention.len(), if groups { 4 } else { 2 }, "{attention:?}");
    assert_eq!(attention[0]["name"], "attention 256 pos f32");
    assert!(attention
        .iter()
        .all(|k| k["k"] == 256 && k["gb_s"].as_f64().unwrap() > 0.0));
    // tiny: 2 KV heads of 16 dimensions, keys and values, f32 then f16.
    assert_eq!(attention[0]["bytes"], 2 * 2 * 256 * 16 * 4);
    assert_eq!(attention.last().unwrap()["bytes"], 2 * 2 * 256 * 16 * 2);
    assert_eq!(kernels.len(), 4 * 3 + 6 + families + attention.len());
    let b3 = kernels
        .iter()
        .filter(|k| k["kernel"].as_str().unwrap().ends_with("-b3body"))
        .count();
    assert_eq!(b3, 4);
    assert!(kernels.iter().all(|k| k["gb_s"].as_f64().unwrap() > 0.0));
    // The compute peaks of the instructions present (vpdpbusd, tdpbssd,
    // vpmaddubsw), and each prompt row of a path built on one as a
    // fraction of it.
    let peaks = v["compute_peaks"].as_array().unwrap();
    assert_eq!(
        peaks.len(),
        usize::from(tritium_simd::Isa::Avx512.available())
            + usize::from(tritium_simd::Isa::Amx.available())
            + usize::from(tritium_simd::Isa::Avx2.available())
    );
    assert!(peaks.iter().all(|p| p["gmac_s"].as_f64().unwrap() > 0.0));
    let prompt_rows = kernels.iter().filter(|k| k["tokens"].as_u64().unwrap() > 1);
    for k in prompt_rows {
        let f = &k["fraction_of_peak"];
        assert_eq!(f.is_null(), peaks.is_empty(), "{k}");
    }
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 6);
    // The last row: the int4 + base-3 one again, with an f16 KV cache
    // (half the cache bytes per step: 8 cached positions, 2 steps).
    let (f32_row, f16_row) = (&models[4], &models[5]);
    assert_eq!(
        (&f32_row["kv_cache"], &f16_row["kv_cache"]),
        (&serde_json::json!("f32"), &serde_json::json!("f16"))
    );
    let name = f32_row["backend"].as_str().unwrap();
    assert_eq!(
        f16_row["backend"],
        serde_json::json!(format!("{name}-kv16"))
    );
    assert_eq!(f16_row["context"], 8);
    let kv = |m: &serde_json::Value| m["kv_bytes_per_token"].as_u64().unwrap();
    assert_eq!(kv(f32_row), 2 * kv(f16_row));
    // tiny: kv_dim 32, 2 layers; steps attend to 9 and 10 positions.
    assert_eq!(kv(f32_row), (9 + 10) * 32 * 2 * 2 * 4 / 2);
    assert!(models[0]["decode_tok_s"].as_f64().unwrap() > 0.0);
    assert!(models[0]["decode_fraction_of_floor"].as_f64().unwrap() > 0.0);
    assert!(models[0]["decode_fraction_of_best_floor"].as_f64().unwrap() > 0.0);
    assert!(models[0]["decode_pairs"].as_u64().unwrap() >= 1);
    // --no-kernels: the bandwidth and the whole model only.
    let v = quick_bench(&["--preset", "tiny", "--no-kernels"]);
    assert_eq!(v["kernels"].as_array().unwrap().len(), 0);
    assert_eq!(v["models"].as_array().unwrap().len(), 6);
    let out = tritium(&["bench", "--kernels-only", "--no-kernels"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bench_measures_a_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tiny.gguf");
    let fs = f.to_str().unwrap();
    ok(&[
        "gen-model",
        "--preset",
        "tiny",
        "--format",
        "gguf-i2s",
        "--out",
        fs,
    ]);
    let v = quick_bench(&["--model", fs, "--no-families"]);
    assert_eq!(v["preset"], fs);
    let size = std::fs::metadata(&f).unwrap().len();
    assert_eq!(v["file_bytes"].as_u64(), Some(size));
    // The file's shapes (tiny: 4 distinct) x (2-bit and base-3 decode,
    // prefill) + 6 heads + the attention rows (see above).
    let kernels = v["kernels"].as_array().unwrap();
    let attention = kernels
        .iter()
        .filter(|k| k["name"].as_str().unwrap().starts_with("attention "))
        .count();
    assert!(attention == 2 || attention == 4, "{attention}");
    assert_eq!(kernels.len(), 4 * 3 + 6 + attention);
    let models = v["models"].as_array().unwrap();
    let names: Vec<&str> = models
        .iter()
        .map(|m| m["backend"].as_str().unwrap())
        .collect();
    let modes = [
        "",
        "-b3body",
        "-q8head",
        "-q4head",
        "-q4head-b3body",
        "-q4head-b3body-kv16",
    ];
    assert_eq!(names.len(), modes.len(), "{names:?}");
    for (n, m) in names.iter().zip(modes) {
        assert!(n.starts_with("simd-") && n.ends_with(m), "{names:?}");
    }
    // The int8 and int4 heads read fewer bytes than the exact f16 one (tiny's
    // 64-wide rows pad to one 128-value int4 group: as many bytes as int8),
    // the base-3 body no more than the 2-bit one (tiny's 64 inputs fill 4
    // groups of 20 and 4 blocks of 16 alike; 2B4T's 2560 read 80 %).
    let read_of = |i: usize| models[i]["bytes_per_token"].as_u64().unwrap();
    assert!(read_of(0) > read_of(2) && read_of(2) >= read_of(3));
    assert!(read_of(1) <= read_of(0) && read_of(4) <= read_of(3));
    let read = models[0]["bytes_per_token"].as_u64().unwrap();
    assert!(read > 0 && read < 2 * size, "{read} vs {size}");
    // A preset and a file are one or the other (a usage error, status 2).
    let out = tritium(&["bench", "--model", fs, "--preset", "tiny"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn gguf_models_run_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    // A synthetic I2_S GGUF runs with the tokenizer from its metadata.
    ok(&[
        "gen-model",
        "--format",
        "gguf-i2s",
        "--seed",
        "3",
        "--out",
        &p("m.gguf"),
    ]);
    let out = ok(&[
        "infer",
        "--model",
        &p("m.gguf"),
        "--prompt",
        "Hello tritium",
        "-n",
        "4",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["prompt_tokens"][0], 510,
        "BOS from the GGUF tokenizer: {out}"
    );
    assert!(v["text"].is_string(), "{out}");
    // HF packed -> convert -> GGUF I2_S: the same logits, bit for bit, on
    // the golden and the SIMD backend.
    ok(&["gen-model", "--seed", "3", "--out", &p("hf")]);
    ok(&["convert", "--from", &p("hf"), "--to", &p("c.gguf")]);
    let logits = |model: &str, backend: &str, name: &str| {
        ok(&[
            "infer",
            "--model",
            model,
            "--tokens",
            "510,4,99,17",
            "-n",
            "3",
            "--ignore-eos",
            "--json",
            "--backend",
            backend,
            "--logits",
            &p(name),
        ]);
        std::fs::read(p(name)).unwrap()
    };
    let reference = logits(&p("hf"), "golden", "hf.json");
    assert!(
        logits(&p("c.gguf"), "golden", "g.json") == reference,
        "golden logits differ"
    );
    assert!(
        logits(&p("c.gguf"), "simd", "s.json") == reference,
        "simd logits differ"
    );
    // And back to a Hugging Face directory.
    ok(&["convert", "--from", &p("c.gguf"), "--to", &p("back")]);
    assert!(
        logits(&p("back"), "golden", "b.json") == reference,
        "round trip logits differ"
    );
    // TQ2_0 needs K % 256 == 0: a clear error for `tiny`, fine for `tiny256`.
    let e = fails(&["gen-model", "--format", "gguf-tq2", "--out", &p("t.gguf")]);
    assert!(
        e.contains("multiple of 256") && e.contains("tiny256"),
        "{e}"
    );
    ok(&[
        "gen-model",
        "--format",
        "gguf-tq2",
        "--preset",
        "tiny256",
        "--out",
        &p("t.gguf"),
    ]);
    ok(&["infer", "--model", &p("t.gguf"), "-n", "2"]);
    // ik_llama.cpp's IQ2_BN/IQ1_BN need K % 64 == 0 (tiny's 172 is not).
    for (format, file) in [("gguf-iq2bn", "iq2.gguf"), ("gguf-iq1bn", "iq1.gguf")] {
        let e = fails(&["gen-model", "--format", format, "--out", &p(file)]);
        assert!(e.contains("multiple of 64") && e.contains("tiny256"), "{e}");
        ok(&[
            "gen-model",
            "--format",
            format,
            "--preset",
            "tiny256",
            "--out",
            &p(file),
        ]);
        ok(&["infer", "--model", &p(file), "-n", "2"]);
    }
    // Existing output, garbage input.
    let e = fails(&["gen-model", "--format", "gguf-i2s", "--out", &p("m.gguf")]);
    assert!(e.contains("--force"), "{e}");
    std::fs::write(p("bad.gguf"), b"GGUF\x03\0\0\0").unwrap();
    let e = fails(&["infer", "--model", &p("bad.gguf"), "--tokens", "1"]);
    assert!(e.contains("bad.gguf") && e.contains("truncated"), "{e}");
}

/// Runs `tritium report ARGS --no-fpga --out OUT`, which must fail; its stderr.
fn report_fails(out: &Path, args: &[&str]) -> String {
    let mut a = vec!["report", "--no-fpga", "--out", out.to_str().unwrap()];
    a.extend_from_slice(args);
    fails(&a)
}

/// `tritium report`'s flags are checked by name before anything is built.
#[test]
fn report_flags_are_checked_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    for (args, want) in [
        (&["--zero-fraction", "1.5"][..], "--zero-fraction"),
        (&["--bandwidth-gbs", "NaN"], "--bandwidth-gbs"),
        (&["--lanes", "0"], "--lanes 0"),
    ] {
        let e = report_fails(&out, args);
        assert!(e.contains(want), "{args:?}: {e}");
    }
    let cfg = dir.path().join("config.json");
    std::fs::write(&cfg, "{}").unwrap();
    let e = report_fails(&out, &["--model", cfg.to_str().unwrap()]);
    assert!(e.contains("config.json"), "{e}");
}

/// `--model DIR` counts zero weights from the checkpoint; `--model
/// config.json` takes the shape alone and needs `--zero-fraction`.
#[test]
fn report_of_a_checkpoint_directory_and_of_a_config_json() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let ck_s = ck.to_str().unwrap();
    ok(&[
        "gen-model",
        "--preset",
        "tiny",
        "--seed",
        "1",
        "--out",
        ck_s,
    ]);
    let out = dir.path().join("r");
    let json = |args: &[&str]| -> serde_json::Value {
        let mut a = vec!["report", "--no-fpga", "--no-plots", "--json", "--force"];
        a.extend_from_slice(&["--out", out.to_str().unwrap()]);
        a.extend_from_slice(args);
        serde_json::from_str(&ok(&a)).unwrap()
    };
    let from_dir = json(&["--model", ck_s]);
    let preset = json(&["--preset", "tiny"]);
    for key in ["summary", "evaluation"] {
        assert_eq!(from_dir[key], preset[key], "{key}");
    }
    let source = from_dir["zero_fraction_source"].as_str().unwrap();
    assert!(source.contains("counted from the weights"), "{source}");
    let cfg = ck.join("config.json");
    let e = report_fails(&out, &["--model", cfg.to_str().unwrap()]);
    assert!(e.contains("--zero-fraction"), "{e}");
    let r = json(&["--model", cfg.to_str().unwrap(), "--zero-fraction", "0.25"]);
    assert_eq!(r["summary"]["zero_fraction"], 0.25);
    let params = |v: &serde_json::Value| v["model"]["ternary_params"].clone();
    assert_eq!(params(&r), params(&preset));
}

/// `tritium sweep` on the tiny model: 4 points on the local launcher, its
/// files, then the cache: a re-run measures nothing, a new axis value only
/// its own points.
#[test]
fn sweep_of_four_points_writes_its_files_and_caches_measurements() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let out_s = out.to_str().unwrap();
    let runs = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let base = [
        "sweep",
        "--preset",
        "tiny",
        "--configs",
        "small",
        "--formats",
        "2bit,base3",
        "--node",
        "7nm",
        "--out",
        out_s,
        "--json",
        "--jobs",
        "2",
    ];
    let run = |extra: &[&str]| -> serde_json::Value {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        serde_json::from_str(&ok(&a)).unwrap()
    };
    let first = run(&["--batch", "1,4", "--run-dir", &runs("r1")]);
    assert_eq!(first["points"], 4, "{first}");
    assert_eq!(first["measurements_run"], 4);
    assert_eq!(first["measurements_cached"], 0);
    for f in [
        "sweep.json",
        "sweep.md",
        "pareto_energy_latency.svg",
        "pareto_energy_latency.png",
        "pareto_energy_area.svg",
        "pareto_energy_area.png",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let sweep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    let points = sweep["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    assert!(points.iter().any(|p| p["front_latency"] == true));
    for p in points {
        assert!(p["step"]["energy_mj"].as_f64().unwrap() > 0.0);
        assert!(p["cycles"]["decode"][0]["cycles"].as_f64().unwrap() > 0.0);
    }
    let md = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(
        md.starts_with("<!-- Generated by `tritium sweep") && md.contains("**L"),
        "{md}"
    );
    // An existing output needs --force.
    let mut again: Vec<&str> = base.to_vec();
    again.extend_from_slice(&["--batch", "1,4"]);
    assert!(fails(&again).contains("--force"));
    let second = run(&["--batch", "1,4", "--force"]);
    assert_eq!(second["measurements_run"], 0, "{second}");
    assert_eq!(second["measurements_cached"], 4);
    let third = run(&["--batch", "1,2,4", "--force", "--run-dir", &runs("r3")]);
    assert_eq!(third["points"], 6);
    assert_eq!(third["measurements_run"], 2, "{third}");
    assert_eq!(third["measurements_cached"], 4);
    // Bad axes are refused before anything runs, naming the flag.
    let mut bad: Vec<&str> = base.to_vec();
    bad.extend_from_slice(&["--batch", "1,,4", "--force"]);
    assert!(fails(&bad).contains("--batch"));
}
