//! Merging a partial sweep into earlier results (`tritium synth --update`):
//! a run of some designs or families replaces exactly the rows it
//! measured and keeps the others, so a slow sweep can be refreshed in
//! parts without losing rows.

use crate::flow::{fp16_estimates, unit_order};
use crate::SynthResults;

impl SynthResults {
    /// `self` (earlier results) updated with `newer`: every unit of
    /// `newer` replaces the unit of `self` that measures the same design,
    /// configuration and family ([`crate::UnitResult::same_unit`]); the
    /// others are kept. FP16 array estimates are recomputed from the
    /// merged `fp16_mac_pe` rows for the union of the sizes; place-and-route
    /// results of `newer` replace those of the same design and size; sizes
    /// and accelerator configurations are the union (earlier ones first);
    /// `seconds` is the sum of both runs (also when none of the earlier
    /// rows survives: it is the time spent producing the file).
    ///
    /// Errors (as a message) if the two were made by different Yosys
    /// versions, with a different `KMax` for the arrays, or with different
    /// Liberty libraries: rows of such runs do not belong in one table.
    pub fn merge(self, newer: SynthResults) -> Result<SynthResults, String> {
        if self.tools.yosys != newer.tools.yosys {
            return Err(format!(
                "made with {}, this run with {}: rerun the whole sweep",
                self.tools.yosys, newer.tools.yosys
            ));
        }
        if self.k_max != newer.k_max {
            return Err(format!(
                "arrays at KMax {}, this run at {}: rerun the whole sweep or pass --k-max {}",
                self.k_max, newer.k_max, self.k_max
            ));
        }
        if let (Some(a), Some(b)) = (&self.tools.liberty, &newer.tools.liberty) {
            if a != b {
                return Err(format!(
                    "asic rows from library {a}, this run from {b}: rerun the whole sweep"
                ));
            }
        }
        let mut units: Vec<_> = self
            .units
            .into_iter()
            .filter(|u| !u.estimate && !newer.units.iter().any(|n| n.same_unit(u)))
            .collect();
        units.extend(newer.units.into_iter().filter(|u| !u.estimate));
        let mut sizes = self.sizes;
        for s in newer.sizes {
            if !sizes.contains(&s) {
                sizes.push(s);
            }
        }
        let mut accels = self.accels;
        for a in newer.accels {
            if !accels.contains(&a) {
                accels.push(a);
            }
        }
        let est = fp16_estimates(&sizes, &units);
        units.extend(est);
        units.sort_by(|a, b| unit_order(a).cmp(&unit_order(b)));
        let mut pnr: Vec<_> = self
            .pnr
            .into_iter()
            .filter(|p| {
                !newer.pnr.iter().any(|n| {
                    (n.kind, &n.module, n.cols, n.lanes) == (p.kind, &p.module, p.cols, p.lanes)
                })
            })
            .collect();
        pnr.extend(newer.pnr);
        pnr.sort_by_key(|p| p.kind);
        Ok(SynthResults {
            schema_version: newer.schema_version,
            tools: crate::ToolVersions {
                yosys: newer.tools.yosys,
                nextpnr: newer.tools.nextpnr.or(self.tools.nextpnr),
                liberty: newer.tools.liberty.or(self.tools.liberty),
            },
            k_max: newer.k_max,
            sizes,
            accels,
            units,
            pnr,
            seconds: self.seconds + newer.seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ArraySize, Family, Level, MacKind, PnrResult, Resources, ToolVersions, UnitResult,
        SCHEMA_VERSION,
    };

    fn unit(kind: MacKind, level: Level, module: &str, family: Family, luts: u64) -> UnitResult {
        UnitResult {
            kind,
            level,
            module: module.into(),
            cols: 1,
            lanes: 1,
            family,
            resources: Resources {
                luts,
                ..Resources::default()
            },
            estimate: false,
            cells: Default::default(),
            seconds: 1.0,
            accel: None,
            cell_area_um2: None,
        }
    }

    fn results(units: Vec<UnitResult>, sizes: &[&str]) -> SynthResults {
        let sizes: Vec<ArraySize> = sizes.iter().map(|s| ArraySize::parse(s).unwrap()).collect();
        let mut units = units;
        let est = fp16_estimates(&sizes, &units);
        units.extend(est);
        SynthResults {
            schema_version: SCHEMA_VERSION,
            tools: ToolVersions {
                yosys: "Yosys 0.23".into(),
                nextpnr: None,
                liberty: None,
            },
            k_max: 8192,
            sizes,
            accels: Vec::new(),
            units,
            pnr: Vec::new(),
            seconds: 10.0,
        }
    }

    #[test]
    fn newer_rows_replace_the_same_units_and_keep_the_rest() {
        let fp16 = |f, luts| unit(MacKind::Fp16, Level::MacUnit, "fp16_mac_pe", f, luts);
        let tri = |f, luts| unit(MacKind::Ternary, Level::Pe, "tri_pe", f, luts);
        let mut old = results(
            vec![
                fp16(Family::Ice40, 100),
                tri(Family::Ice40, 5),
                tri(Family::Generic, 9),
            ],
            &["2x4"],
        );
        old.pnr.push(PnrResult {
            kind: MacKind::Ternary,
            module: "tri_mac_array".into(),
            cols: 4,
            lanes: 8,
            device: "hx8k-ct256".into(),
            fmax_mhz: 70.0,
            lc_used: 1,
            lc_available: 2,
            critical_from: String::new(),
            critical_to: String::new(),
            seconds: 1.0,
        });
        let mut newer = results(
            vec![fp16(Family::Ice40, 200), tri(Family::Xcup, 3)],
            &["1x8"],
        );
        newer.tools.liberty = Some("lib".into());
        let m = old.merge(newer).unwrap();
        assert_eq!(m.sizes.len(), 2);
        assert_eq!(m.seconds, 20.0);
        assert_eq!(m.pnr.len(), 1, "earlier P&R kept");
        assert_eq!(m.tools.liberty.as_deref(), Some("lib"));
        let luts = |kind, level, f, c, l| m.find(kind, level, f, c, l).unwrap().resources.luts;
        assert_eq!(
            luts(MacKind::Fp16, Level::MacUnit, Family::Ice40, 1, 1),
            200
        );
        assert_eq!(luts(MacKind::Ternary, Level::Pe, Family::Ice40, 1, 1), 5);
        assert_eq!(luts(MacKind::Ternary, Level::Pe, Family::Xcup, 1, 1), 3);
        assert_eq!(luts(MacKind::Ternary, Level::Pe, Family::Generic, 1, 1), 9);
        // Estimates from the new MAC unit for both sizes, once each.
        assert_eq!(luts(MacKind::Fp16, Level::Array, Family::Ice40, 2, 4), 1600);
        assert_eq!(luts(MacKind::Fp16, Level::Array, Family::Ice40, 1, 8), 1600);
        assert_eq!(m.units.iter().filter(|u| u.estimate).count(), 2);
        assert_eq!(m.units.len(), 6);
    }

    #[test]
    fn different_runs_do_not_merge() {
        let a = results(Vec::new(), &[]);
        let mut b = results(Vec::new(), &[]);
        b.tools.yosys = "Yosys 0.40".into();
        assert!(a.clone().merge(b).unwrap_err().contains("0.40"));
        let mut b = results(Vec::new(), &[]);
        b.k_max = 4096;
        assert!(a.clone().merge(b).unwrap_err().contains("--k-max 8192"));
        let (mut a, mut b) = (a, results(Vec::new(), &[]));
        a.tools.liberty = Some("x".into());
        b.tools.liberty = Some("y".into());
        assert!(a.merge(b).is_err());
    }
}
