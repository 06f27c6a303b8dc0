//! The credential checks against credentials signed here with test keys, both as registries
//! sign them today (the registry's key) and through a delegated instance key.
#![allow(clippy::unwrap_used)]

use p256::ecdsa::SigningKey;
use serde_json::json;
use trustreg_model::jose::{self, JwsHeader};
use trustreg_model::statements::DELEGATION_TYP;

use super::*;

const PATH: &str = "IN1.HLT.P07";
const REGDEVID: &str = "IN1.HLT.P07:imei:356938035643809";
const NOW_S: u64 = 1_800_000_000;

fn key(byte: u8) -> SigningKey {
    SigningKey::from_bytes(&[byte; 32].into()).unwrap()
}

fn claims(device: &SigningKey) -> Value {
    json!({
        "iss": PATH,
        "sub": REGDEVID,
        "iat": NOW_S,
        "cnf": { "jwk": jose::jwk_from_key(device.verifying_key()) },
        "rot": "acme-root",
        "trust_domains": ["health"],
    })
}

fn signed_by_registry(registry: &SigningKey, claims: &Value) -> String {
    let header = JwsHeader::es256()
        .with_typ(CREDENTIAL_TYP)
        .with_kid("registry-key");
    jose::sign_with(registry, &header, claims.to_string().as_bytes())
}

fn delegated(registry: &SigningKey, instance: &SigningKey, iat: u64, claims: &Value) -> String {
    let jwk = jose::jwk_from_key(instance.verifying_key());
    let dlg = jose::sign_with(
        registry,
        &JwsHeader::es256()
            .with_typ(DELEGATION_TYP)
            .with_kid("registry-key"),
        json!({ "iss": PATH, "jwk": jwk, "iat": iat, "exp": iat + 3600 })
            .to_string()
            .as_bytes(),
    );
    let header = json!({
        "alg": "ES256",
        "typ": CREDENTIAL_TYP,
        "kid": jose::jwk_thumbprint(&jwk),
        "dlg": dlg,
    });
    jose::sign_with(instance, &header, claims.to_string().as_bytes())
}

fn check(compact: &str, registry: &SigningKey, device: &SigningKey) -> Result<(), CredentialError> {
    check_at(compact, registry, device, NOW_S)
}

fn check_at(
    compact: &str,
    registry: &SigningKey,
    device: &SigningKey,
    now_s: u64,
) -> Result<(), CredentialError> {
    let registry_jwk = jose::jwk_from_key(registry.verifying_key());
    verify_credential(
        compact,
        &Expected {
            registry_jwk: &registry_jwk,
            registry_path: PATH,
            regdevid: REGDEVID,
            device_key: device.verifying_key(),
            now_s,
        },
    )
    .map(|_| ())
}

// Y.3059 9.2 ii a-d
#[test]
fn a_credential_signed_by_the_registry_for_this_device_is_accepted() {
    let (registry, device) = (key(1), key(2));
    check(
        &signed_by_registry(&registry, &claims(&device)),
        &registry,
        &device,
    )
    .unwrap();
    let instance = key(3);
    check(
        &delegated(&registry, &instance, NOW_S - 10, &claims(&device)),
        &registry,
        &device,
    )
    .unwrap();
}

// Y.3059 9.2 ii a-d
#[test]
fn a_credential_signed_by_another_key_or_tampered_is_refused() {
    let (registry, device) = (key(1), key(2));
    let forged = signed_by_registry(&key(9), &claims(&device));
    assert_eq!(
        check(&forged, &registry, &device),
        Err(CredentialError::Signature)
    );

    let genuine = signed_by_registry(&registry, &claims(&device));
    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    let mut other = claims(&device);
    other["trust_domains"] = json!(["energy"]);
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        other.to_string(),
    );
    let tampered = parts.join(".");
    assert_eq!(
        check(&tampered, &registry, &device),
        Err(CredentialError::Signature)
    );
}

// Y.3059 9.2 ii a-d
#[test]
fn a_delegation_not_the_registrys_or_out_of_its_time_is_refused() {
    let (registry, device, instance) = (key(1), key(2), key(3));
    let by_stranger = delegated(&key(9), &instance, NOW_S - 10, &claims(&device));
    assert_eq!(
        check(&by_stranger, &registry, &device),
        Err(CredentialError::Signature)
    );
    // Made two hours after its delegation began: past the delegation's hour.
    let stale = delegated(&registry, &instance, NOW_S - 7200, &claims(&device));
    assert_eq!(
        check(&stale, &registry, &device),
        Err(CredentialError::Signature)
    );
}

// Y.3059 9.2 ii a-d
#[test]
fn a_credential_for_another_regdevid_issuer_or_key_is_refused() {
    let (registry, device) = (key(1), key(2));
    let mut other_device = claims(&device);
    other_device["sub"] = json!("IN1.HLT.P07:imei:490154203237518");
    assert!(matches!(
        check(
            &signed_by_registry(&registry, &other_device),
            &registry,
            &device
        ),
        Err(CredentialError::Subject { .. })
    ));
    let mut other_issuer = claims(&device);
    other_issuer["iss"] = json!("IN1.HLT.P08");
    assert!(matches!(
        check(
            &signed_by_registry(&registry, &other_issuer),
            &registry,
            &device
        ),
        Err(CredentialError::Issuer { .. })
    ));
    let other_key = claims(&key(4));
    assert_eq!(
        check(
            &signed_by_registry(&registry, &other_key),
            &registry,
            &device
        ),
        Err(CredentialError::Key)
    );
}

// Y.3059 9.2 ii a-d
#[test]
fn a_credential_made_within_its_delegation_stays_valid_after_the_delegation_ends() {
    let (registry, device, instance) = (key(1), key(2), key(3));
    let credential = delegated(&registry, &instance, NOW_S - 10, &claims(&device));
    // A year later: the delegation's hour is long over, the credential was made inside it.
    check_at(&credential, &registry, &device, NOW_S + 365 * 24 * 3600).unwrap();
    // But not before it was made (beyond the clock skew): a future-dated credential is refused.
    assert_eq!(
        check_at(&credential, &registry, &device, NOW_S - 600),
        Err(CredentialError::Signature)
    );
}
