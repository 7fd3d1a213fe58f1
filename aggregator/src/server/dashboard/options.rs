//! What a campaign page was asked for: its query parameters, checked against the campaign, and
//! links that change one of them while keeping the others.
//!
//! | parameter    | meaning                                                                  |
//! |--------------|--------------------------------------------------------------------------|
//! | `from`, `to` | the epochs estimated: epoch numbers, dates or date-times (as in the API) |
//! | `last`       | a preset: the last N epochs up to the current one (when no `from`/`to`)  |
//! | `top`        | rows in the top-values table (default [`TOP`])                          |
//! | `view`       | `raw` (unbiased, default) or `consistent` (Norm-Sub)                     |
//! | `value`      | the value charted per epoch (a table's link)                            |
//! | `compare`    | several values charted together: labels, separated by commas            |
//! | `candidates` | an open domain's strings to estimate, one per line                      |
//!
//! Empty fields (a form submitted with nothing typed) count as absent.

use ldp_protocol::CampaignConfig;
use serde::{Deserialize, Serialize};

use super::super::problem::{Problem, ProblemType};
use super::super::routes::epoch_selection;
use crate::query::{EpochSelection, index_of_label};

/// Rows in the top-values table unless `top` says otherwise.
pub const TOP: usize = 20;
/// The choices the page offers for `top` (any count from 1 to [`MAX_TOP`] is accepted).
pub const TOP_CHOICES: [usize; 4] = [10, 20, 50, 100];
/// Most rows in the top-values table.
pub const MAX_TOP: usize = 1_000;
/// Most values in the comparison chart (one colour each).
pub const MAX_COMPARED: usize = 8;
/// Most candidate strings the page's form estimates at once (the API takes more).
pub const MAX_PAGE_CANDIDATES: usize = 1_000;
/// The range presets, in epochs.
pub const PRESETS: [u64; 2] = [7, 30];

/// The raw query parameters. Unlike the API's inputs, unknown parameters are ignored: the page
/// is a link people share and bookmark, and tracking parameters added on the way must not turn
/// it into an error page.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct PageQuery {
    /// First epoch.
    #[serde(default, skip_serializing_if = "blank")]
    pub from: Option<String>,
    /// Last epoch.
    #[serde(default, skip_serializing_if = "blank")]
    pub to: Option<String>,
    /// The last N epochs.
    #[serde(default, skip_serializing_if = "blank")]
    pub last: Option<String>,
    /// Rows in the top table.
    #[serde(default, skip_serializing_if = "blank")]
    pub top: Option<String>,
    /// `raw` or `consistent`.
    #[serde(default, skip_serializing_if = "blank")]
    pub view: Option<String>,
    /// One value's index.
    #[serde(default, skip_serializing_if = "blank")]
    pub value: Option<String>,
    /// Labels, comma-separated.
    #[serde(default, skip_serializing_if = "blank")]
    pub compare: Option<String>,
    /// Strings, one per line.
    #[serde(default, skip_serializing_if = "blank")]
    pub candidates: Option<String>,
}

#[allow(clippy::ref_option)] // serde's `skip_serializing_if` passes a reference to the field
fn blank(field: &Option<String>) -> bool {
    field.as_deref().is_none_or(|s| s.trim().is_empty())
}

fn given(field: Option<&String>) -> Option<&str> {
    field.map(|s| s.trim()).filter(|s| !s.is_empty())
}

impl PageQuery {
    /// `base` with these parameters, after `change` (a link that keeps the page's state).
    pub fn href(&self, base: &str, change: impl FnOnce(&mut Self)) -> String {
        let mut query = self.clone();
        change(&mut query);
        match serde_urlencoded::to_string(&query) {
            Ok(q) if !q.is_empty() => format!("{base}?{q}"),
            _ => base.to_owned(),
        }
    }

    /// The same page for another range: `from`/`to` and `last` cleared.
    pub fn clear_range(&mut self) {
        self.from = None;
        self.to = None;
        self.last = None;
    }
}

/// Which estimates the top chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Unbiased estimates with 95% intervals.
    Raw,
    /// Norm-Sub: non-negative, summing to n (biased; no intervals).
    Consistent,
}

/// The page's options, checked.
#[derive(Debug, Clone)]
pub struct Options {
    /// What was asked, for the form's fields and the links.
    pub query: PageQuery,
    /// The epochs estimated.
    pub selection: EpochSelection,
    /// Whether the range was chosen (by `from`/`to` or a preset) rather than defaulted.
    pub ranged: bool,
    /// The latest epoch named by `to`, for the trending comparison.
    pub to: Option<u64>,
    /// Rows in the top table.
    pub top: usize,
    /// Which estimates.
    pub view: View,
    /// The values charted per epoch, as asked (empty: the top value).
    pub charted: Vec<u32>,
    /// Labels in `compare` that are not in the domain.
    pub unknown: Vec<String>,
    /// Candidate strings to estimate.
    pub candidates: Vec<String>,
}

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemType::InvalidRequest, detail)
}

impl Options {
    /// Checks `query` against `config` at epoch `current`.
    pub fn parse(config: &CampaignConfig, query: PageQuery, current: u64) -> Result<Self, Problem> {
        let view = match given(query.view.as_ref()) {
            None | Some("raw") => View::Raw,
            Some("consistent") => View::Consistent,
            Some(other) => {
                return Err(invalid(format!(
                    "unknown view {other:?}: use raw or consistent"
                )));
            }
        };
        let top = match given(query.top.as_ref()) {
            None => TOP,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_TOP).contains(n))
                .ok_or_else(|| invalid(format!("top must be a count from 1 to {MAX_TOP}")))?,
        };
        let (from, to) = (given(query.from.as_ref()), given(query.to.as_ref()));
        let mut selection = epoch_selection(config, None, from, to)?;
        let mut ranged = from.is_some() || to.is_some();
        if !ranged && let Some(last) = given(query.last.as_ref()) {
            let n = last
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| invalid("last must be a number of epochs, at least 1"))?;
            selection.from = Some(current.saturating_sub(n - 1));
            selection.to = Some(current);
            ranged = true;
        }
        // An open domain or a number has no values to chart: `compare` and `value` are moot.
        let values = !config.is_open() && config.numeric_range().is_none();
        let (charted, unknown) = if values {
            charted(config, &query)?
        } else {
            (Vec::new(), Vec::new())
        };
        let candidates = candidates(&query)?;
        Ok(Self {
            to: selection.to.filter(|_| to.is_some()),
            query,
            selection,
            ranged,
            top,
            view,
            charted,
            unknown,
            candidates,
        })
    }
}

/// The values to chart (`compare`, else `value`) and the labels not in the domain.
fn charted(config: &CampaignConfig, query: &PageQuery) -> Result<(Vec<u32>, Vec<String>), Problem> {
    let (mut charted, mut unknown) = (Vec::new(), Vec::new());
    if let Some(list) = given(query.compare.as_ref()) {
        for label in list.split(',').map(str::trim).filter(|l| !l.is_empty()) {
            match index_of_label(config, label) {
                Some(i) if !charted.contains(&i) => charted.push(i),
                Some(_) => {}
                None => unknown.push(label.to_owned()),
            }
        }
        if charted.len() > MAX_COMPARED {
            return Err(invalid(format!(
                "compare at most {MAX_COMPARED} values at once"
            )));
        }
    }
    if charted.is_empty()
        && let Some(value) = given(query.value.as_ref())
    {
        let index = value
            .parse::<u32>()
            .ok()
            .filter(|i| *i < config.k())
            .ok_or_else(|| invalid(format!("value must be an index below {}", config.k())))?;
        charted.push(index);
    }
    Ok((charted, unknown))
}

/// The candidate strings, one per line, without blanks or repeats.
fn candidates(query: &PageQuery) -> Result<Vec<String>, Problem> {
    let mut list: Vec<String> = Vec::new();
    if let Some(text) = given(query.candidates.as_ref()) {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !list.iter().any(|c| c == line) {
                list.push(line.to_owned());
            }
        }
    }
    if list.len() > MAX_PAGE_CANDIDATES {
        return Err(invalid(format!(
            "the page estimates at most {MAX_PAGE_CANDIDATES} candidates at once; \
             POST /v1/campaigns/{{id}}/estimates/query takes more"
        )));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use ldp_protocol::{CampaignSpec, Domain, Mechanism};

    use super::*;

    fn config() -> CampaignConfig {
        let values = vec!["a,b".into(), "cat".into(), "dog".into()];
        let spec = CampaignSpec::new("pets", Mechanism::Oue, 1.0, Domain::Dictionary { values });
        CampaignConfig::new(spec).unwrap()
    }

    #[test]
    fn empty_fields_are_absent_and_presets_count_back_from_now() {
        let query = PageQuery {
            from: Some(String::new()),
            to: Some("  ".into()),
            last: Some("7".into()),
            top: Some(String::new()),
            ..PageQuery::default()
        };
        let options = Options::parse(&config(), query, 100).unwrap();
        assert_eq!(options.selection.from, Some(94));
        assert_eq!(options.selection.to, Some(100));
        assert_eq!(
            options.to, None,
            "a preset does not move the trending epoch"
        );
        assert_eq!(options.top, TOP);
    }

    #[test]
    fn compared_labels_are_found_and_unknown_ones_reported() {
        let query = PageQuery {
            compare: Some("dog, cat,dog, emu".into()),
            ..PageQuery::default()
        };
        let options = Options::parse(&config(), query, 0).unwrap();
        assert_eq!(options.charted, [2, 1]);
        assert_eq!(options.unknown, ["emu"]);
    }

    #[test]
    fn at_most_eight_values_are_compared() {
        let spec = CampaignSpec::new("n", Mechanism::Grr, 1.0, Domain::Range { k: 20 });
        let config = CampaignConfig::new(spec).unwrap();
        let list = |n: u32| PageQuery {
            compare: Some((0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")),
            ..PageQuery::default()
        };
        assert_eq!(
            Options::parse(&config, list(8), 0).unwrap().charted.len(),
            8
        );
        assert!(Options::parse(&config, list(9), 0).is_err());
    }

    #[test]
    fn links_keep_the_state_and_encode_it() {
        let query = PageQuery {
            compare: Some("cat,dog".into()),
            top: Some("50".into()),
            ..PageQuery::default()
        };
        let link = query.href("/x", |q| q.view = Some("consistent".into()));
        assert_eq!(link, "/x?top=50&view=consistent&compare=cat%2Cdog");
        assert_eq!(PageQuery::default().href("/x", |_| {}), "/x");
    }

    #[test]
    fn bad_options_are_refused() {
        for query in [
            PageQuery {
                top: Some("0".into()),
                ..PageQuery::default()
            },
            PageQuery {
                last: Some("x".into()),
                ..PageQuery::default()
            },
            PageQuery {
                view: Some("pie".into()),
                ..PageQuery::default()
            },
            PageQuery {
                value: Some("4".into()),
                ..PageQuery::default()
            },
        ] {
            assert!(
                Options::parse(&config(), query.clone(), 0).is_err(),
                "{query:?}"
            );
        }
    }
}
