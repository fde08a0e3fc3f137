//! Helpers shared by the accelerator tests: random BitLinear layers, their
//! memory images and the expected results straight from the matrix.

#![allow(dead_code)]

use tritium_golden::backend::golden_matvec;
use tritium_golden::image::{act_image, weight_image};
use tritium_golden::{AccelConfig, SplitMix64, TernaryMatrix};
use tritium_sim::{reference, AccelSim, Job, JobReport, MemoryConfig, RunSpec, SimError};

/// A random ternary matrix with about `zeros` (0..=1) of its weights 0.
pub fn matrix(n: usize, k: usize, zeros: f64, rng: &mut SplitMix64) -> TernaryMatrix {
    let t: Vec<i8> = (0..n * k)
        .map(|_| {
            if rng.uniform() < zeros {
                0
            } else if rng.below(2) == 0 {
                -1
            } else {
                1
            }
        })
        .collect();
    TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap()
}

/// A random matrix of +-1 only (no zero weight: every lane adds).
pub fn dense_matrix(n: usize, k: usize, rng: &mut SplitMix64) -> TernaryMatrix {
    let t: Vec<i8> = (0..n * k)
        .map(|_| if rng.below(2) == 0 { -1 } else { 1 })
        .collect();
    TernaryMatrix::from_ternary("w", n, k, &t, 1.0).unwrap()
}

/// `rows` token rows of `k` int8 activations.
pub fn acts(rows: usize, k: usize, rng: &mut SplitMix64) -> Vec<i8> {
    (0..rows * k).map(|_| rng.below(256) as u8 as i8).collect()
}

/// `rows` token rows of `k` extreme activations (-128 or 127).
pub fn extreme_acts(rows: usize, k: usize, rng: &mut SplitMix64) -> Vec<i8> {
    (0..rows * k)
        .map(|_| if rng.below(2) == 0 { -128 } else { 127 })
        .collect()
}

/// The same layout as [`expected`] for the whole K (`0..k`), from
/// golden's own BitLinear reference (`backend::golden_matvec`), token row
/// by token row.
pub fn golden_expected(cfg: &AccelConfig, w: &TernaryMatrix, x: &[i8], tokens: usize) -> Vec<i32> {
    let (cols, k) = (cfg.array.cols, w.k());
    let tiles = cfg.array.tiles(w.n());
    let mut out = vec![0i32; tiles * tokens * cols];
    let mut row = vec![0i32; w.n()];
    for t in 0..tokens {
        golden_matvec(w, &x[t * k..(t + 1) * k], &mut row);
        for (r, &v) in row.iter().enumerate() {
            out[((r / cols) * tokens + t) * cols + r % cols] = v;
        }
    }
    out
}

/// `results[(tile * tokens + t) * cols + c]` of a run over inputs `k0..k1`,
/// straight from the matrix (rows past `n` are 0).
pub fn expected(
    cfg: &AccelConfig,
    w: &TernaryMatrix,
    x: &[i8],
    tokens: usize,
    k0: usize,
    k1: usize,
) -> Vec<i32> {
    let cols = cfg.array.cols;
    let tiles = cfg.array.tiles(w.n());
    let mut out = vec![0i32; tiles * tokens * cols];
    for tile in 0..tiles {
        for t in 0..tokens {
            for c in 0..cols {
                let r = tile * cols + c;
                if r >= w.n() {
                    continue;
                }
                out[(tile * tokens + t) * cols + c] = (k0..k1)
                    .map(|kk| i32::from(w.get(r, kk)) * i32::from(x[t * w.k() + kk]))
                    .sum();
            }
        }
    }
    out
}

/// One job's inputs, owned: the buffer image and one image per matrix.
pub struct JobData {
    pub tokens: usize,
    pub beats: usize,
    pub acts: Vec<i8>,
    pub tiles: Vec<usize>,
    pub images: Vec<Vec<u8>>,
}

impl JobData {
    /// Runs of `ws` (all `k` inputs wide) over `k0..k1` for the first
    /// `tokens` rows of `x`.
    pub fn new(
        cfg: &AccelConfig,
        ws: &[TernaryMatrix],
        x: &[i8],
        tokens: usize,
        k0: usize,
        k1: usize,
    ) -> JobData {
        let k = ws[0].k();
        JobData {
            tokens,
            beats: cfg.array.beats(k1 - k0),
            acts: act_image(&x[..tokens * k], tokens, k, k0, k1, cfg.array.lanes).unwrap(),
            tiles: ws.iter().map(|w| cfg.array.tiles(w.n())).collect(),
            images: ws
                .iter()
                .map(|w| weight_image(w, cfg, k0, k1).unwrap())
                .collect(),
        }
    }

    pub fn runs(&self) -> Vec<RunSpec<'_>> {
        self.tiles
            .iter()
            .zip(&self.images)
            .map(|(&tiles, image)| RunSpec { tiles, image })
            .collect()
    }

    /// The job; `reuse`: without activations (the buffer holds them).
    pub fn job<'a>(&'a self, runs: &'a [RunSpec<'a>], reuse: bool, trace: bool) -> Job<'a> {
        Job {
            tokens: self.tokens,
            beats: self.beats,
            acts: if reuse { &[] } else { &self.acts },
            runs,
            trace,
        }
    }
}

/// Checks every run of `r` against the matrix, golden's BitLinear and the
/// image reference (`reference::accel_run`), its counters against the
/// reference's, and (traced jobs) every issue against
/// `reference::accel_issue_accs`. `ws` and `x` as given to
/// [`JobData::new`] with `k0..k1 = 0..k`; `what` names the case.
pub fn check_job(
    cfg: &AccelConfig,
    d: &JobData,
    ws: &[TernaryMatrix],
    x: &[i8],
    r: &JobReport,
    what: &str,
) {
    let (k, lanes) = (ws[0].k(), cfg.array.lanes);
    assert_eq!(r.runs.len(), ws.len(), "{what}: runs");
    let (mut adds, mut skips, mut issues) = (0u64, 0u64, 0u64);
    for (i, w) in ws.iter().enumerate() {
        let run = &r.runs[i];
        let want = expected(cfg, w, x, d.tokens, 0, k);
        assert_eq!(run.results, want, "{what}: run {i} != matrix");
        assert_eq!(
            golden_expected(cfg, w, x, d.tokens),
            want,
            "{what}: run {i}: golden"
        );
        let img = reference::accel_run(cfg, d.tokens, d.beats, &d.acts, d.tiles[i], &d.images[i])
            .unwrap();
        assert_eq!(img.results, want, "{what}: run {i}: image reference");
        let rc = &run.counters;
        assert_eq!(
            (rc.busy, rc.act_reads, rc.adds, rc.skips),
            (img.issues, img.issues, img.adds, img.skips),
            "{what}: run {i}: busy, act_reads, adds, skips of its window"
        );
        // A run is running from the cycle after its command to its last
        // issue, where the next command is taken: every cycle of a window
        // but the last run's is a running cycle, counted exactly once.
        let active = rc.busy + rc.mem_stall + rc.res_stall;
        if i + 1 < ws.len() {
            assert_eq!(
                active, rc.cycles,
                "{what}: run {i}: busy + stalls != window"
            );
        } else {
            assert!(active + 2 <= rc.cycles, "{what}: run {i}: {rc:?}");
        }
        adds += img.adds;
        skips += img.skips;
        issues += img.issues;
        if !run.issues.is_empty() {
            let accs = reference::accel_issue_accs(
                cfg,
                d.tokens,
                d.beats,
                &d.acts,
                d.tiles[i],
                &d.images[i],
            )
            .unwrap();
            assert_eq!(run.issues.len(), accs.len(), "{what}: run {i}: issues");
            for (j, (is, acc)) in run.issues.iter().zip(&accs).enumerate() {
                assert_eq!(
                    &is.acc, acc,
                    "{what}: run {i}: first divergence at issue {j} (tile {}, beat {}, token {}, cycle {})",
                    is.tile, is.beat, is.token, is.cycle
                );
            }
        }
    }
    let c = &r.counters;
    let image_bytes: usize = d.images.iter().map(Vec::len).sum();
    assert_eq!(c.dram_bytes, image_bytes as u64, "{what}: dram_bytes");
    assert_eq!(c.busy, issues, "{what}: busy");
    assert_eq!(c.act_reads, issues, "{what}: act_reads");
    let loaded = if r.load_cycles > 0 {
        d.acts.len() / lanes
    } else {
        0
    };
    assert_eq!(c.act_writes, loaded as u64, "{what}: act_writes");
    assert_eq!((c.adds, c.skips), (adds, skips), "{what}: adds, skips");
    assert!(r.errors.none(), "{what}: errors {:?}", r.errors);
}

/// Drives one command by hand (the low-level API): presents `cmd` =
/// (tiles, beats, tokens) until accepted, then the bus beats `beats` (each
/// with its `w_last_i`) one per cycle when ready, with `r_ready_i` high,
/// until `results` results were taken or `max_cycles` ran. Returns the
/// results (one `Vec` per result).
pub fn drive_raw(
    sim: &mut AccelSim,
    cmd: (u32, u32, u32),
    beats: &[(Vec<u8>, bool)],
    results: usize,
    max_cycles: u64,
) -> Result<Vec<Vec<i32>>, SimError> {
    let cols = sim.config().array.cols;
    let mut out = Vec::new();
    let mut cmd_done = false;
    let mut next = 0;
    sim.set_result_ready(true);
    for _ in 0..max_cycles {
        if !cmd_done {
            sim.set_cmd(true, cmd.0, cmd.1, cmd.2);
        }
        if let Some((data, last)) = beats.get(next) {
            sim.set_weight(true, data, *last)?;
        } else {
            sim.set_weight_valid(false, false);
        }
        let mut head = vec![0i32; cols];
        let valid = sim.outputs().r_valid;
        if valid {
            sim.result(&mut head)?;
        }
        let pre = sim.tick()?;
        if !cmd_done && pre.cmd_ready {
            cmd_done = true;
            sim.set_cmd_valid(false);
        }
        if next < beats.len() && pre.w_ready {
            next += 1;
        }
        if valid && pre.r_valid {
            out.push(head);
            if out.len() == results {
                break;
            }
        }
    }
    sim.idle_inputs();
    Ok(out)
}

/// Prints a one-line summary of a job report.
pub fn summary(name: &str, r: &JobReport) -> String {
    let c = &r.counters;
    format!(
        "{name}: {} cycles (load {}), busy {}, mem_stall {}, res_stall {}, dram {} B, adds {}, skips {}; runs: {:?}",
        r.cycles,
        r.load_cycles,
        c.busy,
        c.mem_stall,
        c.res_stall,
        c.dram_bytes,
        c.adds,
        c.skips,
        r.runs.iter().map(|x| x.cycles).collect::<Vec<_>>()
    )
}

/// Loads `d`'s activations only (a job without runs) and checks that every
/// activation word was written to the buffer.
pub fn load_only(sim: &mut AccelSim, d: &JobData) {
    let job = Job {
        tokens: d.tokens,
        beats: d.beats,
        acts: &d.acts,
        runs: &[],
        trace: false,
    };
    let r = sim.run(&job, &MemoryConfig::full_rate(1)).unwrap();
    assert_eq!(
        r.counters.act_writes,
        (d.acts.len() / sim.config().array.lanes) as u64
    );
}

/// `image` as bus beats, `w_last_i` on beat `last_at` only (None: on none).
pub fn bus_beats(image: &[u8], bus: usize, last_at: Option<usize>) -> Vec<(Vec<u8>, bool)> {
    image
        .chunks(bus)
        .enumerate()
        .map(|(i, b)| (b.to_vec(), Some(i) == last_at))
        .collect()
}

/// `image` as bus beats, `w_last_i` on the last whole beat.
pub fn bus_beats_last(image: &[u8], bus: usize) -> Vec<(Vec<u8>, bool)> {
    bus_beats(image, bus, (image.len() / bus).checked_sub(1))
}
