//! The registry's signed statements of what it answered (API.md: every lookup carries one),
//! and their offline verification.
//!
//! Signing each answer with KMS would cost a KMS request per lookup. Instead each function
//! instance holds an ephemeral P-256 session key, certified for a short time by a delegation
//! JWS that the registry's KMS key signs (one KMS request per instance and period). A statement
//! is a JWS signed by the session key whose header carries the delegation (`dlg`); anyone can
//! verify it offline with the registry's published JWK: first the delegation, then the
//! statement with the key the delegation certifies, within the delegation's validity.

use p256::ecdsa::VerifyingKey;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::jose::{self, JwsHeader};

pub const STATEMENT_TYP: &str = "trustreg-statement+jwt";
pub const DELEGATION_TYP: &str = "trustreg-delegation+jwt";
/// A device's credential (API.md, `POST /v1/registrations`), signed like a statement.
pub const CREDENTIAL_TYP: &str = "trustreg-credential+jwt";
/// How long a delegation certifies a session key.
pub const DELEGATION_LIFETIME_S: u64 = 3600;
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
pub struct Delegation {
    pub iss: String,
    pub jwk: serde_json::Value,
    pub iat: u64,
    pub exp: u64,
}

/// A statement's header: a JWS header plus the delegation of its key.
#[derive(Serialize)]
pub struct StatementHeader<'a> {
    #[serde(flatten)]
    pub jws: JwsHeader,
    pub dlg: &'a str,
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
    let claims: Statement<T> = statement.claims().map_err(RegistryError::MalformedJws)?;
    verify_delegated(
        &statement,
        registry_key,
        &claims.iss,
        claims.iat,
        now_ms / 1000,
    )?;
    Ok(claims)
}

/// Checks a JWS signed by a session key (a statement, a device credential): its `dlg` header is
/// a delegation signed by `registry_key`, its `kid` the delegated key's thumbprint, its
/// signature that key's, and its claims `iss` and `iat` (seconds) those of the registry that
/// delegated, within the delegation's validity and not later than `now_s` plus the clock skew.
/// What counts is when it was made: it stays valid after the delegation's `exp`.
pub fn verify_delegated(
    jws: &jose::Jws,
    registry_key: &VerifyingKey,
    iss: &str,
    iat: u64,
    now_s: u64,
) -> Result<(), RegistryError> {
    let dlg: String = jws
        .header_member("dlg")
        .map_err(RegistryError::MalformedJws)?
        .ok_or_else(|| {
            RegistryError::Malformed("a delegated signature carries its delegation".into())
        })?;
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
    if jws.header().kid.as_deref() != Some(jose::jwk_thumbprint(&delegated.jwk).as_str()) {
        return Err(RegistryError::BadSignature);
    }
    jws.verify(&session_key)
        .map_err(|_| RegistryError::BadSignature)?;
    let made_in_time = iss == delegated.iss
        && (delegated.iat..=delegated.exp).contains(&iat)
        && iat <= now_s + SKEW_S;
    if !made_in_time {
        // Signed by a key that was not certified for that time: as good as no signature.
        return Err(RegistryError::BadSignature);
    }
    Ok(())
}
