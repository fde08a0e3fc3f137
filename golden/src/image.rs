//! The memory images the accelerator `rtl/tri_accel.sv` reads: the weights
//! of a BitLinear as stored in memory (2-bit or base-3, [`WeightFormat`])
//! and the contents of its activation buffer. Layouts in `rtl/INTERFACE.md`.
//!
//! # Weight image of a run
//! A run computes one K range `k0..k1` of an `n x k` BitLinear for up to
//! `tokens` token rows. Its image is the run's *words* in fetch order —
//! for each output tile (`ceil(n / cols)`), for each beat
//! (`ceil((k1 - k0) / lanes)`) — each `word_bytes` bytes long, then padded
//! to a whole number of bus beats. Word `(tile, beat)` holds the codes of
//! [`crate::stream::weight_tile_beats`] (code index `i = c * lanes + l`,
//! padding code 1), stored as [`pack_word`] says. Padding bytes (past
//! `cols * lanes` codes, and past the last word) are
//! [`WeightFormat::zero_byte`].
//!
//! # Activation buffer image
//! The run's activations as buffer words of `lanes` int8 values, beat-major:
//! word `beat * tokens + t` holds inputs `k0 + beat * lanes ..` of token row
//! `t` (zeros past `k1`). The accelerator reads them in exactly this order
//! for every tile, so its read address is a counter (no multiplier).

use crate::accel::{AccelConfig, WeightFormat};
use crate::error::{shape_err, Result};
use crate::stream::weight_tile_beats;
use crate::ternary::TernaryMatrix;

/// Powers of three of the five digits of a base-3 byte.
const POW3: [u8; 5] = [1, 3, 9, 27, 81];

/// The base-3 byte of five codes (each 0..=2, code `t + 1`):
/// `sum_d codes[d] * 3^d`.
pub fn base3_pack(codes: [u8; 5]) -> Result<u8> {
    let mut b = 0u8;
    for (d, &c) in codes.iter().enumerate() {
        if c > 2 {
            return Err(shape_err(format!("base-3 digit {d}"), "0..=2", c));
        }
        b += c * POW3[d];
    }
    Ok(b)
}

/// The five codes of a base-3 byte, digit `d` (weight `5j + d` of the
/// word) first; `None` for the invalid bytes 243..=255.
pub const fn base3_unpack(b: u8) -> Option<[u8; 5]> {
    if b > 242 {
        return None;
    }
    let mut out = [0u8; 5];
    let mut r = b;
    let mut d = 0;
    while d < 5 {
        out[d] = r % 3;
        r /= 3;
        d += 1;
    }
    Some(out)
}

/// The stored bytes (`word_bytes` of them) of one word of `cols * lanes`
/// codes (each 0..=2). 2-bit: code `i` at bits `[2 (i mod 4) +: 2]` of byte
/// `i / 4`; base-3: byte `j` = [`base3_pack`] of codes `5j .. 5j + 5`.
/// Codes past the word are 1 (zero weight).
pub fn pack_word(codes: &[u8], cfg: &AccelConfig) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(cfg.word_bytes);
    pack_word_into(codes, cfg, &mut out)?;
    Ok(out)
}

/// [`pack_word`], appended to `out` (nothing appended on an error).
fn pack_word_into(codes: &[u8], cfg: &AccelConfig, out: &mut Vec<u8>) -> Result<()> {
    let n = cfg.array.macs_per_beat();
    if codes.len() != n {
        return Err(shape_err("codes of a weight word", n, codes.len()));
    }
    let per = cfg.format.weights_per_byte();
    let code = |i: usize| codes.get(i).copied().unwrap_or(1);
    let start = out.len();
    for j in 0..cfg.word_bytes {
        let b = match cfg.format {
            WeightFormat::TwoBit => {
                let mut b = 0u8;
                for d in 0..per {
                    let c = code(j * per + d);
                    if c > 2 {
                        out.truncate(start);
                        return Err(shape_err(
                            format!("weight code {}", j * per + d),
                            "0..=2",
                            c,
                        ));
                    }
                    b |= c << (2 * d);
                }
                b
            }
            WeightFormat::Base3 => match base3_pack(std::array::from_fn(|d| code(j * per + d))) {
                Ok(b) => b,
                Err(e) => {
                    out.truncate(start);
                    return Err(e);
                }
            },
        };
        out.push(b);
    }
    Ok(())
}

/// The `cols * lanes` codes of one stored word. An invalid weight (2-bit
/// code 3, or any weight of a base-3 byte above 242) is returned as code 3,
/// the one invalid code of both formats.
pub fn unpack_word(bytes: &[u8], cfg: &AccelConfig) -> Result<Vec<u8>> {
    if bytes.len() != cfg.word_bytes {
        return Err(shape_err(
            "bytes of a weight word",
            cfg.word_bytes,
            bytes.len(),
        ));
    }
    let n = cfg.array.macs_per_beat();
    let mut out = Vec::with_capacity(n + 5);
    for &b in bytes {
        match cfg.format {
            WeightFormat::TwoBit => out.extend((0..4).map(|d| (b >> (2 * d)) & 3)),
            WeightFormat::Base3 => out.extend(base3_unpack(b).unwrap_or([3; 5])),
        }
        if out.len() >= n {
            break;
        }
    }
    out.truncate(n);
    Ok(out)
}

/// The weight image of one run: inputs `k0..k1` of `w`, every output tile
/// (module docs). Its length is [`AccelConfig::run_bytes`] of the run's
/// words.
pub fn weight_image(w: &TernaryMatrix, cfg: &AccelConfig, k0: usize, k1: usize) -> Result<Vec<u8>> {
    let a = &cfg.array;
    let words = cfg.run_words(w.n(), k1.saturating_sub(k0));
    let tiles = a.tiles(w.n());
    if tiles > 0 && (k0 > k1 || k1 > w.k()) {
        // The error of the definition below.
        weight_tile_beats(w, a, 0, k0, k1)?;
    }
    // By definition the words of `weight_tile_beats`, each through
    // `pack_word`; built word by word here (one code buffer, rows read in
    // order) because a 2B4T image has millions of words. Test
    // `weight_image_is_tile_beats_packed` holds the two equal.
    let mut out = Vec::with_capacity(cfg.run_bytes(words));
    let (cols, lanes) = (a.cols, a.lanes);
    let mut codes = vec![1u8; a.macs_per_beat()];
    for tile in 0..tiles {
        let rows = cols.min(w.n() - tile * cols);
        for beat in 0..a.beats(k1 - k0) {
            let c0 = k0 + beat * lanes;
            let width = lanes.min(k1 - c0);
            codes.fill(1);
            for c in 0..rows {
                let packed = w.packed_row(tile * cols + c);
                for (l, code) in codes[c * lanes..c * lanes + width].iter_mut().enumerate() {
                    let col = c0 + l;
                    *code = (packed[col / 4] >> (2 * (col % 4))) & 3;
                }
            }
            pack_word_into(&codes, cfg, &mut out)?;
        }
    }
    out.resize(cfg.run_bytes(words), cfg.format.zero_byte());
    Ok(out)
}

/// The weights a byte of a run's weight image holds, as `(row, input)` of
/// the matrix (empty for padding): to name what a corrupted byte hits.
pub fn image_byte_weights(
    cfg: &AccelConfig,
    n: usize,
    k0: usize,
    k1: usize,
    byte: usize,
) -> Vec<(usize, usize)> {
    let a = &cfg.array;
    let (word, in_word) = (byte / cfg.word_bytes, byte % cfg.word_bytes);
    let beats = a.beats(k1.saturating_sub(k0));
    if beats == 0 || word >= cfg.run_words(n, k1 - k0) {
        return Vec::new();
    }
    let (tile, beat) = (word / beats, word % beats);
    let per = cfg.format.weights_per_byte();
    (in_word * per..(in_word + 1) * per)
        .filter(|&i| i < a.macs_per_beat())
        .map(|i| {
            (
                tile * a.cols + i / a.lanes,
                k0 + beat * a.lanes + i % a.lanes,
            )
        })
        .filter(|&(r, c)| r < n && c < k1)
        .collect()
}

/// The activation buffer image of one run: `rows` token rows of `k` inputs
/// (`acts[t * k + c]`), inputs `k0..k1`, as `beats * rows` words of `lanes`
/// values, flattened (word `beat * rows + t` at `[(beat * rows + t) * lanes ..]`).
pub fn act_image(
    acts: &[i8],
    rows: usize,
    k: usize,
    k0: usize,
    k1: usize,
    lanes: usize,
) -> Result<Vec<i8>> {
    if lanes == 0 || k0 > k1 || k1 > k || rows.checked_mul(k) != Some(acts.len()) {
        return Err(shape_err(
            "activation buffer image",
            format!("{rows} rows of {k} inputs, range within 0..{k}, lanes >= 1"),
            format!("{} values, range {k0}..{k1}, {lanes} lanes", acts.len()),
        ));
    }
    let beats = (k1 - k0).div_ceil(lanes);
    let mut out = vec![0i8; beats * rows * lanes];
    for beat in 0..beats {
        for t in 0..rows {
            let c0 = k0 + beat * lanes;
            let c1 = (c0 + lanes).min(k1);
            let at = (beat * rows + t) * lanes;
            out[at..at + c1 - c0].copy_from_slice(&acts[t * k + c0..t * k + c1]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::ArrayConfig;
    use proptest::prelude::*;

    #[test]
    fn every_base3_byte_decodes_and_re_encodes() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            match base3_unpack(b) {
                Some(d) => {
                    assert!(b <= 242);
                    assert!(d.iter().all(|&x| x <= 2));
                    assert_eq!(base3_pack(d).unwrap(), b);
                    assert!(seen.insert(d), "{b}: digits seen before");
                }
                None => assert!(b >= 243),
            }
        }
        assert_eq!(seen.len(), 243);
        assert_eq!(base3_unpack(121), Some([1; 5]));
        assert_eq!(base3_unpack(WeightFormat::Base3.zero_byte()), Some([1; 5]));
        assert!(base3_pack([0, 0, 3, 0, 0]).is_err());
    }

    proptest! {
        /// Words round-trip through both formats for ragged arrays and
        /// buses; padding decodes to nothing extra.
        #[test]
        fn words_round_trip(
            cols in 1usize..9, lanes in 1usize..12, bus in 1usize..40, base3 in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let f = if base3 { WeightFormat::Base3 } else { WeightFormat::TwoBit };
            let cfg = AccelConfig::new(ArrayConfig::new(cols, lanes, 64).unwrap(), 2, bus, f).unwrap();
            let mut rng = crate::rng::SplitMix64::new(seed);
            let codes: Vec<u8> = (0..cols * lanes).map(|_| rng.below(3) as u8).collect();
            let bytes = pack_word(&codes, &cfg).unwrap();
            prop_assert_eq!(bytes.len(), cfg.word_bytes);
            prop_assert_eq!(unpack_word(&bytes, &cfg).unwrap(), codes);
        }

        /// `weight_image` is its definition: the words of
        /// `weight_tile_beats`, tile by tile, each through `pack_word`, then
        /// padding to whole bus beats.
        #[test]
        fn weight_image_is_tile_beats_packed(
            n in 1usize..30, k in 1usize..50, cols in 1usize..9, lanes in 1usize..9,
            bus in 1usize..24, base3 in any::<bool>(), k0 in 0usize..50, len in 0usize..50,
            seed in any::<u64>(),
        ) {
            let f = if base3 { WeightFormat::Base3 } else { WeightFormat::TwoBit };
            let cfg = AccelConfig::new(ArrayConfig::new(cols, lanes, 64).unwrap(), 1, bus, f).unwrap();
            let w = TernaryMatrix::random(n, k, seed);
            let k0 = k0.min(k);
            let k1 = (k0 + len).min(k);
            let a = &cfg.array;
            let mut want = Vec::new();
            for tile in 0..a.tiles(n) {
                for beat in weight_tile_beats(&w, a, tile, k0, k1).unwrap() {
                    want.extend(pack_word(&beat, &cfg).unwrap());
                }
            }
            want.resize(cfg.run_bytes(cfg.run_words(n, k1 - k0)), f.zero_byte());
            prop_assert_eq!(weight_image(&w, &cfg, k0, k1).unwrap(), want);
            prop_assert!(weight_image(&w, &cfg, k1 + 1, k1).is_err());
            prop_assert!(weight_image(&w, &cfg, 0, k + 1).is_err());
        }

        /// The image holds every weight once, at the byte
        /// `image_byte_weights` names, and has whole bus beats.
        #[test]
        fn image_covers_each_weight_once(
            n in 1usize..20, k in 1usize..40, cols in 1usize..6, lanes in 1usize..9,
            bus in 1usize..24, base3 in any::<bool>(), split in 0usize..40, seed in any::<u64>(),
        ) {
            let f = if base3 { WeightFormat::Base3 } else { WeightFormat::TwoBit };
            let cfg = AccelConfig::new(ArrayConfig::new(cols, lanes, 64).unwrap(), 1, bus, f).unwrap();
            let w = TernaryMatrix::random(n, k, seed);
            let split = split.min(k);
            let mut seen = vec![0u32; n * k];
            for (k0, k1) in [(0, split), (split, k)] {
                let img = weight_image(&w, &cfg, k0, k1).unwrap();
                let words = cfg.run_words(n, k1 - k0);
                prop_assert_eq!(img.len(), cfg.run_bytes(words));
                prop_assert_eq!(img.len() % bus, 0);
                for (wi, word) in img.chunks(cfg.word_bytes).enumerate() {
                    let codes = unpack_word(word, &cfg).unwrap();
                    if wi >= words {
                        prop_assert!(codes.iter().all(|&c| c == 1), "padding word {}", wi);
                        continue;
                    }
                    let beats = cfg.array.beats(k1 - k0);
                    let (tile, beat) = (wi / beats, wi % beats);
                    for (i, &code) in codes.iter().enumerate() {
                        let (r, c) = (tile * cols + i / lanes, k0 + beat * lanes + i % lanes);
                        if r < n && c < k1 {
                            prop_assert_eq!(i16::from(code) - 1, i16::from(w.get(r, c)));
                            seen[r * k + c] += 1;
                            let byte = wi * cfg.word_bytes + i / f.weights_per_byte();
                            prop_assert!(image_byte_weights(&cfg, n, k0, k1, byte).contains(&(r, c)));
                        } else {
                            prop_assert_eq!(code, 1);
                        }
                    }
                }
            }
            prop_assert!(seen.iter().all(|&s| s == 1));
        }

        #[test]
        fn act_image_is_beat_major(
            rows in 1usize..5, k in 1usize..30, lanes in 1usize..9, k0 in 0usize..30, seed in any::<u64>(),
        ) {
            let k0 = k0.min(k);
            let mut rng = crate::rng::SplitMix64::new(seed);
            let acts: Vec<i8> = (0..rows * k).map(|_| rng.below(256) as u8 as i8).collect();
            let img = act_image(&acts, rows, k, k0, k, lanes).unwrap();
            let beats = (k - k0).div_ceil(lanes);
            prop_assert_eq!(img.len(), beats * rows * lanes);
            for beat in 0..beats {
                for t in 0..rows {
                    for l in 0..lanes {
                        let c = k0 + beat * lanes + l;
                        let want = if c < k { acts[t * k + c] } else { 0 };
                        prop_assert_eq!(img[(beat * rows + t) * lanes + l], want);
                    }
                }
            }
        }
    }

    #[test]
    fn bad_requests_are_errors() {
        let cfg = AccelConfig::new(
            ArrayConfig::new(2, 3, 64).unwrap(),
            1,
            4,
            WeightFormat::Base3,
        )
        .unwrap();
        assert!(pack_word(&[1; 5], &cfg).is_err());
        assert!(pack_word(&[1, 1, 1, 1, 1, 3], &cfg).is_err());
        assert_eq!(cfg.word_bytes, 2);
        assert!(unpack_word(&[0; 3], &cfg).is_err());
        assert_eq!(unpack_word(&[243, 121], &cfg).unwrap(), [3, 3, 3, 3, 3, 1]);
        let w = TernaryMatrix::random(3, 5, 1);
        assert!(weight_image(&w, &cfg, 0, 6).is_err());
        assert!(weight_image(&w, &cfg, 3, 2).is_err());
        assert!(act_image(&[0; 10], 2, 5, 0, 6, 3).is_err());
        assert!(act_image(&[0; 9], 2, 5, 0, 5, 3).is_err());
        assert!(act_image(&[0; 10], 2, 5, 0, 5, 0).is_err());
        assert!(image_byte_weights(&cfg, 3, 0, 5, 1000).is_empty());
    }
}
