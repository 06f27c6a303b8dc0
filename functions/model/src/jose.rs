//! Compact JWS (RFC 7515) with ES256 only (API.md "One signature format").
//!
//! Hand-rolled and thin on purpose: the registry signs through KMS, so the signing input and the
//! assembly of the compact form must be available as separate steps, and accepting exactly one
//! algorithm removes the algorithm-confusion attacks general JOSE libraries have to defend.

mod keys;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use keys::{jwk_from_key, jwk_thumbprint, key_from_jwk, key_from_spki_der};

pub const ES256: &str = "ES256";
/// A registration JWS carries a certificate chain in `x5c`; five P-256 certificates fit easily.
pub const MAX_COMPACT_LEN: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("JWS is larger than accepted")]
    TooLarge,
    #[error("JWS must be three base64url segments separated by '.'")]
    Malformed,
    #[error("JWS header is not valid: {0}")]
    Header(String),
    #[error("JWS algorithm must be ES256")]
    UnsupportedAlgorithm,
    #[error("JWS header uses critical extensions, none are supported")]
    CriticalExtension,
    #[error("ES256 signature must be 64 bytes (r || s)")]
    SignatureEncoding,
    #[error("JWS signature does not verify")]
    BadSignature,
    #[error("JWS payload is not the expected JSON: {0}")]
    Claims(String),
    #[error("x5c entry is not base64")]
    X5c,
    #[error("not a valid P-256 public key: {0}")]
    Key(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JwsHeader {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Standard base64 (not base64url) DER certificates, leaf first (RFC 7515 4.1.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
}

impl JwsHeader {
    pub fn es256() -> Self {
        JwsHeader {
            alg: ES256.to_owned(),
            ..JwsHeader::default()
        }
    }

    pub fn with_typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    pub fn with_x5c_der(mut self, chain: &[impl AsRef<[u8]>]) -> Self {
        self.x5c = Some(chain.iter().map(|der| STANDARD.encode(der)).collect());
        self
    }
}

/// A parsed compact JWS whose signature has NOT been verified yet: call `verify` before trusting
/// anything but the header fields needed to find the key.
#[derive(Debug, Clone)]
pub struct Jws {
    header: JwsHeader,
    signing_input: String,
    payload: Vec<u8>,
    signature: Signature,
}

pub fn parse(compact: &str) -> Result<Jws, JoseError> {
    parse_up_to(compact, MAX_COMPACT_LEN)
}

/// `parse` with another bound: a registry statement over a bulk answer is larger than any
/// request, and its verifier chooses what it accepts.
pub fn parse_up_to(compact: &str, max_len: usize) -> Result<Jws, JoseError> {
    if compact.len() > max_len {
        return Err(JoseError::TooLarge);
    }
    let mut segments = compact.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(JoseError::Malformed);
    };
    let decode = |segment: &str| {
        URL_SAFE_NO_PAD
            .decode(segment)
            .map_err(|_| JoseError::Malformed)
    };
    let header_json: serde_json::Value = serde_json::from_slice(&decode(header_b64)?)
        .map_err(|e| JoseError::Header(e.to_string()))?;
    // Unknown critical extensions must make the JWS invalid (RFC 7515 4.1.11), and we know none.
    if header_json.get("crit").is_some() {
        return Err(JoseError::CriticalExtension);
    }
    let header: JwsHeader =
        serde_json::from_value(header_json).map_err(|e| JoseError::Header(e.to_string()))?;
    if header.alg != ES256 {
        return Err(JoseError::UnsupportedAlgorithm);
    }
    let payload = decode(payload_b64)?;
    let signature_raw = decode(signature_b64)?;
    let signature =
        Signature::from_slice(&signature_raw).map_err(|_| JoseError::SignatureEncoding)?;
    Ok(Jws {
        header,
        signing_input: format!("{header_b64}.{payload_b64}"),
        payload,
        signature,
    })
}

impl Jws {
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    pub fn payload_bytes(&self) -> &[u8] {
        &self.payload
    }

    /// The claims, without a signed request's binding (`crate::binding`), which was checked
    /// against the request before.
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, JoseError> {
        without_binding(&self.payload)
            .and_then(serde_json::from_value)
            .map_err(|e| JoseError::Claims(e.to_string()))
    }

    /// The exact bytes that were signed: the received segments, never a re-encoding.
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    pub fn signature_raw(&self) -> [u8; 64] {
        self.signature.to_bytes().into()
    }

    /// The DER certificates of the `x5c` header, leaf first; empty when there is none.
    pub fn x5c_der(&self) -> Result<Vec<Vec<u8>>, JoseError> {
        self.header
            .x5c
            .iter()
            .flatten()
            .map(|cert| STANDARD.decode(cert).map_err(|_| JoseError::X5c))
            .collect()
    }

    /// A header member `JwsHeader` does not model (such as a statement's `dlg`), read from the
    /// received header segment.
    pub fn header_member<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, JoseError> {
        let segment = self
            .signing_input
            .split('.')
            .next()
            .ok_or(JoseError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(segment)
            .map_err(|_| JoseError::Malformed)?;
        let mut header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes).map_err(|e| JoseError::Header(e.to_string()))?;
        header
            .remove(name)
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| JoseError::Header(format!("{name}: {e}")))
    }

    pub fn verify(&self, key: &VerifyingKey) -> Result<(), JoseError> {
        key.verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JoseError::BadSignature)
    }
}

/// `BASE64URL(header) || '.' || BASE64URL(payload)`: what the signer (KMS or a key) signs.
/// Any serializable header: a registry statement adds its delegation (`dlg`) to a `JwsHeader`.
pub fn signing_input<H: Serialize + ?Sized>(header: &H, payload: &[u8]) -> String {
    // A struct of strings always serializes; the fallback only keeps this signature infallible.
    let header_json = serde_json::to_vec(header).unwrap_or_default();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

pub fn assemble(signing_input: &str, signature_raw: &[u8; 64]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature_raw))
}

/// Signs with a local key: the device side and tests. The registry signs through KMS instead.
pub fn sign_with<H: Serialize + ?Sized>(key: &SigningKey, header: &H, payload: &[u8]) -> String {
    let input = signing_input(header, payload);
    let signature: Signature = key.sign(input.as_bytes());
    assemble(&input, &signature.to_bytes().into())
}

/// KMS returns ECDSA signatures DER-encoded; JWS wants the fixed 64-byte `r || s` (RFC 7518 3.4).
pub fn der_to_raw(der: &[u8]) -> Result<[u8; 64], JoseError> {
    let signature = Signature::from_der(der).map_err(|_| JoseError::SignatureEncoding)?;
    Ok(signature.to_bytes().into())
}

pub fn raw_to_der(raw: &[u8; 64]) -> Result<Vec<u8>, JoseError> {
    let signature = Signature::from_slice(raw).map_err(|_| JoseError::SignatureEncoding)?;
    Ok(signature.to_der().as_bytes().to_vec())
}

#[cfg(test)]
mod tests;

/// The claim of a signed request that names its HTTP method (`binding`).
pub const METHOD_CLAIM: &str = "htm";
/// The claim of a signed request that names its route's path (`binding`).
pub const PATH_CLAIM: &str = "htu";
/// The claims of a signed request's binding (`binding`), which no flow reads as its own.
pub const BINDING_CLAIMS: [&str; 2] = [METHOD_CLAIM, PATH_CLAIM];

/// The claims of a signed payload without the binding's: the flows' claim types refuse
/// members they do not know, and the binding was checked before.
pub fn without_binding(payload: &[u8]) -> Result<serde_json::Value, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_slice(payload)?;
    if let Some(object) = value.as_object_mut() {
        for claim in BINDING_CLAIMS {
            object.remove(claim);
        }
    }
    Ok(value)
}
