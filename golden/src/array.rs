//! The configuration of the ternary MAC array: the one type every part of
//! tritium takes its geometry from (the stream packer in [`crate::stream`],
//! the Verilator build of `tritium-sim`, the RTL backend, the cost model and
//! the FPGA flow). The SystemVerilog parameters `Cols`, `Lanes` and `KMax`
//! of `rtl/tri_mac_array.sv` are set from it; everything else the RTL
//! derives (`AccW`, the beat bound, port widths) is mirrored here by one
//! function each, and the tests of `tritium-sim` check them against the
//! compiled models.

use crate::error::{shape_err, Result};

/// Bits per weight code on the wire (`tri_pkg::CodeW`).
pub const CODE_BITS: usize = 2;
/// Bits per activation on the wire (`tri_pkg::ActW`).
pub const ACT_BITS: usize = 8;
/// Largest `KMax` the RTL accepts (`128 * KMax` must fit in 31 bits).
pub const K_MAX_LIMIT: usize = 1 << 23;
/// Largest `Cols` and `Lanes` accepted (a 65536 x 65536 array is far beyond
/// any design; the bound keeps every product of them exact in 64 bits).
pub const DIM_LIMIT: usize = 1 << 16;

/// `$clog2(n)`: the smallest `b` with `2^b >= n` (0 for `n <= 1`).
pub const fn clog2(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        u64::BITS - (n - 1).leading_zeros()
    }
}

/// Shape of the `tri_mac_array` RTL: `cols` output channels, each summing
/// `lanes` int8 activations per cycle, for rows of up to `k_max` inputs per
/// tile (longer rows are split into K segments by the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "ArrayRepr", into = "ArrayRepr")
)]
pub struct ArrayConfig {
    /// Output channels computed in parallel (SV parameter `Cols`).
    pub cols: usize,
    /// int8 activations consumed per cycle (SV parameter `Lanes`).
    pub lanes: usize,
    /// Largest K (inputs per output row) of one tile (SV parameter `KMax`).
    pub k_max: usize,
}

impl ArrayConfig {
    /// Cycles a tile takes beyond its beats: one to drain the registered
    /// beat sum into the accumulators, one for the result handshake (see the
    /// pipeline in `rtl/tri_mac_array.sv`). A tile of `B` beats takes
    /// `B + 2` cycles with inputs always valid and results always taken.
    pub const TILE_OVERHEAD_CYCLES: u64 = 2;

    /// A configuration, checked: columns and lanes in `1..=`[`DIM_LIMIT`],
    /// `k_max` in `1..=`[`K_MAX_LIMIT`].
    pub fn new(cols: usize, lanes: usize, k_max: usize) -> Result<ArrayConfig> {
        let dim = 1..=DIM_LIMIT;
        if !dim.contains(&cols) || !dim.contains(&lanes) || !(1..=K_MAX_LIMIT).contains(&k_max) {
            return Err(shape_err(
                "MAC array (columns x lanes, KMax)",
                format!("columns and lanes in 1..={DIM_LIMIT}, KMax in 1..={K_MAX_LIMIT}"),
                format!("{cols} x {lanes}, KMax {k_max}"),
            ));
        }
        Ok(ArrayConfig { cols, lanes, k_max })
    }

    /// The SystemVerilog parameter overrides of `tri_mac_array` (and of the
    /// INT8 twin) for this configuration: `-GCols=`, `-GLanes=`, `-GKMax=`
    /// for Verilator, `chparam` for Yosys. Everything else the RTL derives.
    pub const fn sv_params(&self) -> [(&'static str, usize); 3] {
        [
            ("Cols", self.cols),
            ("Lanes", self.lanes),
            ("KMax", self.k_max),
        ]
    }

    /// Signed accumulator width, the RTL localparam
    /// `AccW = $clog2(128 * KMax + 1) + 1`: the accumulator holds
    /// `+128 * KMax` (weights -1 times activations -128) as well as
    /// `-128 * KMax`; the positive extreme needs the extra bit. `KMax = 8192`
    /// gives 22 bits.
    pub const fn acc_width(&self) -> usize {
        clog2(128 * self.k_max as u64 + 1) as usize + 1
    }

    /// Accumulator width of the INT8 comparison array of the same shape
    /// (`rtl/int8_mac_array.sv`): `$clog2(16384 * KMax + 1) + 1`.
    pub const fn int8_acc_width(&self) -> usize {
        clog2(16384 * self.k_max as u64 + 1) as usize + 1
    }

    /// Most beats one tile may have, `ceil(k_max / lanes)` (asserted in the RTL).
    pub const fn max_beats(&self) -> usize {
        self.k_max.div_ceil(self.lanes)
    }

    /// Inputs of one full K segment: [`ArrayConfig::max_beats`] whole beats.
    pub const fn segment_len(&self) -> usize {
        self.max_beats() * self.lanes
    }

    /// The K segments `[k0, k1)` a row of `k` inputs is split into, so that
    /// no tile exceeds `k_max` (one segment when `k <= k_max`).
    pub fn segments(&self, k: usize) -> impl Iterator<Item = (usize, usize)> {
        let seg = self.segment_len();
        (0..k.div_ceil(seg)).map(move |s| (s * seg, ((s + 1) * seg).min(k)))
    }

    /// Codes in one weight beat (`cols * lanes`), also the MACs (skipped or
    /// not) the array processes per accepted beat.
    pub const fn macs_per_beat(&self) -> usize {
        self.cols * self.lanes
    }

    /// Output tiles for `n` rows.
    pub const fn tiles(&self, n: usize) -> usize {
        n.div_ceil(self.cols)
    }

    /// Beats for a K range of `len` inputs.
    pub const fn beats(&self, len: usize) -> usize {
        len.div_ceil(self.lanes)
    }

    /// Width in bits of `w_data_i` (`Cols * Lanes * CodeW`).
    pub const fn weight_bits(&self) -> usize {
        self.cols * self.lanes * CODE_BITS
    }

    /// Width in bits of `a_data_i` (`Lanes * ActW`).
    pub const fn act_bits(&self) -> usize {
        self.lanes * ACT_BITS
    }

    /// Width in bits of `r_data_o` and `acc_o` (`Cols * AccW`).
    pub const fn result_bits(&self) -> usize {
        self.cols * self.acc_width()
    }

    /// Cycles of one token row of an `n x k` BitLinear with inputs always
    /// valid and results always taken: for each of the `ceil(n / cols)`
    /// output tiles, each K segment takes its beats plus
    /// [`ArrayConfig::TILE_OVERHEAD_CYCLES`]. The RTL co-simulation measures
    /// exactly this (checked in the tests).
    pub fn cycles_per_row(&self, n: usize, k: usize) -> u64 {
        let per_tile: u64 = self
            .segments(k)
            .map(|(k0, k1)| self.beats(k1 - k0) as u64 + Self::TILE_OVERHEAD_CYCLES)
            .sum();
        self.tiles(n) as u64 * per_tile
    }
}

impl std::fmt::Display for ArrayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} x {} (KMax {})", self.cols, self.lanes, self.k_max)
    }
}

/// The serialized form: the three parameters and, for readers of the JSON,
/// the tile overhead (must equal [`ArrayConfig::TILE_OVERHEAD_CYCLES`] when read back).
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct ArrayRepr {
    cols: usize,
    lanes: usize,
    k_max: usize,
    tile_overhead_cycles: u64,
}

#[cfg(feature = "serde")]
impl From<ArrayConfig> for ArrayRepr {
    fn from(a: ArrayConfig) -> ArrayRepr {
        ArrayRepr {
            cols: a.cols,
            lanes: a.lanes,
            k_max: a.k_max,
            tile_overhead_cycles: ArrayConfig::TILE_OVERHEAD_CYCLES,
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<ArrayRepr> for ArrayConfig {
    type Error = String;
    fn try_from(r: ArrayRepr) -> std::result::Result<ArrayConfig, String> {
        if r.tile_overhead_cycles != ArrayConfig::TILE_OVERHEAD_CYCLES {
            return Err(format!(
                "tile_overhead_cycles is {}; the RTL's is {}",
                r.tile_overhead_cycles,
                ArrayConfig::TILE_OVERHEAD_CYCLES
            ));
        }
        ArrayConfig::new(r.cols, r.lanes, r.k_max).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accumulator_width_holds_both_extremes_and_no_more() {
        for k_max in [1usize, 2, 3, 5, 100, 2560, 6912, 8192, 1 << 20] {
            let a = ArrayConfig::new(4, 8, k_max).unwrap();
            let w = a.acc_width() as u32;
            let (hi, lo) = (128 * k_max as i64, -128 * k_max as i64);
            assert!(hi < 1 << (w - 1) && lo >= -(1 << (w - 1)), "{k_max}");
            assert!(hi >= 1 << (w - 2), "{k_max}: {w} bits is one too many");
        }
        assert_eq!(ArrayConfig::new(4, 8, 8192).unwrap().acc_width(), 22);
        assert_eq!(ArrayConfig::new(4, 8, 8192).unwrap().int8_acc_width(), 29);
    }

    #[test]
    fn segments_cover_k_in_whole_beats() {
        let a = ArrayConfig::new(4, 8, 20).unwrap(); // segments of 24
        assert_eq!(
            a.segments(50).collect::<Vec<_>>(),
            [(0, 24), (24, 48), (48, 50)]
        );
        assert_eq!(a.segments(0).count(), 0);
        assert_eq!(a.cycles_per_row(5, 50), 2 * (3 + 3 + 1 + 3 * 2));
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(ArrayConfig::new(0, 8, 8).is_err());
        assert!(ArrayConfig::new(1, 0, 8).is_err());
        assert!(ArrayConfig::new(1, 1, 0).is_err());
        assert!(ArrayConfig::new(1, 1, K_MAX_LIMIT + 1).is_err());
    }
}
