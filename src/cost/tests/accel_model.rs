//! The analytic cycle model of tri_accel (`tritium_cost::accel`) against
//! the cycles measured on its RTL (Verilator, through the RTL backend), on
//! both stored formats, decode (one token row) and prefill batches,
//! memory-bound and compute-bound memories, K split into segments and
//! grouped BitLinears sharing one load. Prints the comparison
//! (`cargo test -p tritium-cost --test accel_model -- --nocapture`).
//!
//! Stated tolerance (also in README.md): per BitLinear call, the model's
//! cycles are within [`TOLERANCE`] of the measured ones, or within
//! [`SLACK_CYCLES`] cycles, whichever is larger; the DRAM bytes and the
//! activation-buffer reads and writes are equal. (Measured when this was
//! written: every call of the fixed cases and of a 400-case random sweep
//! exact to the cycle.)

use tritium_cost::{accel_group, AccelMemory};
use tritium_golden::{Backend, ExecStats, LinearCall, LinearId, Proj, SplitMix64, TernaryMatrix};
use tritium_rtl::{AccelSimConfig, MemoryConfig, RtlBackend, ACCEL_CONFIGS};

/// Relative tolerance of the model's cycles.
const TOLERANCE: f64 = 0.005;
/// Absolute tolerance in cycles (for short calls).
const SLACK_CYCLES: u64 = 2;

fn config(name: &str) -> &'static AccelSimConfig {
    ACCEL_CONFIGS
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("accelerator configuration {name} not built"))
}

fn matrix(name: &str, n: usize, k: usize, rng: &mut SplitMix64) -> TernaryMatrix {
    let t: Vec<i8> = (0..n * k).map(|_| (rng.next_u64() % 3) as i8 - 1).collect();
    TernaryMatrix::from_ternary(name, n, k, &t, 1.0).unwrap()
}

/// One case: a group of BitLinears (`ns` outputs, `k` inputs) on `rows`
/// token rows, jobs of `batch` rows, a memory of `bpc` bytes per cycle and
/// `latency` cycles.
struct Case {
    cfg: &'static str,
    ns: Vec<usize>,
    k: usize,
    rows: usize,
    batch: usize,
    bpc: f64,
    latency: u32,
    what: String,
}

fn run(c: &Case) -> Vec<(ExecStats, tritium_cost::AccelCounts)> {
    let cfg = config(c.cfg);
    let mem = MemoryConfig {
        bytes_per_cycle: c.bpc,
        latency: c.latency,
    };
    let mut rtl = RtlBackend::new(cfg, c.batch, mem).unwrap();
    let mut rng = SplitMix64::new(c.k as u64 * 31 + c.rows as u64);
    let projs = [Proj::Q, Proj::K, Proj::V];
    let ws: Vec<TernaryMatrix> =
        c.ns.iter()
            .enumerate()
            .map(|(i, &n)| matrix(&format!("w{i}"), n, c.k, &mut rng))
            .collect();
    let acts: Vec<i8> = (0..c.rows * c.k).map(|_| rng.next_u64() as i8).collect();
    let calls: Vec<LinearCall<'_>> = ws
        .iter()
        .enumerate()
        .map(|(i, w)| LinearCall::new(LinearId::new(0, projs[i]), w, &acts, c.rows, 0))
        .collect();
    let mut outs: Vec<Vec<i32>> = c.ns.iter().map(|&n| vec![0; c.rows * n]).collect();
    let mut stats = vec![ExecStats::default(); calls.len()];
    rtl.matmul_group(&calls, &mut outs, &mut stats).unwrap();
    let model = accel_group(
        &cfg.accel,
        &AccelMemory {
            bytes_per_cycle: c.bpc,
            latency: c.latency,
        },
        &c.ns,
        c.k,
        c.rows,
        c.batch,
    )
    .unwrap();
    stats.into_iter().zip(model).collect()
}

/// Hand-picked cases: every path of the model.
fn fixed_cases() -> Vec<Case> {
    let c = |cfg, ns: &[usize], k, rows, batch, bpc, latency, what: &str| Case {
        cfg,
        ns: ns.to_vec(),
        k,
        rows,
        batch,
        bpc,
        latency,
        what: what.to_string(),
    };
    vec![
        // Small accelerators: 4x5, TMax 4, KMax 128.
        c(
            "acc2",
            &[40],
            300,
            1,
            1,
            10.0,
            5,
            "2-bit decode, full rate (compute-bound), 3 K segments",
        ),
        c(
            "acc2",
            &[37],
            100,
            1,
            1,
            2.5,
            20,
            "2-bit decode, memory-bound",
        ),
        c(
            "acc2",
            &[33],
            90,
            10,
            4,
            3.0,
            12,
            "2-bit prefill 10 rows in jobs of 4",
        ),
        c(
            "acc3",
            &[40],
            130,
            1,
            1,
            2.0,
            3,
            "base-3 decode, 2 beats per word, 2 K segments",
        ),
        c(
            "acc3",
            &[24],
            60,
            7,
            4,
            1.3,
            30,
            "base-3 prefill 7 rows in jobs of 4, slow memory",
        ),
        c(
            "acc3",
            &[12, 4, 4],
            70,
            3,
            3,
            0.9,
            9,
            "base-3 q/k/v group, memory-bound",
        ),
        // KV260-class: 64x5 base-3 and 64x4 2-bit on a 64-byte port, TMax 16.
        c(
            "kv260",
            &[640],
            2560,
            1,
            1,
            64.0,
            40,
            "base-3 decode at 64 B/cycle (balanced), 2B4T k_proj shape",
        ),
        c(
            "kv260",
            &[256],
            1000,
            1,
            1,
            50.92,
            100,
            "base-3 decode at 12.73 GB/s / 250 MHz (memory-bound)",
        ),
        c(
            "kv260",
            &[192],
            640,
            16,
            16,
            64.0,
            40,
            "base-3 prefill batch 16 (compute-bound)",
        ),
        c(
            "kv260",
            &[256, 64, 64],
            640,
            1,
            1,
            64.0,
            40,
            "base-3 q/k/v group decode, one load",
        ),
        c(
            "kv260",
            &[128, 128],
            320,
            20,
            16,
            32.0,
            64,
            "base-3 gate/up group prefill 20 rows (jobs 16 + 4)",
        ),
        c(
            "kv260_2bit",
            &[128],
            9000,
            1,
            1,
            45.5,
            60,
            "2-bit decode, memory-bound, 2 K segments",
        ),
        c(
            "kv260_2bit",
            &[128],
            512,
            20,
            8,
            64.0,
            20,
            "2-bit prefill 20 rows in jobs of 8",
        ),
    ]
}

/// Random cases over every built configuration (seeded): groups of one to
/// three BitLinears, decode and prefill, any batch, memory from a few
/// thousandths of the port to the full port, latency 1..120.
fn random_cases(count: usize, seed: u64) -> Vec<Case> {
    let mut rng = SplitMix64::new(seed);
    let mut r = |n: u64| rng.next_u64() % n;
    (0..count)
        .map(|_| {
            let cfg = &ACCEL_CONFIGS[r(ACCEL_CONFIGS.len() as u64) as usize];
            let small = cfg.array.k_max < 1024;
            let (n_max, k_max) = if small { (40, 400) } else { (300, 3000) };
            let group = 1 + r(3) as usize;
            let ns = (0..group).map(|_| 1 + r(n_max) as usize).collect();
            let k = 1 + r(k_max) as usize;
            let prefill = r(2) == 0;
            let rows = if prefill {
                1 + r(3 * cfg.tokens as u64) as usize
            } else {
                1
            };
            let batch = 1 + r(cfg.tokens as u64) as usize;
            let bpc = ((1 + r(1000)) as f64 * cfg.bus_bytes as f64).round() / 1000.0;
            Case {
                cfg: cfg.name,
                ns,
                k,
                rows,
                batch,
                bpc: bpc.max(0.05),
                latency: 1 + r(120) as u32,
                what: "random".into(),
            }
        })
        .collect()
}

fn check(cases: &[Case]) {
    println!(
        "{:<11} {:>14} {:>5} {:>5} {:>3} {:>6} {:>4} {:>10} {:>10} {:>8}  what",
        "config", "N x K", "rows", "batch", "#", "B/cyc", "lat", "RTL", "model", "error"
    );
    let mut worst = 0f64;
    let mut failures = Vec::new();
    for c in cases {
        for (i, (rtl, model)) in run(c).into_iter().enumerate() {
            let (m, a) = (rtl.cycles, model.cycles);
            let err = a as f64 / m as f64 - 1.0;
            worst = worst.max(err.abs());
            println!(
                "{:<11} {:>14} {:>5} {:>5} {:>3} {:>6} {:>4} {:>10} {:>10} {:>+7.3}%  {}",
                c.cfg,
                format!("{} x {}", c.ns[i], c.k),
                c.rows,
                c.batch,
                i,
                c.bpc,
                c.latency,
                m,
                a,
                100.0 * err,
                c.what
            );
            let allowed = ((TOLERANCE * m as f64) as u64).max(SLACK_CYCLES);
            if m.abs_diff(a) > allowed {
                failures.push(format!(
                    "{} {}: call {i}: RTL {m} cycles, model {a} (allowed +-{allowed})",
                    c.cfg, c.what
                ));
            }
            let counts = (rtl.dram_bytes, rtl.buffer_reads, rtl.buffer_writes);
            let want = (model.dram_bytes, model.issues, model.buffer_writes);
            if counts != want {
                failures.push(format!(
                    "{} {}: call {i}: RTL (DRAM bytes, buffer reads, writes) {counts:?}, model {want:?}",
                    c.cfg, c.what
                ));
            }
        }
    }
    println!("largest error {:.3}%", 100.0 * worst);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn analytic_cycles_match_the_rtl_on_hand_picked_cases() {
    check(&fixed_cases());
}

#[test]
fn analytic_cycles_match_the_rtl_on_random_cases() {
    check(&random_cases(48, 2026));
}
