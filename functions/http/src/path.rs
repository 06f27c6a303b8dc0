//! Path parameters with their rejection as a problem. axum refuses a parameter only when its
//! percent-decoding is not UTF-8 (or, for a typed parameter, does not parse): whatever the
//! route, that is one mistake with one code, a 400 `malformed-request`. What the value means
//! (an identifier, a status, a kind) is the flow's to check, with its own codes.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use trustreg_core::error::ErrorCode;

use crate::problem::Problem;

/// The route's path parameters as `T` (a `String`, or a tuple of them).
pub(crate) struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(Problem::new(
                ErrorCode::MalformedRequest,
                rejection.body_text(),
            )),
        }
    }
}
