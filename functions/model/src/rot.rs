//! Root-of-trust verification of a device's certificate chain (Y.3059 9.2 i a, 7 ii, 7 iii).
//!
//! A device proves its root of trust with the certificate chain its manufacturer put in its
//! secure element. Only chains that end at a manufacturer CA the registry publishes are accepted
//! (7 ii); the leaf then yields the device's key and the identifiers it was certified for.

use std::time::Duration;

use data_encoding::HEXLOWER;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey as _;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use sha2::{Digest, Sha256};
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::extensions::GeneralName;

use crate::identifier::Identifier;

mod algorithms;
pub mod scope;
pub mod tpm;

use algorithms::{ECDSA_P256_SHA256, ECDSA_P256_SHA384, ECDSA_P384_SHA256, ECDSA_P384_SHA384};

/// Leaf plus up to four CAs: deeper manufacturer hierarchies are not expected, and the bound
/// caps the path-building work an anonymous caller can cause.
pub const MAX_CHAIN_LEN: usize = 5;

/// Manufacturer CAs sign with P-256 or P-384; devices themselves must hold P-256 keys.
static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    ECDSA_P256_SHA256,
    ECDSA_P256_SHA384,
    ECDSA_P384_SHA256,
    ECDSA_P384_SHA384,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("certificate chain is malformed: {0}")]
    Malformed(String),
    #[error("certificate chain does not end at an accepted root of trust")]
    UntrustedRoot,
    #[error("a certificate in the chain is expired or not yet valid")]
    Expired,
    #[error("the chain goes through the intermediate CA {0}, which its root revoked")]
    IntermediateRevoked(String),
    #[error("certificate chain is invalid: {0}")]
    BadChain(String),
    #[error("device key must be an ECDSA P-256 key: {0}")]
    UnsupportedKey(String),
}

/// A manufacturer CA the registry accepts (and publishes, Y.3059 9.1 vi).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedRoot {
    pub id: String,
    pub der: Vec<u8>,
    /// The identifiers it may certify (`scope`).
    pub scopes: Vec<String>,
    /// The root-of-trust types it is published for (Y.3059 7 ii): its devices claim one.
    pub rot_types: Vec<String>,
    /// Intermediate CAs under it that an administrator revoked (`intermediate_id`): a chain
    /// through one of them proves nothing.
    pub revoked_intermediates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDevice {
    pub public_key: VerifyingKey,
    /// Which accepted root anchored the chain: recorded so that revoking it reaches the device.
    pub root_id: String,
    /// Device identifiers certified in the leaf's SAN URIs, within the root's scope.
    pub identifiers: Vec<Identifier>,
    /// Identifiers the leaf names outside its root's scope: they prove nothing.
    pub out_of_scope: Vec<Identifier>,
    pub leaf_fingerprint: String,
    /// The last second the verified chain is valid: the earliest `notAfter` of the leaf and
    /// the intermediates it was verified through (webpki checked each at verification).
    pub not_after_unix: u64,
    /// Lowercase hex SHA-256 of each intermediate CA the chain was verified through, leaf
    /// side first.
    pub intermediates: Vec<String>,
    /// The root-of-trust types the anchoring root is published for (`AcceptedRoot::rot_types`).
    pub rot_types: Vec<String>,
}

/// The id of a root: lowercase hex SHA-256 of its DER.
pub fn root_id_for(der: &[u8]) -> String {
    HEXLOWER.encode(&Sha256::digest(der))
}

/// The id of an intermediate CA, as a root's `revoked_intermediates` names it: lowercase hex
/// SHA-256 of its DER, like a root's.
pub fn intermediate_id(der: &[u8]) -> String {
    root_id_for(der)
}

/// Checks that `der` can serve as a trust anchor, before an administrator adds it; returns its id.
pub fn validate_root(der: &[u8]) -> Result<String, ChainError> {
    let cert = CertificateDer::from(der);
    webpki::anchor_from_trusted_cert(&cert)
        .map_err(|e| ChainError::Malformed(format!("root: {e}")))?;
    Ok(root_id_for(der))
}

pub fn verify_device_chain(
    x5c_der: &[Vec<u8>],
    accepted_roots: &[AcceptedRoot],
    now_unix_seconds: u64,
) -> Result<VerifiedDevice, ChainError> {
    let Some(leaf_der) = x5c_der.first() else {
        return Err(ChainError::Malformed("empty chain".into()));
    };
    if x5c_der.len() > MAX_CHAIN_LEN {
        return Err(ChainError::Malformed(format!(
            "more than {MAX_CHAIN_LEN} certificates"
        )));
    }
    let leaf_cert = CertificateDer::from(leaf_der.as_slice());
    let leaf = EndEntityCert::try_from(&leaf_cert)
        .map_err(|e| ChainError::Malformed(format!("leaf: {e}")))?;

    let root_certs: Vec<CertificateDer<'_>> = accepted_roots
        .iter()
        .map(|root| CertificateDer::from(root.der.as_slice()))
        .collect();
    // A stored root that does not parse is skipped rather than failing every registration;
    // validate_root keeps such roots out in the first place.
    let anchors: Vec<(usize, TrustAnchor<'_>)> = root_certs
        .iter()
        .enumerate()
        .filter_map(|(i, cert)| webpki::anchor_from_trusted_cert(cert).ok().map(|a| (i, a)))
        .collect();
    let trust_anchors: Vec<TrustAnchor<'_>> = anchors.iter().map(|(_, a)| a.clone()).collect();
    // Devices may send their chain with or without the root; a copy of an accepted root is not
    // an intermediate, and dropping it keeps path building simple.
    let intermediates: Vec<CertificateDer<'_>> = x5c_der[1..]
        .iter()
        .filter(|der| !accepted_roots.iter().any(|root| &root.der == *der))
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();

    let time = UnixTime::since_unix_epoch(Duration::from_secs(now_unix_seconds));
    // Device certificates often carry no EKU; if one does, it must allow client authentication.
    let path = leaf
        .verify_for_usage(
            ALGORITHMS,
            &trust_anchors,
            &intermediates,
            time,
            KeyUsage::client_auth(),
            None,
            None,
        )
        .map_err(map_webpki_error)?;
    let details = leaf_details(leaf_der)?;
    let mut not_after_unix = details.not_after_unix;
    let mut through = Vec::new();
    for ca in path.intermediate_certificates() {
        let der = ca.der();
        not_after_unix = not_after_unix.min(not_after_of(der.as_ref())?);
        through.push(intermediate_id(der.as_ref()));
    }
    let anchor = path.anchor();
    let root_index = anchors
        .iter()
        .find(|(_, a)| {
            a.subject.as_ref() == anchor.subject.as_ref()
                && a.subject_public_key_info.as_ref() == anchor.subject_public_key_info.as_ref()
        })
        .map(|(i, _)| *i)
        .ok_or(ChainError::UntrustedRoot)?;
    let root = accepted_roots
        .get(root_index)
        .ok_or(ChainError::UntrustedRoot)?;
    if let Some(revoked) = through
        .iter()
        .find(|id| root.revoked_intermediates.contains(id))
    {
        return Err(ChainError::IntermediateRevoked(revoked.clone()));
    }

    let (identifiers, out_of_scope) = details
        .identifiers
        .into_iter()
        .partition(|identifier| scope::allows(&root.scopes, identifier));
    Ok(VerifiedDevice {
        public_key: details.public_key,
        root_id: root.id.clone(),
        identifiers,
        out_of_scope,
        leaf_fingerprint: HEXLOWER.encode(&Sha256::digest(leaf_der)),
        not_after_unix,
        intermediates: through,
        rot_types: root.rot_types.clone(),
    })
}

/// The P-256 key of a certificate: a manufacturer CA signs bulk requests with it.
pub fn public_key_of(der: &[u8]) -> Result<VerifyingKey, ChainError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| ChainError::Malformed(format!("certificate: {e}")))?;
    VerifyingKey::from_public_key_der(cert.public_key().raw)
        .map_err(|_| ChainError::UnsupportedKey("the certificate key is not on P-256".into()))
}

/// The device identifiers a certificate binds in its SAN URIs, without verifying anything:
/// for the device side, which registers under what its own certificate names.
pub fn identifiers_in(der: &[u8]) -> Result<Vec<Identifier>, ChainError> {
    Ok(leaf_details(der)?.identifiers)
}

struct LeafDetails {
    public_key: VerifyingKey,
    identifiers: Vec<Identifier>,
    not_after_unix: u64,
}

fn leaf_details(der: &[u8]) -> Result<LeafDetails, ChainError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| ChainError::Malformed(format!("leaf: {e}")))?;
    let public_key = VerifyingKey::from_public_key_der(cert.public_key().raw).map_err(|_| {
        ChainError::UnsupportedKey(format!(
            "leaf key is not on P-256 (algorithm {})",
            cert.public_key().algorithm.algorithm
        ))
    })?;
    // The device signs JWS with this key, so a key usage that forbids signatures disqualifies it.
    let key_usage = cert
        .key_usage()
        .map_err(|e| ChainError::Malformed(format!("leaf key usage: {e}")))?;
    if key_usage.is_some_and(|ku| !ku.value.digital_signature()) {
        return Err(ChainError::BadChain(
            "leaf key usage does not allow digitalSignature".into(),
        ));
    }
    let san = cert
        .subject_alternative_name()
        .map_err(|e| ChainError::Malformed(format!("leaf SAN: {e}")))?;
    let mut identifiers = Vec::new();
    for name in san.iter().flat_map(|san| san.value.general_names.iter()) {
        if let GeneralName::URI(uri) = name {
            match Identifier::from_san_uri(uri) {
                Some(Ok(identifier)) => identifiers.push(identifier),
                Some(Err(e)) => {
                    return Err(ChainError::Malformed(format!("leaf SAN URI: {e}")));
                }
                None => {}
            }
        }
    }
    Ok(LeafDetails {
        public_key,
        identifiers,
        not_after_unix: validity_end(&cert),
    })
}

fn validity_end(cert: &x509_parser::certificate::X509Certificate<'_>) -> u64 {
    u64::try_from(cert.validity().not_after.timestamp()).unwrap_or(0)
}

fn not_after_of(der: &[u8]) -> Result<u64, ChainError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| ChainError::Malformed(format!("intermediate: {e}")))?;
    Ok(validity_end(&cert))
}

fn map_webpki_error(error: webpki::Error) -> ChainError {
    use webpki::Error as E;
    match error {
        E::UnknownIssuer => ChainError::UntrustedRoot,
        E::CertExpired { .. } | E::CertNotValidYet { .. } => ChainError::Expired,
        E::BadDer
        | E::BadDerTime
        | E::TrailingData(_)
        | E::UnsupportedCertVersion
        | E::MalformedExtensions => ChainError::Malformed(error.to_string()),
        other => ChainError::BadChain(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
