//! Making the registry's statements (their format and verification: `trustreg_model::statements`):
//! each function instance signs with a session key that the registry's KMS key delegates.

use std::sync::Arc;

use p256::ecdsa::SigningKey;
use serde::Serialize;

use crate::error::{KeyError, RegistryError};
use crate::instance::SessionKey;
use crate::jose::{self, JwsHeader};
use crate::service::Registry;
pub use trustreg_model::statements::*;

/// A session key is replaced when its delegation has less than this left, so no statement is
/// made close to the end of its delegation.
const RENEW_BEFORE_MS: u64 = 5 * 60 * 1000;

impl Registry {
    /// A statement of `answer` by this registry, now (`statements`): no KMS request unless the
    /// session key needs its delegation renewed.
    pub(crate) async fn statement<T: Serialize>(
        &self,
        answer: &T,
    ) -> Result<String, RegistryError> {
        let now = self.clock.now_ms();
        let claims = Statement {
            iss: self.config.path.to_string(),
            iat: now / 1000,
            answer,
        };
        self.delegated(STATEMENT_TYP, &claims, now).await
    }

    /// `claims` (which carry `iss`, this registry's path, and `iat`, `now` in seconds) signed by
    /// the session key, its delegation in the header: the one format of every signature the
    /// registry makes per request (statements, device credentials), verified by
    /// `trustreg_model::statements::verify_delegated`.
    pub(crate) async fn delegated<T: Serialize>(
        &self,
        typ: &str,
        claims: &T,
        now: u64,
    ) -> Result<String, RegistryError> {
        let session = self.session_key(now).await?;
        let header = StatementHeader {
            jws: JwsHeader::es256()
                .with_typ(typ)
                .with_kid(session.kid.clone()),
            dlg: &session.delegation,
        };
        let payload = serde_json::to_vec(claims)
            .map_err(|e| RegistryError::Malformed(format!("unserializable claims: {e}")))?;
        Ok(jose::sign_with(&session.signing, &header, &payload))
    }

    async fn session_key(&self, now: u64) -> Result<Arc<SessionKey>, RegistryError> {
        if let Some(current) = self.cached_session()
            && current.expires_at_ms > now + RENEW_BEFORE_MS
        {
            return Ok(current);
        }
        // Two requests may both get here and sign a delegation each: both are valid, the last
        // one stays cached.
        let signing = self.new_session_signing_key()?;
        let jwk = jose::jwk_from_key(signing.verifying_key());
        let iat = now / 1000;
        let exp = iat + DELEGATION_LIFETIME_S;
        let delegation = Delegation {
            iss: self.config.path.to_string(),
            jwk: jwk.clone(),
            iat,
            exp,
        };
        let fresh = Arc::new(SessionKey {
            kid: jose::jwk_thumbprint(&jwk),
            delegation: self.sign_statement(DELEGATION_TYP, &delegation).await?,
            signing,
            expires_at_ms: exp * 1000,
        });
        let mut cached = self.session.lock().unwrap_or_else(|p| p.into_inner());
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    fn cached_session(&self) -> Option<Arc<SessionKey>> {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn new_session_signing_key(&self) -> Result<SigningKey, RegistryError> {
        // Random 32 bytes are a valid scalar except with negligible probability: retry a little.
        for _ in 0..4 {
            let mut bytes = [0u8; 32];
            self.rng.fill(&mut bytes);
            if let Ok(key) = SigningKey::from_bytes(&bytes.into()) {
                return Ok(key);
            }
        }
        Err(RegistryError::Keys(KeyError(
            "no valid session key from the random source".into(),
        )))
    }
}

#[cfg(test)]
mod tests;
