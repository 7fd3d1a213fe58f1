//! The dashboard's charts: inline SVG drawn on the server with `plotters` (no JavaScript).
//! Text in the SVG is escaped by plotters' SVG backend.

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::epoch_time::EpochTime;

/// One bar of the top-values chart.
#[derive(Debug, Clone)]
pub struct Bar {
    /// The value's label.
    pub label: String,
    /// Estimated count.
    pub count: f64,
    /// 95% interval.
    pub ci95: [f64; 2],
    /// Whether the estimate is distinguishable from zero (interval above 0).
    pub detected: bool,
}

/// One point of a time series of shares.
#[derive(Debug, Clone, Copy)]
pub struct SharePoint {
    /// Epoch number.
    pub epoch: u64,
    /// Estimated share, in percent.
    pub share: f64,
    /// Its 95% interval, in percent.
    pub ci95: [f64; 2],
}

const ACCENT: RGBColor = RGBColor(0x1f, 0x6f, 0xb2);
const FADED: RGBColor = RGBColor(0xb8, 0xbe, 0xc6);
const WHISKER: RGBColor = RGBColor(0x22, 0x22, 0x22);

/// Horizontal bars, largest first, with 95% interval whiskers; undetected values in grey.
pub fn top_values(bars: &[Bar], x_label: &str) -> Result<String, String> {
    let mut svg = String::new();
    let rows = bars.len().max(1) as u32;
    let height = 70 + 26 * rows;
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let high = bars
            .iter()
            .map(|b| b.ci95[1].max(b.count))
            .fold(0.0f64, f64::max)
            .max(1.0)
            * 1.05;
        let low = bars
            .iter()
            .map(|b| b.ci95[0].min(b.count))
            .fold(0.0f64, f64::min);
        let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
        let label_of = move |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) if *i < rows => {
                // Row 0 is at the bottom; the first bar belongs at the top.
                let rank = (rows - 1 - *i) as usize;
                labels
                    .get(rank)
                    .map(|l| truncate(l, 28))
                    .unwrap_or_default()
            }
            _ => String::new(),
        };
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(190)
            .build_cartesian_2d(low..high, (0u32..rows).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows as usize)
            .y_label_formatter(&label_of)
            .x_desc(x_label)
            .x_label_formatter(&|x| compact(*x))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        for (rank, bar) in bars.iter().enumerate() {
            let row = rows - 1 - rank as u32;
            let color = if bar.detected { ACCENT } else { FADED };
            let mut rect = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(row)),
                    (bar.count, SegmentValue::Exact(row + 1)),
                ],
                color.filled(),
            );
            rect.set_margin(4, 4, 0, 0);
            chart.draw_series([rect]).map_err(|e| e.to_string())?;
            let whisker = [
                (bar.ci95[0], SegmentValue::CenterOf(row)),
                (bar.ci95[1], SegmentValue::CenterOf(row)),
            ];
            chart
                .draw_series([PathElement::new(whisker, WHISKER.stroke_width(2))])
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// One value's line in the time series.
#[derive(Debug, Clone)]
pub struct Line {
    /// Domain index.
    pub index: u32,
    /// The value's label.
    pub label: String,
    /// Its share in each epoch with enough reports, in epoch order.
    pub points: Vec<SharePoint>,
}

/// The lines' colours, in order (distinguishable in print and for the common colour-vision
/// deficiencies: Okabe and Ito's palette).
pub const PALETTE: [RGBColor; 8] = [
    ACCENT,
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0xd5, 0x5e, 0x00),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0xf0, 0xe4, 0x42),
];

/// Values' shares per epoch: a line each with its 95% interval band, broken where an epoch is
/// missing (too few reports), a legend when there are several; the axis labels epochs by
/// date or time (`time`), at most five of them, with room for the last.
pub fn share_series(lines: &[Line], time: EpochTime) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let all = || lines.iter().flat_map(|l| l.points.iter());
        let first = all().map(|p| p.epoch).min().unwrap_or(0);
        let last = all().map(|p| p.epoch).max().unwrap_or(1).max(first + 1);
        let high = all().map(|p| p.ci95[1]).fold(0.0f64, f64::max).max(0.1) * 1.1;
        let y_desc = match lines {
            [one] => format!("share of {} (%)", truncate(&one.label, 24)),
            _ => "share (%)".to_owned(),
        };
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(64)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(first as f64..last as f64, 0.0..high)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("epoch (UTC)")
            .y_desc(y_desc)
            .x_labels(5)
            .x_label_formatter(&|x| time.label(x.round() as u64))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        let band_alpha = if lines.len() > 1 { 0.12 } else { 0.2 };
        for (line, color) in lines.iter().zip(PALETTE.iter().cycle()) {
            let color = *color;
            // Epochs without enough reports are gaps: the band and the line stop and start again.
            for run in line.points.chunk_by(|a, b| b.epoch == a.epoch + 1) {
                let band: Vec<(f64, f64)> = run
                    .iter()
                    .map(|p| (p.epoch as f64, p.ci95[1].max(0.0)))
                    .chain(
                        run.iter()
                            .rev()
                            .map(|p| (p.epoch as f64, p.ci95[0].max(0.0))),
                    )
                    .collect();
                chart
                    .draw_series([Polygon::new(band, color.mix(band_alpha).filled())])
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series(LineSeries::new(
                        run.iter().map(|p| (p.epoch as f64, p.share)),
                        color.stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?;
            }
            chart
                .draw_series(
                    line.points
                        .iter()
                        .map(|p| Circle::new((p.epoch as f64, p.share), 3, color.filled())),
                )
                .map_err(|e| e.to_string())?;
        }
        if lines.len() > 1 {
            legend(&root, lines)?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The lines' legend, top left inside the plot, drawn in pixels (plotters' own legend measures
/// text with a font file the collector does not ship).
fn legend<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, lines: &[Line]) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let widest = lines
        .iter()
        .map(|l| truncate(&l.label, 24).chars().count())
        .max();
    let width = 36 + 8 * widest.unwrap_or(0) as i32;
    root.draw(&Rectangle::new(
        [(78, 12), (78 + width, 16 + 20 * lines.len() as i32)],
        WHITE.mix(0.85).filled(),
    ))
    .map_err(|e| e.to_string())?;
    for (i, (line, color)) in lines.iter().zip(PALETTE.iter()).enumerate() {
        let y = 24 + 20 * i as i32;
        root.draw(&PathElement::new(
            [(86, y), (104, y)],
            color.stroke_width(3),
        ))
        .map_err(|e| e.to_string())?;
        root.draw(&Text::new(
            truncate(&line.label, 24),
            (110, y - 8),
            ("sans-serif", 14).into_font().color(&WHISKER),
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// 1234567 → "1.23M"; small numbers as they are.
pub fn compact(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_in_the_svg() {
        let svg = top_values(
            &[Bar {
                label: "<script>alert(1)</script>".into(),
                count: 10.0,
                ci95: [5.0, 15.0],
                detected: true,
            }],
            "count",
        )
        .unwrap();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn a_missing_epoch_breaks_the_line_and_the_band() {
        let point = |epoch| SharePoint {
            epoch,
            share: 5.0,
            ci95: [4.0, 6.0],
        };
        let time = EpochTime::new(86_400);
        let line = |points: Vec<SharePoint>| Line {
            index: 0,
            label: "x".into(),
            points,
        };
        let whole = share_series(&[line(vec![point(1), point(2), point(3)])], time).unwrap();
        let broken =
            share_series(&[line(vec![point(1), point(2), point(4), point(5)])], time).unwrap();
        assert_eq!(whole.matches("<polygon").count(), 1, "{whole}");
        assert_eq!(broken.matches("<polygon").count(), 2, "{broken}");
        assert!(broken.contains("1970-01-02"), "{broken}");
    }

    #[test]
    fn compared_values_get_a_line_and_a_legend_entry_each() {
        let line = |label: &str, share| Line {
            index: 0,
            label: label.into(),
            points: (1..=3)
                .map(|epoch| SharePoint {
                    epoch,
                    share,
                    ci95: [share - 1.0, share + 1.0],
                })
                .collect(),
        };
        let time = EpochTime::new(86_400);
        let one = share_series(&[line("cat", 5.0)], time).unwrap();
        let two = share_series(&[line("cat", 5.0), line("dog", 9.0)], time).unwrap();
        assert_eq!(one.matches("<polygon").count(), 1);
        assert_eq!(two.matches("<polygon").count(), 2, "{two}");
        let legend = |svg: &str, label: &str| svg.contains(&format!(">\n{label}\n</text>"));
        assert!(!legend(&one, "cat"), "one line needs no legend: {one}");
        assert!(legend(&two, "cat") && legend(&two, "dog"), "{two}");
    }
}
