//! Idempotency keys (docs/API.md, "Retrying a change"): what a client's key names, and the
//! key's rules. The registry's receipts and replays are `trustreg_core::idempotency`.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::RegistryError;

/// Shortest and longest key: long enough for a random 64-bit value, room for a UUID or ULID.
pub const MIN_KEY_LEN: usize = 8;
pub const MAX_KEY_LEN: usize = 64;
/// How long a receipt is kept at least: a day covers any client's retry schedule.
pub const RECEIPT_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// The claim carrying the key, and the claim each retry changes: neither is part of the intent.
pub const KEY_CLAIM: &str = "idempotency_key";
pub const NONCE_CLAIM: &str = "nonce";

/// Checks a client's key: 8 to 64 characters of RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~).
pub fn validate_key(key: &str) -> Result<(), RegistryError> {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
    if (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len()) && key.chars().all(unreserved) {
        Ok(())
    } else {
        Err(RegistryError::Malformed(format!(
            "{KEY_CLAIM} is {MIN_KEY_LEN} to {MAX_KEY_LEN} characters of A-Z a-z 0-9 - . _ ~"
        )))
    }
}

/// A change as the client named it: where its receipt is kept and what it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub digest: String,
}

impl Intent {
    /// The intent of a signed request carrying `key` (`None` when it carries none): `signer`
    /// (its audit name) asking `route` of `target` with these claims.
    pub fn of<C: Serialize>(
        signer: &str,
        route: &str,
        target: &str,
        key: Option<&str>,
        claims: &C,
    ) -> Result<Option<Self>, RegistryError> {
        let Some(key) = key else {
            return Ok(None);
        };
        validate_key(key)?;
        let mut what = serde_json::to_value(claims)
            .map_err(|e| RegistryError::Malformed(format!("claims: {e}")))?;
        if let Some(map) = what.as_object_mut() {
            map.remove(KEY_CLAIM);
            map.remove(NONCE_CLAIM);
        }
        // Fields joined by NUL, which none of them can hold (kids, routes and RegDevIDs are
        // printable; the key is checked above): no two scopes hash alike.
        let scope = [signer, route, target, key].join("\0");
        Ok(Some(Self {
            id: data_encoding::HEXLOWER.encode(&Sha256::digest(scope.as_bytes())),
            digest: data_encoding::HEXLOWER.encode(&Sha256::digest(what.to_string().as_bytes())),
        }))
    }
}
