// The configurations a Verilator model is built for: the ONE list of each
// kind.
//
// `build.rs` `include!`s this file and verilates `tri_mac_array` once per
// entry of `CONFIGS`, with the SystemVerilog parameters of its
// `tritium_golden::ArrayConfig` (`ArrayConfig::sv_params`), and `tri_accel`
// once per entry of `ACCEL_CONFIGS`, with those of its
// `tritium_golden::AccelConfig` (`AccelConfig::sv_params`), so the Rust side
// and the compiled models cannot disagree. Because of that `include!`, this
// file must stay plain items: no inner attributes or `//!` docs, no paths
// into this crate (`crate::`). Adding an entry builds one more model (a
// name must be a C identifier: it becomes the class `Vtri_<name>` or
// `Vacc_<name>`).

use tritium_golden::{AccelConfig, ArrayConfig, WeightFormat};

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

/// The one built model of the INT8 comparison array `int8_mac_array`
/// (rtl/int8_mac_array.sv, the W8A8 twin the FPGA flow synthesizes next to
/// `tri_mac_array`): 4 columns x 8 lanes with a small `KMax` of 64, so
/// that a tile of the most beats (8) and the accumulator extremes
/// (`16384 * KMax`, `-16256 * KMax`) are a few beats away. Its accumulator
/// width is [`ArrayConfig::int8_acc_width`]; the model class is `Vint8`.
pub const INT8: SimConfig = SimConfig {
    name: "int8",
    array: ArrayConfig {
        cols: 4,
        lanes: 8,
        k_max: 64,
    },
};

/// One built model of the accelerator `tri_accel` (rtl/tri_accel.sv): a name
/// and the accelerator configuration it was built with. Dereferences to its
/// [`AccelConfig`] (array, token rows, bus, stored format, word bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccelSimConfig {
    /// Name of the configuration; the Verilator model class is `Vacc_<name>`.
    pub name: &'static str,
    pub accel: AccelConfig,
}

impl std::ops::Deref for AccelSimConfig {
    type Target = AccelConfig;
    fn deref(&self) -> &AccelConfig {
        &self.accel
    }
}

impl AccelSimConfig {
    /// The configuration called `name` in [`ACCEL_CONFIGS`], if any.
    pub fn by_name(name: &str) -> Option<&'static AccelSimConfig> {
        ACCEL_CONFIGS.iter().find(|c| c.name == name)
    }
}

/// 4x5 array, 4 token rows, 2-bit weights on a 10-byte bus: a word is 5
/// bytes, 2 words per bus beat (the serializer path of the front end).
pub const ACC2: AccelSimConfig = AccelSimConfig {
    name: "acc2",
    accel: AccelConfig {
        array: ArrayConfig {
            cols: 4,
            lanes: 5,
            k_max: 128,
        },
        tokens: 4,
        bus_bytes: 10,
        format: WeightFormat::TwoBit,
        word_bytes: 5,
    },
};

/// The same 4x5 array with base-3 weights on a 2-byte bus: a word is 4
/// bytes, 2 bus beats per word (the deserializer path).
pub const ACC3: AccelSimConfig = AccelSimConfig {
    name: "acc3",
    accel: AccelConfig {
        array: ArrayConfig {
            cols: 4,
            lanes: 5,
            k_max: 128,
        },
        tokens: 4,
        bus_bytes: 2,
        format: WeightFormat::Base3,
        word_bytes: 4,
    },
};

/// A KV260-class decode configuration: 64x5 array (320 weights per cycle),
/// 16 token rows, base-3 weights on a 64-byte bus (one 64-byte word per
/// beat: 64 B/cycle of base-3 is 320 weights/cycle).
pub const KV260: AccelSimConfig = AccelSimConfig {
    name: "kv260",
    accel: AccelConfig {
        array: ArrayConfig {
            cols: 64,
            lanes: 5,
            k_max: 8192,
        },
        tokens: 16,
        bus_bytes: 64,
        format: WeightFormat::Base3,
        word_bytes: 64,
    },
};

/// The 2-bit twin of [`KV260`]: 64x4 array (256 weights = 64 bytes per beat).
pub const KV260_2BIT: AccelSimConfig = AccelSimConfig {
    name: "kv260_2bit",
    accel: AccelConfig {
        array: ArrayConfig {
            cols: 64,
            lanes: 4,
            k_max: 8192,
        },
        tokens: 16,
        bus_bytes: 64,
        format: WeightFormat::TwoBit,
        word_bytes: 64,
    },
};

/// Every accelerator configuration a Verilator model is built for.
pub const ACCEL_CONFIGS: &[AccelSimConfig] = &[ACC2, ACC3, KV260, KV260_2BIT];
