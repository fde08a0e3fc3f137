//! The configuration of the ternary accelerator `rtl/tri_accel.sv`: the MAC
//! array ([`ArrayConfig`]) and what is built around it — the weight read
//! port and its stored format, the on-chip activation buffer, the result
//! buffer. The SystemVerilog parameters of `tri_accel` are set from it
//! ([`AccelConfig::sv_params`]); the memory images it reads are made by
//! [`crate::image`].

use crate::array::ArrayConfig;
use crate::error::{shape_err, Result};

/// Largest `TMax` (token rows in the activation buffer) accepted. The
/// buffer holds `TMax * ceil(KMax / Lanes)` words; a 4096-token buffer of
/// 8192-input rows is 32 MiB, beyond any on-chip memory.
pub const TOKENS_LIMIT: usize = 4096;
/// Largest weight port width in bytes (an AXI4 data bus is at most 128).
pub const BUS_BYTES_LIMIT: usize = 1024;

/// How weights are stored in memory and on the weight port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum WeightFormat {
    /// 2 bits per weight, 4 per byte: code `t + 1` of weight `i` of a word
    /// at bits `[2 (i mod 4) +: 2]` of byte `i / 4` (the codes of
    /// [`crate::ternary`]); code 3 is invalid.
    #[cfg_attr(feature = "serde", serde(rename = "2bit"))]
    TwoBit,
    /// Base 3, 5 weights per byte (1.6 bits per weight): byte `j` of a word
    /// is `sum_d (t_{5j+d} + 1) * 3^d` for `d` in 0..5, a value in 0..=242;
    /// bytes 243..=255 are invalid.
    #[cfg_attr(feature = "serde", serde(rename = "base3"))]
    Base3,
}

impl WeightFormat {
    pub const ALL: [WeightFormat; 2] = [WeightFormat::TwoBit, WeightFormat::Base3];

    /// Weights per stored byte: 4 or 5.
    pub const fn weights_per_byte(self) -> usize {
        match self {
            WeightFormat::TwoBit => 4,
            WeightFormat::Base3 => 5,
        }
    }

    /// The SV parameter `Format` (0: 2-bit, 1: base-3).
    pub const fn sv_value(self) -> usize {
        match self {
            WeightFormat::TwoBit => 0,
            WeightFormat::Base3 => 1,
        }
    }

    /// The name on the command line and in JSON: `2bit` or `base3`.
    pub const fn name(self) -> &'static str {
        match self {
            WeightFormat::TwoBit => "2bit",
            WeightFormat::Base3 => "base3",
        }
    }

    /// Bits per weight in memory (2.0 or 1.6).
    pub fn bits_per_weight(self) -> f64 {
        8.0 / self.weights_per_byte() as f64
    }

    /// The stored byte whose weights are all zero: `0x55` (codes 1) or 121
    /// (`1 + 3 + 9 + 27 + 81`, digits 1). Padding is written with it.
    pub const fn zero_byte(self) -> u8 {
        match self {
            WeightFormat::TwoBit => 0x55,
            WeightFormat::Base3 => 121,
        }
    }
}

impl std::fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for WeightFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<WeightFormat, String> {
        WeightFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown weight format `{s}` (expected 2bit or base3)"))
    }
}

/// Shape of the accelerator `rtl/tri_accel.sv` (contract in
/// `rtl/INTERFACE.md`).
///
/// A *word* is what the array consumes per weight fetch: the
/// `cols * lanes` weights of one beat, stored in `word_bytes` bytes of
/// [`AccelConfig::format`]. The weight port carries `bus_bytes` bytes per
/// beat; one of `word_bytes` and `bus_bytes` must divide the other, so that
/// words never straddle bus beats unevenly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccelConfig {
    pub array: ArrayConfig,
    /// Token rows the activation buffer holds (SV `TMax`): each weight word
    /// fetched is applied to up to this many tokens before it is dropped.
    pub tokens: usize,
    /// Bytes per weight port beat (SV `BusBytes`).
    pub bus_bytes: usize,
    /// Stored weight format (SV `Format`).
    pub format: WeightFormat,
    /// Bytes of one stored word (SV `WordBytes`), at least
    /// [`AccelConfig::packed_word_bytes`]; see [`AccelConfig::new`].
    pub word_bytes: usize,
}

impl AccelConfig {
    /// A checked configuration with the smallest `word_bytes` that holds a
    /// word and fits the bus: `ceil(cols * lanes / weights_per_byte)`
    /// rounded up to a multiple of `bus_bytes`, or, when smaller than the
    /// bus, up to the next divisor of `bus_bytes`.
    pub fn new(
        array: ArrayConfig,
        tokens: usize,
        bus_bytes: usize,
        format: WeightFormat,
    ) -> Result<AccelConfig> {
        let what = "accelerator (tokens, bus bytes)";
        if !(1..=TOKENS_LIMIT).contains(&tokens) || !(1..=BUS_BYTES_LIMIT).contains(&bus_bytes) {
            return Err(shape_err(
                what,
                format!("tokens in 1..={TOKENS_LIMIT}, bus bytes in 1..={BUS_BYTES_LIMIT}"),
                format!("{tokens}, {bus_bytes}"),
            ));
        }
        let packed = packed_bytes(&array, format);
        let word_bytes = if packed >= bus_bytes {
            packed.div_ceil(bus_bytes) * bus_bytes
        } else {
            (packed..=bus_bytes)
                .find(|&d| bus_bytes.is_multiple_of(d))
                .unwrap_or(bus_bytes)
        };
        let c = AccelConfig {
            array,
            tokens,
            bus_bytes,
            format,
            word_bytes,
        };
        c.check()?;
        Ok(c)
    }

    /// Checks a configuration built by hand (or read back): the array, the
    /// ranges of [`AccelConfig::new`], and `word_bytes` (holds a word, one
    /// of it and `bus_bytes` divides the other).
    pub fn check(&self) -> Result<()> {
        let a = &self.array;
        ArrayConfig::new(a.cols, a.lanes, a.k_max)?;
        let (w, b) = (self.word_bytes, self.bus_bytes);
        if !(1..=TOKENS_LIMIT).contains(&self.tokens) || !(1..=BUS_BYTES_LIMIT).contains(&b) {
            return Err(shape_err(
                "accelerator (tokens, bus bytes)",
                format!("tokens in 1..={TOKENS_LIMIT}, bus bytes in 1..={BUS_BYTES_LIMIT}"),
                format!("{}, {b}", self.tokens),
            ));
        }
        let packed = self.packed_word_bytes();
        if w < packed || (!w.is_multiple_of(b) && !b.is_multiple_of(w)) {
            return Err(shape_err(
                format!(
                    "word bytes of a {} array in {} on a {b}-byte bus",
                    a, self.format
                ),
                format!("at least {packed}, and a multiple or a divisor of {b}"),
                w,
            ));
        }
        Ok(())
    }

    /// The SystemVerilog parameter overrides of `tri_accel`.
    pub const fn sv_params(&self) -> [(&'static str, usize); 7] {
        let a = self.array.sv_params();
        [
            a[0],
            a[1],
            a[2],
            ("TMax", self.tokens),
            ("BusBytes", self.bus_bytes),
            ("Format", self.format.sv_value()),
            ("WordBytes", self.word_bytes),
        ]
    }

    /// Bytes that hold one word's weights without padding:
    /// `ceil(cols * lanes / weights_per_byte)`.
    pub fn packed_word_bytes(&self) -> usize {
        packed_bytes(&self.array, self.format)
    }

    /// Words per bus beat (1 when a word spans several beats).
    pub const fn words_per_beat(&self) -> usize {
        if self.bus_bytes >= self.word_bytes {
            self.bus_bytes / self.word_bytes
        } else {
            1
        }
    }

    /// Bus beats per word (1 when a beat holds several words).
    pub const fn beats_per_word(&self) -> usize {
        if self.word_bytes > self.bus_bytes {
            self.word_bytes / self.bus_bytes
        } else {
            1
        }
    }

    /// Words of the activation buffer (SV `ActDepth`):
    /// `tokens * ceil(k_max / lanes)`, each `lanes` int8 activations.
    pub const fn act_depth(&self) -> usize {
        self.tokens * self.array.max_beats()
    }

    /// Entries of the result buffer (SV `ResDepth`): two tiles of
    /// `tokens` results, so that a tile's results drain while the next
    /// tile computes.
    pub const fn result_depth(&self) -> usize {
        2 * self.tokens
    }

    /// Words of one run over a K range of `len` inputs for `n` rows:
    /// `ceil(n / cols) * ceil(len / lanes)`.
    pub const fn run_words(&self, n: usize, len: usize) -> usize {
        self.array.tiles(n) * self.array.beats(len)
    }

    /// Bus beats of `words` words (the image is padded to whole beats).
    pub const fn run_beats(&self, words: usize) -> usize {
        if self.bus_bytes >= self.word_bytes {
            words.div_ceil(self.words_per_beat())
        } else {
            words * self.beats_per_word()
        }
    }

    /// Bytes read from memory for `words` words: whole bus beats.
    pub const fn run_bytes(&self, words: usize) -> usize {
        self.run_beats(words) * self.bus_bytes
    }
}

fn packed_bytes(a: &ArrayConfig, f: WeightFormat) -> usize {
    a.macs_per_beat().div_ceil(f.weights_per_byte())
}

impl std::fmt::Display for AccelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} array, {} tokens, {} weights in {}-byte words on a {}-byte bus",
            self.array, self.tokens, self.format, self.word_bytes, self.bus_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(cols: usize, lanes: usize) -> ArrayConfig {
        ArrayConfig::new(cols, lanes, 8192).unwrap()
    }

    #[test]
    fn word_bytes_fit_the_bus() {
        use WeightFormat::*;
        let c = |cols, lanes, bus, f| AccelConfig::new(arr(cols, lanes), 1, bus, f).unwrap();
        // 320 weights: 80 bytes in 2 bits, 64 in base 3.
        assert_eq!(c(64, 5, 64, Base3).word_bytes, 64);
        assert_eq!(c(64, 5, 16, TwoBit).word_bytes, 80);
        assert_eq!(c(64, 5, 64, TwoBit).word_bytes, 128);
        // 20 weights: 5 and 4 bytes.
        assert_eq!(c(4, 5, 10, TwoBit).word_bytes, 5);
        assert_eq!(c(4, 5, 2, Base3).word_bytes, 4);
        // 32 weights in base 3: 7 bytes, padded to 8 on an 8-byte bus.
        assert_eq!(c(4, 8, 8, Base3).word_bytes, 8);
        assert_eq!(c(4, 8, 8, Base3).packed_word_bytes(), 7);
        assert_eq!(c(4, 8, 3, Base3).word_bytes, 9);
        let k = c(4, 5, 10, TwoBit);
        assert_eq!((k.words_per_beat(), k.beats_per_word()), (2, 1));
        assert_eq!((k.run_beats(5), k.run_bytes(5)), (3, 30));
        let k = c(4, 5, 2, Base3);
        assert_eq!((k.words_per_beat(), k.beats_per_word()), (1, 2));
        assert_eq!((k.run_beats(5), k.run_bytes(5)), (10, 20));
        for bus in 1..100 {
            for f in WeightFormat::ALL {
                let k = c(3, 7, bus, f);
                assert!(k.word_bytes >= k.packed_word_bytes());
                assert!(k.word_bytes % bus == 0 || bus % k.word_bytes == 0);
            }
        }
    }

    #[test]
    fn bad_configurations_are_refused() {
        let a = arr(4, 5);
        assert!(AccelConfig::new(a, 0, 8, WeightFormat::TwoBit).is_err());
        assert!(AccelConfig::new(a, TOKENS_LIMIT + 1, 8, WeightFormat::TwoBit).is_err());
        assert!(AccelConfig::new(a, 1, 0, WeightFormat::TwoBit).is_err());
        assert!(AccelConfig::new(a, 1, BUS_BYTES_LIMIT + 1, WeightFormat::TwoBit).is_err());
        let mut c = AccelConfig::new(a, 1, 8, WeightFormat::Base3).unwrap();
        c.word_bytes = 3;
        assert!(c.check().is_err(), "too small");
        c.word_bytes = 6;
        assert!(c.check().is_err(), "neither divides");
        c.word_bytes = 16;
        assert!(c.check().is_ok());
        assert_eq!("base3".parse::<WeightFormat>(), Ok(WeightFormat::Base3));
        assert!("3bit".parse::<WeightFormat>().is_err());
    }
}
