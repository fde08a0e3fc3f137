//! The stream format in which tritium feeds a BitLinear to the MAC array
//! (`rtl/tri_mac_array.sv`, contract in `rtl/INTERFACE.md`).
//!
//! # Tiling
//! An `n x k` BitLinear for one token row is cut into `ceil(n / cols)`
//! output tiles of `cols` rows. Each tile streams the K range it is given
//! (all of `k`, or one segment of at most `KMax` inputs when the host splits
//! a long K) as `ceil(len / lanes)` beats. A beat carries, for every column
//! `c` and lane `l`, the weight code of row `tile * cols + c` and input
//! `k0 + beat * lanes + l`, together with one activation beat of `lanes`
//! int8 values. Rows past `n` and inputs past the segment are padded with
//! code 1 (weight 0) and activation 0, so padding never changes a result (it
//! is counted as skipped lanes).
//!
//! # Weight beat
//! `cols * lanes` 2-bit codes (code `t + 1`, as in [`crate::ternary`]),
//! column-major: code index `i = c * lanes + l`. On the wire (`w_data_i`,
//! `cols * lanes * 2` bits) code `i` sits at bits `[2i +: 2]`;
//! [`pack_weight_beat`] gives those bits as little-endian 32-bit words (16
//! codes per word), the way a Verilator model takes a wide port.
//!
//! # Activation beat
//! `lanes` int8 values; on the wire (`a_data_i`) lane `l` at bits
//! `[8l +: 8]`, two's complement.

use crate::array::ArrayConfig;
use crate::error::{shape_err, Result};
use crate::ternary::TernaryMatrix;

/// The weight beats of output tile `tile` over inputs `k0..k1` of `w`, one
/// `Vec` of [`ArrayConfig::macs_per_beat`] codes per beat, padded as the
/// module docs say.
pub fn weight_tile_beats(
    w: &TernaryMatrix,
    geom: &ArrayConfig,
    tile: usize,
    k0: usize,
    k1: usize,
) -> Result<Vec<Vec<u8>>> {
    if k0 > k1 || k1 > w.k() || tile >= geom.tiles(w.n()).max(1) {
        return Err(shape_err(
            format!(
                "tile of a {} x {} matrix on a {} x {} array",
                w.n(),
                w.k(),
                geom.cols,
                geom.lanes
            ),
            format!("tile < {}, k0 <= k1 <= {}", geom.tiles(w.n()).max(1), w.k()),
            format!("tile {tile}, inputs {k0}..{k1}"),
        ));
    }
    let lanes = geom.lanes;
    let mut out = vec![vec![1u8; geom.macs_per_beat()]; geom.beats(k1 - k0)];
    for c in 0..geom.cols {
        let row = tile * geom.cols + c;
        if row >= w.n() {
            break;
        }
        let packed = w.packed_row(row);
        for col in k0..k1 {
            let code = (packed[col / 4] >> (2 * (col % 4))) & 3;
            let (beat, lane) = ((col - k0) / lanes, (col - k0) % lanes);
            out[beat][c * lanes + lane] = code;
        }
    }
    Ok(out)
}

/// The activation beats of one token row's inputs (a K segment), each of
/// `lanes` values, the last padded with zeros.
pub fn act_beats(acts: &[i8], geom: &ArrayConfig) -> Vec<Vec<i8>> {
    acts.chunks(geom.lanes)
        .map(|c| {
            let mut b = c.to_vec();
            b.resize(geom.lanes, 0);
            b
        })
        .collect()
}

/// The `w_data_i` bits of one weight beat as little-endian 32-bit words:
/// code `i` at bits `[2i +: 2]`. Codes above 3 are an error (code 3 itself
/// is representable on the wire; the array flags it).
pub fn pack_weight_beat(codes: &[u8]) -> Result<Vec<u32>> {
    let mut words = vec![0u32; codes.len().div_ceil(16)];
    for (i, &code) in codes.iter().enumerate() {
        if code > 3 {
            return Err(shape_err(format!("weight beat code {i}"), "0..=3", code));
        }
        words[i / 16] |= u32::from(code) << (2 * (i % 16));
    }
    Ok(words)
}

/// Inverse of [`pack_weight_beat`] for a beat of `n` codes.
pub fn unpack_weight_beat(words: &[u32], n: usize) -> Result<Vec<u8>> {
    if words.len() != n.div_ceil(16) {
        return Err(shape_err(
            format!("32-bit words of a weight beat of {n} codes"),
            n.div_ceil(16),
            words.len(),
        ));
    }
    Ok((0..n)
        .map(|i| ((words[i / 16] >> (2 * (i % 16))) & 3) as u8)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every weight lands in exactly one (tile, beat, column, lane) slot
        /// with its code; every other slot is the padding code 1.
        #[test]
        fn beats_cover_each_weight_once(
            n in 1usize..40, k in 1usize..70, cols in 1usize..9, lanes in 1usize..12,
            split in 0usize..70, seed in any::<u64>(),
        ) {
            let w = TernaryMatrix::random(n, k, seed);
            let g = ArrayConfig::new(cols, lanes, 1 << 20).unwrap();
            let split = split.min(k);
            let mut seen = vec![0u32; n * k];
            for tile in 0..g.tiles(n) {
                for (k0, k1) in [(0, split), (split, k)] {
                    let beats = weight_tile_beats(&w, &g, tile, k0, k1).unwrap();
                    prop_assert_eq!(beats.len(), g.beats(k1 - k0));
                    for (b, beat) in beats.iter().enumerate() {
                        prop_assert_eq!(beat.len(), cols * lanes);
                        for c in 0..cols {
                            for l in 0..lanes {
                                let (row, col) = (tile * cols + c, k0 + b * lanes + l);
                                let code = beat[c * lanes + l];
                                if row < n && col < k1 {
                                    prop_assert_eq!(i16::from(code) - 1, i16::from(w.get(row, col)));
                                    seen[row * k + col] += 1;
                                } else {
                                    prop_assert_eq!(code, 1);
                                }
                            }
                        }
                    }
                }
            }
            prop_assert!(seen.iter().all(|&s| s == 1));
        }

        #[test]
        fn weight_beat_words_round_trip(codes in proptest::collection::vec(0u8..4, 0..300)) {
            let words = pack_weight_beat(&codes).unwrap();
            prop_assert_eq!(words.len(), codes.len().div_ceil(16));
            prop_assert_eq!(unpack_weight_beat(&words, codes.len()).unwrap(), codes);
        }

        #[test]
        fn act_beats_pad_with_zero(acts in proptest::collection::vec(any::<i8>(), 0..100), lanes in 1usize..17) {
            let g = ArrayConfig::new(1, lanes, 1 << 20).unwrap();
            let beats = act_beats(&acts, &g);
            prop_assert_eq!(beats.len(), g.beats(acts.len()));
            let flat: Vec<i8> = beats.concat();
            prop_assert_eq!(&flat[..acts.len()], &acts[..]);
            prop_assert!(flat[acts.len()..].iter().all(|&a| a == 0));
        }
    }

    #[test]
    fn bad_requests_are_errors() {
        let w = TernaryMatrix::random(5, 9, 1);
        let g = ArrayConfig::new(4, 4, 64).unwrap();
        assert!(weight_tile_beats(&w, &g, 2, 0, 9).is_err());
        assert!(weight_tile_beats(&w, &g, 0, 0, 10).is_err());
        assert!(weight_tile_beats(&w, &g, 0, 5, 4).is_err());
        assert!(pack_weight_beat(&[0, 4]).is_err());
        assert!(unpack_weight_beat(&[0, 0], 5).is_err());
        // Known bits: codes 2,1,0 -> 0b00_01_10.
        assert_eq!(pack_weight_beat(&[2, 1, 0]).unwrap(), vec![0b00_01_10]);
    }
}
