//! Abuse limits (API.md, "Abuse limits"): challenges, enquirer sign-ups, logins and anonymous
//! lookups are bounded per caller, counted by source address, with a token bucket per caller
//! and kind in this function instance. Beyond it: 429 `rate-limited` with `Retry-After`.
//! Logins count by address, not by the `kid` they claim, which is not verified yet: counting
//! by `kid` would let anybody lock an enquirer out by spending its logins.
//!
//! Nothing is shared between instances and nothing is written (a write per lookup would break
//! the lookup's cost and make a hot item); API Gateway's stage throttling bounds the total.
//! Refusals are not audited one by one, or a flood would become a flood of writes; the access
//! log counts them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use trustreg_core::error::ErrorCode;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use trustreg_core::config::RateLimits;

use crate::problem::Problem;
use crate::routes::Op;

/// The caller's address as API Gateway saw it (`requestContext.identity.sourceIp`), put in
/// the request's extensions by the function's entry point (`serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceAddress(pub IpAddr);

/// Callers remembered per kind; the table starts over when full (a flood of addresses
/// cannot grow it without bound).
const MAX_CALLERS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Challenge,
    SignUp,
    Login,
    AnonymousLookup,
}

/// The kind of a request, if it is one the limits count.
fn kind(method: &Method, route: &str, has_credentials: bool) -> Option<Kind> {
    kind_of(Op::find(method.as_str(), route)?, has_credentials)
}

fn kind_of(op: Op, has_credentials: bool) -> Option<Kind> {
    match op {
        Op::Challenge => Some(Kind::Challenge),
        Op::SignUp => Some(Kind::SignUp),
        Op::Login => Some(Kind::Login),
        Op::Lookup if !has_credentials => Some(Kind::AnonymousLookup),
        _ => None,
    }
}

/// Whether a route counts against a limit for some caller (and so may answer 429).
pub(crate) fn is_limited(op: Op) -> bool {
    kind_of(op, false).is_some()
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The token buckets of this instance.
pub(crate) struct Limiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<(Kind, Option<IpAddr>), Bucket>>,
}

impl Limiter {
    pub(crate) fn new(limits: RateLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    fn per_minute(&self, kind: Kind) -> f64 {
        f64::from(match kind {
            Kind::Challenge => self.limits.challenges,
            Kind::SignUp => self.limits.sign_ups,
            Kind::Login => self.limits.logins,
            Kind::AnonymousLookup => self.limits.anonymous_lookups,
        })
    }

    /// Takes one token for `caller`, or says in how many seconds one is back.
    fn admit(&self, kind: Kind, caller: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        let capacity = self.per_minute(kind);
        let per_second = capacity / 60.0;
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_CALLERS {
            buckets.clear();
        }
        let bucket = buckets.entry((kind, caller)).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_second).ceil().max(1.0) as u64)
        }
    }
}

/// The middleware: counts the requests of the limited kinds, refuses beyond the limit.
pub(crate) async fn limit(
    State(limiter): State<Arc<Limiter>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let has_credentials = request.headers().contains_key(header::AUTHORIZATION);
    let Some(kind) = route.and_then(|r| kind(request.method(), &r, has_credentials)) else {
        return next.run(request).await;
    };
    let caller = request.extensions().get::<SourceAddress>().map(|a| a.0);
    match limiter.admit(kind, caller, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(retry_after) => too_many(retry_after),
    }
}

fn too_many(retry_after: u64) -> Response {
    Problem::new(
        ErrorCode::RateLimited,
        format!("too many requests of this kind from this caller; retry in {retry_after} s"),
    )
    .with_retry_after(retry_after)
    .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_caller_gets_its_limit_then_waits_for_tokens() {
        let limiter = Limiter::new(RateLimits {
            anonymous_lookups: 60,
            ..RateLimits::default()
        });
        let t0 = Instant::now();
        let me = Some(IpAddr::from([203, 0, 113, 7]));
        let other = Some(IpAddr::from([203, 0, 113, 8]));
        for _ in 0..60 {
            limiter.admit(Kind::AnonymousLookup, me, t0).unwrap();
        }
        assert_eq!(limiter.admit(Kind::AnonymousLookup, me, t0), Err(1));
        // Another caller, and another kind, have buckets of their own.
        limiter.admit(Kind::AnonymousLookup, other, t0).unwrap();
        limiter.admit(Kind::Challenge, me, t0).unwrap();
        // One token a second comes back.
        let later = t0 + Duration::from_millis(1_000);
        limiter.admit(Kind::AnonymousLookup, me, later).unwrap();
        assert!(limiter.admit(Kind::AnonymousLookup, me, later).is_err());
    }

    #[test]
    fn only_the_limited_kinds_count() {
        let get = Method::GET;
        assert_eq!(
            kind(&get, "/v1/devices/{id}", false),
            Some(Kind::AnonymousLookup)
        );
        assert_eq!(kind(&get, "/v1/devices/{id}", true), None);
        assert_eq!(kind(&get, "/v1/registry", false), None);
        assert_eq!(
            kind(&Method::POST, "/v1/sessions", false),
            Some(Kind::Login)
        );
    }
}
