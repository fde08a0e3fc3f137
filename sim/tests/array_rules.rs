//! Rules of the array's contract (rtl/INTERFACE.md, "tri_mac_array") that
//! the random-tile tests of tests/array.rs never exercise, each found by the
//! RTL mutation campaign (`make mutate`): every test names the mutant of
//! scripts/mutants/mutants.toml it kills, a bug that every other test let
//! through.

use tritium_golden::SplitMix64;
use tritium_sim::reference::{add_skip_counts, tile_result};
use tritium_sim::{ArraySim, SimConfig, SimError, TileOptions, SMALL};

type Beats = (Vec<Vec<u8>>, Vec<Vec<i8>>);

/// `beats` random beats (codes 0..=2, any activation) of `cfg`.
fn tile(cfg: &SimConfig, beats: usize, seed: u64) -> Beats {
    let mut rng = SplitMix64::new(seed);
    let w = (0..beats)
        .map(|_| {
            (0..cfg.cols * cfg.lanes)
                .map(|_| rng.below(3) as u8)
                .collect()
        })
        .collect();
    let a = (0..beats)
        .map(|_| (0..cfg.lanes).map(|_| rng.next_u64() as i8).collect())
        .collect();
    (w, a)
}

/// Waits (inputs idle) for the result, reads it and takes it.
fn take_result(sim: &mut ArraySim) -> Vec<i32> {
    sim.set_valids(false, false, false);
    let mut waited = 0;
    while !sim.r_valid() {
        sim.tick().unwrap();
        waited += 1;
        assert!(waited < 20, "no result");
    }
    let mut out = vec![0i32; sim.config().cols];
    sim.result(&mut out).unwrap();
    sim.set_result_ready(true);
    assert!(sim.tick().unwrap().r_valid);
    sim.set_result_ready(false);
    out
}

/// A beat is the weight AND the activation handshake (`w_valid_i &
/// a_valid_i & ready`): one stream valid alone is never accepted, however
/// long it waits, and its waiting cycles are stalls. Kills
/// `ctrl-accept-drops-a-valid` (weights accepted without activations).
#[test]
fn a_beat_needs_both_valids() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let (w, a) = tile(cfg, 4, 1);
    // Stale data on both ports first: an early accept would use it.
    sim.set_weights(false, &vec![2; cfg.cols * cfg.lanes])
        .unwrap();
    sim.set_acts(false, &vec![-7; cfg.lanes], true).unwrap();
    sim.tick().unwrap();
    for j in 0..w.len() {
        let last = j + 1 == w.len();
        let before = sim.counters();
        // Even beats: the weights wait for the activations; odd: the reverse.
        if j % 2 == 0 {
            sim.set_weights(true, &w[j]).unwrap();
        } else {
            sim.set_acts(true, &a[j], last).unwrap();
        }
        for _ in 0..4 {
            assert!(sim.tick().unwrap().w_ready, "beat {j}: ready while idle");
        }
        let c = sim.counters();
        assert_eq!(c.busy, before.busy, "beat {j}: accepted with one valid");
        assert_eq!(c.stalls - before.stalls, 4, "beat {j}: waiting is stalling");
        if j % 2 == 0 {
            sim.set_acts(true, &a[j], last).unwrap();
        } else {
            sim.set_weights(true, &w[j]).unwrap();
        }
        sim.tick().unwrap();
        assert_eq!(sim.counters().busy, before.busy + 1, "beat {j}");
        sim.set_valids(false, false, false);
    }
    assert_eq!(take_result(&mut sim), tile_result(cfg, &w, &a));
    sim.check().unwrap();
}

/// `err_code_o` is set by an ACCEPTED beat holding code 3; the invalid code
/// on an idle port (w_valid_i low) sets nothing. Kills
/// `array-err-code-without-accept`.
#[test]
fn invalid_code_on_an_idle_port_is_not_an_error() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    sim.set_weights(false, &vec![3; cfg.cols * cfg.lanes])
        .unwrap();
    sim.set_acts(false, &vec![1; cfg.lanes], true).unwrap();
    for _ in 0..5 {
        sim.tick().unwrap();
    }
    assert!(!sim.err_code(), "err_code_o set without a beat");
    let (w, a) = tile(cfg, 3, 2);
    let mut out = vec![0i32; cfg.cols];
    sim.run_tile(&w, &a, &mut out).unwrap();
    assert_eq!(out, tile_result(cfg, &w, &a));
    assert!(!sim.err_code());
    sim.check().unwrap();
}

/// The events of a `cnt_clear_i` cycle, a beat accepted in it included, are
/// not counted (rtl/INTERFACE.md): busy, adds and skips count the tile's
/// other beats only; the tile itself is computed in full. Kills
/// `ctrl-adds-counted-on-clear`.
#[test]
fn a_beat_accepted_in_a_cnt_clear_cycle_is_not_counted() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let (w, a) = tile(cfg, 3, 3);
    for j in 0..w.len() {
        sim.set_cnt_clear(j == 0);
        sim.set_weights(true, &w[j]).unwrap();
        sim.set_acts(true, &a[j], j + 1 == w.len()).unwrap();
        assert!(sim.tick().unwrap().w_ready, "beat {j} accepted at once");
    }
    sim.set_cnt_clear(false);
    assert_eq!(take_result(&mut sim), tile_result(cfg, &w, &a));
    let c = sim.counters();
    let (adds, skips) = add_skip_counts(&w[1..]);
    assert_eq!(c.busy, 2, "{c:?}");
    assert_eq!((c.adds, c.skips), (adds, skips), "{c:?}");
}

/// `clear_i` drops a result that is waiting for `r_ready_i`: r_valid_o
/// falls, the inputs are ready again in the next cycle and the next tile
/// runs as usual. Kills `ctrl-clear-keeps-pending` (the inputs would never
/// become ready again).
#[test]
fn clear_drops_a_pending_result() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let (w, a) = tile(cfg, 2, 4);
    for j in 0..w.len() {
        sim.set_weights(true, &w[j]).unwrap();
        sim.set_acts(true, &a[j], j + 1 == w.len()).unwrap();
        sim.tick().unwrap();
    }
    sim.set_valids(false, false, false);
    for _ in 0..4 {
        sim.tick().unwrap();
    }
    assert!(sim.r_valid() && !sim.w_ready(), "result pending");
    sim.set_clear(true);
    sim.tick().unwrap();
    sim.set_clear(false);
    assert!(!sim.r_valid(), "clear_i drops the result");
    assert!(sim.w_ready() && sim.a_ready(), "inputs ready after clear_i");
    let (w2, a2) = tile(cfg, 3, 5);
    let mut out = vec![0i32; cfg.cols];
    let opts = TileOptions {
        timeout_cycles: Some(100),
        ..TileOptions::default()
    };
    sim.run_tile_with(&w2, &a2, &mut out, &opts).unwrap();
    assert_eq!(out, tile_result(cfg, &w2, &a2));
}

/// The input ready drops in the cycle after a tile's last beat is accepted
/// and rises the cycle after the result handshake (Rule 1): a producer that
/// keeps its valids high across tiles has the next tile's first beat taken
/// exactly 3 cycles after the last one, never the cycle right after it.
/// Kills `ctrl-ready-from-old-pending` (ready one cycle late).
#[test]
fn ready_drops_right_after_a_tiles_last_beat() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let tiles = [tile(cfg, 3, 6), tile(cfg, 2, 7), tile(cfg, 1, 8)];
    sim.set_result_ready(true);
    let mut results = Vec::new();
    let mut accepts = Vec::new();
    for (t, (w, a)) in tiles.iter().enumerate() {
        for j in 0..w.len() {
            sim.set_weights(true, &w[j]).unwrap();
            sim.set_acts(true, &a[j], j + 1 == w.len()).unwrap();
            loop {
                let mut head = vec![0i32; cfg.cols];
                let valid = sim.r_valid();
                sim.result(&mut head).unwrap();
                let e = sim.tick().unwrap();
                if valid && e.r_valid {
                    results.push(head);
                }
                if e.w_ready {
                    accepts.push((t, j, sim.cycle()));
                    break;
                }
            }
        }
    }
    results.push(take_result(&mut sim));
    for (t, (w, a)) in tiles.iter().enumerate() {
        assert_eq!(results[t], tile_result(cfg, w, a), "tile {t}");
    }
    for pair in accepts.windows(2) {
        let ((t0, _, c0), (t1, _, c1)) = (pair[0], pair[1]);
        let gap = if t0 == t1 { 1 } else { 3 };
        assert_eq!(c1 - c0, gap, "accepts {:?} -> {:?}", pair[0], pair[1]);
    }
}

/// More than ceil(KMax / Lanes) beats in one tile breaks the producer rule
/// the accumulator width relies on; the RTL's TileBeats_A reports it at the
/// first beat too many (the host API refuses such a tile, so it is driven
/// by hand, with zero terms: nothing overflows). Kills
/// `ctrl-beat-bound-off-by-one`.
#[test]
fn a_beat_past_the_tile_bound_is_an_assertion() {
    let cfg = &SMALL;
    let mut sim = ArraySim::new(cfg).unwrap();
    let n = cfg.max_beats() + 1;
    sim.set_weights(true, &vec![1; cfg.cols * cfg.lanes])
        .unwrap();
    let mut failed_at = None;
    for j in 0..n {
        sim.set_acts(true, &vec![0; cfg.lanes], j + 1 == n).unwrap();
        match sim.tick() {
            Ok(e) => assert!(e.w_ready, "beat {j} accepted at once"),
            Err(SimError::Assertion { message }) => {
                assert!(message.contains("TileBeats_A"), "{message}");
                failed_at = Some(j);
                break;
            }
            Err(e) => panic!("beat {j}: {e}"),
        }
    }
    assert_eq!(failed_at, Some(n - 1), "TileBeats_A at beat {}", n - 1);
}
