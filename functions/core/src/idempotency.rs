//! Idempotency keys: a client names a change (`idempotency_key` in its signed claims) so that
//! when the answer is lost (the function died after its write, the network dropped it) the
//! client can sign the same intent again over a fresh nonce and be answered with the change it
//! already made, not make it twice. Nonces stay single-use: the key, not the nonce, is what
//! the retry shares with the first request.
//!
//! The registry keeps a receipt per (signer, route, target, key), written in the same
//! transaction as the change, so a stored change always leaves its receipt. A retry with the
//! same key and the same intent gets the receipt's answer; the same key over another intent is
//! refused (`idempotency-key-reused`), as the client has mixed up two changes.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::{RegistryError, StoreError};
use crate::records::Receipt;
use crate::service::{Registry, hex};

/// Shortest and longest key: long enough for a random 64-bit value, room for a UUID or ULID.
pub const MIN_KEY_LEN: usize = 8;
pub const MAX_KEY_LEN: usize = 64;
/// How long a receipt is kept at least: a day covers any client's retry schedule.
pub const RECEIPT_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// The claim carrying the key, and the claim each retry changes: neither is part of the intent.
const KEY_CLAIM: &str = "idempotency_key";
const NONCE_CLAIM: &str = "nonce";

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
            id: hex(&Sha256::digest(scope.as_bytes())),
            digest: hex(&Sha256::digest(what.to_string().as_bytes())),
        }))
    }
}

impl Registry {
    /// The answer the change named by `intent` already had, if it was made; refused when the
    /// key named a different change.
    pub(crate) async fn replay<T: DeserializeOwned>(
        &self,
        intent: Option<&Intent>,
    ) -> Result<Option<T>, RegistryError> {
        let Some(intent) = intent else {
            return Ok(None);
        };
        // Kept past its expiry until DynamoDB's TTL removes it: still the same change, so still
        // answered (the conditional write would refuse a second one anyway).
        match self.store.receipt(&intent.id).await? {
            None => Ok(None),
            Some(receipt) if receipt.intent != intent.digest => {
                Err(RegistryError::IdempotencyKeyReused)
            }
            Some(receipt) => serde_json::from_value(receipt.response)
                .map(Some)
                .map_err(|e| {
                    RegistryError::Store(StoreError::Failed(format!("stored receipt: {e}")))
                }),
        }
    }

    /// The receipt to write with the change answered `response`.
    pub(crate) fn receipt<T: Serialize>(
        &self,
        intent: Option<&Intent>,
        response: &T,
    ) -> Result<Option<Receipt>, RegistryError> {
        let Some(intent) = intent else {
            return Ok(None);
        };
        let at_ms = self.clock.now_ms();
        Ok(Some(Receipt {
            id: intent.id.clone(),
            intent: intent.digest.clone(),
            response: serde_json::to_value(response)
                .map_err(|e| RegistryError::Store(StoreError::Failed(format!("receipt: {e}"))))?,
            at_ms,
            expires_at_ms: at_ms + RECEIPT_TTL_MS,
        }))
    }
}

#[cfg(test)]
mod tests;
