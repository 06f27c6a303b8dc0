//! The EK certificate (TCG EK Credential Profile for TPM Family 2.0 §3): the TPM
//! manufacturer's statement that the EK is in a genuine TPM. Its chain must end at an accepted
//! root published for the `tpm` root-of-trust type.

use std::time::Duration;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use super::TpmError;
use super::public::{Curve, PublicKey, TpmPublic};
use crate::rot::algorithms::{
    ECDSA_P256_SHA256, ECDSA_P256_SHA384, ECDSA_P384_SHA256, ECDSA_P384_SHA384, RSA_PKCS1_SHA256,
    RSA_PKCS1_SHA384,
};
use crate::rot::{AcceptedRoot, MAX_CHAIN_LEN};

/// The root-of-trust type EK roots are published for.
pub const TPM_ROT_TYPE: &str = "tpm";

/// tcg-kp-EKCertificate (2.23.133.8.1), DER content octets: EK certificates may carry it as
/// their only extended key usage (EK Credential Profile §3.2.16).
const TCG_KP_EK_CERTIFICATE: &[u8] = &[0x67, 0x81, 0x05, 0x08, 0x01];

/// TPM vendors' CAs sign with RSA as often as with ECDSA.
static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    ECDSA_P256_SHA256,
    ECDSA_P256_SHA384,
    ECDSA_P384_SHA256,
    ECDSA_P384_SHA384,
    RSA_PKCS1_SHA256,
    RSA_PKCS1_SHA384,
];

/// Verifies the EK certificate chain (`chain[0]` the EK certificate, then intermediates) to an
/// accepted root whose `rot_types` include `tpm`, and that it certifies `ek`'s key. Returns the
/// root's id.
pub fn verify_ek_certificate(
    chain: &[Vec<u8>],
    ek: &TpmPublic,
    accepted_roots: &[AcceptedRoot],
    now_unix_seconds: u64,
) -> Result<String, TpmError> {
    let Some(leaf_der) = chain.first() else {
        return Err(TpmError::EkCertificate("no EK certificate".into()));
    };
    if chain.len() > MAX_CHAIN_LEN {
        return Err(TpmError::EkCertificate("chain too long".into()));
    }
    let roots: Vec<&AcceptedRoot> = accepted_roots
        .iter()
        .filter(|root| root.rot_types.iter().any(|t| t == TPM_ROT_TYPE))
        .collect();
    let root_certs: Vec<CertificateDer<'_>> = roots
        .iter()
        .map(|root| CertificateDer::from(root.der.as_slice()))
        .collect();
    let anchors: Vec<(usize, TrustAnchor<'_>)> = root_certs
        .iter()
        .enumerate()
        .filter_map(|(i, c)| webpki::anchor_from_trusted_cert(c).ok().map(|a| (i, a)))
        .collect();
    let trust_anchors: Vec<TrustAnchor<'_>> = anchors.iter().map(|(_, a)| a.clone()).collect();
    let intermediates: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let leaf_cert = CertificateDer::from(leaf_der.as_slice());
    let leaf = EndEntityCert::try_from(&leaf_cert)
        .map_err(|e| TpmError::EkCertificate(format!("EK certificate: {e}")))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(now_unix_seconds));
    // webpki checks validity, CA basic constraints and path length; the EK's critical SAN is a
    // directoryName it does not match against anything.
    let path = leaf
        .verify_for_usage(
            ALGORITHMS,
            &trust_anchors,
            &intermediates,
            time,
            KeyUsage::required_if_present(TCG_KP_EK_CERTIFICATE),
            None,
            None,
        )
        .map_err(|e| match e {
            webpki::Error::UnknownIssuer => TpmError::EkUntrusted,
            other => TpmError::EkCertificate(other.to_string()),
        })?;
    let anchor = path.anchor();
    let root = anchors
        .iter()
        .find(|(_, a)| {
            a.subject.as_ref() == anchor.subject.as_ref()
                && a.subject_public_key_info.as_ref() == anchor.subject_public_key_info.as_ref()
        })
        .and_then(|(i, _)| roots.get(*i))
        .ok_or(TpmError::EkUntrusted)?;
    if !certifies(leaf_der, ek)? {
        return Err(TpmError::EkCertificate(
            "the EK certificate is for another key".into(),
        ));
    }
    Ok(root.id.clone())
}

/// Whether the certificate's subject key is the EK's key.
fn certifies(der: &[u8], ek: &TpmPublic) -> Result<bool, TpmError> {
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    use rsa::traits::PublicKeyParts as _;
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| TpmError::EkCertificate(format!("EK certificate: {e}")))?;
    let spki = cert.public_key();
    let key_bits = spki.subject_public_key.data.as_ref();
    Ok(match &ek.key {
        PublicKey::Ecc { .. } => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            let expected = match ek.sec1_point().map(|(c, _)| c) {
                Some(Curve::P256) => "1.2.840.10045.3.1.7",
                Some(Curve::P384) => "1.3.132.0.34",
                None => return Ok(false),
            };
            curve_oid.as_deref() == Some(expected)
                && ek.sec1_point().is_some_and(|(_, point)| point == key_bits)
        }
        PublicKey::Rsa { modulus, exponent } => match rsa::RsaPublicKey::from_pkcs1_der(key_bits) {
            Ok(key) => {
                key.n().to_bytes_be() == strip_zeros(modulus)
                    && key.e() == &rsa::BigUint::from(*exponent)
            }
            Err(_) => false,
        },
    })
}

fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}
