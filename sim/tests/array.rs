//! Runs the Verilator model of tri_mac_array (both configurations) against
//! a plain Rust reference, and checks the protocol, counters, error
//! reporting, waveforms and thread independence.

use std::cell::RefCell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tritium_sim::reference::{self, add_skip_counts, prefix_sums, tile_result};
use tritium_sim::{tile_beats, ArraySim, SimConfig, SimError, TileOptions, CONFIGS, LARGE, SMALL};

type Beats = (Vec<Vec<u8>>, Vec<Vec<i8>>);

/// Deterministic pseudo-random tiles (tritium's SplitMix64), for tests
/// that are not property tests.
struct Rng(tritium_golden::SplitMix64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(tritium_golden::SplitMix64::new(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn tile(&mut self, cfg: &SimConfig, beats: usize) -> Beats {
        let w = (0..beats)
            .map(|_| {
                (0..cfg.cols * cfg.lanes)
                    .map(|_| (self.next() % 3) as u8)
                    .collect()
            })
            .collect();
        let a = (0..beats)
            .map(|_| (0..cfg.lanes).map(|_| self.next() as i8).collect())
            .collect();
        (w, a)
    }
}

fn beats_strategy(cfg: &'static SimConfig, max_beats: usize) -> impl Strategy<Value = Beats> {
    (1..=max_beats).prop_flat_map(move |n| {
        (
            prop::collection::vec(prop::collection::vec(0u8..3, cfg.cols * cfg.lanes), n),
            prop::collection::vec(prop::collection::vec(any::<i8>(), cfg.lanes), n),
        )
    })
}

/// `sum_k t[r][k] * a[k]`, straight from rows (no beats, no padding).
fn dot_rows(rows: &[Vec<i8>], acts: &[i8]) -> Vec<i32> {
    rows.iter()
        .map(|r| {
            r.iter()
                .zip(acts)
                .map(|(&t, &a)| i32::from(t) * i32::from(a))
                .sum()
        })
        .collect()
}

#[test]
fn hand_worked_tile() {
    let cfg = &SMALL;
    assert_eq!((cfg.cols, cfg.lanes), (4, 8));
    let mut sim = ArraySim::new(cfg).unwrap();
    // Codes: 0 = -1, 1 = 0, 2 = +1; column c, lane l at c * 8 + l.
    let mut w0 = Vec::new();
    w0.extend([2u8; 8]); // column 0: all +1
    w0.extend([0u8; 8]); // column 1: all -1
    w0.extend([1u8; 8]); // column 2: all 0
    w0.extend([2u8, 0, 2, 0, 2, 0, 2, 0]); // column 3: +1, -1, ...
    let a0: Vec<i8> = (1..=8).collect();
    let mut w1 = Vec::new();
    w1.extend([2u8, 1, 1, 1, 1, 1, 1, 1]); // column 0: lane 0 only
    w1.extend([0u8; 8]);
    w1.extend([1u8; 8]);
    w1.extend([2u8, 2, 2, 2, 0, 0, 0, 0]);
    let a1 = vec![-128i8; 8];
    // Beat 0: 1+..+8 = 36 | -36 | 0 | 1-2+3-4+5-6+7-8 = -4
    // Beat 1: -128 | 8 * 128 = 1024 | 0 | 4 * -128 - 4 * -128 = 0
    let expected = [36 - 128, -36 + 1024, 0, -4];

    let before = sim.counters();
    let mut out = [0i32; 4];
    let report = sim
        .run_tile(&[w0, w1], &[a0, a1], &mut out)
        .expect("tile runs");
    assert_eq!(out, expected);
    // Back-to-back beats from the first cycle, result after the last one.
    assert_eq!(report.accept_cycles, vec![0, 1]);
    assert!(report.latency >= 1, "{report:?}");
    assert_eq!(report.cycles, report.result_cycle + 1);
    let c = sim.counters();
    assert_eq!(c.busy - before.busy, 2);
    // adds: beat 0: 8 + 8 + 0 + 8, beat 1: 1 + 8 + 0 + 8
    assert_eq!(c.adds - before.adds, 24 + 17);
    assert_eq!(c.skips - before.skips, 8 + 15);
    assert_eq!(c.cycles - before.cycles, report.cycles);
    assert!(!sim.err_code());
    sim.check().unwrap();
    println!("hand-worked tile: {report:?}");
}

/// Random tiles against the reference; counters alongside. `cases` tiles on
/// one model.
fn random_tiles(cfg: &'static SimConfig, cases: u32, max_beats: usize) {
    let sim = RefCell::new(ArraySim::new(cfg).unwrap());
    let mut runner = TestRunner::new(Config::with_cases(cases));
    runner
        .run(&beats_strategy(cfg, max_beats), |(w, a)| {
            let mut sim = sim.borrow_mut();
            let before = sim.counters();
            let mut out = vec![0i32; cfg.cols];
            let report = sim
                .run_tile(&w, &a, &mut out)
                .map_err(|e| TestCaseError::fail(format!("{e}")))?;
            prop_assert_eq!(&out, &tile_result(cfg, &w, &a));
            prop_assert_eq!(report.accept_cycles.len(), w.len());
            let c = sim.counters();
            let (adds, skips) = add_skip_counts(&w);
            prop_assert_eq!(c.busy - before.busy, w.len() as u64);
            prop_assert_eq!(c.adds - before.adds, adds);
            prop_assert_eq!(c.skips - before.skips, skips);
            prop_assert_eq!(
                (c.adds - before.adds) + (c.skips - before.skips),
                (cfg.cols * cfg.lanes * w.len()) as u64
            );
            prop_assert_eq!(c.cycles - before.cycles, report.cycles);
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_tiles_small() {
    random_tiles(&SMALL, 48, 12);
}

#[test]
fn random_tiles_large() {
    random_tiles(&LARGE, 16, 6);
}

/// K not a multiple of Lanes, fewer rows than Cols: host padding (code 1,
/// activation 0) must not change results; padded lanes count as skips.
#[test]
fn ragged_tiles_via_host_padding() {
    for cfg in CONFIGS {
        let sim = RefCell::new(ArraySim::new(cfg).unwrap());
        let strategy = (1..=cfg.cols, 1..=3 * cfg.lanes + 5).prop_flat_map(|(rows, k)| {
            (
                prop::collection::vec(prop::collection::vec(-1i8..=1, k), rows),
                prop::collection::vec(any::<i8>(), k),
            )
        });
        let mut runner = TestRunner::new(Config::with_cases(if cfg.cols > 4 { 8 } else { 24 }));
        runner
            .run(&strategy, |(rows, acts)| {
                let mut sim = sim.borrow_mut();
                let (w, a) = tile_beats(cfg, &rows, &acts).unwrap();
                prop_assert_eq!(w.len(), acts.len().div_ceil(cfg.lanes));
                let before = sim.counters();
                let mut out = vec![0i32; cfg.cols];
                sim.run_tile(&w, &a, &mut out)
                    .map_err(|e| TestCaseError::fail(format!("{e}")))?;
                let want = dot_rows(&rows, &acts);
                prop_assert_eq!(&out[..rows.len()], &want[..]);
                prop_assert!(out[rows.len()..].iter().all(|&x| x == 0));
                let c = sim.counters();
                let zeros: usize = rows.iter().flatten().filter(|&&t| t == 0).count();
                let padded = cfg.cols * cfg.lanes * w.len() - rows.len() * acts.len();
                prop_assert_eq!(c.skips - before.skips, (zeros + padded) as u64);
                Ok(())
            })
            .unwrap();
    }
}

/// The extremes the accumulator must hold: K = k_max with all weights +1
/// (or -1) and all activations -128, for both configurations; then the
/// same with a ragged last beat (K = k_max - 3).
#[test]
fn worst_case_magnitudes() {
    for cfg in CONFIGS {
        let mut sim = ArraySim::new(cfg).unwrap();
        let beats = cfg.max_beats();
        let a = vec![vec![-128i8; cfg.lanes]; beats];
        let mut out = vec![0i32; cfg.cols];
        for (code, want) in [
            (2u8, -128 * cfg.k_max as i32),
            (0u8, 128 * cfg.k_max as i32),
        ] {
            let w = vec![vec![code; cfg.cols * cfg.lanes]; beats];
            let report = sim.run_tile(&w, &a, &mut out).unwrap();
            assert!(
                out.iter().all(|&x| x == want),
                "{}: {out:?} != {want}",
                cfg.name
            );
            assert_eq!(report.accept_cycles.len(), beats);
            // Back to back: one beat per cycle.
            let acc = &report.accept_cycles;
            assert_eq!(acc[beats - 1] - acc[0], beats as u64 - 1);
        }
        // Mixed signs per column: +1 and -1 columns side by side.
        let w: Vec<Vec<u8>> = (0..beats)
            .map(|_| {
                (0..cfg.cols * cfg.lanes)
                    .map(|i| if (i / cfg.lanes) % 2 == 0 { 0 } else { 2 })
                    .collect()
            })
            .collect();
        sim.run_tile(&w, &a, &mut out).unwrap();
        for (c, &x) in out.iter().enumerate() {
            let want = if c % 2 == 0 { 1 } else { -1 } * 128 * cfg.k_max as i32;
            assert_eq!(x, want, "{} column {c}", cfg.name);
        }
        // The other activation extreme, 127, on every lane: -127 * KMax.
        let w = vec![vec![0u8; cfg.cols * cfg.lanes]; beats];
        let a127 = vec![vec![127i8; cfg.lanes]; beats];
        sim.run_tile(&w, &a127, &mut out).unwrap();
        assert!(out.iter().all(|&x| x == -127 * cfg.k_max as i32), "{out:?}");
        // Ragged: K = k_max - 3, weights -1, activations -128.
        let k = cfg.k_max - 3;
        let rows = vec![vec![-1i8; k]; cfg.cols];
        let (w, a) = tile_beats(cfg, &rows, &vec![-128i8; k]).unwrap();
        sim.run_tile(&w, &a, &mut out).unwrap();
        assert!(out.iter().all(|&x| x == 128 * k as i32), "{out:?}");
        sim.check().unwrap();
    }
}

#[test]
fn result_backpressure() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let (w, a) = Rng::new(7).tile(cfg, 5);
    let want = tile_result(cfg, &w, &a);

    // Through run_tile_with: the result waits 37 cycles, then is taken.
    let before = sim.counters();
    let mut out = vec![0i32; cfg.cols];
    let opts = TileOptions {
        result_ready_delay: 37,
        ..TileOptions::default()
    };
    let report = sim.run_tile_with(&w, &a, &mut out, &opts).unwrap();
    assert_eq!(out, want);
    assert_eq!(report.cycles, report.result_cycle + 37 + 1);
    assert!(sim.counters().stalls - before.stalls >= 37);

    // By hand: hold r_ready low for 50 cycles, result and r_valid stable,
    // inputs not ready, a waiting beat of the next tile not accepted.
    let before = sim.counters();
    for (j, (wb, ab)) in w.iter().zip(&a).enumerate() {
        sim.set_weights(true, wb).unwrap();
        sim.set_acts(true, ab, j == w.len() - 1).unwrap();
        let e = sim.tick().unwrap();
        assert!(e.w_ready && e.a_ready, "beat {j} not accepted at once");
    }
    sim.set_valids(false, false, false);
    let mut waited = 0;
    while !sim.r_valid() {
        sim.tick().unwrap();
        waited += 1;
        assert!(waited < 100, "no result");
    }
    let mut first = vec![0i32; cfg.cols];
    sim.result(&mut first).unwrap();
    assert_eq!(first, want);
    // Offer the next tile's first beat while the result is pending.
    let (w2, a2) = Rng::new(8).tile(cfg, 1);
    sim.set_weights(true, &w2[0]).unwrap();
    sim.set_acts(true, &a2[0], true).unwrap();
    sim.set_result_ready(false);
    let mut now = vec![0i32; cfg.cols];
    let mut acc = vec![0i32; cfg.cols];
    for _ in 0..50 {
        let e = sim.tick().unwrap();
        assert!(e.r_valid && !e.w_ready && !e.a_ready);
        sim.result(&mut now).unwrap();
        sim.acc(&mut acc).unwrap();
        assert_eq!(now, first);
        assert_eq!(acc, first, "acc_o == r_data_o while the result is pending");
    }
    let c = sim.counters();
    assert_eq!(c.busy - before.busy, w.len() as u64);
    assert!(c.stalls - before.stalls >= 50);
    // Take the result; the waiting beat is accepted afterwards.
    sim.set_result_ready(true);
    assert!(sim.tick().unwrap().r_valid);
    sim.set_result_ready(false);
    let mut accepted = false;
    for _ in 0..5 {
        let e = sim.tick().unwrap();
        if e.w_ready && e.a_ready {
            accepted = true;
            break;
        }
    }
    assert!(accepted, "beat not accepted after the result was taken");
    sim.set_valids(false, false, false);
    let mut waited = 0;
    while !sim.r_valid() {
        sim.tick().unwrap();
        waited += 1;
        assert!(waited < 100);
    }
    sim.result(&mut now).unwrap();
    assert_eq!(now, tile_result(cfg, &w2, &a2));
    sim.set_result_ready(true);
    sim.tick().unwrap();
    sim.set_result_ready(false);
    sim.check().unwrap();
}

/// The handshake corners: one input stream valid without the other (no
/// beat until both are), `cnt_clear_i` in the cycle of an accepted beat
/// (not counted), `clear_i` dropping a pending result, and a tile right
/// after the result handshake of the one before.
#[test]
fn handshake_corners() {
    for cfg in CONFIGS {
        let mut sim = ArraySim::new(cfg).unwrap();
        let (w, a) = Rng::new(17).tile(cfg, 3);
        // Weights two cycles ahead of the activations, then both.
        sim.set_weights(true, &w[0]).unwrap();
        sim.set_acts(false, &a[0], false).unwrap();
        for _ in 0..2 {
            let e = sim.tick().unwrap();
            assert!(e.w_ready, "ready while no result is pending");
        }
        sim.set_acts(true, &a[0], false).unwrap();
        sim.tick().unwrap();
        // Activations one cycle ahead of the weights.
        sim.set_weights(false, &w[1]).unwrap();
        sim.set_acts(true, &a[1], false).unwrap();
        sim.tick().unwrap();
        sim.set_weights(true, &w[1]).unwrap();
        sim.tick().unwrap();
        // The last beat in a cnt_clear_i cycle: neither it nor its lanes count.
        sim.set_weights(true, &w[2]).unwrap();
        sim.set_acts(true, &a[2], true).unwrap();
        sim.set_cnt_clear(true);
        sim.tick().unwrap();
        sim.set_cnt_clear(false);
        sim.set_valids(false, false, false);
        while !sim.r_valid() {
            sim.tick().unwrap();
        }
        let mut out = vec![0i32; cfg.cols];
        sim.result(&mut out).unwrap();
        assert_eq!(out, tile_result(cfg, &w, &a), "{}", cfg.name);
        let c = sim.counters();
        assert_eq!((c.busy, c.adds, c.skips), (0, 0, 0), "{}", cfg.name);
        // clear_i while the result is pending drops it; the array is ready.
        sim.set_clear(true);
        sim.tick().unwrap();
        sim.set_clear(false);
        sim.tick().unwrap();
        assert!(!sim.r_valid() && sim.w_ready() && sim.a_ready());
        // Two tiles back to back: the second one's first beat is accepted
        // the cycle after the first one's result handshake.
        let (w2, a2) = Rng::new(18).tile(cfg, 2);
        sim.run_tile(&w, &a, &mut out).unwrap();
        let r = sim.run_tile(&w2, &a2, &mut out).unwrap();
        assert_eq!(r.accept_cycles[0], 0, "{}", cfg.name);
        assert_eq!(out, tile_result(cfg, &w2, &a2));
        sim.check().unwrap();
    }
}

#[test]
fn counters_clear_and_totals() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let mut rng = Rng::new(11);
    sim.set_cnt_clear(true);
    sim.tick().unwrap();
    sim.set_cnt_clear(false);
    assert_eq!(sim.counters(), Default::default());
    let (mut beats, mut adds, mut skips, mut cycles) = (0u64, 0u64, 0u64, 0u64);
    for n in [1, 3, 8, 2] {
        let (w, a) = rng.tile(cfg, n);
        let mut out = vec![0i32; cfg.cols];
        let r = sim.run_tile(&w, &a, &mut out).unwrap();
        assert_eq!(out, tile_result(cfg, &w, &a));
        let (ad, sk) = add_skip_counts(&w);
        beats += n as u64;
        adds += ad;
        skips += sk;
        cycles += r.cycles;
    }
    let c = sim.counters();
    assert_eq!(c.busy, beats);
    assert_eq!(c.adds, adds);
    assert_eq!(c.skips, skips);
    assert_eq!(c.adds + c.skips, (cfg.cols * cfg.lanes) as u64 * beats);
    assert_eq!(c.cycles, cycles);
}

#[test]
fn clear_drops_a_tile() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let (w, a) = Rng::new(3).tile(cfg, 4);
    // Two beats of a tile, then clear_i: the tile is dropped.
    for j in 0..2 {
        sim.set_weights(true, &w[j]).unwrap();
        sim.set_acts(true, &a[j], false).unwrap();
        sim.tick().unwrap();
    }
    sim.set_valids(false, false, false);
    sim.set_clear(true);
    sim.tick().unwrap();
    sim.set_clear(false);
    sim.tick().unwrap();
    let mut acc = vec![1i32; cfg.cols];
    sim.acc(&mut acc).unwrap();
    assert_eq!(acc, vec![0; cfg.cols]);
    let mut out = vec![0i32; cfg.cols];
    sim.run_tile(&w, &a, &mut out).unwrap();
    assert_eq!(out, tile_result(cfg, &w, &a));
}

/// An RTL assertion failure is returned as an error, not a process abort;
/// the model stays usable.
#[test]
fn invalid_code_is_reported_not_fatal() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let (mut w, a) = Rng::new(5).tile(cfg, 3);
    w[1][5] = 3;
    let mut out = vec![0i32; cfg.cols];
    let err = sim.run_tile(&w, &a, &mut out).unwrap_err();
    let SimError::Assertion { message } = &err else {
        panic!("expected an assertion failure, got {err:?}");
    };
    assert!(message.contains("invalid code 3"), "{message}");
    assert!(message.contains("NoInvalidCode_A"), "{message}");
    assert!(message.contains("tri_mac_array.sv:"), "{message}");
    assert!(err.to_string().starts_with("RTL assertion failed"));
    println!("{err}");
    // Sticky until taken.
    assert_eq!(sim.check(), Err(err.clone()));
    assert!(sim.tick().is_err());
    assert_eq!(sim.take_error(), Some(err));
    sim.check().unwrap();
    assert!(sim.err_code(), "err_code_o is sticky until reset");
    assert!(!sim.is_poisoned());
    sim.reset().unwrap();
    assert!(!sim.err_code());
    w[1][5] = 1;
    sim.run_tile(&w, &a, &mut out).unwrap();
    assert_eq!(out, tile_result(cfg, &w, &a));
}

/// Breaking the producer rule (valid dropped before acceptance) trips the
/// RTL's protocol assertion.
#[test]
fn producer_rule_violation_is_reported() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let (w, a) = Rng::new(9).tile(cfg, 1);
    // Make a result pending so that the next beat waits...
    let mut out = vec![0i32; cfg.cols];
    sim.run_tile_with(
        &w,
        &a,
        &mut out,
        &TileOptions {
            result_ready_delay: 1000,
            timeout_cycles: Some(20),
        },
    )
    .unwrap_err();
    assert!(sim.r_valid());
    // ... offer it for one cycle, then retract it.
    sim.set_weights(true, &w[0]).unwrap();
    sim.set_acts(true, &a[0], true).unwrap();
    sim.tick().unwrap();
    sim.set_valids(false, false, false);
    let err = sim.tick().unwrap_err();
    match &err {
        SimError::Assertion { message } => {
            assert!(message.contains("dropped"), "{message}");
            println!("{err}");
        }
        other => panic!("expected an assertion failure, got {other:?}"),
    }
    sim.reset().unwrap();
    sim.run_tile(&w, &a, &mut out).unwrap();
    assert_eq!(out, tile_result(cfg, &w, &a));
}

#[test]
fn host_side_checks() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let mut out = vec![0i32; cfg.cols];
    let w = vec![vec![1u8; cfg.cols * cfg.lanes]; cfg.max_beats() + 1];
    let a = vec![vec![0i8; cfg.lanes]; cfg.max_beats() + 1];
    assert!(matches!(
        sim.run_tile(&w, &a, &mut out),
        Err(SimError::TooManyBeats { .. })
    ));
    let none: [Vec<u8>; 0] = [];
    let none_a: [Vec<i8>; 0] = [];
    assert_eq!(
        sim.run_tile(&none, &none_a, &mut out),
        Err(SimError::EmptyTile)
    );
    assert!(matches!(
        sim.run_tile(
            &[vec![4u8; cfg.cols * cfg.lanes]],
            &[vec![0i8; cfg.lanes]],
            &mut out
        ),
        Err(SimError::InvalidCode { code: 4, .. })
    ));
    assert!(matches!(
        sim.run_tile(&[vec![1u8; 3]], &[vec![0i8; cfg.lanes]], &mut out),
        Err(SimError::Shape { .. })
    ));
    static OTHER: SimConfig = SimConfig {
        name: "other",
        array: tritium_golden::ArrayConfig {
            cols: 2,
            lanes: 2,
            k_max: 64,
        },
    };
    assert!(matches!(
        ArraySim::new(&OTHER),
        Err(SimError::UnknownConfig { .. })
    ));
    // Nothing was driven: the model still works.
    let (w, a) = Rng::new(1).tile(cfg, 2);
    sim.run_tile(&w, &a, &mut out).unwrap();
    assert_eq!(out, tile_result(cfg, &w, &a));
}

#[test]
fn traced_tile_localises_divergence() {
    for cfg in CONFIGS {
        let mut sim = ArraySim::new(cfg).unwrap();
        let (w, a) = Rng::new(21).tile(cfg, 7);
        let mut out = vec![0i32; cfg.cols];
        let traced = sim.run_tile_traced(&w, &a, &mut out).unwrap();
        let want = prefix_sums(cfg, &w, &a);
        assert_eq!(traced.acc_after_beat, want, "{}", cfg.name);
        assert_eq!(out, *want.last().unwrap());
        assert_eq!(traced.first_divergence(&want), None);
        let mut wrong = want.clone();
        wrong[3][1] += 1;
        wrong[5][0] += 1;
        let d = traced.first_divergence(&wrong).unwrap();
        assert_eq!((d.beat, d.column), (3, 1));
        assert_eq!(d.expected, d.got + 1);
    }
}

#[test]
fn waveform_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let (w, a) = Rng::new(2).tile(cfg, 3);
    let mut out = vec![0i32; cfg.cols];
    for name in ["first.vcd", "second.vcd"] {
        let path = dir.path().join(name);
        sim.trace_to(&path).unwrap();
        assert_eq!(sim.tracing(), Some(path.as_path()));
        sim.run_tile(&w, &a, &mut out).unwrap();
        sim.trace_stop().unwrap();
        let vcd = std::fs::read_to_string(&path).unwrap();
        assert!(vcd.contains("$enddefinitions"), "{name}: no VCD header");
        for signal in ["clk_i", "w_data_i", "acc_o", "r_valid_o"] {
            assert!(vcd.contains(signal), "{name}: {signal} not traced");
        }
        // Value changes at several time steps.
        assert!(vcd.lines().filter(|l| l.starts_with('#')).count() > 4);
    }
    assert_eq!(out, tile_result(cfg, &w, &a));
    let bad = dir.path().join("no/such/dir/x.vcd");
    assert!(matches!(sim.trace_to(&bad), Err(SimError::Trace { .. })));
}

/// Regression: a waveform that cannot be written (every write to /dev/full
/// fails with ENOSPC) ended the process in Verilator's VL_FATAL. Now the
/// simulation goes on with the same results and trace_stop reports it.
#[test]
fn a_waveform_write_failure_is_an_error_not_an_abort() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let (w, a) = Rng::new(3).tile(cfg, 40);
    let mut out = vec![0i32; cfg.cols];
    sim.trace_to(std::path::Path::new("/dev/full")).unwrap();
    for _ in 0..50 {
        sim.run_tile(&w, &a, &mut out).unwrap();
    }
    assert_eq!(out, tile_result(cfg, &w, &a));
    let e = sim.trace_stop().unwrap_err();
    assert!(matches!(e, SimError::Trace { .. }), "{e}");
    assert!(e.to_string().contains("No space left"), "{e}");
    // The model is still usable, and the next waveform works.
    let dir = tempfile::tempdir().unwrap();
    sim.trace_to(&dir.path().join("ok.vcd")).unwrap();
    sim.run_tile(&w, &a, &mut out).unwrap();
    sim.trace_stop().unwrap();
}

/// Separate models in separate threads are independent and agree.
#[test]
fn two_threads_agree() {
    let results: Vec<Vec<Vec<i32>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut rng = Rng::new(99);
                    let mut results = Vec::new();
                    for cfg in CONFIGS {
                        let mut sim = ArraySim::new(cfg).unwrap();
                        for n in [1, 4, 9] {
                            let (w, a) = rng.tile(cfg, n);
                            let mut out = vec![0i32; cfg.cols];
                            sim.run_tile(&w, &a, &mut out).unwrap();
                            assert_eq!(out, tile_result(cfg, &w, &a));
                            results.push(out);
                        }
                    }
                    results
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0].len(), 3 * CONFIGS.len());
}

#[test]
fn reference_codes_round_trip() {
    for w in [-1i8, 0, 1] {
        assert_eq!(reference::weight_of(reference::code_of(w)), i32::from(w));
    }
    assert_eq!(reference::weight_of(3), 0);
}

/// Several live models in one thread, used alternately: state, time and
/// recorded errors stay per model.
#[test]
fn interleaved_models_are_independent() {
    let mut a = ArraySim::new(&SMALL).unwrap();
    let mut b = ArraySim::new(&SMALL).unwrap();
    let mut c = ArraySim::new(&LARGE).unwrap();
    let mut rng = Rng::new(4);
    let (wa, aa) = rng.tile(&SMALL, 5);
    let (wc, ac) = rng.tile(&LARGE, 5);
    // Interleave beat by beat: a gets a good tile, b a tile with code 3.
    let mut wb = wa.clone();
    wb[2][0] = 3;
    for j in 0..5 {
        let last = j == 4;
        a.set_weights(true, &wa[j]).unwrap();
        a.set_acts(true, &aa[j], last).unwrap();
        b.set_weights(true, &wb[j]).unwrap();
        b.set_acts(true, &aa[j], last).unwrap();
        c.set_weights(true, &wc[j]).unwrap();
        c.set_acts(true, &ac[j], last).unwrap();
        a.tick().unwrap();
        let rb = b.tick();
        assert_eq!(rb.is_err(), j >= 2, "beat {j}: {rb:?}");
        c.tick().unwrap();
    }
    for s in [&mut a, &mut c] {
        s.set_valids(false, false, false);
    }
    b.set_valids(false, false, false);
    for _ in 0..4 {
        a.tick().unwrap();
        c.tick().unwrap();
    }
    let mut out_a = vec![0; SMALL.cols];
    let mut out_c = vec![0; LARGE.cols];
    assert!(a.r_valid() && c.r_valid());
    a.result(&mut out_a).unwrap();
    c.result(&mut out_c).unwrap();
    assert_eq!(out_a, tile_result(&SMALL, &wa, &aa));
    assert_eq!(out_c, tile_result(&LARGE, &wc, &ac));
    assert!(matches!(b.check(), Err(SimError::Assertion { .. })));
    a.check().unwrap();
    c.check().unwrap();
    assert!(b.err_code() && !a.err_code() && !c.err_code());
    assert_eq!(a.sim_time(), c.sim_time());
}
