//! Plots, as SVG and PNG from the same drawing code (plotters). Text uses the bundled DejaVu
//! Sans (`assets/`), so PNGs render the same on any machine.

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use ldp_aggregator::Estimates;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use crate::attack::GainRecord;
use crate::longitudinal::RoundRecord;
use crate::run::RunRecord;

/// Runs one drawing function on an SVG and on a PNG backend: `stem.svg` and `stem.png`.
macro_rules! svg_and_png {
    ($stem:expr, $size:expr, $draw:ident($($arg:expr),*)) => {{
        let svg = $stem.with_extension("svg");
        $draw(&SVGBackend::new(&svg, $size).into_drawing_area(), $($arg),*)?;
        let png = $stem.with_extension("png");
        $draw(&BitMapBackend::new(&png, $size).into_drawing_area(), $($arg),*)?;
    }};
}

type PlotResult = Result<(), Box<dyn Error + Send + Sync>>;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Colours that stay apart on white and for common colour-vision deficiencies (Okabe–Ito).
const PALETTE: [RGBColor; 7] = [
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled font is valid; a failure would only leave PNG text unrendered.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One mechanism's series for [`mse_vs_eps`].
#[derive(Debug, Clone)]
pub struct MseSeries {
    /// Mechanism name.
    pub mechanism: String,
    /// (ε, theoretical MSE) on a fine grid.
    pub theory: Vec<(f64, f64)>,
    /// Measured runs (their MSE and 99% interval).
    pub measured: Vec<RunRecord>,
}

fn boxed<E: Error + Send + Sync + 'static>(e: E) -> Box<dyn Error + Send + Sync> {
    Box::new(e)
}

/// Draws the legend (upper right) and writes the picture out.
fn finish<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    root: &DrawingArea<DB, Shift>,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    finish_at(chart, root, SeriesLabelPosition::UpperRight)
}

/// Draws the legend at `position` and writes the picture out.
fn finish_at<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    root: &DrawingArea<DB, Shift>,
    position: SeriesLabelPosition,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", 14))
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()
        .map_err(boxed)?;
    root.present().map_err(boxed)?;
    Ok(())
}

fn draw_mse<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    series: &[MseSeries],
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(boxed)?;
    let points = series.iter().flat_map(|s| {
        s.theory
            .iter()
            .copied()
            .chain(s.measured.iter().map(|r| (r.eps, r.mse)))
    });
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        if y > 0.0 {
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(90)
        .build_cartesian_2d(
            (x0 * 0.9..x1 * 1.1).log_scale(),
            (y0 * 0.5..y1 * 2.0).log_scale(),
        )
        .map_err(boxed)?;
    chart
        .configure_mesh()
        .x_desc("ε per report (lines: theory; points: measured, with 99% intervals)")
        .y_desc("MSE of a count")
        .x_label_formatter(&|x| format!("{x}"))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(boxed)?;
    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                s.theory.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(boxed)?
            .label(s.mechanism.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(s.measured.iter().map(|r| {
                let lo = (r.mse_ratio_ci99[0] * r.mse_theory).max(y0 * 0.5);
                let hi = r.mse_ratio_ci99[1] * r.mse_theory;
                ErrorBar::new_vertical(r.eps, lo, r.mse, hi, color.filled(), 8)
            }))
            .map_err(boxed)?;
        chart
            .draw_series(
                s.measured
                    .iter()
                    .map(|r| Circle::new((r.eps, r.mse), 4, color.filled())),
            )
            .map_err(boxed)?;
    }
    finish(&mut chart, root)
}

/// MSE against ε per mechanism, log-log: theory as lines, measurements as points with 99%
/// error bars. Writes `stem.svg` and `stem.png`.
pub fn mse_vs_eps(stem: &Path, title: &str, series: &[MseSeries]) -> PlotResult {
    register_font();
    let svg = stem.with_extension("svg");
    draw_mse(
        &SVGBackend::new(&svg, (960, 640)).into_drawing_area(),
        title,
        series,
    )?;
    let png = stem.with_extension("png");
    draw_mse(
        &BitMapBackend::new(&png, (960, 640)).into_drawing_area(),
        title,
        series,
    )?;
    Ok(())
}

#[expect(
    clippy::too_many_lines,
    reason = "one chart drawn element by element (axes, bars, intervals, labels, legend)"
)]
fn draw_top<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    truth: &[u64],
    labels: &[String],
    estimates: &Estimates,
    top: usize,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(boxed)?;
    let mut order: Vec<usize> = (0..truth.len()).collect();
    order.sort_by(|&a, &b| truth[b].cmp(&truth[a]).then(a.cmp(&b)));
    order.truncate(top);
    let rows: Vec<(usize, f64, f64, f64, f64)> = order
        .iter()
        .filter_map(|&i| {
            let e = estimates.values.get(i)?;
            Some((i, truth[i] as f64, e.count, e.ci95_low, e.ci95_high))
        })
        .collect();
    let y_max = rows.iter().map(|r| r.1.max(r.4)).fold(1.0f64, f64::max) * 1.08;
    let y_min = rows.iter().map(|r| r.3).fold(0.0f64, f64::min);
    let label_of = |i: usize| {
        let label = labels.get(i).map_or("", String::as_str);
        // The bundled font has no colour emoji; name those by their index.
        if label.is_ascii() && !label.is_empty() {
            label.to_owned()
        } else {
            format!("#{i}")
        }
    };
    let names: Vec<String> = rows.iter().map(|r| label_of(r.0)).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(90)
        .build_cartesian_2d((0..rows.len()).into_segmented(), y_min..y_max)
        .map_err(boxed)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(rows.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc("value, by true count")
        .y_desc("count")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(boxed)?;
    let bar = RGBColor(180, 200, 230);
    chart
        .draw_series(rows.iter().enumerate().map(|(j, r)| {
            let mut rect = Rectangle::new(
                [
                    (SegmentValue::Exact(j), 0.0),
                    (SegmentValue::Exact(j + 1), r.1),
                ],
                bar.filled(),
            );
            rect.set_margin(0, 0, 6, 6);
            rect
        }))
        .map_err(boxed)?
        .label("true count")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], bar.filled()));
    let red = RGBColor(200, 30, 30);
    chart
        .draw_series(rows.iter().enumerate().map(|(j, r)| {
            ErrorBar::new_vertical(
                SegmentValue::CenterOf(j),
                r.3,
                r.2,
                r.4,
                red.stroke_width(2),
                10,
            )
        }))
        .map_err(boxed)?
        .label("unbiased estimate with 95% interval")
        .legend(move |(x, y)| Circle::new((x + 7, y), 4, red.filled()));
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .map(|(j, r)| Circle::new((SegmentValue::CenterOf(j), r.2), 4, red.filled())),
        )
        .map_err(boxed)?;
    finish(&mut chart, root)
}

/// The `top` values by true count: true count as bars, the unbiased estimate with its 95%
/// interval as a point with whiskers. Writes `stem.svg` and `stem.png`.
pub fn top_values(
    stem: &Path,
    title: &str,
    truth: &[u64],
    labels: &[String],
    estimates: &Estimates,
    top: usize,
) -> PlotResult {
    register_font();
    svg_and_png!(
        stem,
        (960, 560),
        draw_top(title, truth, labels, estimates, top)
    );
    Ok(())
}

/// One line per (mechanism, ε) of [`lifetime_vs_rounds`]: (round, y) points.
fn round_series(
    records: &[RoundRecord],
    y: impl Fn(&RoundRecord) -> f64,
) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for r in records {
        let name = format!("{} ε={}", r.mechanism, r.eps);
        let point = (f64::from(r.round), y(r));
        match series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push(point),
            None => series.push((name, vec![point])),
        }
    }
    series
}

fn draw_rounds<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    records: &[RoundRecord],
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(boxed)?;
    let panels = root.split_evenly((1, 2));
    let lifetime: fn(&RoundRecord) -> f64 = |r| r.lifetime_eps_mean;
    let mse: fn(&RoundRecord) -> f64 = |r| r.mse;
    let charts = [
        ("Lifetime ε per device (mean)", "ε spent so far", lifetime),
        ("Accuracy each round", "MSE of a count", mse),
    ];
    let last = records.iter().map(|r| r.round).max().unwrap_or(1);
    for (panel, (title, y_desc, y)) in panels.iter().zip(charts) {
        let series = round_series(records, y);
        let top = series
            .iter()
            .flat_map(|(_, points)| points.iter().map(|p| p.1))
            .fold(0.0f64, f64::max);
        let mut chart = ChartBuilder::on(panel)
            .caption(title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(1.0..f64::from(last).max(2.0), 0.0..top * 1.1)
            .map_err(boxed)?;
        chart
            .configure_mesh()
            .x_desc("round")
            .y_desc(y_desc)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(boxed)?;
        for (i, (name, points)) in series.into_iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(boxed)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 13))
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(boxed)?;
    }
    root.present().map_err(boxed)?;
    Ok(())
}

/// Lifetime ε (mean over devices) and each round's MSE against rounds, one line per
/// (mechanism, ε), side by side. Writes `stem.svg` and `stem.png`.
pub fn lifetime_vs_rounds(stem: &Path, records: &[RoundRecord]) -> PlotResult {
    register_font();
    let svg = stem.with_extension("svg");
    draw_rounds(
        &SVGBackend::new(&svg, (1280, 560)).into_drawing_area(),
        records,
    )?;
    let png = stem.with_extension("png");
    draw_rounds(
        &BitMapBackend::new(&png, (1280, 560)).into_drawing_area(),
        records,
    )?;
    Ok(())
}

/// The targets' frequency gain against the fake devices' share β, log-log, one colour per
/// (mechanism, attack): the expected gain as a line, the measured mean as points with ±2σ
/// bars. Gains at or below zero (a random-value attack on local hashing) are not drawn.
/// Writes `stem.svg` and `stem.png`.
pub fn gain_vs_beta(stem: &Path, records: &[GainRecord]) -> PlotResult {
    register_font();
    svg_and_png!(stem, (960, 640), draw_gain(records));
    Ok(())
}

#[expect(
    clippy::too_many_lines,
    reason = "one chart drawn element by element (range, axes, lines, bars, points, legend)"
)]
fn draw_gain<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    records: &[GainRecord],
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(boxed)?;
    let positive = |y: f64| y > 0.0;
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for r in records.iter().filter(|r| r.beta > 0.0) {
        x0 = x0.min(r.beta);
        x1 = x1.max(r.beta);
        for y in [r.gain, r.gain_expected]
            .into_iter()
            .filter(|&y| positive(y))
        {
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if x0 > x1 || y0 > y1 {
        return Err("nothing to plot: no positive β with a positive gain".into());
    }
    let title = records.first().map_or(String::new(), |r| {
        format!(
            "Frequency gain of {} target(s), k = {}, ε = {}",
            r.targets.len(),
            r.k,
            r.eps
        )
    });
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(90)
        .build_cartesian_2d(
            (x0 * 0.8..x1 * 1.25).log_scale(),
            (y0 * 0.5..y1 * 2.0).log_scale(),
        )
        .map_err(boxed)?;
    chart
        .configure_mesh()
        .x_desc("β, fake devices' share (lines: expected; points: measured, ±2σ)")
        .y_desc("gain in the targets' frequency")
        .x_label_formatter(&|x| format!("{x}"))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(boxed)?;
    let mut series: Vec<(String, Vec<&GainRecord>)> = Vec::new();
    for r in records.iter().filter(|r| r.beta > 0.0) {
        let name = format!("{} {}", r.mechanism, r.attack.name());
        match series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push(r),
            None => series.push((name, vec![r])),
        }
    }
    for (i, (name, points)) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let line: Vec<(f64, f64)> = points
            .iter()
            .filter(|r| positive(r.gain_expected))
            .map(|r| (r.beta, r.gain_expected))
            .collect();
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(2)))
            .map_err(boxed)?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        let measured = points.iter().filter(|r| positive(r.gain));
        chart
            .draw_series(measured.clone().map(|r| {
                let lo = (r.gain - 2.0 * r.gain_sigma).max(y0 * 0.5);
                ErrorBar::new_vertical(
                    r.beta,
                    lo,
                    r.gain,
                    r.gain + 2.0 * r.gain_sigma,
                    color.filled(),
                    8,
                )
            }))
            .map_err(boxed)?;
        chart
            .draw_series(measured.map(|r| Circle::new((r.beta, r.gain), 4, color.filled())))
            .map_err(boxed)?;
    }
    // Gains rise with β: the upper left is free.
    finish_at(&mut chart, root, SeriesLabelPosition::UpperLeft)
}
