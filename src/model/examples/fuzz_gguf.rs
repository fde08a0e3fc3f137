//! Mutation fuzzer for tritium's GGUF parser and loader (stable Rust; no
//! cargo-fuzz). It writes a small valid GGUF in memory (the `tiny` preset,
//! I2_S, with its tokenizer), mutates it (bit flips, byte sets, inflated
//! length fields, type ids, truncations, splices), and parses + loads every
//! mutant under `catch_unwind`. Any panic fails the run and saves the input.
//!
//! ```sh
//! cargo run --release -p tritium-model --features fuzzing --example fuzz_gguf -- --seconds 300 [--seed 1] [--weights tq2]
//! ```

use std::time::Duration;

use tritium_golden::Preset;
use tritium_model::gguf::export::{model_to_writer, EmbedType, WeightType, WriteOptions};
use tritium_model::synthetic::preset_model;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: u64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 = arg("--seed").and_then(|s| s.parse().ok()).unwrap_or(1);
    let (preset, weights) = match arg("--weights").as_deref() {
        Some("tq2") => (Preset::Tiny256, WeightType::Tq2),
        Some("tq1") => (Preset::Tiny256, WeightType::Tq1),
        _ => (Preset::Tiny, WeightType::I2S),
    };
    let model = preset_model(preset, 1).expect("preset model");
    let base = model_to_writer(
        &model,
        &WriteOptions {
            weights,
            embed: EmbedType::F16,
            name: "fuzz".into(),
            tokenizer: Some(tritium_model::tokenizer::synthetic_tokenizer_json(
                model.config(),
            )),
        },
    )
    .expect("writer")
    .to_bytes();
    let hot = tritium_model::gguf::parse_header(&base)
        .expect("valid base")
        .data_start as usize;
    // Mutants that panic would print through the default hook; keep it
    // quiet and report them ourselves.
    std::panic::set_hook(Box::new(|_| {}));
    let r =
        tritium_model::gguf::fuzz::run(&base, hot, seed, Duration::from_secs(seconds), u64::MAX);
    println!(
        "{} inputs in {:.1} s ({:.0}/s), {} parsed as valid headers, base {} bytes (header {hot}), {weights:?}, seed {seed}",
        r.inputs,
        r.elapsed.as_secs_f64(),
        r.inputs as f64 / r.elapsed.as_secs_f64(),
        r.parsed_ok,
        base.len()
    );
    match r.panicked {
        None => {
            println!("no panics");
            std::process::ExitCode::SUCCESS
        }
        Some(input) => {
            let p = std::env::temp_dir().join("tritium-fuzz-crash.gguf");
            let _ = std::fs::write(&p, &input);
            println!("PANIC on a mutant saved to {}", p.display());
            std::process::ExitCode::FAILURE
        }
    }
}
