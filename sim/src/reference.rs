//! A plain Rust reference of what one tile computes: for each column `c`,
//! `sum over beats and lanes of t[c][l] * a[l]` with `t` the ternary weight
//! of the 2-bit code (code 3, invalid, counts as 0 as in the RTL).

use crate::configs::SimConfig;

/// Ternary weight of a 2-bit code: 0 -> -1, 1 -> 0, 2 -> +1, 3 -> 0.
pub fn weight_of(code: u8) -> i32 {
    match code {
        0 => -1,
        2 => 1,
        _ => 0,
    }
}

/// 2-bit code of a ternary weight (-1 -> 0, 0 -> 1, +1 -> 2).
///
/// # Panics
/// If `w` is not -1, 0 or +1.
pub fn code_of(w: i8) -> u8 {
    match w {
        -1 => 0,
        0 => 1,
        1 => 2,
        _ => panic!("weight {w} is not ternary"),
    }
}

/// The accumulators after each beat (`result[j][c]`), the last entry being
/// the tile's result. Beats as in [`crate::ArraySim::run_tile`].
pub fn prefix_sums<W: AsRef<[u8]>, A: AsRef<[i8]>>(
    cfg: &SimConfig,
    weight_beats: &[W],
    act_beats: &[A],
) -> Vec<Vec<i32>> {
    let mut acc = vec![0i64; cfg.cols];
    let mut out = Vec::with_capacity(weight_beats.len());
    for (w, a) in weight_beats.iter().zip(act_beats) {
        let (w, a) = (w.as_ref(), a.as_ref());
        for (c, acc_c) in acc.iter_mut().enumerate() {
            for (l, &x) in a.iter().enumerate().take(cfg.lanes) {
                *acc_c += i64::from(weight_of(w[c * cfg.lanes + l])) * i64::from(x);
            }
        }
        out.push(acc.iter().map(|&v| v as i32).collect());
    }
    out
}

/// The result of one tile (one value per column).
pub fn tile_result<W: AsRef<[u8]>, A: AsRef<[i8]>>(
    cfg: &SimConfig,
    weight_beats: &[W],
    act_beats: &[A],
) -> Vec<i32> {
    prefix_sums(cfg, weight_beats, act_beats)
        .pop()
        .unwrap_or_else(|| vec![0; cfg.cols])
}

/// `(adds, skips)` the counters should gain for these weight beats: codes 0
/// and 2 are adds, code 1 a skip (code 3 counts as neither).
pub fn add_skip_counts<W: AsRef<[u8]>>(weight_beats: &[W]) -> (u64, u64) {
    let (mut adds, mut skips) = (0, 0);
    for w in weight_beats {
        for &c in w.as_ref() {
            match c {
                0 | 2 => adds += 1,
                1 => skips += 1,
                _ => {}
            }
        }
    }
    (adds, skips)
}
