//! Running Yosys and reading its `stat -json` output.
//!
//! Each run is one generated script (`<work>/<job>/synth.ys`), executed as
//! `yosys -q -l yosys.log -s synth.ys` in the job's directory:
//!
//! ```text
//! read_verilog -sv <every file of rtl/files.f>
//! chparam -set Cols C -set Lanes L ... <top>   # if the job sets parameters
//! hierarchy -check -top <top>
//! rename -top <top>
//! proc; flatten; opt -fast
//! tee -q -o pre.json stat -json          # multipliers: $mul / $macc cells
//! synth -top <top> ...                   # per family, see [`script`]
//! tee -q -o post.json stat -json         # the counted netlist
//! ```
//!
//! Parameters are set with `chparam` on the elaborated top, not with
//! `hierarchy -chparam`: Yosys 0.23 fails an internal assertion
//! (`modules_.count(module->name) == 0`, kernel/rtlil.cc:663) when
//! `hierarchy -chparam` re-derives `tri_accel`, whose cell list is
//! reprocessed once its submodules are derived. That reprocessing leaves
//! the top named `$paramod$<hash>\tri_accel`, so `rename -top` gives it
//! back its name for `synth -top` (a no-op for the other designs). Both
//! forms give the same netlists for the other designs (checked on
//! `tri_mac_array`, xc7 and generic, and `pnr_wrap`, iCE40: identical cell
//! counts).
//!
//! Counts are never scraped from text output (which changes between Yosys
//! versions): [`parse_stat`] reads the `design.num_cells_by_type` object.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use tritium_util::AtPath;

use super::{Family, Resources};

const INSTALL_HINT: &str =
    "run scripts/install-deps.sh (Debian/Ubuntu: apt-get install yosys; pinned: Yosys 0.23)";

/// One Yosys run: a top module with parameter overrides, for one family.
#[derive(Debug, Clone)]
pub struct YosysJob {
    /// Verilog sources (absolute paths).
    pub sources: Vec<PathBuf>,
    pub top: String,
    /// `-chparam` overrides (name, value).
    pub params: Vec<(String, u64)>,
    pub family: Family,
    /// Plain-text Liberty file of the `asic` family (required for it).
    pub liberty: Option<PathBuf>,
    /// Directory for the script, log and JSON files (created).
    pub dir: PathBuf,
    /// Also write the mapped netlist to `<dir>/netlist.json` (for nextpnr).
    pub netlist: bool,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct YosysOutput {
    pub resources: Resources,
    pub cells: BTreeMap<String, u64>,
    pub seconds: f64,
}

/// `yosys -V`, or a clear error if it cannot run.
pub fn version(exe: &str) -> Result<String> {
    let out = Command::new(exe)
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| tool_missing(exe, e))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub(crate) fn tool_missing(exe: &str, e: std::io::Error) -> Error {
    let message = if e.kind() == std::io::ErrorKind::NotFound {
        format!("`{exe}` not found on PATH: {INSTALL_HINT}")
    } else {
        format!("cannot run `{exe}`: {e}")
    };
    Error::Tool {
        tool: "yosys".into(),
        message,
    }
}

/// The script of `job` (see the module docs). Per family:
///
/// - `generic`: `synth` with its `fine` step written out minus
///   `memory_map`, so memories stay `$mem_v2` cells (a 1-Mbit activation
///   buffer as a million flip-flops would be neither meaningful nor
///   tractable); for designs without memories this is exactly `synth`;
/// - `ice40`: `synth_ice40` (no `-dsp`);
/// - `xilinx`, `xcup`: `synth_xilinx -family xc7|xcup -noiopad`;
/// - `asic`: `synth`, `dfflibmap -liberty L`, `abc -liberty L`,
///   `opt_clean` (area-oriented: no `-D` clock period).
///
/// Panics if an `asic` job has no Liberty file (the flow always sets one).
pub fn script(job: &YosysJob) -> String {
    let files: Vec<String> = job
        .sources
        .iter()
        .map(|p| format!("\"{}\"", p.display()))
        .collect();
    let top = &job.top;
    let mut s = format!("read_verilog -sv {}\n", files.join(" "));
    if !job.params.is_empty() {
        s += "chparam";
        for (name, value) in &job.params {
            s += &format!(" -set {name} {value}");
        }
        s += &format!(" {top}\n");
    }
    s += &format!("hierarchy -check -top {top}\nrename -top {top}\n");
    s += "proc\nflatten\nopt -fast\ntee -q -o pre.json stat -json\n";
    s += &match job.family {
        Family::Generic => format!(
            "synth -top {top} -run :fine\n\
             opt -fast -full\nopt -full\ntechmap\nopt -fast\nabc -fast\nopt -fast\n"
        ),
        Family::Ice40 => format!("synth_ice40 -top {top}\n"),
        Family::Xilinx => format!("synth_xilinx -top {top} -family xc7 -noiopad\n"),
        Family::Xcup => format!("synth_xilinx -top {top} -family xcup -noiopad\n"),
        Family::Asic => {
            let lib = job
                .liberty
                .as_ref()
                .expect("an asic job has a Liberty file")
                .display();
            format!(
                "synth -top {top}\ndfflibmap -liberty \"{lib}\"\nabc -liberty \"{lib}\"\nopt_clean\n"
            )
        }
    };
    s += "tee -q -o post.json stat -json\n";
    if job.netlist {
        s += "write_json netlist.json\n";
    }
    s
}

/// Runs `job` with the Yosys executable `exe`.
pub fn run(exe: &str, job: &YosysJob) -> Result<YosysOutput> {
    let start = std::time::Instant::now();
    std::fs::create_dir_all(&job.dir).at(&job.dir)?;
    let ys = job.dir.join("synth.ys");
    std::fs::write(&ys, script(job)).at(&ys)?;
    for f in ["pre.json", "post.json"] {
        let _ = std::fs::remove_file(job.dir.join(f));
    }
    let out = Command::new(exe)
        .args(["-q", "-l", "yosys.log", "-s", "synth.ys"])
        .current_dir(&job.dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| tool_missing(exe, e))?;
    let log = job.dir.join("yosys.log");
    if !out.status.success() {
        return Err(Error::Tool {
            tool: "yosys".into(),
            message: format!(
                "synthesis of {} ({}) failed ({}); script {}, log {}:\n{}{}",
                job.top,
                job.family.name(),
                out.status,
                ys.display(),
                log.display(),
                String::from_utf8_lossy(&out.stderr),
                log_tail(&log, 25)
            ),
        });
    }
    let pre = parse_stat_file(&job.dir.join("pre.json"))?;
    let post = parse_stat_file(&job.dir.join("post.json"))?;
    let mut resources = summarize(job.family, &post);
    resources.multipliers = count(&pre, |t| t == "$mul" || t == "$macc");
    Ok(YosysOutput {
        resources,
        cells: post,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The last `n` lines of a log file (empty if unreadable).
pub(crate) fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    lines[from..].join("\n")
}

fn parse_stat_file(path: &Path) -> Result<BTreeMap<String, u64>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Tool {
        tool: "yosys".into(),
        message: format!("no stat output {}: {e}", path.display()),
    })?;
    parse_stat(&text).map_err(|message| Error::Tool {
        tool: "yosys".into(),
        message: format!("{}: {message}", path.display()),
    })
}

/// Cell counts by type of the whole design from the text of `stat -json`
/// (`{"design": {"num_cells_by_type": {"SB_LUT4": 12, ...}}}`; a design of
/// one module has no `design` entry, then the only module's counts).
pub fn parse_stat(text: &str) -> std::result::Result<BTreeMap<String, u64>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("malformed stat JSON: {e}"))?;
    let section = match v.get("design") {
        Some(d) => d,
        None => {
            let modules = v
                .get("modules")
                .and_then(|m| m.as_object())
                .ok_or("stat JSON has neither `design` nor `modules`")?;
            if modules.len() != 1 {
                return Err(format!(
                    "stat JSON has no `design` summary and {} modules",
                    modules.len()
                ));
            }
            modules.values().next().ok_or("empty `modules`")?
        }
    };
    let by_type = match section.get("num_cells_by_type") {
        Some(serde_json::Value::Object(m)) => m,
        // An empty design may omit it.
        None => return Ok(BTreeMap::new()),
        Some(_) => return Err("`num_cells_by_type` is not an object".into()),
    };
    by_type
        .iter()
        .map(|(k, v)| {
            v.as_u64()
                .map(|n| (k.clone(), n))
                .ok_or_else(|| format!("cell count of {k} is not a non-negative integer: {v}"))
        })
        .collect()
}

fn count(cells: &BTreeMap<String, u64>, pred: impl Fn(&str) -> bool) -> u64 {
    cells.iter().filter(|(t, _)| pred(t)).map(|(_, n)| n).sum()
}

/// Maps cell types to [`Resources`] for `family`:
///
/// | field | generic | ice40 | xilinx, xcup |
/// | --- | --- | --- | --- |
/// | luts | every other cell | SB_LUT4 | LUT1..LUT6 |
/// | ffs | $_DFF*, $_DFFE*, $_SDFF*, $_ALDFF*, $_DLATCH*, $_SR* | SB_DFF* | FD* |
/// | carry | - | SB_CARRY | CARRY4, CARRY8 |
/// | dsp | - | SB_MAC16 | DSP48* |
/// | bram | $mem, $mem_v2 (abstract) | SB_RAM40_4K | RAMB* (18 and 36 Kb) |
/// | bram18 | - | - | RAMB18* 1, RAMB36* 2 |
/// | uram | - | - | URAM288 |
/// | lutram | - | - | RAM32M, RAM64M, RAM*X1*, RAM32M16, RAM64M8 |
///
/// `cells` is every cell except IO buffers (IBUF, OBUF, BUFG, SB_IO).
/// `asic` needs the library to tell flip-flops from logic: here only
/// `cells` (and `luts` = all cells) is set;
/// [`crate::liberty::CellLibrary::summarize`] gives the real split.
pub fn summarize(family: Family, cells: &BTreeMap<String, u64>) -> Resources {
    let io = |t: &str| matches!(t, "IBUF" | "OBUF" | "BUFG" | "SB_IO" | "SB_GB");
    match family {
        Family::Generic => {
            let is_ff = |t: &str| {
                ["$_DFF", "$_SDFF", "$_ALDFF", "$_DLATCH", "$_SR", "$_DFFSR"]
                    .iter()
                    .any(|p| t.starts_with(p))
            };
            let is_mem = |t: &str| t == "$mem" || t == "$mem_v2";
            let ffs = count(cells, is_ff);
            let bram = count(cells, is_mem);
            let all = count(cells, |t| !io(t));
            Resources {
                luts: all - ffs - bram,
                ffs,
                bram,
                cells: all,
                ..Resources::default()
            }
        }
        Family::Asic => {
            let all = count(cells, |t| !io(t));
            Resources {
                luts: all,
                cells: all,
                ..Resources::default()
            }
        }
        Family::Ice40 => Resources {
            luts: count(cells, |t| t == "SB_LUT4"),
            ffs: count(cells, |t| t.starts_with("SB_DFF")),
            carry: count(cells, |t| t == "SB_CARRY"),
            dsp: count(cells, |t| t == "SB_MAC16"),
            bram: count(cells, |t| t.starts_with("SB_RAM40")),
            cells: count(cells, |t| !io(t)),
            ..Resources::default()
        },
        Family::Xilinx | Family::Xcup => Resources {
            luts: count(cells, |t| {
                t.len() == 4 && t.starts_with("LUT") && t.as_bytes()[3].is_ascii_digit()
            }),
            ffs: count(cells, |t| t.starts_with("FD")),
            carry: count(cells, |t| t == "CARRY4" || t == "CARRY8"),
            dsp: count(cells, |t| t.starts_with("DSP48")),
            bram: count(cells, |t| t.starts_with("RAMB")),
            bram18: count(cells, |t| t.starts_with("RAMB18"))
                + 2 * count(cells, |t| t.starts_with("RAMB36")),
            uram: count(cells, |t| t.starts_with("URAM")),
            lutram: count(cells, |t| t.starts_with("RAM") && !t.starts_with("RAMB")),
            cells: count(cells, |t| !io(t)),
            multipliers: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_design_summary_and_maps_ice40_cells() {
        let text = r#"{"creator": "Yosys 0.23", "modules": {"\\a": {}, "\\b": {}},
            "design": {"num_cells": 10, "num_cells_by_type": {"SB_LUT4": 5, "SB_DFFR": 2,
            "SB_DFFE": 1, "SB_CARRY": 1, "SB_MAC16": 1}}}"#;
        let cells = parse_stat(text).unwrap();
        let r = summarize(Family::Ice40, &cells);
        assert_eq!((r.luts, r.ffs, r.carry, r.dsp, r.cells), (5, 3, 1, 1, 10));
    }

    #[test]
    fn single_module_without_design_section() {
        let text = r#"{"modules": {"\\top": {"num_cells_by_type": {"$_AND_": 3, "$_DFF_P_": 2}}}}"#;
        let r = summarize(Family::Generic, &parse_stat(text).unwrap());
        assert_eq!((r.luts, r.ffs), (3, 2));
    }

    #[test]
    fn malformed_stat_is_an_error_not_a_panic() {
        assert!(parse_stat("not json").is_err());
        assert!(parse_stat("{}").is_err());
        assert!(parse_stat(r#"{"design": {"num_cells_by_type": {"X": -1}}}"#).is_err());
        assert!(parse_stat(r#"{"design": {"num_cells_by_type": []}}"#).is_err());
    }

    #[test]
    fn xcup_counts_carry8_uram_and_lutram() {
        let cells: BTreeMap<String, u64> = [
            ("LUT6", 10),
            ("CARRY8", 2),
            ("RAMB36E2", 3),
            ("RAMB18E2", 1),
            ("URAM288", 4),
            ("RAM64M", 5),
            ("RAM32X1D", 1),
            ("DSP48E2", 0),
            ("FDCE", 6),
        ]
        .into_iter()
        .map(|(t, n)| (t.to_string(), n))
        .collect();
        let r = summarize(Family::Xcup, &cells);
        assert_eq!(
            (r.luts, r.carry, r.bram, r.uram, r.lutram, r.dsp, r.ffs),
            (10, 2, 4, 4, 6, 0, 6)
        );
        // 3 RAMB36 and 1 RAMB18: 3.5 RAMB36 tiles.
        assert_eq!(r.bram18, 7);
    }

    #[test]
    fn generic_memories_are_not_gates() {
        let text = r#"{"design": {"num_cells_by_type": {"$_AND_": 3, "$_DFFE_PP_": 2,
            "$mem_v2": 2}}}"#;
        let r = summarize(Family::Generic, &parse_stat(text).unwrap());
        assert_eq!((r.luts, r.ffs, r.bram, r.cells), (3, 2, 2, 7));
    }

    fn job(family: Family, params: &[(&str, u64)]) -> YosysJob {
        YosysJob {
            sources: vec!["/r/a.sv".into(), "/r/b.sv".into()],
            top: "top".into(),
            params: params.iter().map(|&(n, v)| (n.to_string(), v)).collect(),
            family,
            liberty: Some("/lib/cells.lib".into()),
            dir: "/w".into(),
            netlist: false,
        }
    }

    #[test]
    fn scripts_set_parameters_with_chparam_and_map_per_family() {
        let s = script(&job(Family::Xcup, &[("Cols", 4), ("Format", 1)]));
        assert!(s.starts_with(
            "read_verilog -sv \"/r/a.sv\" \"/r/b.sv\"\nchparam -set Cols 4 -set Format 1 top\n\
             hierarchy -check -top top\nrename -top top\nproc\nflatten\nopt -fast\ntee -q -o pre.json stat -json\n"
        ));
        assert!(s.contains("synth_xilinx -top top -family xcup -noiopad\n"));
        assert!(!script(&job(Family::Ice40, &[])).contains("chparam"));
        // generic: synth without memory_map.
        let g = script(&job(Family::Generic, &[]));
        assert!(g.contains("synth -top top -run :fine\n") && g.contains("abc -fast\n"));
        assert!(!g.contains("memory_map"));
        let a = script(&job(Family::Asic, &[]));
        for step in [
            "synth -top top\n",
            "dfflibmap -liberty \"/lib/cells.lib\"\n",
            "abc -liberty \"/lib/cells.lib\"\n",
            "tee -q -o post.json stat -json\n",
        ] {
            assert!(a.contains(step), "{step} missing:\n{a}");
        }
    }

    #[test]
    fn xilinx_luts_exclude_lookalikes() {
        let mut cells = BTreeMap::new();
        for (t, n) in [
            ("LUT2", 2),
            ("LUT6", 3),
            ("LUTRAM", 7),
            ("FDRE", 4),
            ("IBUF", 9),
        ] {
            cells.insert(t.to_string(), n);
        }
        let r = summarize(Family::Xilinx, &cells);
        assert_eq!((r.luts, r.ffs, r.cells), (5, 4, 16));
    }
}
