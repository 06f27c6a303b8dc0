//! Challenges: single-use nonces for a purpose, taken by the signed request that uses them.

use crate::error::RegistryError;
use crate::messages::{ChallengeResponse, Purpose};
use crate::records::Nonce;
use crate::service::{Registry, rfc3339};

impl Registry {
    /// `POST /v1/challenges`: a single-use nonce for one purpose.
    pub async fn challenge(&self, purpose: Purpose) -> Result<ChallengeResponse, RegistryError> {
        let nonce = Nonce {
            value: self.random_token(),
            purpose,
            expires_at_ms: self.clock.now_ms() + self.config.nonce_ttl_ms,
        };
        self.store.put_nonce(&nonce).await?;
        Ok(ChallengeResponse {
            nonce: nonce.value,
            expires_at: rfc3339(nonce.expires_at_ms),
        })
    }

    /// Consumes `value` for `purpose`. A nonce taken for the wrong purpose is gone too: it
    /// was exposed to a request that should not have had it.
    pub(crate) async fn spend_nonce(
        &self,
        value: &str,
        purpose: Purpose,
    ) -> Result<(), RegistryError> {
        let nonce = self
            .store
            .take_nonce(value)
            .await?
            .ok_or(RegistryError::NonceInvalid)?;
        if nonce.purpose != purpose {
            return Err(RegistryError::NonceInvalid);
        }
        if nonce.expires_at_ms <= self.clock.now_ms() {
            return Err(RegistryError::NonceExpired);
        }
        Ok(())
    }
}
