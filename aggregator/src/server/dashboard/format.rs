//! How the dashboard writes numbers and times: thousands separators, no "−0", epochs as dates.

use ldp_protocol::CampaignConfig;
use maud::{Markup, html};

use crate::epoch_time::EpochTime;

/// `1234567` as "1,234,567".
pub fn thousands(n: u64) -> String {
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

/// A number of seconds in the largest whole unit: "1 day", "6 hours", "90 seconds".
pub fn duration(seconds: u64) -> String {
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
pub fn percent(share: f64) -> String {
    let rounded = (share * 100.0).round() / 100.0;
    if rounded == 0.0 {
        return "0.00%".to_owned();
    }
    format!("{rounded:.2}%").replacen('-', "−", 1)
}

/// A count rounded to a whole number, with thousands separators (`12,345`); a minus sign
/// (`−12`) for a negative estimate, and `0`, never `−0`, for one that rounds to zero.
pub fn count(value: f64) -> String {
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

/// A Unix time as an RFC 3339 UTC date-time (an instant, not an epoch).
pub fn unix_time(seconds: u64) -> String {
    EpochTime::new(1)
        .start(seconds)
        .unwrap_or_else(|| seconds.to_string())
}

/// An epoch as its date or time at the epoch length's precision, its number in the tooltip.
pub fn epoch_label(config: &CampaignConfig, epoch: u64) -> Markup {
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
