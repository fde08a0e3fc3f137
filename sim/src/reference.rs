//! Plain Rust references of what the RTL computes, independent of it:
//!
//! * one array tile: for each column `c`, `sum over beats and lanes of
//!   t[c][l] * a[l]` with `t` the ternary weight of the 2-bit code (code 3,
//!   invalid, counts as 0 as in the RTL);
//! * one accelerator run ([`accel_run`]): decoded from the stored weight
//!   image with `tritium_golden::image::unpack_word`, activations in the
//!   beat-major buffer layout of `tritium_golden::image::act_image`.

use tritium_golden::image::unpack_word;
use tritium_golden::AccelConfig;

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

/// What one accelerator run should give ([`accel_run`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccelRunReference {
    /// `results[(tile * tokens + t) * cols + c]`, as `RunReport::results`.
    pub results: Vec<i32>,
    /// Issues: `tiles * beats * tokens`.
    pub issues: u64,
    /// Lanes with weight +-1 over all issues (the `adds` counter).
    pub adds: u64,
    /// Lanes with weight 0 over all issues (the `skips` counter).
    pub skips: u64,
    /// Invalid lanes over all issues (counted in neither; `err_code_o`).
    pub invalid: u64,
}

/// The reference of one accelerator run, straight from the stored image
/// (independent of the RTL): word `tile * beats + beat` of `image` is
/// decoded with [`tritium_golden::image::unpack_word`] (an invalid weight
/// is code 3 and counts as 0), and activation word `beat * tokens + t` of
/// `acts` (the beat-major [`tritium_golden::image::act_image`] layout) is
/// token `t`'s input for that beat.
pub fn accel_run(
    cfg: &AccelConfig,
    tokens: usize,
    beats: usize,
    acts: &[i8],
    tiles: usize,
    image: &[u8],
) -> tritium_golden::Result<AccelRunReference> {
    accel_walk(cfg, tokens, beats, acts, tiles, image, |_| {})
}

/// The accumulators of every issue of a run in issue order (tile, beat,
/// token), as the debug port shows them (`RunReport::issues[i].acc`): to
/// find the first issue where a traced replay diverges.
pub fn accel_issue_accs(
    cfg: &AccelConfig,
    tokens: usize,
    beats: usize,
    acts: &[i8],
    tiles: usize,
    image: &[u8],
) -> tritium_golden::Result<Vec<Vec<i32>>> {
    let mut out = Vec::new();
    accel_walk(cfg, tokens, beats, acts, tiles, image, |acc| {
        out.push(acc.to_vec())
    })?;
    Ok(out)
}

/// Walks a run issue by issue, calling `each` with the issued token's
/// accumulators after the issue.
fn accel_walk(
    cfg: &AccelConfig,
    tokens: usize,
    beats: usize,
    acts: &[i8],
    tiles: usize,
    image: &[u8],
    mut each: impl FnMut(&[i32]),
) -> tritium_golden::Result<AccelRunReference> {
    let (cols, lanes) = (cfg.array.cols, cfg.array.lanes);
    let words = tiles * beats;
    if acts.len() != beats * tokens * lanes || image.len() < words * cfg.word_bytes {
        return Err(tritium_golden::Error::Shape {
            what: "accelerator run reference (activations, image)".into(),
            expected: format!(
                "{} activations, at least {} image bytes",
                beats * tokens * lanes,
                words * cfg.word_bytes
            ),
            got: format!("{}, {}", acts.len(), image.len()),
        });
    }
    let mut r = AccelRunReference {
        results: vec![0; tiles * tokens * cols],
        issues: (words * tokens) as u64,
        adds: 0,
        skips: 0,
        invalid: 0,
    };
    let mut acc = vec![0i64; tokens * cols];
    let mut view = vec![0i32; cols];
    for tile in 0..tiles {
        acc.fill(0);
        for beat in 0..beats {
            let w = tile * beats + beat;
            let codes = unpack_word(&image[w * cfg.word_bytes..(w + 1) * cfg.word_bytes], cfg)?;
            for &c in &codes {
                match c {
                    0 | 2 => r.adds += tokens as u64,
                    1 => r.skips += tokens as u64,
                    _ => r.invalid += tokens as u64,
                }
            }
            for t in 0..tokens {
                let a = &acts[(beat * tokens + t) * lanes..][..lanes];
                for c in 0..cols {
                    let s: i64 = codes[c * lanes..(c + 1) * lanes]
                        .iter()
                        .zip(a)
                        .map(|(&code, &x)| i64::from(weight_of(code)) * i64::from(x))
                        .sum();
                    acc[t * cols + c] += s;
                    view[c] = acc[t * cols + c] as i32;
                }
                each(&view);
            }
        }
        for t in 0..tokens {
            for c in 0..cols {
                r.results[(tile * tokens + t) * cols + c] = acc[t * cols + c] as i32;
            }
        }
    }
    Ok(r)
}
