//! The device keeps a registration only when the credential is the registry's, for the
//! RegDevID it asked for and its own key (Y.3059 9.2 ii a-d): a registry answer that fails a
//! check is refused, and nothing is stored to acknowledge. Against a scripted registry on the
//! loopback, which answers the challenge, the registration and `GET /v1/registry`.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use trustreg_device::credential::CredentialError;
use trustreg_device::{ClientError, RegistryClient, SoftSecureElement};
use trustreg_model::identifier::{Identifier, Scheme};
use trustreg_model::jose::{self, JwsHeader};
use trustreg_model::messages::DeviceInfo;

const PATH: &str = "IN1.HLT.P07";
const IMEI: &str = "356938035643809";
const REGDEVID: &str = "IN1.HLT.P07:imei:356938035643809";

fn registry_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32].into()).unwrap()
}

fn credential(signer: &SigningKey, sub: &str, cnf: &Value) -> String {
    let header = JwsHeader::es256()
        .with_typ("trustreg-credential+jwt")
        .with_kid("registry-key");
    let claims = json!({"iss": PATH, "sub": sub, "iat": 1, "cnf": {"jwk": cnf},
        "rot": "acme", "trust_domains": ["health"]});
    jose::sign_with(signer, &header, claims.to_string().as_bytes())
}

fn device(name: &str) -> SoftSecureElement {
    let dir = std::env::temp_dir().join(format!("credential-checks-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let se = SoftSecureElement::create(&dir).unwrap();
    // The scripted registry does not read the chain; the client only needs one to send.
    se.store_chain(&[vec![0x30, 0x00]]).unwrap();
    se
}

fn info() -> DeviceInfo {
    serde_json::from_value(
        json!({"make": "Acme", "model": "S1", "firmware_version": "1",
        "software_version": "1", "rot": {"type": "secure-element"}, "communication": ["wifi"],
        "power": {"source": "mains"}, "protocols": ["http"]}),
    )
    .unwrap()
}

/// Registers `se` at a scripted registry that answers `credential` for `regdevid`.
async fn register(
    se: &SoftSecureElement,
    regdevid: &str,
    credential: String,
) -> Result<(), ClientError> {
    let registered =
        json!({"regdevid": regdevid, "status": "unverified", "credential": credential});
    let published = json!({"reg_id": "P07", "path": PATH, "type": "primary",
        "public_key": jose::jwk_from_key(registry_key().verifying_key())});
    let (url, _) = common::scripted(vec![
        (201, r#"{"nonce":"n-1","expires_at":"x"}"#.into()),
        (201, registered.to_string()),
        (200, published.to_string()),
    ]);
    let id = Identifier::parse(Scheme::Imei, IMEI).unwrap();
    RegistryClient::new(url)
        .unwrap()
        .register(se, &id, info(), vec![])
        .await
        .map(|_| ())
}

fn own_jwk(se: &SoftSecureElement) -> Value {
    jose::jwk_from_key(&se.public_key())
}

// Y.3059 9.2 ii a-d
#[tokio::test]
async fn the_registrys_credential_for_this_device_is_stored() {
    let se = device("good");
    let good = credential(&registry_key(), REGDEVID, &own_jwk(&se));
    register(&se, REGDEVID, good).await.unwrap();
    let stored = se.registration().unwrap().unwrap();
    assert_eq!(stored.regdevid.to_string(), REGDEVID);
    assert!(!stored.acknowledged);
    std::fs::remove_dir_all(se.dir()).ok();
}

// Y.3059 9.2 ii a-d
#[tokio::test]
async fn a_tampered_credential_is_refused_and_not_stored() {
    let se = device("tampered");
    let good = credential(&registry_key(), REGDEVID, &own_jwk(&se));
    let forged = credential(
        &SigningKey::from_bytes(&[9u8; 32].into()).unwrap(),
        REGDEVID,
        &own_jwk(&se),
    );
    // The registry's header and signature around a payload that names other trust domains.
    let parts: Vec<&str> = good.split('.').collect();
    let payload = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
    let mut claims: Value = serde_json::from_slice(&payload).unwrap();
    claims["trust_domains"] = json!(["energy"]);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    for bad in [forged.clone(), tampered] {
        let refused = register(&se, REGDEVID, bad).await;
        assert!(
            matches!(
                refused,
                Err(ClientError::Credential(CredentialError::Signature))
            ),
            "{refused:?}"
        );
        assert!(se.registration().unwrap().is_none(), "nothing stored");
    }
    std::fs::remove_dir_all(se.dir()).ok();
}

// Y.3059 9.2 ii a-d
#[tokio::test]
async fn a_credential_for_another_regdevid_is_refused_and_not_stored() {
    let se = device("other-id");
    let other = "IN1.HLT.P07:imei:490154203237518";
    // Signed for another device, and answered as that device's RegDevID too.
    let credential_for_other = credential(&registry_key(), other, &own_jwk(&se));
    let refused = register(&se, other, credential_for_other).await;
    assert!(
        matches!(
            refused,
            Err(ClientError::Credential(CredentialError::Subject { .. }))
        ),
        "{refused:?}"
    );
    // A genuine credential under a RegDevID the answer swapped.
    let good = credential(&registry_key(), REGDEVID, &own_jwk(&se));
    let refused = register(&se, other, good).await;
    assert!(
        matches!(
            refused,
            Err(ClientError::Credential(CredentialError::Subject { .. }))
        ),
        "{refused:?}"
    );
    assert!(se.registration().unwrap().is_none(), "nothing stored");
    std::fs::remove_dir_all(se.dir()).ok();
}

// Y.3059 9.2 ii a-d
#[tokio::test]
async fn a_credential_binding_another_key_is_refused_and_not_stored() {
    let se = device("other-key");
    let stranger = jose::jwk_from_key(
        SigningKey::from_bytes(&[5u8; 32].into())
            .unwrap()
            .verifying_key(),
    );
    let refused = register(
        &se,
        REGDEVID,
        credential(&registry_key(), REGDEVID, &stranger),
    )
    .await;
    assert!(
        matches!(refused, Err(ClientError::Credential(CredentialError::Key))),
        "{refused:?}"
    );
    assert!(se.registration().unwrap().is_none(), "nothing stored");
    std::fs::remove_dir_all(se.dir()).ok();
}
