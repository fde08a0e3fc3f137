//! The FPGA flow's plot: resources versus array size, `resources.svg` and
//! `resources.png` next to `tritium_fpga`'s results.json.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use tritium_fpga::{Family, Level, MacKind, SynthResults};

use crate::error::{Error, Result};
use crate::log_axis::{label, log_axis};

/// One plotted line: kind, "is an estimate", (MACs, LUTs) points.
type Series = (MacKind, bool, Vec<(f64, f64)>);

/// Writes `resources.svg` and `resources.png` into `dir`: LUTs versus
/// MACs per cycle (Cols x Lanes) for each kind, log-log, from the iCE40
/// results (or the first family present). Does nothing without array rows.
pub fn write_plots(res: &SynthResults, dir: &Path) -> Result<()> {
    let family = if res.families().contains(&Family::Ice40) {
        Family::Ice40
    } else {
        match res.families().first() {
            Some(f) => *f,
            None => return Ok(()),
        }
    };
    let series: Vec<Series> = MacKind::ALL
        .into_iter()
        .map(|k| {
            let mut pts: Vec<(f64, f64)> = res
                .units
                .iter()
                .filter(|u| {
                    u.kind == k
                        && u.level == Level::Array
                        && u.family == family
                        && u.accel.is_none()
                })
                .map(|u| (u.macs() as f64, u.resources.luts.max(1) as f64))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let est = res
                .units
                .iter()
                .any(|u| u.kind == k && u.level == Level::Array && u.estimate);
            (k, est, pts)
        })
        .filter(|s| !s.2.is_empty())
        .collect();
    if series.is_empty() {
        return Ok(());
    }
    // Each drawn under a temporary name and renamed when complete.
    let svg = dir.join("resources.svg");
    let out = tritium_util::AtomicFile::create(&svg)?;
    draw(
        SVGBackend::new(out.tmp_path(), (900, 600)).into_drawing_area(),
        family,
        &series,
    )
    .map_err(|m| plot_error(&svg, m))?;
    out.commit()?;
    let png = dir.join("resources.png");
    let out = tritium_util::AtomicFile::create(&png)?;
    draw(
        BitMapBackend::new(out.tmp_path(), (900, 600)).into_drawing_area(),
        family,
        &series,
    )
    .map_err(|m| plot_error(&png, m))?;
    Ok(out.commit()?)
}

fn plot_error(path: &Path, message: String) -> Error {
    Error::Plot {
        path: path.to_path_buf(),
        message,
    }
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    family: Family,
    series: &[Series],
) -> std::result::Result<(), String> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let all = series.iter().flat_map(|s| s.2.iter());
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::MAX, 1.0f64);
    for &(x, y) in all {
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    let what = if family == Family::Generic {
        "gates"
    } else {
        "LUTs"
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{} {what} vs array size: ternary vs INT8 vs FP16 MAC",
                family.name()
            ),
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(
            log_axis(0.8, x_max * 1.3),
            log_axis((y_min / 2.0).max(1.0), y_max * 2.0),
        )
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("MACs per cycle (Cols x Lanes), log scale")
        .y_desc(format!("{what} (count, log scale)"))
        .x_label_formatter(&|v| label(*v))
        .y_label_formatter(&|v| label(*v))
        .draw()
        .map_err(e)?;
    for (i, (kind, est, pts)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let label = if *est {
            format!("{} (estimate: N x fp16_mac_pe)", kind.label())
        } else {
            format!("{} array", kind.label())
        };
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
            .map_err(e)?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(e)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}
