//! The native job driver (one FFI call per job, csrc/accel_job.h) against
//! the per-cycle Rust driver it transcribes: on random jobs of every
//! accelerator configuration (both weight formats, ragged shapes, several
//! runs, memory latency and bandwidth limits, result backpressure, reused
//! buffers, invalid weights) two models, one per driver, must give equal
//! reports (results, cycle numbers, counters, error flags) and end in the
//! same state; and the waveforms of one job must be the same file.

mod common;

use common::{acts, matrix, JobData};
use tritium_golden::SplitMix64;
use tritium_sim::{AccelSim, AccelSimConfig, JobDriver, MemoryConfig, ACCEL_CONFIGS};

/// Two fresh models of `cfg`, driven natively and per cycle.
fn twins(cfg: &'static AccelSimConfig) -> [AccelSim; 2] {
    [JobDriver::Native, JobDriver::PerCycle].map(|d| {
        let mut s = AccelSim::new(cfg).unwrap();
        s.set_job_driver(d);
        s
    })
}

/// A random memory for a bus of `bus` bytes: full rate, or a fraction of
/// it with a longer latency.
fn memory(bus: usize, rng: &mut SplitMix64) -> MemoryConfig {
    match rng.below(3) {
        0 => MemoryConfig::full_rate(bus),
        _ => MemoryConfig {
            bytes_per_cycle: (bus as f64 * (0.05 + 0.95 * rng.uniform())).max(0.001),
            latency: 1 + rng.below(40) as u32,
        },
    }
}

/// `cases` random jobs on twin models of `cfg`; K up to `max_k`.
fn equal_on_random_jobs(cfg: &'static AccelSimConfig, cases: usize, max_k: usize, seed: u64) {
    let mut sims = twins(cfg);
    let mut rng = SplitMix64::new(seed);
    let a = &cfg.array;
    // The last job's (tokens, beats, acts): a job may reuse its buffer.
    let mut last: Option<(usize, usize)> = None;
    for case in 0..cases {
        let k = 1 + rng.below(max_k.min(a.k_max) as u64) as usize;
        let tokens = 1 + rng.below(cfg.tokens as u64) as usize;
        let n_runs = 1 + rng.below(3) as usize;
        let ws: Vec<_> = (0..n_runs)
            .map(|_| {
                let n = 1 + rng.below(3 * a.cols as u64) as usize;
                matrix(n, k, 0.3, &mut rng)
            })
            .collect();
        let x = acts(tokens, k, &mut rng);
        let mut d = JobData::new(cfg, &ws, &x, tokens, 0, k);
        if rng.below(5) == 0 {
            // An invalid byte: err_code_o, the job completes.
            let img = &mut d.images[0];
            let at = rng.below(img.len() as u64) as usize;
            img[at] = 0xff;
        }
        let reuse = last == Some((tokens, d.beats)) && rng.below(2) == 0;
        let mem = memory(cfg.bus_bytes, &mut rng);
        let every = 1 + rng.below(3) as u32;
        let runs = d.runs();
        let job = d.job(&runs, reuse, false);
        let what = format!(
            "{} case {case}: k {k}, tokens {tokens}, {n_runs} runs, reuse {reuse}, {mem:?}, results 1 in {every}",
            cfg.name
        );
        let reports: Vec<_> = sims
            .iter_mut()
            .map(|s| {
                s.set_result_backpressure(every);
                s.run(&job, &mem)
            })
            .collect();
        let [native, per_cycle] = &sims;
        match (&reports[0], &reports[1]) {
            (Ok(r0), Ok(r1)) => assert_eq!(r0, r1, "{what}"),
            (r0, r1) => panic!("{what}: {r0:?} vs {r1:?}"),
        }
        assert_eq!(native.cycle(), per_cycle.cycle(), "{what}: cycle");
        assert_eq!(
            native.loaded_words(),
            per_cycle.loaded_words(),
            "{what}: loaded"
        );
        assert_eq!(native.counters(), per_cycle.counters(), "{what}: counters");
        assert_eq!(native.outputs(), per_cycle.outputs(), "{what}: outputs");
        last = Some((tokens, d.beats));
        if reports[0].as_ref().unwrap().errors.code {
            // The sticky flag stays until reset: start the next job clean.
            for s in &mut sims {
                s.reset().unwrap();
            }
            last = None;
        }
    }
}

#[test]
fn acc2_2bit_native_equals_per_cycle() {
    equal_on_random_jobs(&tritium_sim::ACC2, 40, 128, 1);
}

#[test]
fn acc3_base3_native_equals_per_cycle() {
    equal_on_random_jobs(&tritium_sim::ACC3, 40, 128, 2);
}

#[test]
fn kv260_both_formats_native_equal_per_cycle() {
    equal_on_random_jobs(&tritium_sim::KV260, 6, 200, 3);
    equal_on_random_jobs(&tritium_sim::KV260_2BIT, 6, 200, 4);
}

/// The VCD of a job without its `$date` block (the time of writing).
fn waveform_of(sim: &mut AccelSim, path: &std::path::Path, d: &JobData, mem: &MemoryConfig) {
    sim.trace_to(path).unwrap();
    let runs = d.runs();
    sim.run(&d.job(&runs, false, false), mem).unwrap();
    sim.trace_stop().unwrap();
}

fn without_date(vcd: &str) -> String {
    let mut out = String::new();
    let mut in_date = false;
    for line in vcd.lines() {
        if line.trim_start().starts_with("$date") {
            in_date = true;
        }
        if !in_date {
            out += line;
            out.push('\n');
        }
        if in_date && line.trim_end().ends_with("$end") {
            in_date = false;
        }
    }
    out
}

/// Every input port gets the same value in every half cycle: the two
/// drivers' waveforms of a job (with a slow memory and backpressure) are
/// the same file.
#[test]
fn native_and_per_cycle_waveforms_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    for cfg in ACCEL_CONFIGS.iter().filter(|c| c.array.cols <= 4) {
        let mut rng = SplitMix64::new(5);
        let k = 3 * cfg.array.lanes + 1;
        let ws = vec![
            matrix(2 * cfg.array.cols + 1, k, 0.3, &mut rng),
            matrix(cfg.array.cols, k, 0.3, &mut rng),
        ];
        let x = acts(2, k, &mut rng);
        let d = JobData::new(cfg, &ws, &x, 2, 0, k);
        let mem = MemoryConfig {
            bytes_per_cycle: cfg.bus_bytes as f64 * 0.4,
            latency: 7,
        };
        let mut files = Vec::new();
        for (i, mut sim) in twins(cfg).into_iter().enumerate() {
            sim.set_result_backpressure(2);
            let path = dir.path().join(format!("{}-{i}.vcd", cfg.name));
            waveform_of(&mut sim, &path, &d, &mem);
            files.push(without_date(&std::fs::read_to_string(&path).unwrap()));
        }
        assert!(files[0].len() > 1000, "{}: empty waveform", cfg.name);
        assert!(files[0] == files[1], "{}: the waveforms differ", cfg.name);
    }
}
