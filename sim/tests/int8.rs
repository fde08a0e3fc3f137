//! The INT8 comparison array (`rtl/int8_mac_array.sv`, Verilated) against
//! plain integer dot products: random tiles, the int8 extremes on every
//! lane (and the accumulator extremes they make), the handshake corners,
//! `clear_i` and the counters. It shares its control and accumulators with
//! `tri_mac_array` (mac_array_ctrl, mac_array_acc), so this also checks
//! them with 16-bit lane products.

use tritium_golden::SplitMix64;
use tritium_sim::{Int8Sim, INT8};

type Tile = (Vec<Vec<i8>>, Vec<Vec<i8>>);

const N: usize = INT8.array.cols * INT8.array.lanes;

/// `sum_j sum_l w[j][c * lanes + l] * a[j][l]` per column.
fn reference(w: &[Vec<i8>], a: &[Vec<i8>]) -> Vec<i32> {
    (0..INT8.cols)
        .map(|c| {
            w.iter()
                .zip(a)
                .map(|(wb, ab)| {
                    (0..INT8.lanes)
                        .map(|l| i32::from(wb[c * INT8.lanes + l]) * i32::from(ab[l]))
                        .sum::<i32>()
                })
                .sum()
        })
        .collect()
}

/// A random tile of `beats` beats; about a fifth of the weights are 0.
fn random_tile(rng: &mut SplitMix64, beats: usize) -> Tile {
    let w = (0..beats)
        .map(|_| {
            (0..N)
                .map(|_| {
                    if rng.below(5) == 0 {
                        0
                    } else {
                        rng.next_u64() as i8
                    }
                })
                .collect()
        })
        .collect();
    let a = (0..beats)
        .map(|_| (0..INT8.lanes).map(|_| rng.next_u64() as i8).collect())
        .collect();
    (w, a)
}

fn nonzero(w: &[Vec<i8>]) -> u64 {
    w.iter().flatten().filter(|&&x| x != 0).count() as u64
}

#[test]
fn random_tiles_match_dot_products() {
    let mut sim = Int8Sim::new().unwrap();
    let mut rng = SplitMix64::new(8);
    let mut out = vec![0i32; INT8.cols];
    for case in 0..60 {
        let beats = 1 + case % INT8.max_beats();
        let (w, a) = random_tile(&mut rng, beats);
        let before = sim.counters();
        let cycles = sim.run_tile(&w, &a, case as u64 % 3, &mut out).unwrap();
        assert_eq!(out, reference(&w, &a), "case {case}");
        let c = sim.counters();
        assert_eq!(c.busy - before.busy, beats as u64);
        assert_eq!(c.adds - before.adds, nonzero(&w));
        assert_eq!(c.skips - before.skips, (N * beats) as u64 - nonzero(&w));
        assert_eq!(c.cycles - before.cycles, cycles);
    }
}

/// Every lane sees the weights -128, 127 and 0 and the activations -128
/// and 127; tiles of the most beats (KMax / Lanes) reach the accumulator
/// extremes +16384 * KMax and -16256 * KMax.
#[test]
fn extremes_on_every_lane() {
    let mut sim = Int8Sim::new().unwrap();
    let beats = INT8.max_beats();
    let mut out = vec![0i32; INT8.cols];
    for (wv, av, want) in [
        (-128i8, -128i8, 16384 * INT8.k_max as i32),
        (127, -128, -16256 * INT8.k_max as i32),
        (-128, 127, -16256 * INT8.k_max as i32),
        (127, 127, 16129 * INT8.k_max as i32),
        (0, 127, 0),
    ] {
        let w = vec![vec![wv; N]; beats];
        let a = vec![vec![av; INT8.lanes]; beats];
        sim.run_tile(&w, &a, 0, &mut out).unwrap();
        assert!(
            out.iter().all(|&x| x == want),
            "{wv} x {av}: {out:?} != {want}"
        );
    }
    // Columns of opposite signs side by side, a ragged last beat (K = KMax - 3).
    let k = INT8.k_max - 3;
    let mut w = vec![vec![0i8; N]; beats];
    let mut a = vec![vec![0i8; INT8.lanes]; beats];
    for i in 0..k {
        a[i / INT8.lanes][i % INT8.lanes] = -128;
        for c in 0..INT8.cols {
            w[i / INT8.lanes][c * INT8.lanes + i % INT8.lanes] =
                if c % 2 == 0 { -128 } else { 127 };
        }
    }
    sim.run_tile(&w, &a, 0, &mut out).unwrap();
    assert_eq!(out, reference(&w, &a));
    assert_eq!(out[0], 16384 * k as i32);
    assert_eq!(out[1], -16256 * k as i32);
}

/// The handshake corners: one stream valid without the other, inputs held
/// while a result waits, `clear_i` in the middle of a tile and with a
/// pending result, `cnt_clear_i` in the cycle of an accepted beat.
#[test]
fn handshake_corners_and_clears() {
    let mut sim = Int8Sim::new().unwrap();
    let mut rng = SplitMix64::new(21);
    let mut out = vec![0i32; INT8.cols];
    let (w, a) = random_tile(&mut rng, 3);

    // Weights first (2 cycles without activations), then both: accepted.
    sim.set_weights(true, &w[0]).unwrap();
    sim.set_acts(false, &a[0], false).unwrap();
    for _ in 0..2 {
        assert!(sim.tick().unwrap().w_ready);
    }
    sim.set_acts(true, &a[0], false).unwrap();
    sim.tick().unwrap();
    // Activations first, then weights.
    sim.set_weights(false, &w[1]).unwrap();
    sim.set_acts(true, &a[1], false).unwrap();
    sim.tick().unwrap();
    sim.set_weights(true, &w[1]).unwrap();
    sim.tick().unwrap();
    // The last beat, with cnt_clear_i in its cycle: not counted.
    sim.set_weights(true, &w[2]).unwrap();
    sim.set_acts(true, &a[2], true).unwrap();
    sim.set_cnt_clear(true);
    sim.tick().unwrap();
    sim.set_cnt_clear(false);
    sim.set_weights(false, &w[2]).unwrap();
    sim.set_acts(false, &a[2], false).unwrap();
    // The result waits; a beat of the next tile waits too (backpressure).
    let (w2, a2) = random_tile(&mut rng, 1);
    sim.set_weights(true, &w2[0]).unwrap();
    sim.set_acts(true, &a2[0], true).unwrap();
    for _ in 0..4 {
        let e = sim.tick().unwrap();
        assert!(!e.w_ready && !e.a_ready);
    }
    assert!(sim.outputs().r_valid);
    sim.result(&mut out).unwrap();
    assert_eq!(out, reference(&w, &a));
    assert_eq!(
        sim.counters().busy,
        0,
        "the beat of the cnt_clear_i cycle is not counted"
    );
    // Take the result; the waiting beat is accepted right after.
    sim.set_result_ready(true);
    sim.tick().unwrap();
    sim.set_result_ready(false);
    sim.tick().unwrap();
    sim.set_weights(false, &w2[0]).unwrap();
    sim.set_acts(false, &a2[0], false).unwrap();
    while !sim.outputs().r_valid {
        sim.tick().unwrap();
    }
    sim.result(&mut out).unwrap();
    assert_eq!(out, reference(&w2, &a2));
    // clear_i with that result pending: dropped.
    sim.set_clear(true);
    sim.tick().unwrap();
    sim.set_clear(false);
    sim.tick().unwrap();
    assert!(!sim.outputs().r_valid);
    // clear_i in the middle of a tile: its first two beats are dropped.
    let (w3, a3) = random_tile(&mut rng, 4);
    for j in 0..2 {
        sim.set_weights(true, &w3[j]).unwrap();
        sim.set_acts(true, &a3[j], false).unwrap();
        sim.tick().unwrap();
    }
    sim.set_weights(false, &w3[2]).unwrap();
    sim.set_acts(false, &a3[2], false).unwrap();
    sim.set_clear(true);
    sim.tick().unwrap();
    sim.set_clear(false);
    sim.run_tile(&w3[2..], &a3[2..], 0, &mut out).unwrap();
    assert_eq!(out, reference(&w3[2..], &a3[2..]));
}
