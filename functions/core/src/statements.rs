//! The registry's signed statements of what it answered (API.md: every lookup carries one).
//!
//! Signing each answer with KMS would cost a KMS request per lookup. Instead each function
//! instance holds an ephemeral P-256 session key, certified for a short time by a delegation
//! JWS that the registry's KMS key signs (one KMS request per instance and period). A statement
//! is a JWS signed by the session key whose header carries the delegation (`dlg`); anyone can
//! verify it offline with the registry's published JWK: first the delegation, then the
//! statement with the key the delegation certifies, within the delegation's validity.

use std::sync::Arc;

use p256::ecdsa::{SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{KeyError, RegistryError};
use crate::jose::{self, JwsHeader};
use crate::service::Registry;

pub const STATEMENT_TYP: &str = "trustreg-statement+jwt";
pub const DELEGATION_TYP: &str = "trustreg-delegation+jwt";
/// How long a delegation certifies a session key.
pub const DELEGATION_LIFETIME_S: u64 = 3600;
/// A session key is replaced when its delegation has less than this left, so no statement is
/// made close to the end of its delegation.
const RENEW_BEFORE_MS: u64 = 5 * 60 * 1000;
/// Tolerated clock skew between the registry and a verifier.
const SKEW_S: u64 = 60;
/// The largest statement verified: a bulk lookup's (1000 devices) fits with room to spare.
pub const MAX_STATEMENT_LEN: usize = 4 * 1024 * 1024;

/// What a statement says: who said it, when (seconds since the epoch), and the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement<T> {
    pub iss: String,
    pub iat: u64,
    pub answer: T,
}

/// Claims of a delegation: the registry (`iss`) certifies `jwk` from `iat` to `exp` (seconds).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Delegation {
    iss: String,
    jwk: serde_json::Value,
    iat: u64,
    exp: u64,
}

/// A statement's header: a JWS header plus the delegation of its key.
#[derive(Serialize)]
struct StatementHeader<'a> {
    #[serde(flatten)]
    jws: JwsHeader,
    dlg: &'a str,
}

/// This instance's session key and the delegation that certifies it.
pub(crate) struct SessionKey {
    signing: SigningKey,
    /// The JWK thumbprint of the public key: the statements' `kid`.
    kid: String,
    delegation: String,
    expires_at_ms: u64,
}

impl Registry {
    /// A statement of `answer` by this registry, now (`statements`): no KMS request unless the
    /// session key needs its delegation renewed.
    pub(crate) async fn statement<T: Serialize>(
        &self,
        answer: &T,
    ) -> Result<String, RegistryError> {
        let now = self.clock.now_ms();
        let session = self.session_key(now).await?;
        let header = StatementHeader {
            jws: JwsHeader::es256()
                .with_typ(STATEMENT_TYP)
                .with_kid(session.kid.clone()),
            dlg: &session.delegation,
        };
        let claims = Statement {
            iss: self.config.path.to_string(),
            iat: now / 1000,
            answer,
        };
        let payload = serde_json::to_vec(&claims)
            .map_err(|e| RegistryError::Malformed(format!("unserializable answer: {e}")))?;
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

/// Verifies a statement against the registry's public key at `now_ms`, returning its claims:
/// the delegation must be the registry's, the statement signed by the key it certifies, and
/// made within the delegation's validity and not in the future.
pub fn verify_statement<T: DeserializeOwned>(
    compact: &str,
    registry_key: &VerifyingKey,
    now_ms: u64,
) -> Result<Statement<T>, RegistryError> {
    let statement =
        jose::parse_up_to(compact, MAX_STATEMENT_LEN).map_err(RegistryError::MalformedJws)?;
    if statement.header().typ.as_deref() != Some(STATEMENT_TYP) {
        return Err(RegistryError::Malformed("not a registry statement".into()));
    }
    let dlg: String = statement
        .header_member("dlg")
        .map_err(RegistryError::MalformedJws)?
        .ok_or_else(|| RegistryError::Malformed("a statement carries its delegation".into()))?;
    let delegation = jose::parse(&dlg).map_err(RegistryError::MalformedJws)?;
    if delegation.header().typ.as_deref() != Some(DELEGATION_TYP) {
        return Err(RegistryError::Malformed("dlg is not a delegation".into()));
    }
    delegation
        .verify(registry_key)
        .map_err(|_| RegistryError::BadSignature)?;
    let delegated: Delegation = delegation.claims().map_err(RegistryError::MalformedJws)?;
    let session_key = jose::key_from_jwk(&delegated.jwk)
        .map_err(|e| RegistryError::UnsupportedKey(e.to_string()))?;
    if statement.header().kid.as_deref() != Some(jose::jwk_thumbprint(&delegated.jwk).as_str()) {
        return Err(RegistryError::BadSignature);
    }
    statement
        .verify(&session_key)
        .map_err(|_| RegistryError::BadSignature)?;
    let claims: Statement<T> = statement.claims().map_err(RegistryError::MalformedJws)?;
    let made_in_time = claims.iss == delegated.iss
        && (delegated.iat..=delegated.exp).contains(&claims.iat)
        && claims.iat <= now_ms / 1000 + SKEW_S;
    if !made_in_time {
        // Signed by a key that was not certified for that time: as good as no signature.
        return Err(RegistryError::BadSignature);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests;
