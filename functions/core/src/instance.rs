//! What a function instance keeps between requests: the session key its statements are signed
//! with (`statements`), and enquirers' standing as it last read it (`sessions`).

use p256::ecdsa::SigningKey;

use crate::records::EnquirerState;
use crate::roles::Role;

/// How long an instance relies on what it read of an enquirer's standing: a revoked or
/// rejected enquirer's access token stops working at most this long after the decision.
pub const STANDING_TTL_MS: u64 = 30_000;
/// Enquirers remembered per instance; the cache starts over when it is full.
const STANDING_ENTRIES: usize = 10_000;

/// An enquirer's state and role, `None` when it is not known.
type Standing = Option<(EnquirerState, Role)>;

/// Enquirers' standing as this instance last read it, and when.
#[derive(Default)]
pub(crate) struct StandingCache(
    std::sync::Mutex<std::collections::HashMap<String, (u64, Standing)>>,
);

impl StandingCache {
    pub(crate) fn fresh(&self, id: &str, now: u64) -> Option<Standing> {
        let cache = self.0.lock().ok()?;
        let (read_at, standing) = cache.get(id)?;
        (now.saturating_sub(*read_at) < STANDING_TTL_MS).then_some(*standing)
    }

    pub(crate) fn keep(&self, id: &str, standing: Standing, now: u64) {
        if let Ok(mut cache) = self.0.lock() {
            if cache.len() >= STANDING_ENTRIES {
                cache.clear();
            }
            cache.insert(id.to_owned(), (now, standing));
        }
    }
}

/// This instance's session key and the delegation that certifies it.
pub(crate) struct SessionKey {
    pub(crate) signing: SigningKey,
    /// The JWK thumbprint of the public key: the statements' `kid`.
    pub(crate) kid: String,
    pub(crate) delegation: String,
    pub(crate) expires_at_ms: u64,
}
