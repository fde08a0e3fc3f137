//! Prints simulated cycles/s and MACs/s of each configuration:
//! `cargo run --release -p tritium-sim --example sim_speed [seconds]`.

use std::time::Instant;

use tritium_sim::{ArraySim, CONFIGS};

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
    Ok(())
}
