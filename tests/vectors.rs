//! The vector corpus (tests/vectors/*.json, written by an independent Python
//! reference, make_vectors.py) run on every BitLinear backend with `==`.

use serde::Deserialize;
use tritium_golden::quant::quantize_activations;
use tritium_golden::{Backend, GoldenBackend, LinearCall, LinearId, Proj, TernaryMatrix};

#[derive(Deserialize)]
struct Corpus<T> {
    cases: Vec<T>,
}

#[derive(Deserialize)]
struct MatmulCase {
    name: String,
    n: usize,
    k: usize,
    weights: Vec<String>,
    acts: Vec<Vec<i8>>,
    acc: Vec<Vec<i32>>,
}

#[derive(Deserialize)]
struct QuantCase {
    name: String,
    x: Vec<f32>,
    q: Vec<i8>,
    s_a: f32,
}

fn load<T: for<'de> Deserialize<'de>>(file: &str) -> Vec<T> {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str::<Corpus<T>>(&text).unwrap().cases
}

/// Every backend this build has. Each new backend is added here.
fn backends() -> Vec<Box<dyn Backend>> {
    let mut b: Vec<Box<dyn Backend>> = vec![Box::new(GoldenBackend)];
    // Every SIMD kernel path this CPU has, single- and multi-threaded.
    for isa in tritium_simd::present_kernels().unwrap() {
        for threads in [1, 2] {
            b.push(Box::new(
                tritium_simd::SimdBackend::new(tritium_simd::SimdOptions {
                    isa: Some(isa),
                    threads: Some(threads),
                    head: Default::default(),
                })
                .unwrap(),
            ));
        }
    }
    // Every accelerator model, all token rows per job at full memory rate,
    // and one row per job behind a slow, late memory.
    #[cfg(feature = "rtl")]
    for cfg in tritium_rtl::ACCEL_CONFIGS {
        let full = tritium_rtl::MemoryConfig::full_rate(cfg.bus_bytes);
        let slow = tritium_rtl::MemoryConfig {
            bytes_per_cycle: cfg.bus_bytes as f64 / 3.0,
            latency: 17,
        };
        for (batch, mem) in [(cfg.tokens, full), (1, slow)] {
            b.push(Box::new(
                tritium_rtl::RtlBackend::new(cfg, batch, mem).unwrap(),
            ));
        }
    }
    // The GPU kernels, every variant this build has (skipped, saying so,
    // without an adapter unless TRITIUM_REQUIRE_GPU=1).
    #[cfg(feature = "gpu")]
    {
        for kernel in tritium_gpu::Kernel::present() {
            let opts = tritium_gpu::GpuOptions {
                kernel: Some(kernel),
            };
            if let Some(g) = tritium_gpu::GpuBackend::for_tests(opts).unwrap() {
                b.push(Box::new(g));
            }
        }
    }
    b
}

#[test]
fn bitlinear_corpus_on_every_backend() {
    let cases: Vec<MatmulCase> = load("bitlinear.json");
    assert!(cases.len() >= 20);
    for mut backend in backends() {
        for c in &cases {
            let t: Vec<i8> = c
                .weights
                .iter()
                .flat_map(|r| {
                    r.chars().map(|ch| match ch {
                        '+' => 1,
                        '-' => -1,
                        _ => 0,
                    })
                })
                .collect();
            let w = TernaryMatrix::from_ternary(&c.name, c.n, c.k, &t, 1.0).unwrap();
            let acts: Vec<i8> = c.acts.concat();
            let rows = c.acts.len();
            let mut out = vec![0i32; rows * c.n];
            let call = LinearCall::new(LinearId::new(0, Proj::Q), &w, &acts, rows, 0);
            backend.matmul(&call, &mut out).unwrap();
            assert_eq!(
                out,
                c.acc.concat(),
                "backend {} case {}",
                backend.name(),
                c.name
            );
        }
    }
}

#[test]
fn quantize_corpus_matches_the_independent_reference() {
    let cases: Vec<QuantCase> = load("quantize.json");
    for c in &cases {
        let mut q = vec![0i8; c.x.len()];
        let s = quantize_activations(&c.x, &mut q).unwrap();
        assert_eq!(s.to_bits(), c.s_a.to_bits(), "{}", c.name);
        assert_eq!(q, c.q, "{}", c.name);
    }
}
