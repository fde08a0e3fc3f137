//! Simulation speed of the Verilator models: `cargo bench -p tritium-sim
//! --bench throughput`. Throughput is reported twice per configuration:
//! simulated clock cycles per second and multiply-accumulates (weight x
//! activation pairs, cols * lanes per accepted beat) per second, both for
//! back-to-back tiles through `run_tile` (FFI calls per cycle included).

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tritium_sim::{ArraySim, SimConfig, CONFIGS};

/// Beats per benchmark tile.
const BEATS: usize = 64;

fn tile(cfg: &SimConfig) -> (Vec<Vec<u8>>, Vec<Vec<i8>>) {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let w = (0..BEATS)
        .map(|_| {
            (0..cfg.cols * cfg.lanes)
                .map(|_| (next() % 3) as u8)
                .collect()
        })
        .collect();
    let a = (0..BEATS)
        .map(|_| (0..cfg.lanes).map(|_| next() as i8).collect())
        .collect();
    (w, a)
}

fn bench(c: &mut Criterion) {
    for cfg in CONFIGS {
        let mut sim = ArraySim::new(cfg).expect("model");
        let (w, a) = tile(cfg);
        let mut out = vec![0i32; cfg.cols];
        let cycles = sim.run_tile(&w, &a, &mut out).expect("tile").cycles;
        let macs = (BEATS * cfg.cols * cfg.lanes) as u64;

        // A plain figure first, independent of criterion's statistics.
        let tiles = 2000;
        let t = Instant::now();
        for _ in 0..tiles {
            sim.run_tile(&w, &a, &mut out).expect("tile");
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{} ({}x{}): {:.2} M simulated cycles/s, {:.1} M MACs/s ({} cycles per {}-beat tile)",
            cfg.name,
            cfg.cols,
            cfg.lanes,
            (tiles as u64 * cycles) as f64 / s / 1e6,
            (tiles as u64 * macs) as f64 / s / 1e6,
            cycles,
            BEATS
        );

        let mut g = c.benchmark_group(format!("run_tile/{}", cfg.name));
        g.throughput(Throughput::Elements(cycles));
        g.bench_function("cycles", |b| {
            b.iter(|| {
                sim.run_tile(black_box(&w), black_box(&a), &mut out)
                    .unwrap()
            })
        });
        g.throughput(Throughput::Elements(macs));
        g.bench_function("macs", |b| {
            b.iter(|| {
                sim.run_tile(black_box(&w), black_box(&a), &mut out)
                    .unwrap()
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("idle_tick/{}", cfg.name));
        g.throughput(Throughput::Elements(1));
        g.bench_function("tick", |b| b.iter(|| sim.tick().unwrap()));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
