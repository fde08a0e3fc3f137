// The array configurations a Verilator model is built for: the ONE list.
//
// `build.rs` `include!`s this file and verilates `tri_mac_array` once per
// entry of `CONFIGS`, with the SystemVerilog parameters of its
// `tritium_golden::ArrayConfig` (`ArrayConfig::sv_params`), so the Rust side
// and the compiled models cannot disagree. Because of that `include!`, this
// file must stay plain items: no inner attributes or `//!` docs, no paths
// into this crate (`crate::`). Adding an entry builds one more model (a
// name must be a C identifier: it becomes the class `Vtri_<name>`).

use tritium_golden::ArrayConfig;

/// One built model: a name and the array configuration it was built with.
/// Dereferences to its [`ArrayConfig`] (shape, `KMax`, derived widths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SimConfig {
    /// Name of the configuration; the Verilator model class is `Vtri_<name>`.
    pub name: &'static str,
    pub array: ArrayConfig,
}

impl std::ops::Deref for SimConfig {
    type Target = ArrayConfig;
    fn deref(&self) -> &ArrayConfig {
        &self.array
    }
}

impl SimConfig {
    /// The configuration called `name` in [`CONFIGS`], if any.
    pub fn by_name(name: &str) -> Option<&'static SimConfig> {
        CONFIGS.iter().find(|c| c.name == name)
    }
}

/// Small array for tests: 4 columns x 8 lanes.
pub const SMALL: SimConfig = SimConfig {
    name: "small",
    array: ArrayConfig {
        cols: 4,
        lanes: 8,
        k_max: 8192,
    },
};

/// Large array for throughput: 16 columns x 32 lanes.
pub const LARGE: SimConfig = SimConfig {
    name: "large",
    array: ArrayConfig {
        cols: 16,
        lanes: 32,
        k_max: 8192,
    },
};

/// Every configuration a Verilator model is built for.
pub const CONFIGS: &[SimConfig] = &[SMALL, LARGE];
