//! How requests reach the collector: the SDK builds each request (method, URL, headers, body)
//! and hands it to a [`Transport`], which returns the response. Apps with their own HTTP stack
//! implement [`Transport`] over it; [`UreqTransport`] (feature `ureq-transport`, on by
//! default) is a blocking sender for desktop apps and tests.

use ldp_protocol::CampaignConfig;

use crate::error::SdkError;

/// Media type of a batch upload.
pub const BATCH_CONTENT_TYPE: &str = "application/x-ldp-batch";

/// A request for the host's HTTP stack to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for `GET`).
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// `Retry-After` in seconds, when the collector sent one.
    pub retry_after: Option<u64>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Sends one request and waits for its response. An `Err` is a transport failure (no
/// response: DNS, connection, timeout); the SDK retries it later with the identical bytes.
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// Sends `request`; the error's text is kept for diagnostics.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String>;
}

/// How the SDK reads a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: the body.
    Success(Vec<u8>),
    /// Transport failure, 401, 403, 408, 425, 429 or 5xx: try again later with the same bytes.
    Retry {
        /// What went wrong.
        error: String,
        /// The collector's `Retry-After`.
        retry_after: Option<u64>,
    },
    /// Any other status: the collector refused for good.
    Refused {
        /// HTTP status.
        status: u16,
        /// The problem's `detail`, or the body.
        detail: String,
    },
}

impl Outcome {
    /// Classifies a transport's result.
    pub fn of(result: Result<HttpResponse, String>) -> Self {
        let response = match result {
            Ok(r) => r,
            Err(error) => {
                return Self::Retry {
                    error,
                    retry_after: None,
                };
            }
        };
        let body = String::from_utf8_lossy(&response.body).into_owned();
        match response.status {
            200..=299 => Self::Success(response.body),
            // Request Timeout, Too Early, Too Many Requests and server errors pass. So does a
            // refused authorization (401, 403): uploads carry no credentials today, so it comes
            // from something in front of the collector that can be fixed, and the batch is
            // still good when it is.
            401 | 403 | 408 | 425 | 429 | 500..=599 => Self::Retry {
                error: format!("HTTP {}: {body}", response.status),
                retry_after: response.retry_after,
            },
            status => {
                let detail = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|p| p.get("detail")?.as_str().map(str::to_owned))
                    .unwrap_or(body);
                Self::Refused { status, detail }
            }
        }
    }
}

/// The configuration in the collector's answer to `GET /v1/campaigns/{campaign}`, checked
/// against the digest the collector announces beside it and against the campaign asked for.
pub fn campaign_view(campaign: &str, body: &[u8]) -> Result<CampaignConfig, SdkError> {
    let view: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| SdkError::Config(e.to_string()))?;
    let config: CampaignConfig =
        serde_json::from_value(view.get("config").cloned().unwrap_or_default())
            .map_err(|e| SdkError::Config(e.to_string()))?;
    let digest = format!("{:016x}", config.digest());
    let announced = view.get("digest").and_then(|d| d.as_str());
    if announced != Some(digest.as_str()) || config.id().as_str() != campaign {
        return Err(SdkError::Config(format!(
            "the collector announces campaign {campaign} with digest {announced:?}, but its \
             configuration is {} with digest {digest}",
            config.id().as_str()
        )));
    }
    Ok(config)
}

#[cfg(feature = "ureq-transport")]
pub use self::ureq_transport::UreqTransport;

#[cfg(feature = "ureq-transport")]
mod ureq_transport {
    use std::io::Read;
    use std::time::Duration;

    use super::{HttpRequest, HttpResponse, Transport};

    /// Largest response body read (campaign configurations and problems are far smaller).
    const MAX_RESPONSE_BYTES: u64 = 4 << 20;

    /// A blocking sender over `ureq` (HTTP/1.1, TLS by rustls), 30 s per request.
    #[derive(Debug, Clone)]
    pub struct UreqTransport {
        agent: ureq::Agent,
    }

    impl Default for UreqTransport {
        fn default() -> Self {
            Self::with_timeout(Duration::from_secs(30))
        }
    }

    impl UreqTransport {
        /// A sender whose requests give up after `timeout`.
        pub fn with_timeout(timeout: Duration) -> Self {
            let config = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .build();
            Self {
                agent: ureq::Agent::new_with_config(config),
            }
        }
    }

    impl Transport for UreqTransport {
        fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
            let mut builder = ureq::http::Request::builder()
                .method(request.method.as_str())
                .uri(request.url.as_str());
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            let built = builder
                .body(request.body.clone())
                .map_err(|e| e.to_string())?;
            let mut response = self.agent.run(built).map_err(|e| e.to_string())?;
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            let mut body = Vec::new();
            response
                .body_mut()
                .as_reader()
                .take(MAX_RESPONSE_BYTES)
                .read_to_end(&mut body)
                .map_err(|e| e.to_string())?;
            Ok(HttpResponse {
                status: response.status().as_u16(),
                retry_after,
                body,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Outcome {
        Outcome::of(Ok(HttpResponse {
            status,
            retry_after: Some(7),
            body: body.as_bytes().to_vec(),
        }))
    }

    #[test]
    fn statuses_are_read_as_success_retry_or_refusal() {
        for status in [200, 202] {
            assert_eq!(answer(status, "ok"), Outcome::Success(b"ok".to_vec()));
        }
        for status in [401, 403, 408, 425, 429, 500, 503, 599] {
            assert!(
                matches!(
                    answer(status, ""),
                    Outcome::Retry {
                        retry_after: Some(7),
                        ..
                    }
                ),
                "{status}"
            );
        }
        for status in [400, 404, 405, 409, 413, 415, 422] {
            assert!(
                matches!(answer(status, ""), Outcome::Refused { status: s, .. } if s == status),
                "{status}"
            );
        }
        let problem =
            r#"{"type": "x", "title": "t", "status": 422, "detail": "report 3 is invalid"}"#;
        assert_eq!(
            answer(422, problem),
            Outcome::Refused {
                status: 422,
                detail: "report 3 is invalid".into()
            }
        );
        assert!(matches!(
            Outcome::of(Err("connection refused".into())),
            Outcome::Retry {
                retry_after: None,
                ..
            }
        ));
    }
}
