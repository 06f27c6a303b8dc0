//! What the device checks before it keeps what a registry issued it (Y.3059 9.2 ii a-d: accept
//! and store the RegDevID securely): that the credential is the registry's, names the RegDevID
//! the device asked for, and binds the device's own key. A credential that fails any check is
//! never stored nor acknowledged, so a man in the middle or a confused registry cannot hand the
//! device another device's identity or a key it does not hold.
//!
//! The credential is a compact JWS (API.md, `POST /v1/registrations`) signed like a registry
//! statement: by an instance key that the registry's key delegates for an hour (`dlg` in the
//! header: API.md "Registry statements: how to verify one"), checked by the model's one
//! verification of delegated signatures. Credentials that registries signed with their key
//! itself (`kid` = the published key's `kid`, before delegation) still verify.

use p256::ecdsa::VerifyingKey;
use serde::Deserialize;
use serde_json::Value;
use trustreg_model::error::RegistryError;
use trustreg_model::jose;
use trustreg_model::statements;

pub use trustreg_model::statements::CREDENTIAL_TYP;

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
        Some(_) => statements::verify_delegated(
            &credential,
            &registry_key,
            &claims.iss,
            claims.iat,
            expected.now_s,
        )
        .map_err(|e| match e {
            RegistryError::Malformed(_) | RegistryError::MalformedJws(_) => malformed(&e),
            _ => CredentialError::Signature,
        })?,
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

#[cfg(test)]
mod tests;
