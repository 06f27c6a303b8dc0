//! Retrying a request the registry could not answer: a function killed mid-request (API
//! Gateway's 502), a store or key service that failed or throttled (503 with `Retry-After`),
//! an abuse limit (429 with `Retry-After`), a gateway timeout (504) or a connection that broke.
//! A client's own mistake (any other 4xx) is answered the same however often it is sent, so it
//! is never retried.
//!
//! Only requests that are safe to repeat go through here: a registration repeated with the same
//! key answers the same RegDevID, a bulk line already registered answers "existing", an
//! acknowledgement repeated changes nothing (API.md). Each attempt runs the whole operation
//! again, so it fetches a fresh nonce and signs anew: a nonce is good for one request only.

use std::future::Future;
use std::time::Duration;

use rand_core::{OsRng, RngCore};

use crate::client::ClientError;

/// Statuses worth another attempt.
const RETRYABLE: [u16; 4] = [429, 502, 503, 504];

/// How often and how patiently to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first; 0 sends once.
    pub retries: u32,
    /// The wait before the first retry; it doubles with each further one.
    pub base_delay: Duration,
    /// No wait is longer, `Retry-After` included: a client that must give up says so rather
    /// than hanging.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// Whether `error` may go away when the request is sent again, and the wait the registry asked
/// for (`Retry-After`), if it did.
pub fn retryable(error: &ClientError) -> Option<Option<Duration>> {
    match error {
        ClientError::Problem {
            status,
            retry_after,
            ..
        }
        | ClientError::Status {
            status,
            retry_after,
            ..
        } if RETRYABLE.contains(status) => Some(retry_after.map(Duration::from_secs)),
        // No answer at all (refused, reset, timed out, cut off): the request may or may not have
        // been served, and repeating it is safe.
        ClientError::Http(e) if !e.is_builder() && !e.is_redirect() && !e.is_status() => Some(None),
        _ => None,
    }
}

impl RetryPolicy {
    /// The wait before retry `n` (1-based): `Retry-After` when the registry gave one, else
    /// exponential backoff with jitter (half fixed, half random, so clients that failed
    /// together do not come back together), never more than `max_delay`.
    pub fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        let wait = retry_after.unwrap_or_else(|| {
            let full = self
                .base_delay
                .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)));
            let half = full / 2;
            let jitter = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
            let random = if jitter == 0 {
                0
            } else {
                OsRng.next_u64() % (jitter + 1)
            };
            half + Duration::from_millis(random)
        });
        wait.min(self.max_delay)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries are spent. `on_retry`
    /// hears of each failure that will be retried, with the wait before the next attempt.
    /// Answers the last result and how many attempts were made.
    pub async fn run<T, F, Fut>(
        &self,
        mut attempt: F,
        mut on_retry: impl FnMut(u32, &ClientError, Duration),
    ) -> (Result<T, ClientError>, u32)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let mut n = 0;
        loop {
            n += 1;
            let result = attempt().await;
            let error = match result {
                Err(e) => e,
                ok => return (ok, n),
            };
            let Some(retry_after) = retryable(&error) else {
                return (Err(error), n);
            };
            if n > self.retries {
                return (Err(error), n);
            }
            let wait = self.delay(n, retry_after);
            on_retry(n, &error, wait);
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, retry_after: Option<u64>) -> ClientError {
        ClientError::Status {
            status,
            body: String::new(),
            retry_after,
        }
    }

    fn problem(status: u16) -> ClientError {
        ClientError::Problem {
            status,
            problem_type: "about:blank".into(),
            title: String::new(),
            detail: None,
            retry_after: None,
        }
    }

    #[test]
    fn gateway_and_throttling_answers_are_retried_client_errors_are_not() {
        for s in [429, 502, 503, 504] {
            assert!(retryable(&status(s, None)).is_some(), "{s}");
            assert!(retryable(&problem(s)).is_some(), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 413, 500] {
            assert!(retryable(&problem(s)).is_none(), "{s}");
        }
        assert_eq!(
            retryable(&status(503, Some(7))),
            Some(Some(Duration::from_secs(7)))
        );
        assert!(retryable(&ClientError::NoChain).is_none());
    }

    #[test]
    fn backoff_doubles_with_jitter_within_bounds_and_retry_after_wins() {
        let policy = RetryPolicy {
            retries: 5,
            base_delay: Duration::from_millis(400),
            max_delay: Duration::from_secs(2),
        };
        for n in 1..=6 {
            let full = Duration::from_millis(400 * 2u64.pow(n - 1)).min(Duration::from_secs(4));
            let d = policy.delay(n, None);
            assert!(d >= (full / 2).min(policy.max_delay), "{n}: {d:?}");
            assert!(d <= full.min(policy.max_delay), "{n}: {d:?}");
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(90))),
            Duration::from_secs(2)
        );
    }

    #[tokio::test]
    async fn run_stops_at_a_client_error_and_after_the_retries() {
        let policy = RetryPolicy {
            retries: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        };
        let mut retried = 0;
        let (result, attempts) = policy
            .run(
                || async { Err::<(), _>(status(502, None)) },
                |_, _, _| retried += 1,
            )
            .await;
        assert!(result.is_err());
        assert_eq!((attempts, retried), (3, 2));

        let (result, attempts) = policy
            .run(|| async { Err::<(), _>(problem(403)) }, |_, _, _| {})
            .await;
        assert!(matches!(
            result,
            Err(ClientError::Problem { status: 403, .. })
        ));
        assert_eq!(attempts, 1);

        let mut calls = 0;
        let (result, attempts) = policy
            .run(
                || {
                    calls += 1;
                    let answer = if calls < 3 {
                        Err(status(503, Some(0)))
                    } else {
                        Ok(calls)
                    };
                    async move { answer }
                },
                |_, _, _| {},
            )
            .await;
        assert_eq!((result.ok(), attempts), (Some(3), 3));
    }
}
