//! Challenges: single-use nonces for a purpose, taken by the signed request that uses them.

use crate::error::RegistryError;
use crate::messages::{ChallengeRequest, ChallengeResponse, Purpose};
use crate::records::Nonce;
use crate::service::{Registry, rfc3339};

impl Registry {
    /// `POST /v1/challenges` as the route receives it: a `tpm-activation` challenge takes the
    /// TPM's identity (`crate::tpm`), every other purpose nothing more.
    pub async fn challenge_for(
        &self,
        request: ChallengeRequest,
    ) -> Result<ChallengeResponse, RegistryError> {
        match (request.purpose, request.tpm) {
            (Purpose::TpmActivation, Some(tpm)) => self.tpm_challenge(&tpm).await,
            (Purpose::TpmActivation, None) => Err(RegistryError::Malformed(
                "a tpm-activation challenge needs the TPM's `tpm` identity".into(),
            )),
            (_, Some(_)) => Err(RegistryError::Malformed(
                "`tpm` is for tpm-activation challenges only".into(),
            )),
            (purpose, None) => self.challenge(purpose).await,
        }
    }

    /// A single-use nonce for one purpose (not `tpm-activation`, which `challenge_for` makes
    /// with its credential).
    pub async fn challenge(&self, purpose: Purpose) -> Result<ChallengeResponse, RegistryError> {
        if purpose == Purpose::TpmActivation {
            return Err(RegistryError::Malformed(
                "a tpm-activation challenge needs the TPM's `tpm` identity".into(),
            ));
        }
        let nonce = Nonce {
            value: self.random_token(),
            purpose,
            expires_at_ms: self.clock.now_ms() + self.config.nonce_ttl_ms,
            tpm: None,
        };
        self.store.put_nonce(&nonce).await?;
        Ok(ChallengeResponse {
            nonce: nonce.value,
            expires_at: rfc3339(nonce.expires_at_ms),
            tpm: None,
        })
    }

    /// Consumes `value` for `purpose`. A nonce taken for the wrong purpose is gone too: it
    /// was exposed to a request that should not have had it.
    pub(crate) async fn spend_nonce(
        &self,
        value: &str,
        purpose: Purpose,
    ) -> Result<(), RegistryError> {
        self.take_nonce_for(value, purpose).await.map(|_| ())
    }

    /// `spend_nonce`, answering the nonce's record (a `tpm-activation` nonce's credential).
    pub(crate) async fn take_nonce_for(
        &self,
        value: &str,
        purpose: Purpose,
    ) -> Result<Nonce, RegistryError> {
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
        Ok(nonce)
    }
}
