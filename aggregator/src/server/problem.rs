//! `application/problem+json` (RFC 9457) responses: every 4xx and 5xx the service sends.
//!
//! Each reason has a stable `type` URI ([`ProblemType::uri`]) that points at its entry in
//! `docs/problems.md`; clients match on it, never on the human `title` or `detail`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Media type of problem responses.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Where the problem types are documented; a type URI is this plus `#slug`.
pub const PROBLEM_DOCS: &str =
    "https://github.com/ldp-telemetry/ldp-telemetry/blob/main/docs/problems.md";

/// Every reason the service refuses a request, each with its status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    /// The body is not a valid batch encoding (truncated, trailing bytes, bad tags).
    MalformedBatch,
    /// The batch's format version is not one this server reads.
    UnsupportedVersion,
    /// The batch names another campaign than the URL.
    CampaignMismatch,
    /// The batch was made under another configuration of the campaign.
    DigestMismatch,
    /// The batch's id was used before by a batch with other content.
    BatchIdConflict,
    /// The batch's epoch is outside the accepted window.
    EpochOutOfWindow,
    /// A report does not fit the campaign (variant, length, index range).
    InvalidReport,
    /// The batch holds more reports than allowed, or none.
    BatchSize,
    /// Wrong `Content-Type`.
    UnsupportedMediaType,
    /// The body exceeds the request body limit.
    PayloadTooLarge,
    /// The request's headers are too many or too large.
    HeadersTooLarge,
    /// The request's URI is too long.
    UriTooLong,
    /// A campaign configuration was refused.
    InvalidConfig,
    /// The campaign id exists with another configuration.
    CampaignExists,
    /// No such campaign.
    UnknownCampaign,
    /// The campaign was closed (or deleted while the batch was checked): it takes no reports.
    CampaignClosed,
    /// A destructive request without its confirmation.
    ConfirmationRequired,
    /// Fewer reports than the campaign's minimum have been counted.
    NotEnoughReports,
    /// The campaign has an open domain: estimates are asked for with a list of candidates.
    CandidatesRequired,
    /// A list of candidates was sent for a campaign whose mechanism estimates its whole domain.
    CandidatesUnsupported,
    /// A question about values asked of a campaign that estimates the mean of a number.
    NumericCampaign,
    /// A query parameter or JSON body could not be read, or is out of range.
    InvalidRequest,
    /// No or unknown bearer token.
    Unauthorized,
    /// The token's role may not do this.
    Forbidden,
    /// No such route.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The request took longer than the request timeout.
    Timeout,
    /// The server cannot take the request now (database unreachable, overloaded, stopping).
    Unavailable,
    /// A bug or a corrupt database; the log has the details.
    Internal,
}

impl ProblemType {
    /// Every problem type (for documentation and tests).
    pub const ALL: [ProblemType; 29] = [
        Self::MalformedBatch,
        Self::UnsupportedVersion,
        Self::CampaignMismatch,
        Self::DigestMismatch,
        Self::BatchIdConflict,
        Self::EpochOutOfWindow,
        Self::InvalidReport,
        Self::BatchSize,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::HeadersTooLarge,
        Self::UriTooLong,
        Self::InvalidConfig,
        Self::CampaignExists,
        Self::UnknownCampaign,
        Self::CampaignClosed,
        Self::ConfirmationRequired,
        Self::NotEnoughReports,
        Self::CandidatesRequired,
        Self::CandidatesUnsupported,
        Self::NumericCampaign,
        Self::InvalidRequest,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Timeout,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The stable slug (also the metric label for rejected reports).
    pub const fn slug(self) -> &'static str {
        match self {
            Self::MalformedBatch => "malformed-batch",
            Self::UnsupportedVersion => "unsupported-version",
            Self::CampaignMismatch => "campaign-mismatch",
            Self::DigestMismatch => "digest-mismatch",
            Self::BatchIdConflict => "batch-id-conflict",
            Self::EpochOutOfWindow => "epoch-out-of-window",
            Self::InvalidReport => "invalid-report",
            Self::BatchSize => "batch-size",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::PayloadTooLarge => "payload-too-large",
            Self::HeadersTooLarge => "headers-too-large",
            Self::UriTooLong => "uri-too-long",
            Self::InvalidConfig => "invalid-config",
            Self::CampaignExists => "campaign-exists",
            Self::UnknownCampaign => "unknown-campaign",
            Self::CampaignClosed => "campaign-closed",
            Self::ConfirmationRequired => "confirmation-required",
            Self::NotEnoughReports => "not-enough-reports",
            Self::CandidatesRequired => "candidates-required",
            Self::CandidatesUnsupported => "candidates-unsupported",
            Self::NumericCampaign => "numeric-campaign",
            Self::InvalidRequest => "invalid-request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status sent with this problem.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::MalformedBatch
            | Self::UnsupportedVersion
            | Self::CampaignMismatch
            | Self::InvalidConfig
            | Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::DigestMismatch
            | Self::BatchIdConflict
            | Self::CampaignExists
            | Self::NotEnoughReports
            | Self::CandidatesRequired
            | Self::CandidatesUnsupported
            | Self::NumericCampaign
            | Self::ConfirmationRequired => StatusCode::CONFLICT,
            Self::EpochOutOfWindow | Self::InvalidReport | Self::BatchSize => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::UnknownCampaign | Self::NotFound => StatusCode::NOT_FOUND,
            Self::CampaignClosed => StatusCode::GONE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short human summary, the same for every occurrence.
    pub const fn title(self) -> &'static str {
        match self {
            Self::MalformedBatch => "The body is not a valid batch",
            Self::UnsupportedVersion => "Unsupported batch format version",
            Self::CampaignMismatch => "The batch belongs to another campaign",
            Self::DigestMismatch => "The batch was made under another campaign configuration",
            Self::BatchIdConflict => "The batch id was used before by another batch",
            Self::EpochOutOfWindow => "The batch's epoch is outside the accepted window",
            Self::InvalidReport => "A report does not fit the campaign",
            Self::BatchSize => "The batch has too many reports, or none",
            Self::UnsupportedMediaType => "Unsupported content type",
            Self::PayloadTooLarge => "The request body is too large",
            Self::HeadersTooLarge => "The request's headers are too many or too large",
            Self::UriTooLong => "The request's URI is too long",
            Self::InvalidConfig => "Invalid campaign configuration",
            Self::CampaignExists => "A campaign with this id already exists",
            Self::UnknownCampaign => "No such campaign",
            Self::CampaignClosed => "The campaign is closed: it accepts no reports",
            Self::ConfirmationRequired => "This request deletes data: confirm it",
            Self::NotEnoughReports => "Not enough reports to release estimates",
            Self::CandidatesRequired => "This campaign's estimates need a list of candidates",
            Self::CandidatesUnsupported => "Candidate lists are for RAPPOR and sketch campaigns",
            Self::NumericCampaign => "This campaign estimates the mean of a number, not values",
            Self::InvalidRequest => "The request could not be read",
            Self::Unauthorized => "A valid bearer token is required",
            Self::Forbidden => "The token's role does not allow this",
            Self::NotFound => "No such resource",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Timeout => "The request timed out",
            Self::Unavailable => "The service is temporarily unavailable",
            Self::Internal => "Internal error",
        }
    }

    /// The `type` URI.
    pub fn uri(self) -> String {
        format!("{PROBLEM_DOCS}#{}", self.slug())
    }

    /// The problem type sent for a bare status code (responses produced by the framework).
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Self::HeadersTooLarge,
            StatusCode::URI_TOO_LONG => Self::UriTooLong,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::REQUEST_TIMEOUT => Self::Timeout,
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            s if s.is_client_error() => Self::InvalidRequest,
            _ => Self::Internal,
        }
    }
}

/// A problem response: type, title, status, detail, and extension members.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The reason.
    pub kind: ProblemType,
    /// What happened in this occurrence.
    pub detail: String,
    /// Extension members (for example `needed` for [`ProblemType::NotEnoughReports`]).
    pub extensions: serde_json::Map<String, serde_json::Value>,
    /// Seconds after which a retry may succeed (`Retry-After`).
    pub retry_after: Option<u64>,
    /// The status sent instead of the type's own, when the HTTP layer chose one that no type
    /// names (411 or 412, say); the body says the same status.
    pub status: Option<StatusCode>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    #[serde(flatten)]
    extensions: &'a serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    /// A problem of `kind` with `detail`.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            extensions: serde_json::Map::new(),
            retry_after: None,
            status: None,
        }
    }

    /// Sends `status` instead of the type's own.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    /// Sets `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status.unwrap_or(self.kind.status());
        let body = Body {
            kind: self.kind.uri(),
            title: self.kind.title(),
            status: status.as_u16(),
            detail: &self.detail,
            extensions: &self.extensions,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.kind == ProblemType::Unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ldp-aggregator\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_type_is_documented_with_its_status() {
        let doc = include_str!("../../../docs/problems.md");
        for kind in ProblemType::ALL {
            let row = doc
                .lines()
                .find(|l| l.contains(&format!("<a id=\"{}\"></a>", kind.slug())))
                .unwrap_or_else(|| panic!("{} is not in docs/problems.md", kind.slug()));
            assert!(
                row.contains(&format!("| {} |", kind.status().as_u16())),
                "{}: documented status differs from {}",
                kind.slug(),
                kind.status()
            );
        }
        let rows = doc.lines().filter(|l| l.contains("<a id=")).count();
        assert_eq!(
            rows,
            ProblemType::ALL.len(),
            "docs/problems.md lists extra types"
        );
    }
}
