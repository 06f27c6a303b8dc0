//! Query strings with their rejections as problems: an unknown parameter or a value of the
//! wrong type is a 400 `malformed-request`, never axum's plain-text answer.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use trustreg_core::error::ErrorCode;

use crate::problem::Problem;

/// The query string as `T`; its types deny unknown fields, so a misspelt filter is refused
/// rather than silently widening a search.
pub(crate) struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(Problem::new(
                ErrorCode::MalformedRequest,
                rejection.body_text(),
            )),
        }
    }
}

/// An empty parameter (`cursor=`) says nothing: the same as none.
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}
