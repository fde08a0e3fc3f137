//! Co-simulation throughput, end to end (host tiling + Verilator model +
//! golden check): `cargo bench -p tritium-rtl --bench cosim`. Prints, for
//! each accelerator configuration (decode: one token row per job, full-rate
//! memory), simulated cycles/s and verified MACs/s on 2B4T-shaped
//! BitLinears, and the time of one full-network 2B4T decode token on the RTL,
//! extrapolated from one measured layer (all 7 projections, 30 identical
//! layers). Figures are measured side by side in one run. Arguments after
//! `--` that do not start with `-` keep only the configurations whose name
//! contains one of them (`cargo bench -p tritium-rtl --bench cosim -- kv260`).

use std::time::Instant;

use tritium_golden::{Backend, LinearCall, LinearId, Preset, Proj, SplitMix64, TernaryMatrix};
use tritium_rtl::{Lockstep, MemoryConfig, RtlBackend, ACCEL_CONFIGS};

fn random_call_data(n: usize, k: usize, seed: u64) -> (TernaryMatrix, Vec<i8>) {
    let mut rng = SplitMix64::new(seed);
    let t: Vec<i8> = (0..n * k).map(|_| (rng.next_u64() % 3) as i8 - 1).collect();
    let acts: Vec<i8> = (0..k).map(|_| rng.next_u64() as i8).collect();
    (
        TernaryMatrix::from_ternary("bench", n, k, &t, 1.0).unwrap(),
        acts,
    )
}

fn main() {
    let c = Preset::B2b4t.config();
    // cargo passes `--bench` (and criterion-style flags) to every bench.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    println!("co-simulation throughput (one token row per call, lockstep with the golden model)");
    println!(
        "{:<10} {:<10} {:>12} {:>10} {:>10} {:>14} {:>16}",
        "array", "proj", "MACs", "cycles", "wall s", "M cycles/s", "M verified MAC/s"
    );
    for cfg in ACCEL_CONFIGS
        .iter()
        .filter(|cfg| filters.is_empty() || filters.iter().any(|f| cfg.name.contains(f.as_str())))
    {
        let mem = MemoryConfig::full_rate(cfg.bus_bytes);
        let mut rtl = RtlBackend::new(cfg, 1, mem).expect("model");
        let dir = std::env::temp_dir().join("tritium-bench-mismatch.vcd");
        let (mut layer_secs, mut layer_cycles, mut layer_macs) = (0.0, 0u64, 0u64);
        for (i, p) in Proj::ALL.into_iter().enumerate() {
            let (n, k) = p.shape(&c);
            let (w, acts) = random_call_data(n, k, i as u64);
            let call = LinearCall::new(LinearId::new(0, p), &w, &acts, 1, 0);
            let mut out = vec![0i32; n];
            let mut lock = Lockstep::new(&mut rtl, None, dir.clone());
            let t = Instant::now();
            lock.matmul(&call, &mut out).expect("RTL == golden");
            let secs = t.elapsed().as_secs_f64();
            let row = &lock.rows()[0];
            println!(
                "{:<10} {:<10} {:>12} {:>10} {:>10.3} {:>14.2} {:>16.2}",
                cfg.name,
                p.hf_name(),
                row.stats.macs,
                row.stats.cycles,
                secs,
                row.stats.cycles as f64 / secs / 1e6,
                row.stats.macs as f64 / secs / 1e6
            );
            layer_secs += secs;
            layer_cycles += row.stats.cycles;
            layer_macs += row.stats.macs;
        }
        println!(
            "{:<10} one 2B4T layer: {} cycles, {:.3} s -> one full-network token (30 layers) ~ {:.1} s wall, {} cycles ({:.2} M cycles/s, {:.2} M verified MAC/s)",
            cfg.name,
            layer_cycles,
            layer_secs,
            30.0 * layer_secs,
            30 * layer_cycles,
            layer_cycles as f64 / layer_secs / 1e6,
            layer_macs as f64 / layer_secs / 1e6
        );
    }
}
