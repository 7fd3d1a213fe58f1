//! The sections of a campaign page: the range and top-N controls, the top values, trending,
//! the comparison chart, a numeric campaign's mean and an open domain's candidate form. Every
//! table and series has a CSV download beside it (the API's columns, see [`super::export`]).

use maud::{Markup, PreEscaped, html};

use super::charts::{self, Bar};
use super::data::{BASELINE_EPOCHS, CampaignData, MAX_SERIES_EPOCHS};
use super::format::{count, epoch_label, percent, thousands};
use super::options::{MAX_COMPARED, PRESETS, PageQuery, TOP_CHOICES, View};
use crate::epoch_time::EpochTime;
use crate::estimate::ValueEstimate;

/// The page's address, `/dashboard/campaigns/{id}`.
pub fn base(data: &CampaignData) -> String {
    format!("/dashboard/campaigns/{}", data.config.id().as_str())
}

/// A download link for export `name` (`estimates.csv`, …) with the page's parameters.
fn download(data: &CampaignData, name: &str, what: &str) -> Markup {
    let href = data
        .options
        .query
        .href(&format!("{}/{name}", base(data)), |_| {});
    html! {
        p.download { a href=(href) download { "Download " (what) " as CSV" } }
    }
}

/// Hidden fields carrying the page's other parameters through a form.
fn hidden(query: &PageQuery, keep: &[&str]) -> Markup {
    let fields = [
        ("from", &query.from),
        ("to", &query.to),
        ("last", &query.last),
        ("top", &query.top),
        ("view", &query.view),
        ("compare", &query.compare),
        ("candidates", &query.candidates),
    ];
    html! {
        @for (name, value) in fields {
            @if let Some(value) = value.as_deref().filter(|v| keep.contains(&name) && !v.trim().is_empty()) {
                input type="hidden" name=(name) value=(value);
            }
        }
    }
}

/// The range picker (from/to and presets) and, for a campaign with values, the top-N choice.
pub fn controls(data: &CampaignData) -> Markup {
    let base = base(data);
    let query = &data.options.query;
    let config = &data.config;
    let values = !config.is_open() && config.numeric_range().is_none();
    let preset = |n: u64| {
        query.href(&base, |q| {
            q.clear_range();
            q.last = Some(n.to_string());
        })
    };
    let all = query.href(&base, PageQuery::clear_range);
    let chosen_last = (query.from.is_none() && query.to.is_none())
        .then(|| {
            query
                .last
                .as_deref()
                .and_then(|l| l.trim().parse::<u64>().ok())
        })
        .flatten();
    html! {
        form.controls method="get" action=(base) {
            label { "From " input name="from" type="text" inputmode="numeric" size="12"
                value=[query.from.as_deref()] placeholder="date or epoch"; }
            label { "To " input name="to" type="text" inputmode="numeric" size="12"
                value=[query.to.as_deref()] placeholder="date or epoch"; }
            @if values {
                label { "Top "
                    select name="top" {
                        @for n in TOP_CHOICES {
                            option value=(n) selected[n == data.options.top] { (n) }
                        }
                        @if !TOP_CHOICES.contains(&data.options.top) {
                            option value=(data.options.top) selected { (data.options.top) }
                        }
                    }
                }
            }
            (hidden(query, &["last", "view", "compare", "candidates"]))
            button type="submit" { "Apply" }
        }
        nav.presets {
            "Range: "
            @for n in PRESETS {
                @if chosen_last == Some(n) { strong { "last " (n) " epochs" } }
                @else { a href=(preset(n)) { "last " (n) " epochs" } }
                " · "
            }
            @if data.options.ranged { a href=(all) { "all" } } @else { strong { "all" } }
        }
        @if let Some(range) = data.range {
            p.range {
                "Estimates over " (epoch_label(config, range.from))
                @if range.to != range.from { " – " (epoch_label(config, range.to)) }
                " (" (thousands((range.to - range.from).saturating_add(1))) " epoch"
                @if range.to != range.from { "s" } ")."
            }
        }
    }
}

/// Why there are no estimates yet: no reports, or fewer than the minimum in the range.
pub fn held_back(data: &CampaignData, what: &str) -> Markup {
    let config = &data.config;
    let min = config.min_reports();
    let id = config.id().as_str();
    html! {
        div.empty {
            @if data.n == 0 {
                p { "No reports yet. Devices upload batches to "
                    code { "POST /v1/campaigns/" (id) "/reports" } "." }
            } @else {
                @let n = data.held.unwrap_or(data.n);
                p { (count(n as f64)) " reports in this range; " (what) " shown from "
                    (count(min as f64)) " on (" (count(min.saturating_sub(n) as f64))
                    " more needed)." }
            }
        }
    }
}

/// A numeric campaign: its mean with the 95% interval, or how many reports are missing.
pub fn mean_section(data: &CampaignData) -> Markup {
    html! {
        section.top {
            h2 { "Mean" }
            @match &data.mean {
                Some(m) => {
                    p.mean {
                        strong { (format!("{:.4}", m.mean)) }
                        " ± " (format!("{:.4}", m.std_error)) " (standard error); 95% interval "
                        (format!("[{:.4}, {:.4}]", m.ci95_low, m.ci95_high))
                        " from " (count(m.n as f64)) " reports."
                    }
                    p { "Values outside [" (m.lo) ", " (m.hi) "] were clamped into the range on \
                         the devices, so this is the mean of the clamped values." }
                }
                None => (held_back(data, "the mean is")),
            }
        }
    }
}

/// An open domain: a form for the strings to estimate, and their estimates.
pub fn candidates_section(data: &CampaignData) -> Markup {
    let config = &data.config;
    let base = base(data);
    let query = &data.options.query;
    html! {
        section.top.candidates {
            h2 { "Estimate candidate strings" }
            p.note { "This campaign has an open domain: devices report any string, so there is \
                      no list of values to rank or chart. Enter the strings you expect, one per \
                      line; they are decoded together, so list every string that may be common. \
                      The API answers the same question: " code { "POST /v1/campaigns/"
                      (config.id().as_str()) "/estimates/query" } "." }
            form.candidates method="get" action=(base) {
                label for="candidates" { "Candidates" }
                textarea #candidates name="candidates" rows="5" placeholder="one string per line" {
                    (query.candidates.as_deref().unwrap_or_default())
                }
                (hidden(query, &["from", "to", "last"]))
                button type="submit" { "Estimate" }
            }
            @match &data.candidates {
                None => {}
                Some(Err(why)) => p.error role="alert" { (why) },
                Some(Ok(answer)) => {
                    @let d = &answer.decoding;
                    p.note { (d.detected) " of " (d.candidates.len()) " candidates detected \
                             (family-wise false-positive level " (d.alpha) ", z above "
                             (format!("{:.2}", d.z_threshold)) "), explaining "
                             (percent(100.0 * d.explained_share)) " of "
                             (count(d.n as f64)) " reports." }
                    div.scroll { table {
                        thead { tr {
                            th { "Candidate" } th.num { "Estimate" } th.num { "95% interval" }
                            th.num { "Share" } th { "Detected" }
                        } }
                        tbody {
                            @for c in &d.candidates {
                                tr.faded[!c.detected] {
                                    td { (c.value) }
                                    td.num { (count(c.count)) }
                                    td.num { (count(c.ci95_low)) " – " (count(c.ci95_high)) }
                                    td.num { (percent(100.0 * c.count / d.n.max(1) as f64)) }
                                    td { @if c.detected { "yes" } @else { "no" } }
                                }
                            }
                        }
                    } }
                    (download(data, "candidates.csv", "these estimates"))
                }
            }
            @if data.candidates.is_none() && data.n < config.min_reports() {
                (held_back(data, "estimates are"))
            }
        }
    }
}

/// The rows of the top table, in the view's order.
pub fn top_rows(data: &CampaignData, estimates: &crate::Estimates) -> Vec<ValueEstimate> {
    let top = data.options.top;
    match data.options.view {
        View::Raw => estimates.top(top),
        View::Consistent => {
            let mut rows = estimates.values.clone();
            rows.sort_by(|a, b| b.norm_sub_count.total_cmp(&a.norm_sub_count));
            rows.truncate(top);
            rows
        }
    }
}

/// The top values: chart, table and the switch between unbiased and processed estimates.
pub fn top_section(data: &CampaignData, estimates: &crate::Estimates) -> Markup {
    let config = &data.config;
    let view = data.options.view;
    let query = &data.options.query;
    let base = base(data);
    let top = top_rows(data, estimates);
    let bars: Vec<Bar> = top
        .iter()
        .map(|v| match view {
            View::Raw => Bar {
                label: config.label(v.index),
                count: v.count,
                ci95: [v.ci95_low, v.ci95_high],
                detected: v.ci95_low > 0.0,
            },
            View::Consistent => Bar {
                label: config.label(v.index),
                count: v.norm_sub_count,
                ci95: [v.norm_sub_count, v.norm_sub_count],
                detected: v.ci95_low > 0.0,
            },
        })
        .collect();
    let x_label = match view {
        View::Raw => "estimated reports (bars) with 95% intervals (whiskers)",
        View::Consistent => "consistency-processed estimate (non-negative, sums to n)",
    };
    let chart = charts::top_values(&bars, x_label);
    let chart_value = |index: u32| {
        query.href(&base, |q| {
            q.compare = None;
            q.value = Some(index.to_string());
        })
    };
    html! {
        section.top {
            h2 { "Top " (top.len()) " values" }
            nav.switch {
                @if view == View::Raw {
                    strong { "Unbiased estimates" } " · "
                    a href=(query.href(&base, |q| q.view = Some("consistent".into()))) { "Consistency-processed" }
                } @else {
                    a href=(query.href(&base, |q| q.view = None)) { "Unbiased estimates" } " · "
                    strong { "Consistency-processed" }
                }
            }
            (top_note(view, &top))
            @match chart {
                Ok(svg) => div.chart { (PreEscaped(svg)) },
                Err(e) => p.error { "The chart could not be drawn: " (e) },
            }
            div.scroll { table #top {
                thead { tr {
                    th { "Value" } th.num { "Estimate" } th.num { "95% interval" }
                    th.num { "Share" } th { "Detected" }
                } }
                tbody {
                    @for v in &top {
                        tr.faded[v.ci95_low <= 0.0] {
                            td { a href=(chart_value(v.index)) { (config.label(v.index)) } }
                            @let shown = match view { View::Raw => v.count, View::Consistent => v.norm_sub_count };
                            td.num { (count(shown)) }
                            @if view == View::Raw {
                                td.num { (count(v.ci95_low)) " – " (count(v.ci95_high)) }
                            } @else {
                                td.num title="no interval: the processed estimates are biased" { "—" }
                            }
                            td.num { (percent(100.0 * shown / estimates.n.max(1) as f64)) }
                            td { @if v.ci95_low > 0.0 { "yes" } @else { "no" } }
                        }
                    }
                }
            } }
            (download(data, "estimates.csv", "this table"))
        }
    }
}

/// What the top-values table shows, said once; negative estimates explained when there are.
fn top_note(view: View, top: &[ValueEstimate]) -> Markup {
    html! {
        p.note {
            @if view == View::Raw {
                "Unbiased estimates of how many reports came from each value, with 95% \
                 intervals. Grey bars are below the detection threshold: their interval \
                 includes zero, so the value may be absent."
                @if top.iter().any(|v| v.count.round() < 0.0) {
                    " A negative estimate is not an error: the noise that protects each \
                     device is larger than a rare value's count, and an unbiased estimate \
                     keeps that noise rather than hiding it (the consistency-processed \
                     view clips it to zero)."
                }
            } @else {
                "Consistency-processed estimates (Norm-Sub): negative estimates are \
                 clipped to zero and the rest shifted so the total is n. Easier to read, \
                 but biased, so no intervals are given; shares are of these processed \
                 counts; grey values are below the detection threshold of the unbiased \
                 estimates."
            }
        }
    }
}

/// The values whose share rose in the latest complete epoch (or the range's last).
pub fn trending_section(data: &CampaignData) -> Markup {
    let config = &data.config;
    let base = base(data);
    let query = &data.options.query;
    html! {
        section.trending {
            h2 { "Trending" }
            @match &data.trending {
                Err(why) => p.empty { (why) },
                Ok((epoch, report)) => {
                    p.note {
                        "Values whose share in " (epoch_label(config, *epoch)) " rose above the "
                        (BASELINE_EPOCHS) " epochs before it, at family-wise \
                         false-positive level " (report.alpha) " (z above "
                        (format!("{:.2}", report.z_threshold)) ", Bonferroni over "
                        (report.tested) " values)."
                    }
                    @if report.rising.is_empty() {
                        p.empty { "Nothing rose significantly." }
                    } @else {
                        div.scroll { table {
                            thead { tr {
                                th { "Value" } th.num { "Share now" } th.num { "95% interval" }
                                th.num { "Baseline share" } th.num { "z" }
                            } }
                            tbody {
                                @for t in report.rising.iter().take(10) {
                                    tr {
                                        td { a href=(query.href(&base, |q| { q.compare = None; q.value = Some(t.index.to_string()); })) { (config.label(t.index)) } }
                                        td.num { (percent(100.0 * t.share_now)) }
                                        td.num { (percent(100.0 * t.share_now_ci95[0])) " – " (percent(100.0 * t.share_now_ci95[1])) }
                                        td.num { (percent(100.0 * t.share_baseline)) }
                                        td.num { (format!("{:.1}", t.z)) }
                                    }
                                }
                            }
                        } }
                        @if report.rising.len() > 10 {
                            p.note { "The ten strongest of " (report.rising.len()) " rising values; the CSV has them all." }
                        }
                        (download(data, "trending.csv", "the rising values"))
                    }
                }
            }
        }
    }
}

/// The charted values' shares per epoch, and the form that chooses them.
pub fn series_section(data: &CampaignData) -> Markup {
    let series = &data.series;
    let lines = &series.lines;
    let config = &data.config;
    let query = &data.options.query;
    let shown: Vec<String> = lines.iter().map(|l| l.label.clone()).collect();
    let drawable = lines.iter().any(|l| l.points.len() >= 2);
    html! {
        section.series {
            h2 {
                @match lines.as_slice() {
                    [one] => { "Share of " (one.label) " per epoch" }
                    _ => { "Shares per epoch" }
                }
            }
            form.compare method="get" action=(base(data)) {
                label { "Compare values "
                    input name="compare" type="text" value=(shown.join(", "))
                        placeholder="labels, separated by commas";
                }
                (hidden(query, &["from", "to", "last", "top", "view"]))
                button type="submit" { "Chart" }
            }
            p.note { "Up to " (MAX_COMPARED) " values of the domain, by label, separated by \
                      commas; or pick one in the tables above." }
            @if !data.options.unknown.is_empty() {
                p.error role="alert" { "Not in this campaign's domain: " (data.options.unknown.join(", ")) }
            }
            @if series.cut {
                p.note { "The range is longer than " (MAX_SERIES_EPOCHS) " epochs: its last "
                         (MAX_SERIES_EPOCHS) " are charted." }
            }
            @if !drawable {
                p.empty { "The time series needs two or more epochs with at least "
                    (count(config.min_reports() as f64)) " reports each." }
            } @else {
                p.note { "Estimated share per epoch; each band is the 95% interval. An epoch \
                          with fewer than " (count(config.min_reports() as f64)) " reports is \
                          a gap." }
                @match charts::share_series(lines, EpochTime::new(config.epoch_seconds())) {
                    Ok(svg) => div.chart { (PreEscaped(svg)) },
                    Err(e) => p.error { "The chart could not be drawn: " (e) },
                }
                (download(data, "series.csv", "this series"))
            }
        }
    }
}
