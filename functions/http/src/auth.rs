//! Bearer access tokens (Y.3059 9.3 iii): who is asking, from `Authorization: Bearer <jwt>`.
//! The token itself is never logged nor echoed: it is a credential until it expires.

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::header;
use axum::http::request::Parts;
use trustreg_core::RegistryError;
use trustreg_core::error::ErrorCode;
use trustreg_core::sessions::Principal;

use crate::Shared;
use crate::problem::{INVALID_TOKEN, Problem};

/// The caller of a route: `None` when the request sent no `Authorization` header (public).
/// A header that is not a valid bearer token is refused (401) and audited, never taken as
/// public: a client that meant to authenticate must not silently get the public view.
#[derive(Clone)]
pub(crate) struct Caller(pub Option<Principal>);

impl Caller {
    pub fn principal(&self) -> Option<&Principal> {
        self.0.as_ref()
    }
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, registry: &Shared) -> Result<Self, Problem> {
        // Verified already by the route's access layer (`access::enforce`).
        if let Some(caller) = parts.extensions.get::<Self>() {
            return Ok(caller.clone());
        }
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Self(None));
        };
        let result = match value.to_str().ok().and_then(bearer_token) {
            Some(token) => registry.authenticate(token).await,
            None => Err(RegistryError::Unauthenticated(
                "the Authorization header is not `Bearer <access token>`".into(),
            )),
        };
        match result {
            Ok(principal) => Ok(Self(Some(principal))),
            Err(error) if error.is_internal() => Err(Problem::from(error)),
            Err(error) => {
                let action = parts
                    .extensions
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                registry
                    .audit_refusal("unknown", action, None, &error)
                    .await;
                // Whatever the core's reason, a token that does not verify is a 401.
                Err(Problem::new(ErrorCode::Unauthenticated, error.to_string())
                    .with_challenge(INVALID_TOKEN))
            }
        }
    }
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    let token68 = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.chars().all(token68))
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn only_a_bearer_token68_is_a_token() {
        assert_eq!(bearer_token("Bearer a.b-c_d"), Some("a.b-c_d"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer a b"), None);
        assert_eq!(bearer_token("Bearer é"), None);
    }
}
