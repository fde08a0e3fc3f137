//! The report's plots (plotters), each written as SVG and PNG.

use std::path::Path;

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use crate::count::{Energy, Variant};
use crate::error::{Error, Result};
use crate::log_axis::{label, log_axis};
use crate::report::{Mode, Report, SizeRow, ROOFLINE_BANDWIDTHS};

/// (title, file stem) of every plot, in report order.
pub const PLOTS: &[(&str, &str)] = &[
    (
        "Energy per token, split into arithmetic, SRAM and DRAM",
        "energy_per_token",
    ),
    ("FP16 / ternary energy versus model size", "savings_vs_size"),
    (
        "Decode latency versus array size and memory bandwidth",
        "roofline",
    ),
    ("Decode energy per token by projection", "breakdown"),
];

/// Pixel size of every plot.
pub const SIZE: (u32, u32) = (1200, 700);

/// The legend box every plot uses.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    ch: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Res {
    ch.configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(s)
}

/// The category name under the centre of segment `i` of a bar chart.
fn segment_label(names: &[String], v: &SegmentValue<usize>) -> String {
    match v {
        SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

type Res = std::result::Result<(), String>;

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draws plot `stem` into `dir/stem.svg` and `dir/stem.png`.
pub fn draw(r: &Report, stem: &str, dir: &Path) -> Result<()> {
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let err = |p: &Path, m: String| Error::Plot {
        path: p.to_path_buf(),
        message: m,
    };
    // Each drawn under a temporary name and renamed when complete.
    let out = tritium_util::AtomicFile::create(&svg)?;
    {
        let root = SVGBackend::new(out.tmp_path(), SIZE).into_drawing_area();
        draw_on(r, stem, &root).map_err(|m| err(&svg, m))?;
        root.present().map_err(|e| err(&svg, e.to_string()))?;
    }
    out.commit()?;
    let out = tritium_util::AtomicFile::create(&png)?;
    {
        let root = BitMapBackend::new(out.tmp_path(), SIZE).into_drawing_area();
        draw_on(r, stem, &root).map_err(|m| err(&png, m))?;
        root.present().map_err(|e| err(&png, e.to_string()))?;
    }
    Ok(out.commit()?)
}

fn draw_on<DB: DrawingBackend>(r: &Report, stem: &str, root: &DrawingArea<DB, Shift>) -> Res {
    root.fill(&WHITE).map_err(s)?;
    match stem {
        "energy_per_token" => energy_per_token(r, root),
        "savings_vs_size" => savings_vs_size(r, root),
        "roofline" => roofline(r, root),
        "breakdown" => breakdown(r, root),
        other => Err(format!("unknown plot {other}")),
    }
}

const PARTS: [(&str, RGBColor); 3] = [
    ("arithmetic", RGBColor(0x44, 0x77, 0xaa)),
    ("SRAM", RGBColor(0xcc, 0xbb, 0x44)),
    ("DRAM", RGBColor(0xee, 0x66, 0x77)),
];

fn parts(e: &Energy) -> [f64; 3] {
    [e.arith_pj * 1e-9, e.sram_pj * 1e-9, e.dram_pj * 1e-9]
}

fn energy_per_token<DB: DrawingBackend>(r: &Report, root: &DrawingArea<DB, Shift>) -> Res {
    let what = match r.mode {
        Mode::Paper => "paper mode, BitLinear arithmetic only",
        Mode::Detailed => "detailed mode",
    };
    let title = format!(
        "{} at {}: energy per token, {what} ({}-token prompt, {} decoded)",
        r.model.name,
        r.energy_table.node,
        r.options.workload.prompt_tokens,
        r.options.workload.decode_tokens
    );
    let root = root.titled(&title, ("sans-serif", 24)).map_err(s)?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    let vs = &r.evaluation.variants;
    let labels: Vec<String> = vs.iter().map(|v| v.label.clone()).collect();
    for (area, phase) in [(&left, "decode"), (&right, "prefill")] {
        // Paper mode: the paper's BitLinear arithmetic only (the same per
        // token in both phases); detailed: everything, split by where.
        let vals: Vec<[f64; 3]> = vs
            .iter()
            .map(|v| match r.mode {
                Mode::Paper => [v.paper_arith_pj_per_token * 1e-9, 0.0, 0.0],
                Mode::Detailed => parts(if phase == "decode" {
                    &v.decode.total
                } else {
                    &v.prefill.total
                }),
            })
            .collect();
        let ymax = vals
            .iter()
            .map(|p| p.iter().sum::<f64>())
            .fold(0.0, f64::max)
            * 1.15;
        let mut ch = ChartBuilder::on(area)
            .caption(
                if phase == "decode" {
                    "decode: per generated token"
                } else {
                    "prefill: per prompt token"
                },
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d((0..vs.len() - 1).into_segmented(), 0f64..ymax.max(1e-9))
            .map_err(s)?;
        let fmt = |v: &SegmentValue<usize>| segment_label(&labels, v);
        ch.configure_mesh()
            .disable_x_mesh()
            .x_desc("weights / arithmetic")
            .y_desc("energy (mJ per token)")
            .x_label_formatter(&fmt)
            .y_label_formatter(&|v| label(*v))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(s)?;
        let shown = match r.mode {
            Mode::Paper => 1,
            Mode::Detailed => PARTS.len(),
        };
        for (pi, (name, color)) in PARTS.iter().enumerate().take(shown) {
            let bars = vals.iter().enumerate().map(|(i, p)| {
                let y0: f64 = p[..pi].iter().sum();
                let mut rect = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), y0),
                        (SegmentValue::Exact(i + 1), y0 + p[pi]),
                    ],
                    color.filled(),
                );
                rect.set_margin(0, 0, 25, 25);
                rect
            });
            let c = *color;
            ch.draw_series(bars)
                .map_err(s)?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
        }
        legend(&mut ch, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

fn savings_vs_size<DB: DrawingBackend>(r: &Report, root: &DrawingArea<DB, Shift>) -> Res {
    let pts = |f: &dyn Fn(&SizeRow) -> f64| -> Vec<(f64, f64)> {
        r.model_sizes
            .iter()
            .map(|z| (z.total_params as f64 * 1e-9, f(z)))
            .collect()
    };
    type Series = (String, Vec<(f64, f64)>, RGBColor);
    let series: Vec<Series> = vec![
        (
            "paper mode (BitLinear arithmetic, ternary MAC = INT8 add)".into(),
            pts(&|z| z.paper_fp16_over_ternary),
            RGBColor(0x22, 0x22, 0x22),
        ),
        (
            "detailed: BitLinear arithmetic (decode)".into(),
            pts(&|z| z.fp16_over_ternary_decode.bitlinear_arith),
            RGBColor(0x44, 0x77, 0xaa),
        ),
        (
            "detailed: whole model, decode".into(),
            pts(&|z| z.fp16_over_ternary_decode.total),
            RGBColor(0xee, 0x66, 0x77),
        ),
        (
            "detailed: whole model, prefill".into(),
            pts(&|z| z.fp16_over_ternary_prefill.total),
            RGBColor(0x22, 0x88, 0x33),
        ),
    ];
    let all = series.iter().flat_map(|s| s.1.iter().map(|p| p.1));
    let (lo, hi) = all.fold((f64::MAX, 0f64), |(a, b), y| (a.min(y), b.max(y)));
    let mut ch = ChartBuilder::on(root)
        .caption(
            format!(
                "FP16 energy / ternary energy versus model size ({}, zero weights {:.0}%)",
                r.energy_table.node,
                100.0 * r.sizes_zero_fraction
            ),
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(
            log_axis(0.4, 120.0),
            log_axis((lo * 0.7).max(0.1), hi * 1.6),
        )
        .map_err(s)?;
    ch.configure_mesh()
        .x_desc("model size (billions of parameters, log scale)")
        .y_desc("energy saving, FP16 / ternary 2-bit (x, log scale)")
        .x_label_formatter(&|v| label(*v))
        .y_label_formatter(&|v| label(*v))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(s)?;
    for (name, p, c) in series {
        ch.draw_series(LineSeries::new(p.clone(), c.stroke_width(2)))
            .map_err(s)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        ch.draw_series(p.iter().map(|&q| Circle::new(q, 4, c.filled())))
            .map_err(s)?;
    }
    ch.draw_series(r.model_sizes.iter().map(|z| {
        Text::new(
            z.name.clone(),
            (
                z.total_params as f64 * 1e-9,
                z.paper_fp16_over_ternary * 1.12,
            ),
            ("sans-serif", 13),
        )
    }))
    .map_err(s)?;
    legend(&mut ch, SeriesLabelPosition::LowerRight)
}

fn roofline<DB: DrawingBackend>(r: &Report, root: &DrawingArea<DB, Shift>) -> Res {
    let pts = &r.roofline;
    let ys = pts
        .iter()
        .flat_map(|p| [p.ternary_decode_ms_per_token, p.ternary_memory_floor_ms]);
    let (lo, hi) = ys.fold((f64::MAX, 0f64), |(a, b), y| (a.min(y), b.max(y)));
    let xs = pts.iter().map(|p| p.macs_per_cycle as f64);
    let (xlo, xhi) = xs.fold((f64::MAX, 0f64), |(a, b), x| (a.min(x), b.max(x)));
    let mut ch = ChartBuilder::on(root)
        .caption(
            format!(
                "{}: ternary 2-bit decode latency per token on tri_accel at {} MHz",
                r.model.name, r.options.clock_mhz
            ),
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(
            log_axis(xlo * 0.8, xhi * 1.25),
            log_axis(lo * 0.7, hi * 1.4),
        )
        .map_err(s)?;
    ch.configure_mesh()
        .x_desc("array size (MACs per cycle = columns x lanes, log scale)")
        .y_desc("decode latency (ms per token, log scale)")
        .x_label_formatter(&|v| label(*v))
        .y_label_formatter(&|v| label(*v))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(s)?;
    for (i, bw) in ROOFLINE_BANDWIDTHS.iter().enumerate() {
        let c = Palette99::pick(i).to_rgba();
        let line: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.bandwidth_gbs == *bw)
            .map(|p| (p.macs_per_cycle as f64, p.ternary_decode_ms_per_token))
            .collect();
        let floor = pts
            .iter()
            .find(|p| p.bandwidth_gbs == *bw)
            .map_or(0.0, |p| p.ternary_memory_floor_ms);
        ch.draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
            .map_err(s)?
            .label(format!("{bw} GB/s"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        ch.draw_series(line.iter().map(|&q| Circle::new(q, 3, c.filled())))
            .map_err(s)?;
        ch.draw_series(DashedLineSeries::new(
            vec![(xlo * 0.8, floor), (xhi * 1.25, floor)],
            6,
            4,
            c.stroke_width(1),
        ))
        .map_err(s)?;
    }
    legend(&mut ch, SeriesLabelPosition::UpperRight)?;
    root.draw(&Text::new(
        "dashed: memory floor (DRAM bytes per token / bandwidth)",
        (90, SIZE.1 as i32 - 22),
        ("sans-serif", 14),
    ))
    .map_err(s)
}

fn breakdown<DB: DrawingBackend>(r: &Report, root: &DrawingArea<DB, Shift>) -> Res {
    let shown = [Variant::Fp16, Variant::Int8, Variant::Ternary2];
    let idx: Vec<usize> = shown
        .iter()
        .map(|v| Variant::ALL.iter().position(|x| x == v).unwrap_or(0))
        .collect();
    // Components: the seven projections over all layers, attention, head.
    let mut names: Vec<String> = Vec::new();
    let mut vals: Vec<Vec<f64>> = Vec::new();
    for p in tritium_golden::Proj::ALL {
        let mut e = vec![0.0; shown.len()];
        for l in r
            .evaluation
            .linears
            .iter()
            .filter(|l| l.proj == p.hf_name())
        {
            for (j, &vi) in idx.iter().enumerate() {
                e[j] += l.decode_per_token[vi].total_pj() * 1e-9;
            }
        }
        names.push(p.hf_name().trim_end_matches("_proj").to_string());
        vals.push(e);
    }
    names.push("attention+KV".into());
    vals.push(
        idx.iter()
            .map(|&vi| r.evaluation.variants[vi].decode.attention.total_pj() * 1e-9)
            .collect(),
    );
    names.push("head+embed".into());
    vals.push(
        idx.iter()
            .map(|&vi| r.evaluation.variants[vi].decode.head.total_pj() * 1e-9)
            .collect(),
    );
    let flat = vals.iter().flatten().copied().filter(|v| *v > 0.0);
    let (lo, hi) = flat.fold((f64::MAX, 0f64), |(a, b), y| (a.min(y), b.max(y)));
    let (lo, hi) = if hi > 0.0 {
        (lo * 0.5, hi * 2.0)
    } else {
        (1e-3, 1.0)
    };
    let mut ch = ChartBuilder::on(root)
        .caption(
            format!(
                "{} at {}: decode energy per token by component (all {} layers)",
                r.model.name, r.energy_table.node, r.model.layers
            ),
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((0..names.len() - 1).into_segmented(), log_axis(lo, hi))
        .map_err(s)?;
    let fmt = |v: &SegmentValue<usize>| segment_label(&names, v);
    ch.configure_mesh()
        .disable_x_mesh()
        .x_desc("component (BitLinear projections, attention with its KV-cache traffic, LM head with the embedding row)")
        .y_desc("energy (mJ per token, log scale)")
        .x_label_formatter(&fmt)
        .y_label_formatter(&|v| label(*v))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(s)?;
    let seg_px = ch.plotting_area().dim_in_pixel().0 as f64 / names.len() as f64;
    let bar = (seg_px * 0.8 / shown.len() as f64).max(1.0);
    let colors = [
        RGBColor(0x88, 0x88, 0x88),
        RGBColor(0x44, 0x77, 0xaa),
        RGBColor(0xee, 0x66, 0x77),
    ];
    for (j, v) in shown.iter().enumerate() {
        let c = colors[j];
        let left = (seg_px * 0.1 + bar * j as f64).round() as u32;
        let right = (seg_px - seg_px * 0.1 - bar * (j + 1) as f64)
            .max(0.0)
            .round() as u32;
        let bars = vals.iter().enumerate().map(|(i, e)| {
            let mut rect = Rectangle::new(
                [
                    (SegmentValue::Exact(i), lo),
                    (SegmentValue::Exact(i + 1), e[j].max(lo)),
                ],
                c.filled(),
            );
            rect.set_margin(0, 0, left, right);
            rect
        });
        ch.draw_series(bars)
            .map_err(s)?
            .label(v.label())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
    }
    legend(&mut ch, SeriesLabelPosition::UpperLeft)
}
