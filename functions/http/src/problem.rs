//! RFC 9457 problem details: every error the API answers, with a stable `type`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use trustreg_core::RegistryError;

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
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("{PROBLEM_BASE}{code}"),
            title: title(code).to_owned(),
            status: status.as_u16(),
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
        let status = status_of(&error);
        let detail = if error.is_internal() {
            // The cause stays in the logs; the client learns only that it may retry.
            tracing::error!(error = %error, "registry failure");
            "the registry could not complete the request; retry later".to_owned()
        } else {
            error.to_string()
        };
        let mut problem = Self::new(status, error.code(), detail);
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

fn status_of(error: &RegistryError) -> StatusCode {
    use RegistryError as E;
    match error {
        E::Malformed(_)
        | E::InvalidIdentifier { .. }
        | E::MalformedJws(_)
        | E::MalformedChain(_)
        | E::UnsupportedKey(_) => StatusCode::BAD_REQUEST,
        E::BadSignature | E::NonceInvalid | E::NonceExpired | E::UnknownSigner => {
            StatusCode::UNAUTHORIZED
        }
        E::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        E::Forbidden(_) | E::WrongTarget(_) => StatusCode::FORBIDDEN,
        E::UntrustedRoot
        | E::CertificateExpired
        | E::InvalidChain(_)
        | E::IdentifierMismatch { .. }
        | E::IdentifierOutOfScope { .. }
        | E::NotPrimary(_) => StatusCode::FORBIDDEN,
        E::RotTypeNotAccepted { .. } => StatusCode::FORBIDDEN,
        E::IdentifierConflict(_) => StatusCode::CONFLICT,
        E::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        E::DeviceNotFound(_) => StatusCode::NOT_FOUND,
        E::VulnerabilityNotFound(_) | E::HoldNotFound(..) => StatusCode::NOT_FOUND,
        E::VirtualIdNotFound | E::OwnerNotFound(_) => StatusCode::NOT_FOUND,
        E::EnquirerNotFound(_) | E::RootNotFound(_) => StatusCode::NOT_FOUND,
        E::InvalidTransition(_) => StatusCode::CONFLICT,
        E::TooManyItems { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        E::Store(_) | E::Keys(_) => StatusCode::SERVICE_UNAVAILABLE,
        E::SubscriptionNotFound(_) => StatusCode::NOT_FOUND,
        E::SubscriptionRefused(_) => StatusCode::BAD_REQUEST,
        E::SubscriptionLimit { .. } | E::SubscriptionConflict(_) => StatusCode::CONFLICT,
        E::Notify(_) => StatusCode::SERVICE_UNAVAILABLE,
        E::InvalidLink(_) => StatusCode::UNPROCESSABLE_ENTITY,
        E::LinkConflict(_) => StatusCode::CONFLICT,
    }
}

/// One short title per problem type; the `detail` says what was wrong with this request.
fn title(code: &str) -> &'static str {
    match code {
        "malformed-request" => "The request is malformed",
        "invalid-identifier" => "An identifier is invalid",
        "malformed-jws" => "The JWS is malformed",
        "bad-signature" => "The signature does not verify",
        "untrusted-root" => "The certificate chain leads to no accepted root of trust",
        "certificate-expired" => "A certificate is expired or not yet valid",
        "invalid-certificate-chain" => "The certificate chain is invalid",
        "malformed-certificate-chain" => "The certificate chain is malformed",
        "unsupported-key" => "The key type is not supported",
        "identifier-mismatch" => "The identifier is not bound to the device certificate",
        "identifier-out-of-scope" => "The root of trust may not certify this identifier",
        "nonce-invalid" => "The nonce is unknown, used or for another purpose",
        "nonce-expired" => "The nonce has expired",
        "idempotency-key-reused" => "The idempotency key names a different request",
        "identifier-conflict" => "The identifier is registered with another key",
        "device-not-found" => "No such device",
        "vulnerability-not-found" => "No such vulnerability",
        "hold-not-found" => "The device holds no such hold",
        "virtual-id-not-found" => "No such virtual ID, or it expired or was used",
        "owner-not-found" => "No such owner or custodian",
        "not-a-primary-registry" => "Devices register only at primary registries",
        "storage-unavailable" | "key-service-unavailable" => "The registry is unavailable",
        "notification-service-unavailable" => "The notification service is unavailable",
        "subscription-not-found" => "No such subscription",
        "subscription-limit" => "The subscriber has as many subscriptions as allowed",
        "subscription-refused" => "The notification service refused the subscription",
        "subscription-conflict" => "The subscription conflicts with an existing one",
        "unknown-signer" => "The signer of the request is unknown",
        "forbidden" => "The signer may not do this",
        "wrong-target" => "The signed request was made for another method, path or target",
        "rot-type-not-accepted" => "The trust domain does not accept this root-of-trust type",
        "unauthenticated" => "The request carries no valid credentials",
        "enquirer-not-found" => "No such enquirer",
        "root-not-found" => "No such root of trust",
        "invalid-state-transition" => "The resource cannot make this change from its state",
        "too-many-items" => "The bulk request holds too many items",
        "invalid-link" => "The link does not fit the registry hierarchy",
        "link-conflict" => "The link conflicts with an existing one",
        "not-found" => "No such resource",
        "method-not-allowed" => "Method not allowed",
        "unsupported-media-type" => "Unsupported media type",
        "payload-too-large" => "The request body is too large",
        "uri-too-long" => "A part of the request's path is too long",
        "rate-limited" => "Too many requests from this caller",
        _ => "The request failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_stay_out_of_the_answer() {
        let p = Problem::from(RegistryError::Store(trustreg_core::error::StoreError(
            "table arn:aws:dynamodb:secret".into(),
        )));
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
