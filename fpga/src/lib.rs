//! FPGA (and ASIC) synthesis results of the ternary MAC array and the
//! ternary accelerator next to INT8 and FP16 multiply-accumulate units
//! (`tritium synth`, `make synth`; fpga/README.md).
//!
//! The flow synthesizes the project's own RTL (`rtl/files.f`) with Yosys
//! (pinned: Debian's 0.23) for each design and size: generic gates
//! (`synth`), iCE40 (`synth_ice40`, LUT fabric only), Xilinx 7-series and
//! UltraScale+ (`synth_xilinx`, DSP and block RAM inference on) and a
//! standard-cell library (`asic`: `dfflibmap`/`abc -liberty`, area in um^2
//! from the Liberty file, [`liberty`]), and places and routes a small array
//! of each kind with nextpnr-ice40 for an Fmax. Every count comes from
//! Yosys's own `stat -json` output ([`yosys`]); nothing is typed in.
//!
//! Designs compared (all in `rtl/`):
//! - PE level, the lane's product: `tri_pe` (weight code selects +a, -a or
//!   0), `int8_pe` (8 x 8 multiplier), `fp16_mul` (binary16 multiply, RNE);
//!   plus `fp16_mac_pe`, a whole binary16 multiply-accumulate unit.
//! - Array level, Cols x Lanes: `tri_mac_array` and `int8_mac_array` (same
//!   shape, handshakes, pipeline and 64-bit counters; only the datapath
//!   differs). FP16 arrays are NOT synthesized: their row is an estimate,
//!   Cols*Lanes times `fp16_mac_pe` ([`UnitResult::estimate`] is true).
//! - Accelerator level: `tri_accel` (array, weight front end and decoder,
//!   activation buffer, accumulator bank, result FIFO, counters) for each
//!   [`AccelConfig`] of the sweep ([`accel`]: presets such as the
//!   KV260-class `kv260-base3`), and its weight decoder alone: `tri_wdec`
//!   for the configuration's word and `tri_dec_base3` for one base-3 byte.
//!
//! For the report: [`load_results`] reads `fpga/results/results.json`
//! ([`SynthResults`], versioned by [`SCHEMA_VERSION`]) and
//! [`markdown_table`] renders the comparison.

#![forbid(unsafe_code)]

pub mod accel;
mod error;
mod flow;
pub mod liberty;
mod merge;
mod pnr;
mod report;
pub mod yosys;

use std::collections::BTreeMap;
use std::path::Path;
use tritium_util::AtPath;

use serde::{Deserialize, Serialize};

pub use accel::{accel_label, accel_spec, parse_accel, ACCEL_PRESETS};
pub use error::{Error, Result};
pub use flow::{run_sweep, ArraySize, SweepConfig};
pub use report::markdown_table;
pub use tritium_golden::{AccelConfig, WeightFormat};

/// Version of the results.json layout. Bumped on any incompatible change
/// (renamed or removed field, changed meaning); added optional fields keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything one run of the flow measured: `fpga/results/results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthResults {
    /// Layout version, [`SCHEMA_VERSION`] when written by this build.
    pub schema_version: u32,
    /// Tool versions as the tools print them.
    pub tools: ToolVersions,
    /// `KMax` of the arrays (sets the accumulator width).
    pub k_max: u32,
    /// Array sizes of the sweep.
    pub sizes: Vec<ArraySize>,
    /// Accelerator configurations of the sweep (`tri_accel` units, their
    /// decoders and, for `asic`, their arrays).
    #[serde(default)]
    pub accels: Vec<AccelConfig>,
    /// One entry per design, size and family (synthesized or estimated).
    pub units: Vec<UnitResult>,
    /// Place-and-route results (empty without `--pnr`).
    pub pnr: Vec<PnrResult>,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

/// Versions of the tools that produced the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolVersions {
    /// `yosys -V`, e.g. "Yosys 0.23 (git sha1 7ce5011c24b)".
    pub yosys: String,
    /// `nextpnr-ice40 --version`, when P&R ran.
    pub nextpnr: Option<String>,
    /// The Liberty library of the `asic` rows: its `library (NAME)` and,
    /// in parentheses, the name of the file it was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liberty: Option<String>,
}

/// The arithmetic of a multiply-accumulate design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MacKind {
    /// W1.58A8: ternary weight code x int8 activation (add, subtract, skip).
    Ternary,
    /// W8A8: int8 x int8 multiply.
    Int8,
    /// IEEE binary16 multiply and add, round to nearest even.
    Fp16,
}

impl MacKind {
    /// All kinds, in table order.
    pub const ALL: [MacKind; 3] = [MacKind::Ternary, MacKind::Int8, MacKind::Fp16];

    /// Short display name.
    pub fn label(self) -> &'static str {
        match self {
            MacKind::Ternary => "ternary",
            MacKind::Int8 => "INT8",
            MacKind::Fp16 => "FP16",
        }
    }
}

/// What a [`UnitResult`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// One lane's product (tri_pe, int8_pe, fp16_mul): combinational.
    Pe,
    /// A whole multiply-accumulate unit with its accumulator (fp16_mac_pe).
    MacUnit,
    /// A stored-weight decoder (combinational): `tri_wdec`, one word of an
    /// accelerator configuration into its Cols*Lanes codes, or
    /// `tri_dec_base3`, one base-3 byte into five codes.
    Decoder,
    /// A Cols x Lanes array.
    Array,
    /// The whole accelerator `tri_accel` of one [`AccelConfig`].
    Accel,
}

/// Target of a synthesis run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Yosys `synth`: technology-independent gates ($_AND_, $_XOR_, $_DFF_*, ...).
    Generic,
    /// Yosys `synth_ice40` (no DSP inference: LUT fabric, as on HX parts).
    Ice40,
    /// Yosys `synth_xilinx -family xc7` (DSP48E1 and block RAM inference on).
    Xilinx,
    /// Yosys `synth_xilinx -family xcup`: UltraScale+ (the Zynq
    /// UltraScale+ of the AMD KV260; DSP48E2, RAMB18E2/RAMB36E2, URAM288
    /// with `-uram` only; Yosys 0.23 maps carries to CARRY4).
    Xcup,
    /// Standard cells: Yosys `synth`, then `dfflibmap` and `abc` with a
    /// Liberty library (default SKY130 HD, typical corner); the area in
    /// um^2 is [`UnitResult::cell_area_um2`]. Only PE-level units,
    /// decoders and the arrays of the accelerator configurations.
    Asic,
}

impl Family {
    /// All families, in table order.
    pub const ALL: [Family; 5] = [
        Family::Generic,
        Family::Ice40,
        Family::Xilinx,
        Family::Xcup,
        Family::Asic,
    ];

    /// Name used on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Family::Generic => "generic",
            Family::Ice40 => "ice40",
            Family::Xilinx => "xilinx",
            Family::Xcup => "xcup",
            Family::Asic => "asic",
        }
    }

    /// Parses [`Family::name`].
    pub fn parse(s: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// Resource counts of one synthesized design, summarized from the cell
/// counts of `stat -json` (see [`yosys::summarize`] for the mapping).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// LUTs (SB_LUT4; LUT1..LUT6). For `generic`: logic gates (all cells
    /// that are not flip-flops or memories), which are not LUTs; for
    /// `asic`: combinational standard cells.
    pub luts: u64,
    /// Flip-flops (SB_DFF*; FD*; generic $_DFF*/$_SDFF*/$_DLATCH*...;
    /// sequential standard cells).
    pub ffs: u64,
    /// Carry cells (SB_CARRY; CARRY4; CARRY8). 0 for `generic`.
    pub carry: u64,
    /// DSP blocks (SB_MAC16; DSP48E1; DSP48E2).
    pub dsp: u64,
    /// Block RAMs (SB_RAM40_4K; RAMB18E1/RAMB36E1; RAMB18E2/RAMB36E2),
    /// each counted once whatever its size. For `generic`: memories left
    /// as abstract `$mem_v2` cells (not mapped to gates or flip-flops).
    pub bram: u64,
    /// Xilinx block RAM in 18-Kbit halves: a RAMB18 counts 1, a RAMB36 2,
    /// so `bram18 / 2` is the number of RAMB36 tiles used. 0 elsewhere.
    #[serde(default)]
    pub bram18: u64,
    /// UltraRAMs (URAM288, `xcup` only).
    #[serde(default)]
    pub uram: u64,
    /// Distributed RAM cells (RAM32M, RAM64M, RAM*X1*, ...; Xilinx only):
    /// LUTs used as memory, not counted in `luts`.
    #[serde(default)]
    pub lutram: u64,
    /// Multipliers in the elaborated design before technology mapping
    /// (`$mul` and `$macc` cells after proc/flatten/opt).
    pub multipliers: u64,
    /// Total cells after synthesis (IO buffers excluded).
    pub cells: u64,
}

impl Resources {
    /// `self * n`, for estimates built from a unit.
    pub fn scaled(&self, n: u64) -> Resources {
        Resources {
            luts: self.luts * n,
            ffs: self.ffs * n,
            carry: self.carry * n,
            dsp: self.dsp * n,
            bram: self.bram * n,
            bram18: self.bram18 * n,
            uram: self.uram * n,
            lutram: self.lutram * n,
            multipliers: self.multipliers * n,
            cells: self.cells * n,
        }
    }
}

/// One design at one size for one family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitResult {
    pub kind: MacKind,
    pub level: Level,
    /// Top module (for an estimate: the unit it was scaled from).
    pub module: String,
    /// Array size; 1 x 1 for PE and MAC-unit rows.
    pub cols: u32,
    pub lanes: u32,
    pub family: Family,
    pub resources: Resources,
    /// True if not synthesized but derived: an FP16 array row is
    /// Cols*Lanes times the synthesized `fp16_mac_pe`. It leaves out the
    /// array's reduction tree and control (a real FP16 array needs both)
    /// and synthesizes no array, so it is an estimate, not a measured bound.
    pub estimate: bool,
    /// Raw cell counts of `stat -json` (empty for an estimate).
    pub cells: BTreeMap<String, u64>,
    /// Seconds Yosys took (0 for an estimate).
    pub seconds: f64,
    /// The accelerator configuration the unit belongs to: the whole
    /// accelerator ([`Level::Accel`]), its weight decoder `tri_wdec`
    /// ([`Level::Decoder`]) or its MAC array ([`Level::Array`], `asic`
    /// only; `KMax` is then the configuration's). None for every other unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel: Option<AccelConfig>,
    /// Standard-cell area in um^2 (`asic` only): the sum over the mapped
    /// netlist's cells of their Liberty `area` (what `stat -liberty` calls
    /// "Chip area"; logic only, no placement density or routing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_area_um2: Option<f64>,
}

impl UnitResult {
    /// Multiply-accumulate lanes of the unit (Cols * Lanes).
    pub fn macs(&self) -> u64 {
        u64::from(self.cols) * u64::from(self.lanes)
    }

    /// True if `self` and `other` measure the same design, configuration
    /// and family (whatever the numbers): the key [`SynthResults::merge`]
    /// replaces rows by.
    pub fn same_unit(&self, other: &UnitResult) -> bool {
        self.kind == other.kind
            && self.level == other.level
            && self.module == other.module
            && self.family == other.family
            && self.cols == other.cols
            && self.lanes == other.lanes
            && self.accel == other.accel
            && self.estimate == other.estimate
    }
}

/// nextpnr-ice40 place and route of one design wrapped in shift registers
/// (fpga/pnr_wrap.sv), with its maximum clock frequency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PnrResult {
    pub kind: MacKind,
    /// Wrapped design (`tri_mac_array`, `int8_mac_array`, `fp16_mac_pe`).
    pub module: String,
    pub cols: u32,
    pub lanes: u32,
    /// Device and package, e.g. "hx8k-ct256".
    pub device: String,
    /// Achieved Fmax of the clock, MHz (nextpnr's timing analysis).
    pub fmax_mhz: f64,
    /// Logic cells used / available (ICESTORM_LC; wrapper included).
    pub lc_used: u64,
    pub lc_available: u64,
    /// Start and end cell of the critical path, as nextpnr names them.
    pub critical_from: String,
    pub critical_to: String,
    /// Seconds (synthesis of the wrapper + nextpnr).
    pub seconds: f64,
}

impl SynthResults {
    /// The result of `module`-kind `kind` at `level`, size and family
    /// (of the sweep's sizes and PEs: not a unit of an accelerator
    /// configuration, see [`SynthResults::find_accel`]).
    pub fn find(
        &self,
        kind: MacKind,
        level: Level,
        family: Family,
        cols: u32,
        lanes: u32,
    ) -> Option<&UnitResult> {
        self.units.iter().find(|u| {
            u.kind == kind
                && u.level == level
                && u.family == family
                && u.cols == cols
                && u.lanes == lanes
                && u.accel.is_none()
        })
    }

    /// The unit of accelerator configuration `accel` at `level`
    /// ([`Level::Accel`]: `tri_accel`; [`Level::Decoder`]: its `tri_wdec`;
    /// [`Level::Array`]: its `tri_mac_array`) for `family`.
    pub fn find_accel(
        &self,
        level: Level,
        family: Family,
        accel: &AccelConfig,
    ) -> Option<&UnitResult> {
        self.units
            .iter()
            .find(|u| u.level == level && u.family == family && u.accel.as_ref() == Some(accel))
    }

    /// The unit of top module `module` for `family` that belongs to no
    /// accelerator configuration and is not an estimate (e.g. `tri_pe`,
    /// `tri_dec_base3`).
    pub fn find_module(&self, module: &str, family: Family) -> Option<&UnitResult> {
        self.units
            .iter()
            .find(|u| u.module == module && u.family == family && u.accel.is_none() && !u.estimate)
    }

    /// Families present in the results, in table order.
    pub fn families(&self) -> Vec<Family> {
        Family::ALL
            .into_iter()
            .filter(|f| self.units.iter().any(|u| u.family == *f))
            .collect()
    }
}

/// Reads `results.json` written by `tritium synth` (normally
/// `fpga/results/results.json`). Errors on unreadable files, malformed
/// JSON and a different [`SCHEMA_VERSION`].
pub fn load_results(path: impl AsRef<Path>) -> Result<SynthResults> {
    let path = path.as_ref();
    let text = tritium_util::file::read_to_string_regular(path)?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::results(path, format!("not valid JSON: {e}")))?;
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(SCHEMA_VERSION)) {
        return Err(Error::results(
            path,
            format!(
                "schema_version is {}, this build reads {SCHEMA_VERSION}: rerun `tritium synth`",
                version.map_or("missing".to_string(), |v| v.to_string())
            ),
        ));
    }
    serde_path_to_error::deserialize(value)
        .map_err(|e| Error::results(path, format!("not an FPGA results file: {e}")))
}

/// Writes `results.json` and `results.md` into `dir` (created if needed);
/// the plot of the same results is `tritium_cost`'s.
pub fn write_results(results: &SynthResults, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).at(dir)?;
    let p = dir.join("results.json");
    let json = serde_json::to_string_pretty(results)
        .map_err(std::io::Error::from)
        .at(&p)?;
    tritium_util::write_atomic(&p, (json + "\n").as_bytes())?;
    let p = dir.join("results.md");
    Ok(tritium_util::write_atomic(
        &p,
        markdown_table(results).as_bytes(),
    )?)
}
