//! Log-scale axes with readable ticks.
//!
//! plotters' own key points for a log range leave whole decades without a
//! label (a roofline plot labelled 10..100 only, with its lines at 3 and 6
//! ms) and crowd others with faint lines and doubled labels. Here the
//! labelled ticks are 1, 2 and 5 per decade (only the powers of ten when
//! that would be more than [`MAX_TICKS`], every integer multiple when
//! fewer than 3), with a faint line at each other multiple.

use plotters::coord::combinators::{BindKeyPoints, IntoLogRange, LogCoord, WithKeyPoints};

/// The most labelled ticks an axis gets.
pub const MAX_TICKS: usize = 12;

/// A log-scale axis over `lo..hi` (both positive) with [`ticks`]'
/// labelled and faint points.
pub fn log_axis(lo: f64, hi: f64) -> WithKeyPoints<LogCoord<f64>> {
    let (bold, light) = ticks(lo, hi);
    (lo..hi)
        .log_scale()
        .with_key_points(bold)
        .with_light_points(light)
}

/// A tick label: three significant digits at most, no trailing zeros
/// (`0.05`, `2.5`, `12.3`, `1235`); `0` for zero.
pub fn label(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let t = format!("{v:.digits$}");
    if t.contains('.') {
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        t
    }
}

/// The labelled and the faint tick values within `lo..=hi`, ascending.
pub fn ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (Vec::new(), Vec::new());
    }
    let within = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let multiples = |ms: &[f64]| -> Vec<f64> {
        (d0..=d1)
            .flat_map(|d| ms.iter().map(move |m| m * 10f64.powi(d)))
            .filter(within)
            .collect()
    };
    let all = multiples(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    let mut bold = multiples(&[1.0, 2.0, 5.0]);
    if bold.len() > MAX_TICKS {
        bold = multiples(&[1.0]);
    } else if bold.len() < 3 {
        bold = all.clone();
    }
    let light = all.into_iter().filter(|v| !bold.contains(v)).collect();
    (bold, light)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short() {
        for (v, want) in [
            (0.05, "0.05"),
            (2.5, "2.5"),
            (12.34, "12.3"),
            (1234.6, "1235"),
            (500000.0, "500000"),
            (1.0, "1"),
            (0.0, "0"),
            (-20.0, "-20"),
        ] {
            assert_eq!(label(v), want);
        }
    }

    #[test]
    fn every_decade_in_range_is_labelled() {
        // The roofline's range: 2.1 .. 130 ms.
        let (bold, light) = ticks(2.1, 130.0);
        assert_eq!(bold, [5.0, 10.0, 20.0, 50.0, 100.0]);
        assert!(light.contains(&3.0) && light.contains(&90.0) && !light.contains(&20.0));
        // Many decades: powers of ten only.
        let (bold, _) = ticks(0.01, 1e6);
        assert_eq!(bold.len(), 9);
        assert!(bold.iter().all(|v| v.log10().fract().abs() < 1e-9));
        // A narrow range still gets labels.
        let (bold, light) = ticks(3.5, 6.5);
        assert_eq!(bold, [4.0, 5.0, 6.0]);
        assert!(light.is_empty());
        assert!(bold.len() <= MAX_TICKS);
        // Nothing for an empty or non-positive range.
        assert_eq!(ticks(0.0, 1.0).0.len(), 0);
        assert_eq!(ticks(5.0, 5.0).0.len(), 0);
    }
}
