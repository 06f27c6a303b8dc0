//! Request bodies, with every rejection answered as problem+json.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, MatchedPath, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use trustreg_core::actors::unverified_actor;
use trustreg_core::binding;
use trustreg_core::error::ErrorCode;

use crate::Shared;
use crate::problem::Problem;

/// Largest body any route takes: a JWS with a certificate chain fits comfortably.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A compact JWS sent as the whole body (`application/jose`, or `text/plain`), made for this
/// request: its `htm` and `htu` claims name the request's method and path
/// (`trustreg_core::binding`), or it is refused (and audited) before any handler runs.
pub struct JwsBody(pub String);

impl FromRequest<Shared> for JwsBody {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Self::Rejection> {
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        let action = req
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
        let JwsText(jws) = JwsText::from_request(req, state).await?;
        if let Err(error) = binding::check(&jws, &method, &path) {
            let actor = unverified_actor(&jws);
            state.audit_refusal(&actor, &action, None, &error).await;
            return Err(Problem::from(error));
        }
        Ok(Self(jws))
    }
}

/// The body's text as a JWS, before any check of what it was made for.
struct JwsText(String);

impl<S: Send + Sync> FromRequest<S> for JwsText {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        match content_type.as_deref() {
            None | Some("application/jose" | "application/jwt" | "text/plain") => {}
            Some(other) => {
                return Err(Problem::new(
                    ErrorCode::UnsupportedMediaType,
                    format!("expected application/jose, got {other}"),
                ));
            }
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_problem)?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| Problem::new(ErrorCode::MalformedJws, "the body is not UTF-8 text"))?;
        Ok(Self(text.trim().to_owned()))
    }
}

fn bytes_problem(rejection: BytesRejection) -> Problem {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            ErrorCode::PayloadTooLarge,
            format!("the body exceeds {BODY_LIMIT} bytes"),
        )
    } else {
        Problem::new(ErrorCode::MalformedRequest, rejection.body_text())
    }
}

/// JSON with its rejections as problems.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(Problem::new(
                ErrorCode::UnsupportedMediaType,
                "expected application/json",
            )),
            Err(JsonRejection::BytesRejection(b)) => Err(bytes_problem(b)),
            Err(other) if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Problem::new(
                ErrorCode::PayloadTooLarge,
                format!("the body exceeds {BODY_LIMIT} bytes"),
            )),
            Err(other) => Err(Problem::new(ErrorCode::MalformedRequest, other.body_text())),
        }
    }
}
