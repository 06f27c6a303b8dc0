//! RFC 9457 problem details: every error the API answers, with a stable `type`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use trustreg_core::RegistryError;
use trustreg_core::error::ErrorCode;

pub const PROBLEM_BASE: &str = "https://trustreg.dev/problems/";
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// `WWW-Authenticate` of a 401 for a bearer token (RFC 6750, 3): not part of the body.
    #[serde(skip)]
    pub www_authenticate: Option<&'static str>,
    /// `Retry-After` in seconds (RFC 9110, 10.2.3) of a 429 or 503: not part of the body.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// The challenge of a 401 for a request that sent no usable credentials.
pub const BEARER: &str = "Bearer";
/// The challenge of a 401 for a malformed, forged or expired access token.
pub const INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";

impl Problem {
    /// A problem of this code: its `type`, title and status are the code's (`ErrorCode::spec`).
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let spec = code.spec();
        Self {
            problem_type: format!("{PROBLEM_BASE}{}", spec.slug),
            title: spec.title.to_owned(),
            status: spec.status,
            detail: detail.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_challenge(mut self, challenge: &'static str) -> Self {
        self.www_authenticate = Some(challenge);
        self
    }

    pub fn code(&self) -> &str {
        self.problem_type
            .strip_prefix(PROBLEM_BASE)
            .unwrap_or(&self.problem_type)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let challenge = self.www_authenticate;
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(challenge) = challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<RegistryError> for Problem {
    fn from(error: RegistryError) -> Self {
        let detail = if error.is_internal() {
            // The cause stays in the logs; the client learns only that it may retry.
            tracing::error!(error = %error, "registry failure");
            "the registry could not complete the request; retry later".to_owned()
        } else {
            error.to_string()
        };
        let mut problem = Self::new(error.code(), detail);
        if error.is_internal() {
            // A store, key or notification service that failed or throttled: worth a retry.
            problem = problem.with_retry_after(1);
        }
        // A request without a token where one is needed: the bare challenge (RFC 6750, 3.1).
        if matches!(error, RegistryError::Unauthenticated(_)) {
            problem.with_challenge(BEARER)
        } else {
            problem
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_stay_out_of_the_answer() {
        let p = Problem::from(RegistryError::Store(
            trustreg_core::error::StoreError::Failed("table arn:aws:dynamodb:secret".into()),
        ));
        assert_eq!(p.status, 503);
        assert_eq!(p.code(), "storage-unavailable");
        assert!(!p.detail.contains("arn:"));
        // The client is told when to try again.
        let response = p.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn every_client_error_is_4xx() {
        for e in [
            RegistryError::BadSignature,
            RegistryError::UntrustedRoot,
            RegistryError::NonceExpired,
            RegistryError::IdentifierConflict("x".into()),
            RegistryError::DeviceNotFound("x".into()),
        ] {
            let p = Problem::from(e);
            assert!((400..500).contains(&p.status), "{p:?}");
            assert!(p.problem_type.starts_with(PROBLEM_BASE));
        }
    }
}
