//! The dashboard's charts: inline SVG drawn on the server with `plotters` (no JavaScript).
//! Text in the SVG is escaped by plotters' SVG backend.

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

/// A value's share per epoch: a line with its 95% interval band, broken where an epoch is
/// missing (too few reports); the axis labels epochs by
/// date or time (`time`), at most five of them, with room for the last.
pub fn share_series(points: &[SharePoint], label: &str, time: EpochTime) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let first = points.first().map_or(0, |p| p.epoch);
        let last = points.last().map_or(1, |p| p.epoch).max(first + 1);
        let high = points
            .iter()
            .map(|p| p.ci95[1])
            .fold(0.0f64, f64::max)
            .max(0.1)
            * 1.1;
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
            .y_desc(format!("share of {} (%)", truncate(label, 24)))
            .x_labels(5)
            .x_label_formatter(&|x| time.label(x.round() as u64))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        // Epochs without enough reports are gaps: the band and the line stop and start again.
        for run in points.chunk_by(|a, b| b.epoch == a.epoch + 1) {
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
                .draw_series([Polygon::new(band, ACCENT.mix(0.2).filled())])
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(LineSeries::new(
                    run.iter().map(|p| (p.epoch as f64, p.share)),
                    ACCENT.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?;
        }
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.epoch as f64, p.share), 3, ACCENT.filled())),
            )
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
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
        let whole = share_series(&[point(1), point(2), point(3)], "x", time).unwrap();
        let broken = share_series(&[point(1), point(2), point(4), point(5)], "x", time).unwrap();
        assert_eq!(whole.matches("<polygon").count(), 1, "{whole}");
        assert_eq!(broken.matches("<polygon").count(), 2, "{broken}");
        assert!(broken.contains("1970-01-02"), "{broken}");
    }
}
