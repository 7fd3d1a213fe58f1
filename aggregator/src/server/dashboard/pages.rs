//! The dashboard's HTML. maud escapes every interpolated string; the only unescaped content is
//! the SVG that plotters writes (which escapes its own text).

use ldp_protocol::CampaignConfig;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::charts::{self, Bar};
use super::{CampaignData, CampaignRow, TOP, View};
use crate::epoch_time::EpochTime;

fn layout(title: &str, signed_in: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ldp-telemetry" }
                link rel="stylesheet" href="/dashboard/style.css";
            }
            body {
                header {
                    a.brand href="/dashboard" { "ldp-telemetry" }
                    @if signed_in {
                        form.logout method="post" action="/dashboard/logout" {
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The login form, with an optional error.
pub fn login(error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        false,
        html! {
            h1 { "Sign in" }
            p { "Paste an analyst token to read the estimates." }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form.login method="post" action="/dashboard/login" {
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="off" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// An error page.
pub fn error(title: &str, detail: &str) -> Markup {
    layout(
        title,
        true,
        html! {
            h1 { (title) }
            p.error { (detail) }
            p { a href="/dashboard" { "All campaigns" } }
        },
    )
}

/// Every campaign.
pub fn campaign_list(rows: &[CampaignRow]) -> Markup {
    layout(
        "Campaigns",
        true,
        html! {
            h1 { "Campaigns" }
            @if rows.is_empty() {
                div.empty {
                    p { "No campaigns yet. Create one with an admin token:" }
                    pre { "ldp-aggregator campaign create --id my-metric --mechanism oue --k 16 --eps 1 \\\n    --description 'What this campaign measures'" }
                    p { "or fill a demo campaign from the emoji list: " code { "ldp-sim demo --url URL --token ADMIN_TOKEN" } }
                }
            } @else {
                table {
                    thead { tr {
                        th { "Campaign" } th { "Description" } th { "Mechanism" }
                        th.num { "ε" } th.num { "Values" } th.num { "Reports" }
                        th.num { "Current epoch" } th.num { "Last epoch with reports" }
                    } }
                    tbody {
                        @for row in rows {
                            @let id = row.config.id().as_str();
                            tr {
                                td { a href={ "/dashboard/campaigns/" (id) } { (id) } }
                                td { (row.config.spec().description) }
                                td { (row.config.params().kind().name()) }
                                td.num { (row.config.epsilon()) }
                                td.num { (values_cell(&row.config)) }
                                td.num { (count(row.reports as f64)) }
                                td.num { (epoch_label(&row.config, row.current_epoch)) }
                                td.num {
                                    @match row.last_epoch {
                                        Some(e) => (epoch_label(&row.config, e)),
                                        None => "none yet",
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The domain size for the campaign list: k, or `open` for an open domain.
fn values_cell(config: &CampaignConfig) -> String {
    if config.is_open() {
        "open".to_owned()
    } else if let Some((lo, hi)) = config.numeric_range() {
        format!("numeric [{lo}, {hi}]")
    } else {
        config.k().to_string()
    }
}

/// The privacy parameters in one sentence (two for RAPPOR: its long-run bound).
fn privacy_sentence(data: &CampaignData) -> String {
    let c = &data.config;
    let eps = c.epsilon();
    let per_epoch = c.max_reports_per_epoch();
    let mut sentence = format!(
        "Each report is ε = {eps} locally private: whatever a device's true value, any report it \
         sends is at most e^{eps} ≈ {:.2} times as likely under that value as under any other, \
         so no single report reveals the value. A device sends at most {per_epoch} report{} per \
         epoch of {}.",
        eps.exp(),
        if per_epoch == 1 { "" } else { "s" },
        duration(c.epoch_seconds())
    );
    if let Some(eps_inf) = c.params().epsilon_permanent() {
        sentence.push_str(&format!(
            " Devices memoize a permanent randomized response, so everything one device ever \
             reports about one value is bounded by ε∞ ≈ {eps_inf:.2}, however many reports it \
             sends."
        ));
    }
    if let Some(limit) = c.max_lifetime_epsilon() {
        sentence.push_str(&format!(
            " Over its lifetime a device spends at most ε = {limit} on this campaign (its SDK \
             refuses any report beyond that)."
        ));
    }
    if let Some(bound) = data.central {
        if bound.amplified {
            sentence.push_str(&format!(
                " If the collector cannot tell which device sent which report, each epoch's \
                 reports are also (ε = {:.3}, δ = {:.0e}) differentially private centrally \
                 (amplification by shuffling, counting {} devices in the epoch with the fewest \
                 reports; the API's estimates say when this holds).",
                bound.epsilon,
                bound.delta,
                thousands(bound.devices)
            ));
        } else {
            sentence.push_str(&format!(
                " Shuffling reports would not lower ε here: {} devices in the epoch with the \
                 fewest reports are too few for ε = {}.",
                thousands(bound.devices),
                bound.local_epsilon
            ));
        }
    }
    sentence
}

/// `1234567` as "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn duration(seconds: u64) -> String {
    match seconds {
        s if s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s % 3600 == 0 => plural(s / 3600, "hour"),
        s if s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// A share in percent with two decimals; a share that rounds to zero is `0.00%`, never
/// `-0.00%`.
fn percent(share: f64) -> String {
    let rounded = (share * 100.0).round() / 100.0;
    if rounded == 0.0 {
        return "0.00%".to_owned();
    }
    format!("{rounded:.2}%").replacen('-', "−", 1)
}

/// A count rounded to a whole number, with thousands separators (`12,345`); a minus sign
/// (`−12`) for a negative estimate, and `0`, never `−0`, for one that rounds to zero.
fn count(value: f64) -> String {
    let rounded = value.round();
    if rounded == 0.0 || !rounded.is_finite() {
        return "0".to_owned();
    }
    let digits = format!("{:.0}", rounded.abs());
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if rounded < 0.0 {
        grouped.push('−');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// One campaign.
pub fn campaign(data: &CampaignData, view: View) -> Markup {
    let config = &data.config;
    let id = config.id().as_str();
    let base = format!("/dashboard/campaigns/{id}");
    layout(
        id,
        true,
        html! {
            p.crumbs { a href="/dashboard" { "Campaigns" } " / " (id) }
            h1 { (id) }
            @if !config.spec().description.is_empty() {
                p.description { (config.spec().description) }
            }
            p.privacy { (privacy_sentence(data)) }
            p.facts {
                (config.params().kind().name()) " · "
                @if config.is_open() { "open domain" }
                @else if let Some((lo, hi)) = config.numeric_range() { "numbers in [" (lo) ", " (hi) "]" }
                @else { (config.k()) " values" }
                " · "
                (count(data.n as f64)) " reports"
                @if let Some((from, to)) = data.epochs {
                    " from " (epoch_label(config, from)) " to " (epoch_label(config, to))
                }
                " · now in " (epoch_label(config, data.current_epoch))
            }
            @if config.is_open() {
                (open_section(data))
            } @else if config.numeric_range().is_some() {
                (mean_section(data))
            } @else {
            @match &data.estimates {
                None => {
                    div.empty {
                        @if data.n == 0 {
                            p { "No reports yet. Devices upload batches to "
                                code { "POST /v1/campaigns/" (id) "/reports" } "." }
                        } @else {
                            p { (data.n) " reports so far; estimates are shown from "
                                (config.min_reports()) " on ("
                                (config.min_reports() - data.n) " more needed)." }
                        }
                    }
                }
                Some(estimates) => {
                    (top_section(data, estimates, view, &base))
                }
            }
            (trending_section(data, &base))
            (series_section(data))
            }
        },
    )
}

/// A numeric campaign: its mean with the 95% interval, or how many reports are missing.
fn mean_section(data: &CampaignData) -> Markup {
    let config = &data.config;
    html! {
        section.top {
            h2 { "Mean" }
            @match &data.mean {
                Some(m) => {
                    p.mean {
                        strong { (format!("{:.4}", m.mean)) }
                        " ± " (format!("{:.4}", m.std_error)) " (standard error); 95% interval "
                        (format!("[{:.4}, {:.4}]", m.ci95_low, m.ci95_high))
                        " from " (m.n) " reports."
                    }
                    p { "Values outside [" (m.lo) ", " (m.hi) "] were clamped into the range on \
                         the devices, so this is the mean of the clamped values." }
                }
                None => {
                    div.empty {
                        p { (data.n) " reports so far; the mean is shown from "
                            (config.min_reports()) " on ("
                            (config.min_reports().saturating_sub(data.n)) " more needed)." }
                    }
                }
            }
        }
    }
}

/// An open domain has no values to rank, trend or chart: where its estimates come from.
fn open_section(data: &CampaignData) -> Markup {
    let config = &data.config;
    let id = config.id().as_str();
    html! {
        section.top {
            h2 { "Estimates" }
            div.empty {
                p { "This campaign has an open domain: devices report any string, so there is \
                     no list of values to rank, test for trends or chart. Ask for estimates of \
                     the strings you expect with an analyst token:" }
                pre { "POST /v1/campaigns/" (id) "/estimates/query\n"
                      "Content-Type: application/json\n\n"
                      "{\"candidates\": [\"first string\", \"second string\"]}" }
                @if data.n < config.min_reports() {
                    p { (data.n) " reports so far; estimates are released from "
                        (config.min_reports()) " on ("
                        (config.min_reports() - data.n) " more needed)." }
                }
            }
        }
    }
}

fn top_section(
    data: &CampaignData,
    estimates: &crate::Estimates,
    view: View,
    base: &str,
) -> Markup {
    let config = &data.config;
    let top = match view {
        View::Raw => estimates.top(TOP),
        View::Consistent => {
            let mut top = estimates.values.clone();
            top.sort_by(|a, b| b.norm_sub_count.total_cmp(&a.norm_sub_count));
            top.truncate(TOP);
            top
        }
    };
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
    html! {
        section.top {
            h2 { "Top " (top.len()) " values" }
            nav.switch {
                @if view == View::Raw {
                    strong { "Unbiased estimates" } " · "
                    a href={ (base) "?view=consistent" } { "Consistency-processed" }
                } @else {
                    a href=(base) { "Unbiased estimates" } " · "
                    strong { "Consistency-processed" }
                }
            }
            (top_note(view, &top))
            @match chart {
                Ok(svg) => div.chart { (PreEscaped(svg)) },
                Err(e) => p.error { "The chart could not be drawn: " (e) },
            }
            table {
                thead { tr {
                    th { "Value" } th.num { "Estimate" } th.num { "95% interval" }
                    th.num { "Share" } th { "Detected" }
                } }
                tbody {
                    @for v in &top {
                        tr.faded[v.ci95_low <= 0.0] {
                            td { a href={ (base) "?value=" (v.index) } { (config.label(v.index)) } }
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
            }
        }
    }
}

/// What the top-values table shows, said once; negative estimates explained when there are.
fn top_note(view: View, top: &[crate::estimate::ValueEstimate]) -> Markup {
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

fn trending_section(data: &CampaignData, base: &str) -> Markup {
    let config = &data.config;
    html! {
        section.trending {
            h2 { "Trending" }
            @match &data.trending {
                Err(why) => p.empty { (why) },
                Ok((epoch, report)) => {
                    p.note {
                        "Values whose share in " (epoch_label(config, *epoch)) " rose above the "
                        (super::BASELINE_EPOCHS) " epochs before it, at family-wise \
                         false-positive level " (report.alpha) " (z above "
                        (format!("{:.2}", report.z_threshold)) ", Bonferroni over "
                        (report.tested) " values)."
                    }
                    @if report.rising.is_empty() {
                        p.empty { "Nothing rose significantly." }
                    } @else {
                        table {
                            thead { tr {
                                th { "Value" } th.num { "Share now" } th.num { "95% interval" }
                                th.num { "Baseline share" } th.num { "z" }
                            } }
                            tbody {
                                @for t in report.rising.iter().take(10) {
                                    tr {
                                        td { a href={ (base) "?value=" (t.index) } { (config.label(t.index)) } }
                                        td.num { (percent(100.0 * t.share_now)) }
                                        td.num { (percent(100.0 * t.share_now_ci95[0])) " – " (percent(100.0 * t.share_now_ci95[1])) }
                                        td.num { (percent(100.0 * t.share_baseline)) }
                                        td.num { (format!("{:.1}", t.z)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn series_section(data: &CampaignData) -> Markup {
    let Some((index, points)) = &data.series else {
        return html! {};
    };
    let label = data.config.label(*index);
    html! {
        section {
            h2 { "Share of " (label) " per epoch" }
            @if points.len() < 2 {
                p.empty { "The time series needs two or more epochs with at least "
                    (data.config.min_reports()) " reports each." }
            } @else {
                p.note { "Estimated share per epoch; the band is the 95% interval. \
                          Pick another value in the tables above." }
                @match charts::share_series(points, &label, EpochTime::new(data.config.epoch_seconds())) {
                    Ok(svg) => div.chart { (PreEscaped(svg)) },
                    Err(e) => p.error { "The chart could not be drawn: " (e) },
                }
            }
        }
    }
}

/// An epoch as its date or time at the epoch length's precision, its number in the tooltip.
fn epoch_label(config: &CampaignConfig, epoch: u64) -> Markup {
    let time = EpochTime::new(config.epoch_seconds());
    html! {
        time datetime=[time.start(epoch)] title={ "epoch " (epoch) } { (time.label(epoch)) }
    }
}

#[cfg(test)]
mod tests {
    use super::{count, percent};

    #[test]
    fn numbers_are_grouped_and_never_minus_zero() {
        assert_eq!(count(1_234_567.4), "1,234,567");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(-0.4), "0");
        assert_eq!(count(-1_234.0), "−1,234");
        assert_eq!(count(f64::NAN), "0");
        assert_eq!(percent(-0.001), "0.00%");
        assert_eq!(percent(-0.04), "−0.04%");
        assert_eq!(percent(12.345), "12.35%");
    }
}
