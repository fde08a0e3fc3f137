//! The accelerator tri_accel (rtl/tri_accel.sv) against the matrix, golden's
//! BitLinear and the image reference: property tests over ragged shapes,
//! token counts, several runs per activation load, extreme values and random
//! memory timing; the weight decoders over every byte value; the error flags;
//! result backpressure; and the host-side checks of `AccelSim::run`.
//! Performance figures (utilization, memory floor, weight reuse) are in
//! tests/accel_perf.rs.

mod common;

use std::cell::RefCell;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tritium_golden::image::{base3_unpack, unpack_word};
use tritium_golden::{SplitMix64, WeightFormat};
use tritium_sim::{
    AccelSim, AccelSimConfig, Job, MemoryConfig, RunSpec, SimError, ACC2, ACC3, ACCEL_CONFIGS,
    KV260, KV260_2BIT,
};

/// One random case: shapes, values and memory timing.
#[derive(Debug, Clone)]
struct Case {
    /// Rows of each run's matrix (all share `k` and the activation load).
    ns: Vec<usize>,
    k: usize,
    tokens: usize,
    /// Extreme values: activations -128 / 127 and weights +-1 only.
    extreme: bool,
    zeros: f64,
    bytes_per_cycle: f64,
    latency: u32,
    trace: bool,
    seed: u64,
}

/// Cases for `cfg`: up to `max_tiles` tiles per run, K up to `max_k`.
fn cases(
    cfg: &'static AccelSimConfig,
    max_tiles: usize,
    max_k: usize,
) -> impl Strategy<Value = Case> {
    let (cols, bus) = (cfg.array.cols, cfg.bus_bytes as f64);
    (
        prop::collection::vec(1..=max_tiles * cols, 1..=3),
        1..=max_k,
        1..=cfg.tokens,
        any::<bool>(),
        0.0..0.8f64,
        // From a tenth of the bus to the full bus, fractional.
        (bus / 10.0).max(0.05)..=bus,
        1u32..=24,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(ns, k, tokens, extreme, zeros, bytes_per_cycle, latency, trace, seed)| Case {
                ns,
                k,
                tokens,
                extreme,
                zeros,
                bytes_per_cycle,
                latency,
                trace,
                seed,
            },
        )
}

/// Runs `case` on `sim` (reset first): one job that loads the activations
/// and runs every matrix, then a second job that reuses the buffer for the
/// first matrix. Every result and counter is checked. Returns the cycles
/// of both jobs.
fn run_case(sim: &mut AccelSim, case: &Case) -> u64 {
    let cfg = sim.config();
    let mut rng = SplitMix64::new(case.seed);
    let ws: Vec<_> = case
        .ns
        .iter()
        .map(|&n| {
            if case.extreme {
                dense_matrix(n, case.k, &mut rng)
            } else {
                matrix(n, case.k, case.zeros, &mut rng)
            }
        })
        .collect();
    let x = if case.extreme {
        extreme_acts(case.tokens, case.k, &mut rng)
    } else {
        acts(case.tokens, case.k, &mut rng)
    };
    let mem = MemoryConfig {
        bytes_per_cycle: case.bytes_per_cycle,
        latency: case.latency,
    };
    sim.reset().unwrap();
    let d = JobData::new(cfg, &ws, &x, case.tokens, 0, case.k);
    let runs = d.runs();
    let what = format!("{} {case:?}", cfg.name);
    let r = sim
        .run(&d.job(&runs, false, case.trace), &mem)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    check_job(cfg, &d, &ws, &x, &r, &what);

    // The buffer still holds the activations: reuse it for the first matrix.
    let d1 = JobData::new(cfg, &ws[..1], &x, case.tokens, 0, case.k);
    let runs1 = d1.runs();
    let r1 = sim
        .run(&d1.job(&runs1, true, false), &mem)
        .unwrap_or_else(|e| panic!("{what} (reuse): {e}"));
    assert_eq!(r1.load_cycles, 0);
    check_job(cfg, &d1, &ws[..1], &x, &r1, &format!("{what} (reuse)"));
    r.cycles + r1.cycles
}

fn property(cfg: &'static AccelSimConfig, cases_n: u32, max_tiles: usize, max_k: usize) {
    let sim = RefCell::new(AccelSim::new(cfg).unwrap());
    let (cases_run, cycles) = (RefCell::new(0u32), RefCell::new(0u64));
    let mut runner = TestRunner::new(Config {
        cases: cases_n,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&cases(cfg, max_tiles, max_k), |case| {
            *cycles.borrow_mut() += run_case(&mut sim.borrow_mut(), &case);
            *cases_run.borrow_mut() += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(*cases_run.borrow(), cases_n);
    println!(
        "{}: {cases_n} cases, {} simulated cycles",
        cfg.name,
        cycles.borrow()
    );
}

/// acc2: 2-bit weights, two words per bus beat (the serializer). K up to
/// 128 = KMax (26 beats, the last one ragged).
#[test]
fn acc2_2bit_serializer_matches_the_matrix() {
    property(&ACC2, 128, 4, 128);
}

/// acc3: base-3 weights, two bus beats per word (the deserializer).
#[test]
fn acc3_base3_deserializer_matches_the_matrix() {
    property(&ACC3, 128, 4, 128);
}

/// The KV260-class models, a few tiny cases each (64 columns: rows past n
/// are padding in every tile).
#[test]
fn kv260_both_formats_match_the_matrix() {
    property(&KV260, 6, 2, 40);
    property(&KV260_2BIT, 6, 2, 40);
}

/// The accumulator's extreme: K = KMax, every weight -1, every activation
/// -128 (+128 * KMax, the positive extreme the width is sized for) and the
/// negative one, for every token row (two of the 16 of the KV260 models,
/// whose tiles of KMax = 8192 are 1639 or 2048 words), in every column.
#[test]
fn worst_case_accumulator() {
    for cfg in ACCEL_CONFIGS {
        let mut sim = AccelSim::new(cfg).unwrap();
        let tokens = if cfg.array.cols > 4 { 2 } else { cfg.tokens };
        let (n, k) = (cfg.array.cols, cfg.array.k_max);
        let minus =
            tritium_golden::TernaryMatrix::from_ternary("w", n, k, &vec![-1; n * k], 1.0).unwrap();
        let plus =
            tritium_golden::TernaryMatrix::from_ternary("w", n, k, &vec![1; n * k], 1.0).unwrap();
        let x = vec![-128i8; tokens * k];
        let d = JobData::new(cfg, &[minus.clone(), plus.clone()], &x, tokens, 0, k);
        let runs = d.runs();
        let r = sim
            .run(
                &d.job(&runs, false, false),
                &MemoryConfig::full_rate(cfg.bus_bytes),
            )
            .unwrap();
        let top = 128 * k as i32;
        assert_eq!(r.runs[0].results, vec![top; tokens * n], "{}", cfg.name);
        assert_eq!(r.runs[1].results, vec![-top; tokens * n], "{}", cfg.name);
        check_job(cfg, &d, &[minus, plus], &x, &r, cfg.name);
    }
}

/// Activations 1, 3, 9, 27, 81 make a column's result the balanced-ternary
/// number of its five weights, so the weights can be read back from it.
const POW3: [i8; 5] = [1, 3, 9, 27, 81];

/// The five weights of a result computed with [`POW3`] activations.
fn weights_of(mut v: i32) -> [i8; 5] {
    let mut w = [0i8; 5];
    for d in &mut w {
        let r = v.rem_euclid(3);
        *d = if r == 2 { -1 } else { r as i8 };
        v = (v - i32::from(*d)) / 3;
    }
    assert_eq!(v, 0);
    w
}

/// Golden's weight of a code (the invalid code 3 counts as 0, as in the RTL).
fn weight_of_code(c: u8) -> i8 {
    match c {
        0 => -1,
        2 => 1,
        _ => 0,
    }
}

/// Runs one word per tile (one beat, one token, activations [`POW3`]) and
/// returns the weights the RTL applied, per word, column-major (code index
/// `c * lanes + l`), and the error flags.
fn applied_weights(
    sim: &mut AccelSim,
    words: &[Vec<u8>],
) -> (Vec<Vec<i8>>, tritium_sim::AccelErrors) {
    let cfg = sim.config();
    let (cols, lanes) = (cfg.array.cols, cfg.array.lanes);
    assert_eq!(lanes, 5);
    let mut image: Vec<u8> = words.concat();
    image.resize(cfg.run_bytes(words.len()), cfg.format.zero_byte());
    sim.reset().unwrap();
    let runs = [RunSpec {
        tiles: words.len(),
        image: &image,
    }];
    let job = Job {
        tokens: 1,
        beats: 1,
        acts: &POW3,
        runs: &runs,
        trace: false,
    };
    let r = sim
        .run(&job, &MemoryConfig::full_rate(cfg.bus_bytes))
        .unwrap();
    let weights = r.runs[0]
        .results
        .chunks(cols)
        .map(|res| res.iter().flat_map(|&v| weights_of(v)).collect())
        .collect();
    (weights, r.errors)
}

/// Every byte value through the RTL decoder of both formats, checked
/// against golden's `unpack_word`: byte `b` at position `b mod used bytes`
/// of a word whose other bytes are the zero byte, all 256 words in one run;
/// then each byte alone (after a reset) for the error flag, which is set
/// exactly for the invalid ones: 2-bit bytes with a code 3 (175 of them),
/// base-3 bytes 243..=255 (13).
#[test]
fn decoders_match_golden_for_every_byte() {
    for cfg in [&ACC2, &ACC3] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let used = cfg.packed_word_bytes();
        let word = |b: u8, at: usize| {
            let mut w = vec![cfg.format.zero_byte(); cfg.word_bytes];
            w[at] = b;
            w
        };
        let golden = |w: &[u8]| -> Vec<i8> {
            unpack_word(w, cfg)
                .unwrap()
                .into_iter()
                .map(weight_of_code)
                .collect()
        };
        let words: Vec<Vec<u8>> = (0..=255u8).map(|b| word(b, b as usize % used)).collect();
        let (got, _) = applied_weights(&mut sim, &words);
        for (b, (w, g)) in words.iter().zip(&got).enumerate() {
            assert_eq!(g, &golden(w), "{}: byte {b} at {}", cfg.name, b % used);
        }
        let mut invalid = 0;
        for b in 0..=255u8 {
            let w = word(b, used - 1);
            let (got, err) = applied_weights(&mut sim, std::slice::from_ref(&w));
            assert_eq!(got[0], golden(&w), "{}: byte {b}", cfg.name);
            let bad = match cfg.format {
                WeightFormat::TwoBit => (0..4).any(|d| (b >> (2 * d)) & 3 == 3),
                WeightFormat::Base3 => base3_unpack(b).is_none(),
            };
            assert_eq!(err.code, bad, "{}: err_code for byte {b}", cfg.name);
            assert!(!err.last && !err.load && !err.cmd, "{}: {err:?}", cfg.name);
            invalid += usize::from(bad);
        }
        let want = match cfg.format {
            WeightFormat::TwoBit => 256 - 81,
            WeightFormat::Base3 => 13,
        };
        assert_eq!(invalid, want, "{}", cfg.name);
    }
}

/// A random two-run job on `cfg` with `tokens` rows.
fn small_job(
    cfg: &AccelSimConfig,
    tokens: usize,
    seed: u64,
) -> (JobData, Vec<tritium_golden::TernaryMatrix>, Vec<i8>) {
    let mut rng = SplitMix64::new(seed);
    let k = 3 * cfg.array.lanes + 2;
    let ws = vec![
        matrix(3 * cfg.array.cols - 1, k, 0.3, &mut rng),
        matrix(cfg.array.cols + 1, k, 0.3, &mut rng),
    ];
    let x = acts(tokens, k, &mut rng);
    let d = JobData::new(cfg, &ws, &x, tokens, 0, k);
    (d, ws, x)
}

/// An invalid weight in a used position sets err_code_o; the run completes
/// with the invalid weights counted as 0 (as golden's image reference does).
/// An invalid byte in padding (the unused second word of acc2's final bus
/// beat) is never decoded and sets nothing.
#[test]
fn invalid_weight_sets_err_code_and_counts_as_zero() {
    for cfg in [&ACC2, &ACC3] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let (mut d, _, _) = small_job(cfg, 2, 7);
        let bad = match cfg.format {
            WeightFormat::TwoBit => 0xff,
            WeightFormat::Base3 => 250,
        };
        d.images[0][cfg.word_bytes + 1] = bad;
        let runs = d.runs();
        let r = sim
            .run(
                &d.job(&runs, false, false),
                &MemoryConfig::full_rate(cfg.bus_bytes),
            )
            .unwrap();
        assert!(r.errors.code, "{}: {:?}", cfg.name, r.errors);
        assert!(!r.errors.last && !r.errors.load && !r.errors.cmd);
        for (i, run) in r.runs.iter().enumerate() {
            let img = tritium_sim::reference::accel_run(
                cfg,
                d.tokens,
                d.beats,
                &d.acts,
                d.tiles[i],
                &d.images[i],
            )
            .unwrap();
            assert_eq!(run.results, img.results, "{} run {i}", cfg.name);
            if i == 0 {
                assert!(img.invalid > 0);
            }
        }
    }
    // acc2: 2 words per beat; a run of an odd number of words (here one
    // tile of 3 beats) ends in a beat whose second word is padding.
    let cfg = &ACC2;
    let mut sim = AccelSim::new(cfg).unwrap();
    let mut rng = SplitMix64::new(9);
    let k = 3 * cfg.array.lanes;
    let ws = vec![matrix(cfg.array.cols, k, 0.3, &mut rng)];
    let x = acts(2, k, &mut rng);
    let mut d = JobData::new(cfg, &ws, &x, 2, 0, k);
    assert_eq!(d.tiles[0] * d.beats, 3);
    assert_eq!(d.images[0].len(), 4 * cfg.word_bytes);
    let pad = 3 * cfg.word_bytes;
    d.images[0][pad..].fill(0xff);
    let runs = d.runs();
    let r = sim
        .run(
            &d.job(&runs, false, false),
            &MemoryConfig::full_rate(cfg.bus_bytes),
        )
        .unwrap();
    check_job(
        cfg,
        &d,
        &ws,
        &x,
        &r,
        "acc2: a padding word of invalid bytes",
    );
}

/// A load offered while a run issues waits (ld_ready_o low: the run reads
/// the buffer) and is accepted once the run has issued its last word; the
/// run's results are untouched by it.
#[test]
fn a_load_waits_while_a_run_issues() {
    let cfg = &ACC2;
    let mut sim = AccelSim::new(cfg).unwrap();
    let (d, ws, x) = small_job(cfg, 2, 19);
    let want = expected(cfg, &ws[0], &x, d.tokens, 0, ws[0].k());
    load_only(&mut sim, &d);
    let n = d.images[0].len() / cfg.bus_bytes;
    let beats = bus_beats(&d.images[0], cfg.bus_bytes, Some(n - 1));
    let cmd = (d.tiles[0] as u32, d.beats as u32, d.tokens as u32);
    // From the command's cycle on, a word of a new load is offered and held:
    // written during the run, it would change the activations read.
    let before = sim.counters().act_writes;
    sim.set_load(true, &vec![7i8; cfg.array.lanes], false)
        .unwrap();
    let res = drive_raw(&mut sim, cmd, &beats, want.len() / cfg.array.cols, 10_000).unwrap();
    assert_eq!(res.concat(), want);
    assert!(
        sim.counters().act_writes > before,
        "the load was never accepted"
    );
    let e = sim.errors();
    assert!(!e.code && !e.last && !e.cmd && !e.load, "{e:?}");
    sim.reset().unwrap();
}

/// w_last_i missing, or one beat early, sets err_last_o; the front end
/// counts words itself, so the results are still right. On the right beat
/// nothing is set.
#[test]
fn misplaced_w_last_sets_err_last() {
    for cfg in [&ACC2, &ACC3] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let (d, ws, x) = small_job(cfg, 2, 11);
        let want = expected(cfg, &ws[0], &x, d.tokens, 0, ws[0].k());
        let n_beats = d.images[0].len() / cfg.bus_bytes;
        for (last_at, bad) in [
            (Some(n_beats - 1), false),
            (None, true),
            (Some(n_beats - 2), true),
        ] {
            sim.reset().unwrap();
            load_only(&mut sim, &d);
            let beats = bus_beats(&d.images[0], cfg.bus_bytes, last_at);
            let cmd = (d.tiles[0] as u32, d.beats as u32, d.tokens as u32);
            let res =
                drive_raw(&mut sim, cmd, &beats, want.len() / cfg.array.cols, 10_000).unwrap();
            assert_eq!(res.concat(), want, "{} last at {last_at:?}", cfg.name);
            let e = sim.errors();
            assert_eq!(e.last, bad, "{} last at {last_at:?}: {e:?}", cfg.name);
            assert!(!e.code && !e.load && !e.cmd, "{e:?}");
            assert!(!sim.outputs().busy);
        }
    }
}

/// A command out of range is accepted, dropped (nothing runs) and sets
/// err_cmd_o; the accelerator then runs a good job as usual (the flag
/// stays set until reset).
#[test]
fn bad_command_sets_err_cmd() {
    let cfg = &ACC2;
    let mut sim = AccelSim::new(cfg).unwrap();
    let (kb, t) = (cfg.array.max_beats() as u32, cfg.tokens as u32);
    for cmd in [
        (0, 1, 1),
        (1, 0, 1),
        (1, kb + 1, 1),
        (1, 1, 0),
        (1, 1, t + 1),
        (1, u32::MAX, u32::MAX),
    ] {
        sim.reset().unwrap();
        let res = drive_raw(&mut sim, cmd, &[], 1, 20).unwrap();
        assert!(res.is_empty(), "{cmd:?}");
        let o = sim.outputs();
        assert!(o.errors.cmd && o.cmd_ready && !o.busy, "{cmd:?}: {o:?}");
        assert_eq!(sim.counters().busy, 0);
        let (d, ws, x) = small_job(cfg, 2, 12);
        let runs = d.runs();
        let r = sim
            .run(
                &d.job(&runs, false, false),
                &MemoryConfig::full_rate(cfg.bus_bytes),
            )
            .unwrap();
        assert!(r.errors.cmd && !r.errors.code && !r.errors.last && !r.errors.load);
        for (i, w) in ws.iter().enumerate() {
            assert_eq!(r.runs[i].results, expected(cfg, w, &x, 2, 0, w.k()));
        }
    }
}

/// A run that reads fewer or more words than the last load holds, or a
/// load past the buffer, sets err_load_o.
#[test]
fn load_mismatch_sets_err_load() {
    let cfg = &ACC3;
    let mut sim = AccelSim::new(cfg).unwrap();
    let mut rng = SplitMix64::new(13);
    let lanes = cfg.array.lanes;
    let w = matrix(cfg.array.cols, 3 * lanes, 0.3, &mut rng);
    let x = acts(2, 3 * lanes, &mut rng);
    // Loaded: 2 tokens x 3 beats = 6 words.
    let d = JobData::new(cfg, std::slice::from_ref(&w), &x, 2, 0, 3 * lanes);
    for (beats, bad) in [(3u32, false), (2, true)] {
        sim.reset().unwrap();
        load_only(&mut sim, &d);
        let image = &d.images[0][..cfg.run_bytes(beats as usize)];
        let bb = bus_beats(image, cfg.bus_bytes, Some(image.len() / cfg.bus_bytes - 1));
        let res = drive_raw(&mut sim, (1, beats, 2), &bb, 2, 1000).unwrap();
        assert_eq!(res.len(), 2);
        let e = sim.errors();
        assert_eq!(e.load, bad, "run of {beats} beats: {e:?}");
        assert!(!e.code && !e.last && !e.cmd, "{e:?}");
    }
    // Loaded: 2 tokens x 2 beats = 4 words; the run reads 6.
    let d2 = JobData::new(cfg, std::slice::from_ref(&w), &x, 2, 0, 2 * lanes);
    sim.reset().unwrap();
    load_only(&mut sim, &d2);
    let bb = bus_beats(
        &d.images[0],
        cfg.bus_bytes,
        Some(d.images[0].len() / cfg.bus_bytes - 1),
    );
    drive_raw(&mut sim, (1, 3, 2), &bb, 2, 1000).unwrap();
    assert!(sim.errors().load);
    // A load one word longer than the buffer.
    sim.reset().unwrap();
    let depth = cfg.act_depth();
    let word = vec![1i8; lanes];
    let mut n = 0;
    while n <= depth {
        sim.set_load(true, &word, n == depth).unwrap();
        if sim.tick().unwrap().ld_ready {
            n += 1;
        }
    }
    sim.idle_inputs();
    sim.tick().unwrap();
    assert!(sim.errors().load);
    assert_eq!(
        sim.counters().act_writes,
        depth as u64,
        "the extra word is dropped"
    );
}

/// Results taken one cycle in eight (slower than a tile of 4 beats x TMax
/// issues makes them): the same results, and the issue side
/// waits for result room (res_stall) instead of losing anything.
#[test]
fn result_backpressure_keeps_results() {
    for cfg in [&ACC2, &ACC3] {
        let mut sim = AccelSim::new(cfg).unwrap();
        let (d, ws, x) = small_job(cfg, cfg.tokens, 14);
        let runs = d.runs();
        let mem = MemoryConfig::full_rate(cfg.bus_bytes);
        sim.set_result_backpressure(8);
        let r = sim.run(&d.job(&runs, false, true), &mem).unwrap();
        check_job(cfg, &d, &ws, &x, &r, &format!("{} backpressure", cfg.name));
        assert!(
            r.counters.res_stall > 0,
            "{}: {}",
            cfg.name,
            summary(cfg.name, &r)
        );
        println!("{}", summary(cfg.name, &r));
        sim.set_result_backpressure(1);
        let r1 = sim.run(&d.job(&runs, true, false), &mem).unwrap();
        assert_eq!(r1.counters.res_stall, 0);
        assert!(r1.cycles < r.cycles);
    }
}

/// Bad sizes are refused before anything is driven, with the error naming
/// what is wrong; none panics, and the model runs a good job afterwards.
#[test]
fn run_refuses_bad_sizes() {
    let cfg = &ACC2;
    let mut sim = AccelSim::new(cfg).unwrap();
    let (d, _, _) = small_job(cfg, 2, 15);
    let runs = d.runs();
    let good = d.job(&runs, false, false);
    let mem = MemoryConfig::full_rate(cfg.bus_bytes);
    let max_beats = cfg.array.max_beats();
    let short = &d.images[0][..d.images[0].len() - cfg.bus_bytes];
    let short_runs = [RunSpec {
        tiles: d.tiles[0],
        image: short,
    }];
    let zero_tiles = [RunSpec {
        tiles: 0,
        image: &d.images[0],
    }];
    let huge_tiles = [RunSpec {
        tiles: usize::MAX,
        image: &d.images[0],
    }];
    let bad_jobs: Vec<(&str, Job, MemoryConfig)> = vec![
        ("tokens 0", Job { tokens: 0, ..good }, mem),
        (
            "tokens > TMax",
            Job {
                tokens: cfg.tokens + 1,
                ..good
            },
            mem,
        ),
        ("beats 0", Job { beats: 0, ..good }, mem),
        (
            "beats > max",
            Job {
                beats: max_beats + 1,
                ..good
            },
            mem,
        ),
        (
            "acts length",
            Job {
                acts: &d.acts[1..],
                ..good
            },
            mem,
        ),
        ("reuse without a load", Job { acts: &[], ..good }, mem),
        (
            "image length",
            Job {
                runs: &short_runs,
                ..good
            },
            mem,
        ),
        (
            "tiles 0",
            Job {
                runs: &zero_tiles,
                ..good
            },
            mem,
        ),
        (
            "tiles huge",
            Job {
                runs: &huge_tiles,
                ..good
            },
            mem,
        ),
        (
            "bandwidth 0",
            good,
            MemoryConfig {
                bytes_per_cycle: 0.0,
                latency: 1,
            },
        ),
        (
            "bandwidth NaN",
            good,
            MemoryConfig {
                bytes_per_cycle: f64::NAN,
                latency: 1,
            },
        ),
        (
            "bandwidth > bus",
            good,
            MemoryConfig {
                bytes_per_cycle: 10.5,
                latency: 1,
            },
        ),
        (
            "latency 0",
            good,
            MemoryConfig {
                bytes_per_cycle: 1.0,
                latency: 0,
            },
        ),
    ];
    for (what, job, m) in &bad_jobs {
        let c0 = sim.cycle();
        let e = sim.run(job, m).unwrap_err();
        assert!(
            matches!(
                e,
                SimError::OutOfRange { .. }
                    | SimError::Shape { .. }
                    | SimError::BufferMismatch { .. }
                    | SimError::ImageLength { .. }
                    | SimError::Memory(_)
            ),
            "{what}: {e:?}"
        );
        println!("{what}: {e}");
        assert_eq!(sim.cycle(), c0, "{what}: nothing is driven");
    }
    // Reuse with a load of a different size.
    sim.run(&good, &mem).unwrap();
    let other = Job {
        tokens: 1,
        acts: &[],
        runs: &[],
        ..good
    };
    let e = sim.run(&other, &mem).unwrap_err();
    assert_eq!(
        e,
        SimError::BufferMismatch {
            loaded: Some(2 * d.beats),
            needed: d.beats
        }
    );
    // Not idle: a command is running (no weights come).
    drive_raw(&mut sim, (1, d.beats as u32, 2), &[], 1, 5).unwrap();
    assert!(sim.outputs().busy);
    assert!(matches!(sim.run(&good, &mem), Err(SimError::Protocol(_))));
    sim.reset().unwrap();
    let r = sim.run(&good, &mem).unwrap();
    assert!(r.errors.none());
}

/// rtl/lint.sh lints tri_accel in every configuration that is built.
#[test]
fn lint_covers_every_accel_config() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../rtl/lint.sh");
    let lint = std::fs::read_to_string(path).unwrap();
    for c in ACCEL_CONFIGS {
        let a = &c.array;
        let params = format!(
            "\"{} {} {} {} {} {} {}\"",
            a.cols,
            a.lanes,
            a.k_max,
            c.tokens,
            c.bus_bytes,
            c.format.sv_value(),
            c.word_bytes
        );
        assert!(
            lint.contains(&params),
            "{}: {params} not in rtl/lint.sh",
            c.name
        );
    }
}
