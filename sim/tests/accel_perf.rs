//! Performance properties of the accelerator tri_accel, measured on the RTL
//! model (cycle counts and counters of `AccelSim::run`), with every result
//! also checked: weight reuse in prefill (DRAM bytes), compute-bound
//! utilization, the memory floor of decode. The measured figures are printed
//! (`cargo test -p tritium-sim --test accel_perf -- --nocapture`).

mod common;

use common::*;
use tritium_golden::SplitMix64;
use tritium_sim::{AccelSim, AccelSimConfig, MemoryConfig, ACC2, ACC3, KV260, KV260_2BIT};

/// Prefill of more token rows than the buffer holds: ceil(rows / TMax)
/// jobs, each loading its rows and streaming every weight image once, so
/// DRAM bytes = image bytes x ceil(rows / TMax) (one weight read per TMax
/// tokens), not x rows.
#[test]
fn prefill_reads_weights_once_per_buffer_of_tokens() {
    for (cfg, rows) in [(&ACC2, 10usize), (&ACC3, 9), (&KV260_2BIT, 20)] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let mut rng = SplitMix64::new(21);
        let k = 7 * cfg.array.lanes + 3;
        let ws = vec![
            matrix(2 * cfg.array.cols + 1, k, 0.4, &mut rng),
            matrix(cfg.array.cols - 1, k, 0.4, &mut rng),
        ];
        let x = acts(rows, k, &mut rng);
        let mem = MemoryConfig {
            bytes_per_cycle: cfg.bus_bytes as f64 * 0.75,
            latency: 12,
        };
        let (mut dram, mut jobs, mut image_bytes) = (0u64, 0u64, 0u64);
        for t0 in (0..rows).step_by(cfg.tokens) {
            let tokens = cfg.tokens.min(rows - t0);
            let xs = &x[t0 * k..(t0 + tokens) * k];
            let d = JobData::new(cfg, &ws, xs, tokens, 0, k);
            let runs = d.runs();
            let r = sim.run(&d.job(&runs, false, false), &mem).unwrap();
            check_job(cfg, &d, &ws, xs, &r, &format!("{} rows {t0}..", cfg.name));
            image_bytes = d.images.iter().map(|i| i.len() as u64).sum();
            assert_eq!(r.counters.dram_bytes, image_bytes);
            dram += r.counters.dram_bytes;
            jobs += 1;
        }
        assert_eq!(jobs, rows.div_ceil(cfg.tokens) as u64);
        assert_eq!(dram, image_bytes * jobs, "{}", cfg.name);
        println!(
            "{}: {rows} token rows, TMax {}: {} jobs, DRAM {dram} B = {} x {image_bytes} B of weights (one token at a time: {} B, {:.1}x more)",
            cfg.name,
            cfg.tokens,
            jobs,
            jobs,
            image_bytes * rows as u64,
            rows as f64 / jobs as f64
        );
    }
}

/// `runs` matrices of `tiles` tiles over `beats` beats each, for `tokens`
/// rows; full-rate memory. Returns (job data, matrices, activations).
fn job(
    cfg: &AccelSimConfig,
    runs: usize,
    tiles: usize,
    beats: usize,
    tokens: usize,
    seed: u64,
) -> (JobData, Vec<tritium_golden::TernaryMatrix>, Vec<i8>) {
    let mut rng = SplitMix64::new(seed);
    let k = beats * cfg.array.lanes;
    let ws: Vec<_> = (0..runs)
        .map(|_| matrix(tiles * cfg.array.cols, k, 0.35, &mut rng))
        .collect();
    let x = acts(tokens, k, &mut rng);
    let d = JobData::new(cfg, &ws, &x, tokens, 0, k);
    (d, ws, x)
}

/// With full-rate memory and TMax token rows, the array issues every cycle
/// from the first issue of a run to the last issue of the next run: across
/// beats, tiles (the result buffer takes a tile's results while the next
/// computes) and runs (the next command is taken in the cycle of the last
/// issue). Utilization busy / cycles >= 98 % per run.
#[test]
fn compute_bound_runs_issue_every_cycle() {
    for (cfg, tiles, beats) in [(&ACC2, 12, 16), (&ACC3, 12, 16), (&KV260, 4, 16)] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let (d, ws, x) = job(cfg, 2, tiles, beats, cfg.tokens, 31);
        let runs = d.runs();
        let r = sim
            .run(
                &d.job(&runs, false, true),
                &MemoryConfig::full_rate(cfg.bus_bytes),
            )
            .unwrap();
        check_job(cfg, &d, &ws, &x, &r, cfg.name);
        let issues: Vec<u64> = r
            .runs
            .iter()
            .flat_map(|run| run.issues.iter().map(|i| i.cycle))
            .collect();
        assert_eq!(issues.len(), 2 * tiles * beats * cfg.tokens);
        if let Some(gap) = issues.windows(2).position(|w| w[1] != w[0] + 1) {
            panic!(
                "{}: idle cycle after issue {gap} (cycle {})",
                cfg.name, issues[gap]
            );
        }
        for (i, run) in r.runs.iter().enumerate() {
            let busy = (tiles * beats * cfg.tokens) as u64;
            let util = busy as f64 / run.cycles as f64;
            println!(
                "{} run {i}: {busy} issues in {} cycles (command to last result): utilization {:.2} %; mem_stall {}, res_stall {}",
                cfg.name,
                run.cycles,
                100.0 * util,
                run.counters.mem_stall,
                run.counters.res_stall
            );
            assert!(
                util >= 0.98,
                "{} run {i}: utilization {:.2} % < 98 %",
                cfg.name,
                100.0 * util
            );
            assert_eq!(
                run.counters.mem_stall + run.counters.res_stall,
                0,
                "{}",
                cfg.name
            );
        }
        // The job: load, then both runs back to back.
        let total = (2 * tiles * beats * cfg.tokens) as u64;
        println!(
            "{}: job {} cycles = load {} + {} issues + {} (pipeline and drain)",
            cfg.name,
            r.cycles,
            r.load_cycles,
            total,
            r.cycles - r.load_cycles - total
        );
    }
}

/// Decode (one token row) with memory slower than the array needs: the run
/// takes the image's bytes / bytes_per_cycle cycles, within 5 %.
#[test]
fn decode_runs_at_the_memory_floor() {
    for (cfg, bpc, tiles, beats) in [
        (&ACC2, 3.3, 32, 25),
        (&ACC3, 1.3, 32, 25),
        (&KV260, 40.0, 16, 64),
        (&KV260_2BIT, 45.5, 16, 64),
    ] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let (d, ws, x) = job(cfg, 1, tiles, beats, 1, 41);
        let runs = d.runs();
        let mem = MemoryConfig {
            bytes_per_cycle: bpc,
            latency: 20,
        };
        let r = sim.run(&d.job(&runs, false, false), &mem).unwrap();
        check_job(cfg, &d, &ws, &x, &r, cfg.name);
        let run = &r.runs[0];
        let floor = d.images[0].len() as f64 / bpc;
        let ratio = run.cycles as f64 / floor;
        println!(
            "{}: decode, {} B of weights at {bpc} B/cycle (array needs {:.1}): {} cycles, floor {:.0}: {:.3} x floor; busy {}, mem_stall {}",
            cfg.name,
            d.images[0].len(),
            cfg.word_bytes as f64,
            run.cycles,
            floor,
            ratio,
            run.counters.busy,
            run.counters.mem_stall
        );
        assert!(
            (0.95..=1.05).contains(&ratio),
            "{}: {} cycles vs floor {floor:.0} ({ratio:.3})",
            cfg.name,
            run.cycles
        );
    }
}
