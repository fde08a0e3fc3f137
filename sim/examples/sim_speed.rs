//! Prints simulated cycles/s and MACs/s of each array configuration and of
//! each accelerator configuration:
//! `cargo run --release -p tritium-sim --example sim_speed [seconds]`.

use std::time::Instant;

use tritium_golden::image::{act_image, weight_image};
use tritium_golden::{SplitMix64, TernaryMatrix};
use tritium_sim::{AccelSim, ArraySim, Job, MemoryConfig, RunSpec, ACCEL_CONFIGS, CONFIGS};

fn main() -> Result<(), tritium_sim::SimError> {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    for cfg in CONFIGS {
        let mut sim = ArraySim::new(cfg)?;
        let beats = 64.min(cfg.max_beats());
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let w: Vec<Vec<u8>> = (0..beats)
            .map(|_| {
                (0..cfg.cols * cfg.lanes)
                    .map(|_| (next() % 3) as u8)
                    .collect()
            })
            .collect();
        let a: Vec<Vec<i8>> = (0..beats)
            .map(|_| (0..cfg.lanes).map(|_| next() as i8).collect())
            .collect();
        let mut out = vec![0i32; cfg.cols];
        let (mut tiles, mut cycles) = (0u64, 0u64);
        let t = Instant::now();
        while t.elapsed().as_secs_f64() < secs {
            cycles += sim.run_tile(&w, &a, &mut out)?.cycles;
            tiles += 1;
        }
        let s = t.elapsed().as_secs_f64();
        let macs = tiles * (beats * cfg.cols * cfg.lanes) as u64;
        println!(
            "{:>6} ({:>2} cols x {:>2} lanes): {:>7.3} M cycles/s  {:>7.1} M MACs/s  ({} tiles of {} beats, {:.1} cycles/tile)",
            cfg.name,
            cfg.cols,
            cfg.lanes,
            cycles as f64 / s / 1e6,
            macs as f64 / s / 1e6,
            tiles,
            beats,
            cycles as f64 / tiles as f64
        );
    }
    accel_speed(secs)
}

/// The accelerator models: jobs of TMax token rows, 4 tiles of 64 beats
/// (weight reuse, compute-bound), full-rate memory; the activations are
/// loaded once and reused. Counted: cycles of `AccelSim::run` (memory model
/// and result collection included) and issues x cols x lanes MACs.
fn accel_speed(secs: f64) -> Result<(), tritium_sim::SimError> {
    for cfg in ACCEL_CONFIGS {
        let a = &cfg.array;
        let mut sim = AccelSim::new(cfg)?;
        let beats = 64.min(a.max_beats());
        let (n, k, tokens) = (4 * a.cols, beats * a.lanes, cfg.tokens);
        let mut rng = SplitMix64::new(1);
        let t: Vec<i8> = (0..n * k).map(|_| rng.below(3) as i8 - 1).collect();
        let w = TernaryMatrix::from_ternary("w", n, k, &t, 1.0).expect("matrix");
        let x: Vec<i8> = (0..tokens * k)
            .map(|_| rng.below(256) as u8 as i8)
            .collect();
        let image = weight_image(&w, cfg, 0, k).expect("image");
        let acts = act_image(&x, tokens, k, 0, k, a.lanes).expect("acts");
        let runs = [RunSpec {
            tiles: a.tiles(n),
            image: &image,
        }];
        let mut job = Job {
            tokens,
            beats,
            acts: &acts,
            runs: &runs,
            trace: false,
        };
        let mem = MemoryConfig::full_rate(cfg.bus_bytes);
        sim.run(&job, &mem)?;
        job.acts = &[];
        let (mut cycles, mut issues) = (0u64, 0u64);
        let t0 = Instant::now();
        while t0.elapsed().as_secs_f64() < secs {
            let r = sim.run(&job, &mem)?;
            cycles += r.cycles;
            issues += r.counters.busy;
        }
        let s = t0.elapsed().as_secs_f64();
        println!(
            "{:>10} ({:>2} cols x {:>2} lanes, {:>2} tokens, {}): {:>7.3} M cycles/s  {:>7.1} M MACs/s  (utilization {:.1} %)",
            cfg.name,
            a.cols,
            a.lanes,
            tokens,
            cfg.format,
            cycles as f64 / s / 1e6,
            (issues * a.macs_per_beat() as u64) as f64 / s / 1e6,
            100.0 * issues as f64 / cycles as f64
        );
    }
    Ok(())
}
