//! The dashboard's HTML. maud escapes every interpolated string; the only unescaped content is
//! the SVG that plotters writes (which escapes its own text).

use ldp_protocol::CampaignConfig;
use maud::{DOCTYPE, Markup, html};

use super::CampaignRow;
use super::data::CampaignData;
use super::format::{count, duration, epoch_label, thousands, unix_time};
use super::sections;

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
                                td {
                                    a href={ "/dashboard/campaigns/" (id) } { (id) }
                                    @if row.closed_at.is_some() { " " span.closed { "closed" } }
                                }
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

/// One campaign: the range controls, then its estimates (top values, trending and the
/// comparison chart; a numeric campaign's mean; an open domain's candidate form).
pub fn campaign(data: &CampaignData) -> Markup {
    let config = &data.config;
    let id = config.id().as_str();
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
                @else { (thousands(u64::from(config.k()))) " values" }
                " · "
                (count(data.n as f64)) " reports"
                @if let Some((from, to)) = data.epochs {
                    " from " (epoch_label(config, from)) " to " (epoch_label(config, to))
                }
                " · now in " (epoch_label(config, data.current_epoch))
                @if let Some(keep) = data.retention_epochs {
                    " · keeps the last " (thousands(keep)) " epochs"
                }
            }
            @if let Some(at) = data.closed_at {
                p.closed { "Closed " (unix_time(at)) ": the campaign accepts no more reports;                              its estimates stay readable." }
            }
            (sections::controls(data))
            @if config.is_open() {
                (sections::candidates_section(data))
            } @else if config.numeric_range().is_some() {
                (sections::mean_section(data))
            } @else {
                @match &data.estimates {
                    None => section.top { h2 { "Top values" } (sections::held_back(data, "estimates are")) },
                    Some(estimates) => (sections::top_section(data, estimates)),
                }
                (sections::trending_section(data))
                (sections::series_section(data))
            }
        },
    )
}
