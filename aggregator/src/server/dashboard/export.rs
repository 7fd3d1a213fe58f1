//! CSV downloads of what a campaign page shows, with the page's parameters:
//!
//! - `estimates.csv`: the top-values table (its rows in the view's order), with the columns of
//!   `GET /v1/campaigns/{id}/estimates?format=csv`;
//! - `trending.csv`: every rising value, with the columns of `GET …/trending?format=csv`;
//! - `series.csv`: the charted values per epoch, with the columns of `GET …/series?format=csv`;
//! - `candidates.csv`: an open domain's candidate estimates.
//!
//! Each answers `text/csv` as an attachment named after the campaign.

use axum::http::{HeaderValue, header};
use axum::response::Response;

use super::super::routes::csv_response;
use super::super::routes::estimates::{ValueView, values_csv};
use super::super::routes::series::{self, SeriesPoint};
use super::super::routes::trending::{TrendView, rising_csv};
use super::data::CampaignData;
use super::sections::top_rows;

/// The downloads a campaign page links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// The top-values table.
    Estimates,
    /// The rising values.
    Trending,
    /// The charted values per epoch.
    Series,
    /// The candidate estimates.
    Candidates,
}

impl Export {
    /// The export a file name names (`estimates.csv`, …).
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "estimates.csv" => Some(Self::Estimates),
            "trending.csv" => Some(Self::Trending),
            "series.csv" => Some(Self::Series),
            "candidates.csv" => Some(Self::Candidates),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Estimates => "estimates",
            Self::Trending => "trending",
            Self::Series => "series",
            Self::Candidates => "candidates",
        }
    }

    /// The CSV of this export of `data` (header only when there is nothing to list).
    pub fn csv(self, data: &CampaignData) -> Response {
        let config = &data.config;
        let mut response = match self {
            Self::Estimates => {
                let rows: Vec<ValueView> = data
                    .estimates
                    .as_ref()
                    .map(|e| top_rows(data, e))
                    .unwrap_or_default()
                    .iter()
                    .map(|v| ValueView::new(config, v))
                    .collect();
                values_csv(&rows)
            }
            Self::Trending => {
                let rows: Vec<TrendView> = data
                    .trending
                    .as_ref()
                    .map(|(_, report)| {
                        report
                            .rising
                            .iter()
                            .map(|t| TrendView::new(config, t))
                            .collect()
                    })
                    .unwrap_or_default();
                rising_csv(&rows)
            }
            Self::Series => series_csv(data),
            Self::Candidates => candidates_csv(data),
        };
        let disposition = format!(
            "attachment; filename=\"{}-{}.csv\"",
            config.id().as_str(),
            self.name()
        );
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
        response
    }
}

/// One row per epoch with enough reports and charted value: the columns of
/// `GET …/series?format=csv`.
fn series_csv(data: &CampaignData) -> Response {
    let points: Vec<SeriesPoint> =
        data.series
            .epochs
            .iter()
            .flat_map(|(epoch, estimates)| {
                data.series.lines.iter().filter_map(|line| {
                    SeriesPoint::new(&data.config, *epoch, estimates, line.index)
                })
            })
            .collect();
    series::series_csv(&points)
}

/// The candidate estimates, in the order given.
fn candidates_csv(data: &CampaignData) -> Response {
    let candidates = match &data.candidates {
        Some(Ok(answer)) => answer.decoding.candidates.as_slice(),
        _ => &[],
    };
    csv_response(
        &[
            "value",
            "count",
            "std_error",
            "ci95_low",
            "ci95_high",
            "z",
            "selected",
            "detected",
        ],
        candidates.iter().map(|c| {
            vec![
                c.value.clone(),
                c.count.to_string(),
                c.std_error.to_string(),
                c.ci95_low.to_string(),
                c.ci95_high.to_string(),
                c.z.to_string(),
                c.selected.to_string(),
                c.detected.to_string(),
            ]
        }),
    )
}
