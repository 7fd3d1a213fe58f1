//! Every library error as an `application/problem+json` answer: one exhaustive mapping per
//! error enum, so handlers use `?` and a new error variant fails to compile until it has a
//! problem type. Client faults keep a safe detail; internal ones are logged here once and
//! answered with a generic detail.

use ldp_protocol::ConfigError;

use super::dashboard::session::SessionError;
use super::health::{DATABASE_UNAVAILABLE, STORAGE_ERROR};
use super::ingest::SubmitError;
use super::problem::{Problem, ProblemType};
use crate::error::AggregateError;
use crate::ingest::IngestError;
use crate::query::{QueryError, Question};
use crate::store::StoreError;

/// The path of the candidate query of campaign `id`.
pub fn query_path(id: &str) -> String {
    format!("/v1/campaigns/{id}/estimates/query")
}

/// The request that asked `question`, as named in refusals.
fn asked(question: Question) -> &'static str {
    match question {
        Question::Estimates | Question::Mean => "GET …/estimates",
        Question::Trending => "GET …/trending",
        Question::Candidates => "a candidate query",
        Question::Series => "GET …/series",
    }
}

impl From<&StoreError> for Problem {
    /// Unavailability for database errors (retry), internal for corrupt data.
    fn from(e: &StoreError) -> Self {
        match e {
            StoreError::Database(_) => {
                if let Some(held_back) = DATABASE_UNAVAILABLE.admit() {
                    tracing::warn!(error = %e, held_back, "database unavailable");
                }
                Problem::new(ProblemType::Unavailable, "the database is unavailable").retry_after(1)
            }
            StoreError::UnknownCampaign(id) => {
                Problem::new(ProblemType::UnknownCampaign, format!("no campaign {id:?}"))
            }
            StoreError::CampaignExists(id) => Problem::new(
                ProblemType::CampaignExists,
                format!("campaign {id:?} already exists with a different configuration"),
            ),
            StoreError::UnsupportedUrl(_)
            | StoreError::Tls(_)
            | StoreError::Corrupt(_)
            | StoreError::Counters(_) => {
                if let Some(held_back) = STORAGE_ERROR.admit() {
                    tracing::error!(error = %e, held_back, "storage error");
                }
                Problem::new(ProblemType::Internal, "a storage error occurred")
            }
        }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        Self::from(&e)
    }
}

impl From<SessionError> for Problem {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Store(e) => Self::from(&e),
            SessionError::Random(e) => {
                tracing::error!(error = %e, "the operating system's random generator failed");
                Problem::new(ProblemType::Internal, "a session could not be opened")
            }
        }
    }
}

impl From<ConfigError> for Problem {
    fn from(e: ConfigError) -> Self {
        Problem::new(ProblemType::InvalidConfig, e.to_string())
    }
}

impl From<IngestError> for Problem {
    fn from(e: IngestError) -> Self {
        let detail = e.to_string();
        match e {
            IngestError::Malformed(_) => Problem::new(ProblemType::MalformedBatch, detail),
            IngestError::UnsupportedVersion(_) => {
                Problem::new(ProblemType::UnsupportedVersion, detail)
            }
            IngestError::CampaignMismatch { .. } => {
                Problem::new(ProblemType::CampaignMismatch, detail)
            }
            IngestError::DigestMismatch { expected, .. } => {
                Problem::new(ProblemType::DigestMismatch, detail)
                    .with("expected_digest", format!("{expected:016x}"))
            }
            IngestError::EpochOutOfWindow { window, .. } => {
                Problem::new(ProblemType::EpochOutOfWindow, detail)
                    .with("accepted_epochs", vec![*window.start(), *window.end()])
            }
            IngestError::BatchSize { .. } => Problem::new(ProblemType::BatchSize, detail),
            IngestError::InvalidReport { index, .. } => {
                let problem = Problem::new(ProblemType::InvalidReport, detail);
                match index {
                    Some(index) => problem.with("report", index),
                    None => problem,
                }
            }
        }
    }
}

impl From<SubmitError> for Problem {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Store(e) => Self::from(&*e),
            SubmitError::Overloaded | SubmitError::Stopped => {
                Problem::new(ProblemType::Unavailable, e.to_string()).retry_after(1)
            }
        }
    }
}

impl From<QueryError> for Problem {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::EpochAndRange
            | QueryError::Reversed { .. }
            | QueryError::NotNumeric { .. }
            | QueryError::InvalidArgument(_)
            | QueryError::Trending(_) => Problem::new(ProblemType::InvalidRequest, e.to_string()),
            QueryError::NotEnoughReports { n, min_reports, .. } => {
                Problem::new(ProblemType::NotEnoughReports, e.to_string())
                    .with("n", n)
                    .with("min_reports", min_reports)
                    .with("needed", min_reports.saturating_sub(n))
            }
            QueryError::OpenDomain { campaign, question } => {
                let path = query_path(&campaign);
                Problem::new(
                    ProblemType::CandidatesRequired,
                    format!(
                        "campaign {campaign:?} has an open domain: there is no list of values \
                         for {}; POST the strings to estimate to {path} as \
                         {{\"candidates\": [\"…\", \"…\"]}}",
                        asked(question)
                    ),
                )
                .with("query", path)
            }
            QueryError::Numeric { campaign, question } => Problem::new(
                ProblemType::NumericCampaign,
                format!(
                    "campaign {campaign:?} estimates the mean of a number: there are no values \
                     for {}; GET /v1/campaigns/{campaign}/estimates gives the mean",
                    asked(question)
                ),
            ),
            QueryError::CandidatesUnsupported {
                campaign,
                mechanism,
            } => Problem::new(
                ProblemType::CandidatesUnsupported,
                format!(
                    "campaign {campaign:?} uses {mechanism}, which estimates every value of its \
                     domain: GET /v1/campaigns/{campaign}/estimates; candidate lists are for \
                     rappor, cms and hcms campaigns"
                ),
            )
            .with("mechanism", mechanism),
            QueryError::Estimate(source) => {
                Problem::new(ProblemType::CandidatesRequired, source.to_string())
            }
            QueryError::Decode(source) => decode_problem(source),
            QueryError::Inconsistent(source) => {
                tracing::error!(error = %source, "stored counters do not merge");
                Problem::new(ProblemType::Internal, "stored counters are inconsistent")
            }
            QueryError::Store(e) => Self::from(&e),
        }
    }
}

/// A failed candidate decoding: the caller's fault for an argument out of range, ours (logged)
/// otherwise.
fn decode_problem(e: AggregateError) -> Problem {
    match e {
        AggregateError::InvalidArgument(_) | AggregateError::WrongFamily { .. } => {
            Problem::new(ProblemType::InvalidRequest, e.to_string())
        }
        AggregateError::Report { .. }
        | AggregateError::WrongCampaign { .. }
        | AggregateError::DigestMismatch { .. }
        | AggregateError::SnapshotShape { .. }
        | AggregateError::Overflow
        | AggregateError::Cancelled
        | AggregateError::Wire(_) => {
            tracing::error!(error = %e, "candidate decoding failed");
            Problem::new(ProblemType::Internal, "decoding the candidates failed")
        }
    }
}
