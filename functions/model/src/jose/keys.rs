//! P-256 public keys as JWK (RFC 7517/7518 6.2) and as SPKI DER (what KMS GetPublicKey returns).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::EncodedPoint;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::JoseError;

/// `{kty: EC, crv: P-256, x, y}` with 32-byte big-endian coordinates.
pub fn jwk_from_key(key: &VerifyingKey) -> Value {
    let (x, y) = coordinates(key);
    json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y })
}

/// The RFC 7638 thumbprint (base64url SHA-256 of the required members, sorted, no whitespace):
/// a stable id for a key however its JWK was spelled. Meant for JWKs that passed
/// `key_from_jwk`; absent members hash as empty strings rather than failing.
pub fn jwk_thumbprint(jwk: &Value) -> String {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
    // serde_json's map is ordered by key and prints compactly: the canonical form RFC 7638 asks.
    let canonical = json!({
        "crv": member("crv"),
        "kty": member("kty"),
        "x": member("x"),
        "y": member("y"),
    })
    .to_string();
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

pub fn key_from_jwk(jwk: &Value) -> Result<VerifyingKey, JoseError> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    if member("kty") != Some("EC") {
        return Err(JoseError::Key("kty must be EC"));
    }
    if member("crv") != Some("P-256") {
        return Err(JoseError::Key("crv must be P-256"));
    }
    // A private key sent where a public key belongs is a leak we refuse to store or echo.
    if jwk.get("d").is_some() {
        return Err(JoseError::Key("JWK contains a private key (d)"));
    }
    let coordinate = |name: &str| -> Result<[u8; 32], JoseError> {
        let bytes = member(name)
            .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
            .ok_or(JoseError::Key("x and y must be base64url"))?;
        bytes
            .try_into()
            .map_err(|_| JoseError::Key("x and y must be 32 bytes"))
    };
    let (x, y) = (coordinate("x")?, coordinate("y")?);
    let point = EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
    VerifyingKey::from_encoded_point(&point).map_err(|_| JoseError::Key("point is not on P-256"))
}

pub fn key_from_spki_der(der: &[u8]) -> Result<VerifyingKey, JoseError> {
    VerifyingKey::from_public_key_der(der)
        .map_err(|_| JoseError::Key("not a P-256 SubjectPublicKeyInfo"))
}

fn coordinates(key: &VerifyingKey) -> (String, String) {
    let point = key.to_encoded_point(false);
    // An uncompressed point of a valid key always has both coordinates.
    let encode =
        |c: Option<&p256::FieldBytes>| c.map(|c| URL_SAFE_NO_PAD.encode(c)).unwrap_or_default();
    (encode(point.x()), encode(point.y()))
}
