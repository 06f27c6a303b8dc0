//! `--retries` and `--retry-delay-ms`: how patiently a command that registers devices retries a
//! request the registry could not answer (trustreg_device::retry says which ones).

use std::time::Duration;

use clap::Args;
use trustreg_device::RetryPolicy;

#[derive(Args, Clone, Copy)]
pub struct RetryArgs {
    /// Attempts after the first when the registry answers 429, 502, 503 or 504 or cannot be
    /// reached; 0 sends each request once.
    #[arg(long, default_value_t = 5)]
    retries: u32,
    /// The wait before the first retry, doubled for each further one (with jitter, at most a
    /// minute); a `Retry-After` from the registry is waited instead.
    #[arg(long, default_value_t = 1000)]
    retry_delay_ms: u64,
}

impl RetryArgs {
    pub fn policy(self) -> RetryPolicy {
        RetryPolicy {
            retries: self.retries,
            base_delay: Duration::from_millis(self.retry_delay_ms),
            ..RetryPolicy::default()
        }
    }
}
