//! Energy per operation as data: a table of picojoule figures, each with
//! its source, read from TOML (or JSON) and validated.
//!
//! The built-in tables live in `reports/energy/{45nm,7nm}.toml` and are
//! compiled in, so `tritium report` works from any directory; a user table
//! with the same schema replaces them (`--energy FILE`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One arithmetic operation's energy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpEnergy {
    /// Picojoules per operation.
    pub pj: f64,
    /// Where the number comes from (paper, table, node) or how it was derived.
    pub source: String,
}

/// The floating-point and INT8 operations of BitNet b1.58's Table 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arith {
    pub fp16_add: OpEnergy,
    pub fp16_mul: OpEnergy,
    pub fp32_add: OpEnergy,
    pub fp32_mul: OpEnergy,
    pub int8_add: OpEnergy,
    pub int8_mul: OpEnergy,
}

/// An integer add of a given operand width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntAdd {
    pub bits: u32,
    pub pj: f64,
    pub source: String,
}

/// One 64-bit access to an SRAM of a given capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sram {
    pub capacity_bytes: u64,
    pub pj_per_64bit: f64,
    pub source: String,
}

/// One 64-bit DRAM access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dram {
    pub pj_per_64bit: f64,
    pub source: String,
}

/// A whole energy table (schema version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyTable {
    pub schema_version: u32,
    /// Technology node the figures are for, e.g. `7nm`.
    pub node: String,
    pub description: String,
    pub arith: Arith,
    /// Integer adds by width (at least two widths); interpolated linearly.
    pub int_add: Vec<IntAdd>,
    /// SRAMs by capacity (at least one); other capacities are
    /// interpolated in log2(capacity).
    pub sram: Vec<Sram>,
    pub dram: Dram,
}

/// Built-in technology nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Node {
    #[serde(rename = "45nm")]
    N45,
    #[serde(rename = "7nm")]
    N7,
}

const TABLE_45NM: &str = include_str!("../../../reports/energy/45nm.toml");
const TABLE_7NM: &str = include_str!("../../../reports/energy/7nm.toml");

impl Node {
    pub fn name(self) -> &'static str {
        match self {
            Node::N45 => "45nm",
            Node::N7 => "7nm",
        }
    }

    /// The built-in table of this node (checked by a unit test).
    pub fn table(self) -> Result<EnergyTable> {
        let (name, text) = match self {
            Node::N45 => ("reports/energy/45nm.toml", TABLE_45NM),
            Node::N7 => ("reports/energy/7nm.toml", TABLE_7NM),
        };
        EnergyTable::parse(Path::new(name), text)
    }
}

/// Largest energy of one operation or access a table may give, in pJ: 1 uJ,
/// far above any real figure (a DRAM access is a few nJ), so a larger value
/// is a unit mistake; and it keeps every total of a report finite.
pub const MAX_PJ: f64 = 1e6;

impl EnergyTable {
    /// Reads a table from a `.toml` or `.json` file.
    pub fn read(path: &Path) -> Result<EnergyTable> {
        let text = tritium_util::file::read_to_string_regular(path)?;
        EnergyTable::parse(path, &text)
    }

    /// Parses a table; JSON if the file name ends in `.json`, TOML otherwise.
    pub fn parse(path: &Path, text: &str) -> Result<EnergyTable> {
        let bad = |m: String| Error::Input {
            path: path.to_path_buf(),
            what: "energy table",
            message: m,
        };
        let table: EnergyTable = if path.extension().is_some_and(|e| e == "json") {
            let de = &mut serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| bad(e.to_string()))?
        } else {
            let de = toml::Deserializer::parse(text).map_err(|e| bad(e.to_string()))?;
            serde_path_to_error::deserialize(de).map_err(|e| {
                // "path: message" with TOML's own location report.
                bad(format!("{}: {}", e.path(), e.inner())
                    .trim_end()
                    .to_string())
            })?
        };
        table.validate().map_err(bad)?;
        Ok(table)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.schema_version != 1 {
            return Err(format!(
                "schema_version {} is not supported (this tritium reads 1)",
                self.schema_version
            ));
        }
        let check = |name: &str, pj: f64, source: &str| {
            if !(pj.is_finite() && pj > 0.0 && pj <= MAX_PJ) {
                return Err(format!(
                    "{name}: energy must be a positive number of pJ, at most {MAX_PJ:e} (1 uJ), got {pj:e}"
                ));
            }
            if source.trim().is_empty() {
                return Err(format!(
                    "{name}: source is empty (every number needs its provenance)"
                ));
            }
            Ok(())
        };
        let a = &self.arith;
        for (n, e) in [
            ("arith.fp16_add", &a.fp16_add),
            ("arith.fp16_mul", &a.fp16_mul),
            ("arith.fp32_add", &a.fp32_add),
            ("arith.fp32_mul", &a.fp32_mul),
            ("arith.int8_add", &a.int8_add),
            ("arith.int8_mul", &a.int8_mul),
        ] {
            check(n, e.pj, &e.source)?;
        }
        if self.int_add.len() < 2 {
            return Err("int_add: at least two widths are needed to interpolate".into());
        }
        let mut bits: Vec<u32> = self.int_add.iter().map(|x| x.bits).collect();
        for x in &self.int_add {
            if x.bits == 0 || x.bits > 256 {
                return Err(format!(
                    "int_add: width {} bits is out of range 1..=256",
                    x.bits
                ));
            }
            check(&format!("int_add[bits={}]", x.bits), x.pj, &x.source)?;
        }
        bits.sort_unstable();
        if bits.windows(2).any(|w| w[0] == w[1]) {
            return Err("int_add: a width appears twice".into());
        }
        if self.sram.is_empty() {
            return Err("sram: at least one SRAM size is needed".into());
        }
        let mut caps: Vec<u64> = self.sram.iter().map(|s| s.capacity_bytes).collect();
        for s in &self.sram {
            if s.capacity_bytes == 0 {
                return Err("sram: capacity_bytes must be positive".into());
            }
            let name = format!("sram[capacity_bytes={}]", s.capacity_bytes);
            check(&name, s.pj_per_64bit, &s.source)?;
        }
        caps.sort_unstable();
        if caps.windows(2).any(|w| w[0] == w[1]) {
            return Err("sram: a capacity appears twice".into());
        }
        check("dram", self.dram.pj_per_64bit, &self.dram.source)
    }

    /// Energy of one integer add at `bits` width: linear interpolation
    /// between the table's widths, linear extrapolation outside them (never
    /// below the smallest tabulated energy's half).
    pub fn int_add_pj(&self, bits: u32) -> f64 {
        let mut pts: Vec<(f64, f64)> = self
            .int_add
            .iter()
            .map(|x| (f64::from(x.bits), x.pj))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let b = f64::from(bits);
        let seg = pts
            .windows(2)
            .find(|w| b <= w[1].0)
            .unwrap_or(&pts[pts.len() - 2..]);
        let (x0, y0, x1, y1) = (seg[0].0, seg[0].1, seg[1].0, seg[1].1);
        let y = y0 + (y1 - y0) * (b - x0) / (x1 - x0);
        y.max(pts[0].1 / 2.0)
    }

    /// Energy of one 64-bit access to an SRAM buffer of `bytes`: the
    /// table's figures interpolated linearly in log2(capacity) (access
    /// energy grows with the array's wire length, not its size), clamped to
    /// the smallest and largest SRAM of the table.
    pub fn sram_pj_per_64bit(&self, bytes: f64) -> f64 {
        let mut s: Vec<&Sram> = self.sram.iter().collect();
        s.sort_by_key(|x| x.capacity_bytes);
        let first = s[0];
        let last = s[s.len() - 1];
        if bytes <= first.capacity_bytes as f64 {
            return first.pj_per_64bit;
        }
        if bytes >= last.capacity_bytes as f64 {
            return last.pj_per_64bit;
        }
        for w in s.windows(2) {
            let (c0, c1) = (w[0].capacity_bytes as f64, w[1].capacity_bytes as f64);
            if bytes <= c1 {
                let t = (bytes / c0).log2() / (c1 / c0).log2();
                return w[0].pj_per_64bit + t * (w[1].pj_per_64bit - w[0].pj_per_64bit);
            }
        }
        last.pj_per_64bit
    }

    /// DRAM energy per byte.
    pub fn dram_pj_per_byte(&self) -> f64 {
        self.dram.pj_per_64bit / 8.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_tables_parse_and_interpolate() {
        let t45 = Node::N45.table().unwrap();
        assert_eq!(t45.node, "45nm");
        assert_eq!(t45.int_add_pj(8), 0.03);
        assert_eq!(t45.int_add_pj(32), 0.1);
        // 22 bits: 0.05 + (0.1 - 0.05) * 6 / 16.
        assert!((t45.int_add_pj(22) - 0.06875).abs() < 1e-15);
        // Beyond the table: extrapolated along the last segment.
        assert!((t45.int_add_pj(48) - 0.15).abs() < 1e-15);
        assert_eq!(t45.sram_pj_per_64bit(100.0), 10.0);
        assert_eq!(t45.sram_pj_per_64bit(8192.0), 10.0);
        // 16 KB: halfway (in log2) between 8 KB (10 pJ) and 32 KB (20 pJ).
        assert!((t45.sram_pj_per_64bit(16384.0) - 15.0).abs() < 1e-12);
        assert_eq!(t45.sram_pj_per_64bit(32768.0), 20.0);
        assert_eq!(t45.sram_pj_per_64bit(1e12), 100.0);
        let t7 = Node::N7.table().unwrap();
        assert_eq!(t7.node, "7nm");
        assert_eq!(t7.arith.int8_add.pj, 0.007);
    }

    #[test]
    fn malformed_tables_give_clear_errors() {
        let p = Path::new("mine.toml");
        let good = TABLE_45NM;
        let cases: Vec<(String, &str)> = vec![
            ("not toml [[".into(), "energy table"),
            (good.replace("pj = 0.4\n", "pj = -0.4\n"), "arith.fp16_add"),
            (good.replace("pj = 0.4\n", "pj = \"x\"\n"), "fp16_add"),
            (
                good.replace("schema_version = 1", "schema_version = 7"),
                "schema_version 7",
            ),
            (
                good.replace("[arith.fp16_mul]\npj = 1.1\n", "[arith.fp16_mul]\n"),
                "pj",
            ),
            (good.replace("[dram]", "[dram]\ncolour = 3"), "colour"),
            (
                good.replace(
                    "source = \"Horowitz, ISSCC 2014, 45nm: 64-bit read, 8 KB SRAM\"",
                    "source = \" \"",
                ),
                "provenance",
            ),
            (good.replace("bits = 16", "bits = 8"), "width appears twice"),
        ];
        for (text, want) in cases {
            let e = EnergyTable::parse(p, &text).unwrap_err().to_string();
            assert!(e.contains("mine.toml") && e.contains(want), "{want}: {e}");
        }
        let json = serde_json::to_string(&Node::N7.table().unwrap()).unwrap();
        let back = EnergyTable::parse(Path::new("t.json"), &json).unwrap();
        assert_eq!(back, Node::N7.table().unwrap());
        let e = EnergyTable::parse(
            Path::new("t.json"),
            &json.replace("\"pj\":0.16", "\"pj\":null"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("arith.fp16_add.pj"), "{e}");
    }
}
