//! Golden-model benchmarks: integer matvec on the 2B4T matrix shapes, one
//! decode step of the whole 2B4T-shaped network (synthetic weights), and
//! sampling one token from a 2B4T-sized logits row.
//!
//! Run: `cargo bench --bench golden`. Throughput is reported in MACs/s
//! (criterion "elements"); the golden backend is the scalar reference, so
//! these figures are the floor every other backend is compared against.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tritium_golden::backend::golden_matvec;
use tritium_golden::sample::{Sampler, SamplerConfig};
use tritium_golden::{GoldenBackend, Logits, Preset, Session, TernaryMatrix};
use tritium_model::synthetic::random_model;

fn matvec(c: &mut Criterion) {
    let mut g = c.benchmark_group("golden_matvec_2b4t");
    g.sample_size(10);
    // (name, N, K) of the 2B4T BitLinear shapes.
    for (name, n, k) in [
        ("qo_2560x2560", 2560, 2560),
        ("kv_640x2560", 640, 2560),
        ("gate_up_6912x2560", 6912, 2560),
        ("down_2560x6912", 2560, 6912),
    ] {
        let t: Vec<i8> = (0..n * k)
            .map(|i| ((i * 7919 + 13) % 3) as i8 - 1)
            .collect();
        let w = TernaryMatrix::from_ternary(name, n, k, &t, 0.01).unwrap();
        let q: Vec<i8> = (0..k).map(|i| ((i * 31) % 255) as i8).collect();
        let mut out = vec![0i32; n];
        g.throughput(Throughput::Elements((n * k) as u64));
        g.bench_function(name, |b| b.iter(|| golden_matvec(&w, &q, &mut out)));
    }
    g.finish();
}

fn decode_step(c: &mut Criterion) {
    let cfg = Preset::B2b4t.config();
    let model = random_model(&cfg, 1).unwrap();
    let mut warm = Session::new(&model);
    warm.forward(&mut GoldenBackend, &[128_000, 791, 1630, 374], Logits::Last)
        .unwrap();
    let mut g = c.benchmark_group("golden_decode_2b4t");
    g.sample_size(10);
    g.throughput(Throughput::Elements(cfg.ternary_params()));
    g.bench_function("one_token_at_pos_4", |b| {
        b.iter_batched(
            || warm.clone(),
            |mut s| {
                s.forward(&mut GoldenBackend, &[1000], Logits::Last)
                    .unwrap()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// One token from 128,256 logits: greedy, temperature alone (the whole
/// vocabulary ranked), and llama.cpp's defaults (top-k 40, top-p 0.95).
fn sample(c: &mut Criterion) {
    let logits: Vec<f32> = (0..128_256u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) % 10_000) as f32 * 0.002 - 10.0)
        .collect();
    let mut g = c.benchmark_group("sample_128256");
    for (name, temperature, top_k, top_p) in [
        ("greedy", 0.0, 0, 1.0),
        ("t0.8", 0.8, 0, 1.0),
        ("t0.8_k40_p0.95", 0.8, 40, 0.95),
    ] {
        let cfg = SamplerConfig {
            temperature,
            top_k,
            top_p,
            seed: 1,
        };
        let mut s = Sampler::new(cfg).unwrap();
        g.bench_function(name, |b| b.iter(|| s.sample(&logits).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, matvec, decode_step, sample);
criterion_main!(benches);
