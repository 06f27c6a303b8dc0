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

use crate::error::{RegistryError, StoreError};
use crate::records::Receipt;
use crate::service::Registry;
pub use trustreg_model::idempotency::*;

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
