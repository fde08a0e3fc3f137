//! Place and route on an iCE40 with nextpnr: the wrapper `fpga/pnr_wrap.sv`
//! that gives every design the same few pins, the nextpnr run and the
//! reading of its `--report` JSON.

use std::path::Path;
use std::process::{Command, Stdio};

use tritium_golden::ArrayConfig;
use tritium_util::AtPath;

use crate::error::{Error, Result};
use crate::yosys;
use crate::{MacKind, PnrResult};

/// Top module of `fpga/pnr_wrap.sv`: one wrapper for every design.
pub const PNR_WRAP_TOP: &str = "pnr_wrap";

/// The wrapper's `Design` parameter: which design it wraps.
pub fn pnr_wrap_design(kind: MacKind) -> u64 {
    match kind {
        MacKind::Ternary => 0, // tri_mac_array
        MacKind::Int8 => 1,    // int8_mac_array
        MacKind::Fp16 => 2,    // Cols*Lanes fp16_mac_pe
    }
}

/// The wrapper's `InW` and `OutW` parameters for `kind` on array `a`: the
/// total width of the wrapped design's inputs and of its outputs (clock and
/// reset excluded), from the port lists of `rtl/tri_mac_array.sv`,
/// `rtl/int8_mac_array.sv` and `rtl/fp16_mac_pe.sv` (rtl/INTERFACE.md), with
/// every width taken from the [`ArrayConfig`]. `rtl/lint.sh` lints the
/// wrapper with the values of the unit test, so a port change in the RTL
/// that is not made here fails the lint.
pub fn pnr_wrap_widths(kind: MacKind, a: &ArrayConfig) -> (u64, u64) {
    let w = |v: usize| v as u64;
    // Both arrays: clear_i, cnt_clear_i, w/a_valid_i, a_last_i, r_ready_i and
    // the activation beat in; five 64-bit counters out.
    let (ctrl_in, counters) = (6, 5 * 64);
    match kind {
        // Out: w/a_ready_o, r_valid_o, err_code_o, r_data_o and acc_o.
        MacKind::Ternary => (
            ctrl_in + w(a.weight_bits() + a.act_bits()),
            4 + 2 * w(a.result_bits()) + counters,
        ),
        // Weights of 8 bits and wider accumulators; no err_code_o.
        MacKind::Int8 => (
            ctrl_in + w(a.macs_per_beat() * 8 + a.act_bits()),
            3 + 2 * w(a.cols * a.int8_acc_width()) + counters,
        ),
        // Cols*Lanes units sharing clear_i and valid_i; a_i, b_i in and
        // acc_o out, 16 bits each.
        MacKind::Fp16 => (2 + 32 * w(a.macs_per_beat()), 16 * w(a.macs_per_beat())),
    }
}

pub(crate) fn nextpnr_version(exe: &str) -> Result<String> {
    let out = Command::new(exe)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Tool {
            tool: "nextpnr-ice40".into(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!("`{exe}` not found on PATH: run fpga/install-pnr.sh (Debian: apt-get install nextpnr-ice40 fpga-icestorm), or pass --no-pnr")
            } else {
                format!("cannot run `{exe}`: {e}")
            },
        })?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Ok(text.trim().to_string())
}

/// Device of the P&R runs.
pub const PNR_DEVICE: (&str, &str) = ("hx8k", "ct256");

pub(crate) fn place_and_route(exe: &str, dir: &Path) -> Result<PnrResult> {
    let report = dir.join("report.json");
    let _ = std::fs::remove_file(&report);
    let out = Command::new(exe)
        .args([
            &format!("--{}", PNR_DEVICE.0),
            "--package",
            PNR_DEVICE.1,
            "--json",
            "netlist.json",
            "--report",
            "report.json",
            "--freq",
            "12",
            "--timing-allow-fail",
            "--pcf-allow-unconstrained",
            "--seed",
            "1",
            "-q",
            "-l",
            "nextpnr.log",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Tool {
            tool: "nextpnr-ice40".into(),
            message: format!("cannot run `{exe}`: {e}"),
        })?;
    let log = dir.join("nextpnr.log");
    if !out.status.success() {
        return Err(Error::Tool {
            tool: "nextpnr-ice40".into(),
            message: format!(
                "place and route in {} failed ({}):\n{}{}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr),
                yosys::log_tail(&log, 25)
            ),
        });
    }
    let text = std::fs::read_to_string(&report).at(&report)?;
    parse_pnr_report(&text).map_err(|message| Error::Tool {
        tool: "nextpnr-ice40".into(),
        message: format!("{}: {message}", report.display()),
    })
}

/// Reads nextpnr's `--report` JSON: `fmax.<clock>.achieved`,
/// `utilization.ICESTORM_LC`, and the first register-to-register critical
/// path. Kind, module and size are left for the caller to fill in.
pub fn parse_pnr_report(text: &str) -> std::result::Result<PnrResult, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("malformed report JSON: {e}"))?;
    let fmax = v
        .get("fmax")
        .and_then(|f| f.as_object())
        .and_then(|f| f.values().next())
        .and_then(|c| c.get("achieved"))
        .and_then(|a| a.as_f64())
        .ok_or("no fmax.<clock>.achieved in the report")?;
    let lc = v
        .get("utilization")
        .and_then(|u| u.get("ICESTORM_LC"))
        .ok_or("no utilization.ICESTORM_LC in the report")?;
    let num = |k: &str| {
        lc.get(k)
            .and_then(|x| x.as_u64())
            .ok_or(format!("no ICESTORM_LC.{k}"))
    };
    let (mut from, mut to) = (String::new(), String::new());
    if let Some(paths) = v.get("critical_paths").and_then(|p| p.as_array()) {
        let reg2reg = paths.iter().find(|p| {
            let s = |k: &str| p.get(k).and_then(|x| x.as_str()).unwrap_or("");
            s("from").starts_with("posedge") && s("to").starts_with("posedge")
        });
        if let Some(steps) = reg2reg
            .and_then(|p| p.get("path"))
            .and_then(|p| p.as_array())
        {
            let cell = |step: Option<&serde_json::Value>, end: &str| {
                step.and_then(|s| s.get(end))
                    .and_then(|e| e.get("cell"))
                    .and_then(|c| c.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            from = cell(steps.first(), "from");
            to = cell(steps.last(), "to");
        }
    }
    Ok(PnrResult {
        kind: MacKind::Ternary,
        module: String::new(),
        cols: 0,
        lanes: 0,
        device: format!("{}-{}", PNR_DEVICE.0, PNR_DEVICE.1),
        fmax_mhz: fmax,
        lc_used: num("used")?,
        lc_available: num("available")?,
        critical_from: from,
        critical_to: to,
        seconds: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnr_wrap_widths_of_each_design() {
        let w = |kind, cols, lanes, k_max| {
            pnr_wrap_widths(kind, &ArrayConfig::new(cols, lanes, k_max).unwrap())
        };
        // (InW, OutW): the same values as WRAPS in rtl/lint.sh, which lints
        // fpga/pnr_wrap.sv with them. Accumulators: 22 bits (ternary) and
        // 29 bits (INT8) at KMax 8192, 13 and 20 bits at KMax 16.
        assert_eq!(w(MacKind::Ternary, 4, 8, 8192), (134, 500));
        assert_eq!(w(MacKind::Int8, 4, 8, 8192), (326, 555));
        assert_eq!(w(MacKind::Fp16, 1, 1, 8192), (34, 16));
        assert_eq!(w(MacKind::Ternary, 2, 4, 8192), (54, 412));
        assert_eq!(w(MacKind::Int8, 2, 4, 8192), (102, 439));
        assert_eq!(w(MacKind::Fp16, 2, 4, 8192), (258, 128));
        assert_eq!(w(MacKind::Ternary, 1, 1, 16), (16, 350));
        assert_eq!(w(MacKind::Int8, 1, 1, 16), (22, 363));
        assert_eq!(w(MacKind::Ternary, 16, 32, 8192), (1286, 1028));
        // KMax = 2^n needs the extra bit: +128 * 2^n does not fit n + 8 bits.
        assert_eq!(w(MacKind::Ternary, 1, 1, 1).1, 4 + 2 * 9 + 320);
        assert_eq!(
            [MacKind::Ternary, MacKind::Int8, MacKind::Fp16].map(pnr_wrap_design),
            [0, 1, 2]
        );
    }

    #[test]
    fn pnr_report_fields() {
        let text = r#"{"critical_paths": [{"from": "posedge clk", "to": "posedge clk",
            "path": [{"from": {"cell": "a"}, "to": {"cell": "b"}}, {"from": {"cell": "b"}, "to": {"cell": "c"}}]}],
            "fmax": {"clk": {"achieved": 76.5, "constraint": 12}},
            "utilization": {"ICESTORM_LC": {"available": 7680, "used": 2361}}}"#;
        let p = parse_pnr_report(text).unwrap();
        assert_eq!((p.fmax_mhz, p.lc_used, p.lc_available), (76.5, 2361, 7680));
        assert_eq!(
            (p.critical_from.as_str(), p.critical_to.as_str()),
            ("a", "c")
        );
        assert!(parse_pnr_report("{}").is_err());
        assert!(parse_pnr_report("[").is_err());
    }
}
