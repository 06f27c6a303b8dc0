//! What the device checks before it keeps what a registry issued it (Y.3059 9.2 ii a-d: accept
//! and store the RegDevID securely): that the credential is the registry's, names the RegDevID
//! the device asked for, and binds the device's own key. A credential that fails any check is
//! never stored nor acknowledged, so a man in the middle or a confused registry cannot hand the
//! device another device's identity or a key it does not hold.
//!
//! The credential is a compact JWS (API.md, `POST /v1/registrations`). It is signed either by
//! the registry's key itself (`kid` = the published key's `kid`, as registries sign credentials
//! today) or, like a registry statement, by an instance key that the registry's key delegates
//! for an hour (`dlg` in the header: API.md "Registry statements: how to verify one").

use p256::ecdsa::VerifyingKey;
use serde::Deserialize;
use serde_json::Value;
use trustreg_model::jose::{self, Jws};

pub const CREDENTIAL_TYP: &str = "trustreg-credential+jwt";
const DELEGATION_TYP: &str = "trustreg-delegation+jwt";
/// Tolerated clock skew between the registry and the device, as for statements.
const SKEW_S: u64 = 60;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialError {
    #[error("the credential is malformed: {0}")]
    Malformed(String),
    #[error("the credential is not signed by the registry's published key")]
    Signature,
    #[error("the credential names {got}, not the RegDevID asked for ({expected})")]
    Subject { expected: String, got: String },
    #[error("the credential binds another key than the device's own")]
    Key,
    #[error("the credential is issued by {got}, not by the registry asked ({expected})")]
    Issuer { expected: String, got: String },
}

/// The claims the device relies on (the registry adds more: API.md).
#[derive(Debug, Clone, Deserialize)]
pub struct CredentialClaims {
    pub iss: String,
    pub sub: String,
    pub iat: u64,
    pub cnf: Cnf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cnf {
    pub jwk: Value,
}

#[derive(Deserialize)]
struct Delegation {
    iss: String,
    jwk: Value,
    iat: u64,
    exp: u64,
}

/// What the device expects of its credential.
pub struct Expected<'a> {
    /// The registry's published key (`public_key` of `GET /v1/registry`).
    pub registry_jwk: &'a Value,
    /// The registry's path (`path` of `GET /v1/registry`).
    pub registry_path: &'a str,
    /// The RegDevID the device asked for: the registry's path and the device's identifier.
    pub regdevid: &'a str,
    /// The device's own public key.
    pub device_key: &'a VerifyingKey,
    /// Seconds since the epoch, for a delegated signature's validity.
    pub now_s: u64,
}

/// Verifies `compact` as the device's credential; answers its claims when every check holds.
pub fn verify_credential(
    compact: &str,
    expected: &Expected<'_>,
) -> Result<CredentialClaims, CredentialError> {
    let malformed = |e: &dyn std::fmt::Display| CredentialError::Malformed(e.to_string());
    let registry_key = jose::key_from_jwk(expected.registry_jwk).map_err(|e| malformed(&e))?;
    let credential = jose::parse(compact).map_err(|e| malformed(&e))?;
    if credential.header().typ.as_deref() != Some(CREDENTIAL_TYP) {
        return Err(CredentialError::Malformed(
            "not a registry credential".into(),
        ));
    }
    let dlg: Option<String> = credential.header_member("dlg").map_err(|e| malformed(&e))?;
    let claims: CredentialClaims = credential.claims().map_err(|e| malformed(&e))?;
    match dlg {
        None => credential
            .verify(&registry_key)
            .map_err(|_| CredentialError::Signature)?,
        Some(dlg) => verify_delegated(&credential, &dlg, &registry_key, &claims, expected.now_s)?,
    }
    if claims.iss != expected.registry_path {
        return Err(CredentialError::Issuer {
            expected: expected.registry_path.to_owned(),
            got: claims.iss,
        });
    }
    if claims.sub != expected.regdevid {
        return Err(CredentialError::Subject {
            expected: expected.regdevid.to_owned(),
            got: claims.sub,
        });
    }
    // Compared by thumbprint: the same key however its JWK is spelled.
    let own = jose::jwk_thumbprint(&jose::jwk_from_key(expected.device_key));
    let bound = jose::key_from_jwk(&claims.cnf.jwk).map_err(|_| CredentialError::Key)?;
    if jose::jwk_thumbprint(&jose::jwk_from_key(&bound)) != own {
        return Err(CredentialError::Key);
    }
    Ok(claims)
}

/// A credential signed by an instance key: the delegation must be the registry key's, the
/// credential's `kid` the delegated key's thumbprint, and the credential made within the
/// delegation's validity and not in the future.
fn verify_delegated(
    credential: &Jws,
    dlg: &str,
    registry_key: &VerifyingKey,
    claims: &CredentialClaims,
    now_s: u64,
) -> Result<(), CredentialError> {
    let delegation = jose::parse(dlg).map_err(|e| CredentialError::Malformed(e.to_string()))?;
    if delegation.header().typ.as_deref() != Some(DELEGATION_TYP) {
        return Err(CredentialError::Malformed("dlg is not a delegation".into()));
    }
    delegation
        .verify(registry_key)
        .map_err(|_| CredentialError::Signature)?;
    let delegated: Delegation = delegation
        .claims()
        .map_err(|e| CredentialError::Malformed(e.to_string()))?;
    let instance_key =
        jose::key_from_jwk(&delegated.jwk).map_err(|_| CredentialError::Signature)?;
    if credential.header().kid.as_deref() != Some(jose::jwk_thumbprint(&delegated.jwk).as_str()) {
        return Err(CredentialError::Signature);
    }
    credential
        .verify(&instance_key)
        .map_err(|_| CredentialError::Signature)?;
    let made_in_time = claims.iss == delegated.iss
        && (delegated.iat..=delegated.exp).contains(&claims.iat)
        && claims.iat <= now_s + SKEW_S;
    if !made_in_time {
        // Signed by a key that was not delegated for that time: as good as no signature.
        return Err(CredentialError::Signature);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
