//! Epochs as people read them: an epoch is the `epoch_seconds`-long interval of Unix time
//! starting at `epoch × epoch_seconds`, shown as its UTC start and end in RFC 3339
//! (`2026-11-29T00:00:00Z`), and named in questions by its number, an ISO 8601 date
//! (`2026-11-29`) or an RFC 3339 date-time (`2026-11-29T13:45:00Z`, any offset).
//!
//! A date names every instant of that UTC day: as the first bound of a range it means the
//! epoch holding the day's first second, as the last bound the epoch holding its last second,
//! so `from=2026-11-01&to=2026-11-30` covers November whatever the epoch length. A date-time
//! names the epoch holding that instant.
//!
//! ```
//! use ldp_aggregator::epoch_time::{Bound, Edge, EpochTime};
//!
//! let day = EpochTime::new(86_400);
//! let date: Bound = "2026-11-29".parse()?;
//! let epoch = day.epoch(date, Edge::First)?;
//! assert_eq!(epoch, 20_786);
//! assert_eq!(day.epoch("20786".parse()?, Edge::First)?, epoch);
//! assert_eq!(day.start(epoch).as_deref(), Some("2026-11-29T00:00:00Z"));
//! assert_eq!(day.end(epoch).as_deref(), Some("2026-11-30T00:00:00Z"));
//!
//! let hour = EpochTime::new(3_600);
//! assert_eq!(hour.epoch(date, Edge::Last)? - hour.epoch(date, Edge::First)?, 23);
//! # Ok::<(), ldp_aggregator::epoch_time::TimeError>(())
//! ```

use std::str::FromStr;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

/// How a range's bound is named: an epoch number, a UTC day, or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// An epoch number.
    Epoch(u64),
    /// A UTC day (`2026-11-29`).
    Date(Date),
    /// An instant (`2026-11-29T13:45:00Z`).
    Instant(OffsetDateTime),
}

/// Which end of a range a bound is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The first epoch (a date: its first second).
    First,
    /// The last epoch (a date: its last second).
    Last,
}

/// Why a bound cannot name an epoch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Neither an epoch number, a date nor a date-time.
    #[error(
        "{0:?} is neither an epoch number, an ISO 8601 date (2026-11-29) nor an RFC 3339 \
         date-time (2026-11-29T13:45:00Z)"
    )]
    Unreadable(String),
    /// Before 1970-01-01T00:00:00Z, where epochs start.
    #[error("{0} is before 1970-01-01T00:00:00Z, where epoch 0 starts")]
    BeforeEpochs(String),
}

impl FromStr for Bound {
    type Err = TimeError;

    fn from_str(text: &str) -> Result<Self, TimeError> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse()
                .map(Self::Epoch)
                .map_err(|_| TimeError::Unreadable(text.to_owned()));
        }
        if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
            return Ok(Self::Date(date));
        }
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Self::Instant)
            .map_err(|_| TimeError::Unreadable(text.to_owned()))
    }
}

/// The epochs of one campaign: its epoch length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochTime {
    seconds: u64,
}

impl EpochTime {
    /// Epochs of `seconds` (at least one).
    pub const fn new(seconds: u64) -> Self {
        Self {
            seconds: if seconds == 0 { 1 } else { seconds },
        }
    }

    /// The epoch `bound` names as the `edge` of a range.
    pub fn epoch(&self, bound: Bound, edge: Edge) -> Result<u64, TimeError> {
        let instant = match bound {
            Bound::Epoch(epoch) => return Ok(epoch),
            Bound::Date(date) => match edge {
                Edge::First => date.midnight().assume_utc(),
                Edge::Last => date
                    .with_time(Time::from_hms(23, 59, 59).unwrap_or(Time::MIDNIGHT))
                    .assume_utc(),
            },
            Bound::Instant(instant) => instant,
        };
        let unix = u64::try_from(instant.unix_timestamp())
            .map_err(|_| TimeError::BeforeEpochs(instant.to_string()))?;
        Ok(unix / self.seconds)
    }

    /// When `epoch` starts, in RFC 3339 UTC; `None` past year 9999.
    pub fn start(&self, epoch: u64) -> Option<String> {
        rfc3339(epoch.checked_mul(self.seconds)?)
    }

    /// When `epoch` ends (the next one's start), in RFC 3339 UTC; `None` past year 9999.
    pub fn end(&self, epoch: u64) -> Option<String> {
        rfc3339(epoch.checked_add(1)?.checked_mul(self.seconds)?)
    }

    /// `epoch` as people read it, at the epoch length's precision: its day (`2026-11-29`)
    /// for daily epochs, its days (`2026-11-23 – 2026-11-29`) for longer whole-day ones, else
    /// its UTC start (`2026-11-29 13:00`, with seconds when the length is not whole minutes).
    /// The number itself past year 9999.
    pub fn label(&self, epoch: u64) -> String {
        let instant = |seconds: u64| {
            let seconds = i64::try_from(seconds).ok()?;
            OffsetDateTime::from_unix_timestamp(seconds).ok()
        };
        let Some(start) = epoch.checked_mul(self.seconds).and_then(instant) else {
            return format!("epoch {epoch}");
        };
        let day = format_description!("[year]-[month]-[day]");
        let format = |instant: OffsetDateTime, description| {
            instant
                .format(description)
                .unwrap_or_else(|_| epoch.to_string())
        };
        if self.seconds.is_multiple_of(86_400) {
            if self.seconds == 86_400 {
                return format(start, day);
            }
            let last = (epoch + 1)
                .checked_mul(self.seconds)
                .and_then(|end| instant(end - 1));
            return match last {
                Some(last) => format!("{} – {}", format(start, day), format(last, day)),
                None => format(start, day),
            };
        }
        if self.seconds.is_multiple_of(60) {
            format(
                start,
                format_description!("[year]-[month]-[day] [hour]:[minute]"),
            )
        } else {
            format(
                start,
                format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
            )
        }
    }
}

/// Unix time `seconds` in RFC 3339 UTC (`2026-11-29T00:00:00Z`).
fn rfc3339(seconds: u64) -> Option<String> {
    let instant = OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).ok()?).ok()?;
    instant.format(&Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_dates_and_instants_name_the_same_epochs() {
        let day = EpochTime::new(86_400);
        let minute = EpochTime::new(60);
        let bound = |text: &str| text.parse::<Bound>().unwrap();
        let epoch = day.epoch(bound("2026-11-29"), Edge::Last).unwrap();
        assert_eq!(epoch, 20_786);
        for text in [
            "20786",
            "2026-11-29T00:00:00Z",
            "2026-11-29T23:59:59Z",
            "2026-11-30T01:00:00+02:00",
        ] {
            assert_eq!(day.epoch(bound(text), Edge::First), Ok(epoch), "{text}");
        }
        let first = minute.epoch(bound("2026-11-29"), Edge::First).unwrap();
        let last = minute.epoch(bound("2026-11-29"), Edge::Last).unwrap();
        assert_eq!((first, last - first + 1), (20_786 * 1_440, 1_440));
        assert_eq!(minute.start(first).as_deref(), Some("2026-11-29T00:00:00Z"));
        assert_eq!(minute.end(last).as_deref(), Some("2026-11-30T00:00:00Z"));
        assert_eq!(minute.start(u64::MAX), None);
    }

    #[test]
    fn labels_have_the_epoch_lengths_precision() {
        assert_eq!(EpochTime::new(86_400).label(20_786), "2026-11-29");
        assert_eq!(
            EpochTime::new(7 * 86_400).label(2_969),
            "2026-11-26 – 2026-12-02"
        );
        assert_eq!(
            EpochTime::new(3_600).label(20_786 * 24 + 13),
            "2026-11-29 13:00"
        );
        assert_eq!(
            EpochTime::new(2).label(20_786 * 43_200 + 1),
            "2026-11-29 00:00:02"
        );
        assert_eq!(
            EpochTime::new(86_400).label(u64::MAX),
            format!("epoch {}", u64::MAX)
        );
    }

    #[test]
    fn unreadable_and_early_bounds_are_errors() {
        for text in [
            "",
            "-1",
            "2026-13-01",
            "29/11/2026",
            "2026-11-29T25:00:00Z",
            "18446744073709551616",
        ] {
            assert!(
                matches!(text.parse::<Bound>(), Err(TimeError::Unreadable(_))),
                "{text}"
            );
        }
        let early = "1969-12-31".parse::<Bound>().unwrap();
        assert!(matches!(
            EpochTime::new(60).epoch(early, Edge::First),
            Err(TimeError::BeforeEpochs(_))
        ));
    }
}
