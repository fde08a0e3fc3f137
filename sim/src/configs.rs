// The array configurations of tritium: the ONE place they are defined.
//
// `build.rs` `include!`s this file and verilates `tri_mac_array` once per
// entry of `CONFIGS`, passing `-GCols= -GLanes= -GKMax=` from here, so the
// Rust side and the compiled models cannot disagree. Because of that
// `include!`, this file must stay plain items: no inner attributes or `//!`
// docs, no `use` of other crate modules. Adding an entry builds one more
// model (a name must be a C identifier: it becomes the class `Vtri_<name>`).

/// One shape of the `tri_mac_array` RTL (see `rtl/INTERFACE.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayConfig {
    /// Name of the configuration; the Verilator model class is `Vtri_<name>`.
    pub name: &'static str,
    /// Output channels computed in parallel (SV parameter `Cols`).
    pub cols: usize,
    /// int8 activations consumed per cycle (SV parameter `Lanes`).
    pub lanes: usize,
    /// Largest K (inputs per output row) supported (SV parameter `KMax`).
    pub k_max: usize,
}

/// `$clog2(n)`: the smallest `b` with `2^b >= n` (0 for `n <= 1`).
const fn clog2(n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        (usize::BITS - (n - 1).leading_zeros()) as usize
    }
}

impl ArrayConfig {
    /// Signed accumulator width, the RTL localparam
    /// `AccW = $clog2(128 * KMax + 1) + 1` of `rtl/INTERFACE.md`.
    ///
    /// The accumulator must hold `+128 * k_max` (weights -1 times
    /// activations -128) as well as `-128 * k_max`; the positive extreme
    /// needs one more bit than `$clog2(128 * KMax) + 1`. `k_max = 8192`
    /// gives 22 bits.
    pub const fn acc_width(&self) -> usize {
        clog2(128 * self.k_max + 1) + 1
    }

    /// Most beats (cycles of `Lanes` activations) one tile may have:
    /// `ceil(k_max / lanes)` (asserted in the RTL).
    pub const fn max_beats(&self) -> usize {
        self.k_max.div_ceil(self.lanes)
    }

    /// Width in bits of `w_data_i` (`Cols * Lanes * 2`).
    pub const fn weight_bits(&self) -> usize {
        self.cols * self.lanes * 2
    }

    /// Width in bits of `a_data_i` (`Lanes * 8`).
    pub const fn act_bits(&self) -> usize {
        self.lanes * 8
    }

    /// Width in bits of `r_data_o` and `acc_o` (`Cols * AccW`).
    pub const fn result_bits(&self) -> usize {
        self.cols * self.acc_width()
    }

    /// Multiply-accumulates (weight x activation pairs, skipped or not)
    /// the array processes per accepted beat: `cols * lanes`.
    pub const fn macs_per_beat(&self) -> usize {
        self.cols * self.lanes
    }

    /// The configuration called `name` in [`CONFIGS`], if any.
    pub fn by_name(name: &str) -> Option<&'static ArrayConfig> {
        CONFIGS.iter().find(|c| c.name == name)
    }
}

/// Small array for tests: 4 columns x 8 lanes.
pub const SMALL: ArrayConfig = ArrayConfig {
    name: "small",
    cols: 4,
    lanes: 8,
    k_max: 8192,
};

/// Large array for throughput: 16 columns x 32 lanes.
pub const LARGE: ArrayConfig = ArrayConfig {
    name: "large",
    cols: 16,
    lanes: 32,
    k_max: 8192,
};

/// Every configuration a Verilator model is built for.
pub const CONFIGS: &[ArrayConfig] = &[SMALL, LARGE];
