//! Registry statements: two-level signatures verified offline.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::*;
use crate::fakes::MemoryKeys;
use crate::ports::RegistryKeys;
use crate::sessions::tests::keyed;
use crate::virtual_ids::tests::{Fixture, T0, key};
use p256::ecdsa::VerifyingKey;

async fn registry_key(keys: &MemoryKeys) -> VerifyingKey {
    keys.public_key().await.unwrap()
}

fn fixture(seed: u8) -> (Fixture, Arc<MemoryKeys>) {
    let keys = Arc::new(MemoryKeys::new(seed));
    (keyed("IN1.HLT.P07", keys.clone()), keys)
}

fn cached(f: &Fixture) -> Arc<SessionKey> {
    f.registry.cached_session().unwrap()
}

/// A statement with the registry's current delegation, signed by `signer` as `kid` at `iat`.
fn forged(f: &Fixture, signer: &SigningKey, kid: &str, iat: u64) -> String {
    let session = cached(f);
    let header = StatementHeader {
        jws: JwsHeader::es256().with_typ(STATEMENT_TYP).with_kid(kid),
        dlg: &session.delegation,
    };
    let claims = json!({"iss": "IN1.HLT.P07", "iat": iat, "answer": {"status": "trusted"}});
    jose::sign_with(signer, &header, claims.to_string().as_bytes())
}

// Y.3059 10
// Y.3059 9.3 ii c
// A statement verifies offline with the registry's public key and gives back the answer with
// who said it and when.
#[tokio::test]
async fn a_statement_round_trips() {
    let (f, keys) = fixture(3);
    let answer = json!({"id": "x", "status": "trusted"});
    let statement = f.registry.statement(&answer).await.unwrap();
    let said: Statement<Value> =
        verify_statement(&statement, &registry_key(&keys).await, T0).unwrap();
    assert_eq!(said.answer, answer);
    assert_eq!(said.iss, "IN1.HLT.P07");
    assert_eq!(said.iat, T0 / 1000);
    let jws = jose::parse(&statement).unwrap();
    assert_eq!(jws.header().typ.as_deref(), Some(STATEMENT_TYP));
    let dlg: String = jws.header_member("dlg").unwrap().unwrap();
    let delegation = jose::parse(&dlg).unwrap();
    assert_eq!(delegation.header().typ.as_deref(), Some(DELEGATION_TYP));
    assert_eq!(delegation.header().kid.as_deref(), Some("memory-key"));
    let claims: Value = delegation.claims().unwrap();
    assert_eq!(claims["exp"], json!(T0 / 1000 + 3600));
    // Still evidence long after: what counts is when it was said.
    assert!(
        verify_statement::<Value>(&statement, &registry_key(&keys).await, T0 + 86_400_000).is_ok()
    );
}

// Y.3059 10
// A tampered answer, a statement signed by another session key, and a delegation by another
// registry key do not verify.
#[tokio::test]
async fn tampered_and_foreign_statements_do_not_verify() {
    let (f, keys) = fixture(3);
    let public = registry_key(&keys).await;
    let statement = f
        .registry
        .statement(&json!({"status": "unreliable"}))
        .await
        .unwrap();
    let mut parts: Vec<String> = statement.split('.').map(str::to_owned).collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["answer"]["status"] = json!("trusted");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = parts.join(".");
    assert!(matches!(
        verify_statement::<Value>(&tampered, &public, T0),
        Err(RegistryError::BadSignature)
    ));

    let intruder = key(0x61);
    let own_kid = jose::jwk_thumbprint(&jose::jwk_from_key(intruder.verifying_key()));
    let delegated_kid = cached(&f).kid.clone();
    for kid in [own_kid.as_str(), delegated_kid.as_str()] {
        let forged = forged(&f, &intruder, kid, T0 / 1000);
        assert!(matches!(
            verify_statement::<Value>(&forged, &public, T0),
            Err(RegistryError::BadSignature)
        ));
    }
    // The same forgery with the genuine session key verifies: the checks above are the key's.
    let genuine = forged(&f, &cached(&f).signing, &delegated_kid, T0 / 1000);
    assert!(verify_statement::<Value>(&genuine, &public, T0).is_ok());

    let (other, _) = fixture(9);
    let foreign = other
        .registry
        .statement(&json!({"status": "trusted"}))
        .await
        .unwrap();
    assert!(matches!(
        verify_statement::<Value>(&foreign, &public, T0),
        Err(RegistryError::BadSignature)
    ));
}

// Y.3059 10
// A statement made outside its delegation's validity, or in the future, does not verify.
#[tokio::test]
async fn statements_outside_their_delegation_do_not_verify() {
    let (f, keys) = fixture(3);
    let public = registry_key(&keys).await;
    f.registry.statement(&json!({})).await.unwrap();
    let session = cached(&f);
    let exp = T0 / 1000 + DELEGATION_LIFETIME_S;
    let at_end = forged(&f, &session.signing, &session.kid, exp);
    assert!(verify_statement::<Value>(&at_end, &public, exp * 1000).is_ok());
    let after = forged(&f, &session.signing, &session.kid, exp + 1);
    assert!(matches!(
        verify_statement::<Value>(&after, &public, (exp + 1) * 1000),
        Err(RegistryError::BadSignature)
    ));
    let before = forged(&f, &session.signing, &session.kid, T0 / 1000 - 1);
    assert!(verify_statement::<Value>(&before, &public, T0).is_err());
    let future = forged(&f, &session.signing, &session.kid, T0 / 1000 + 61);
    assert!(verify_statement::<Value>(&future, &public, T0).is_err());
    let skewed = forged(&f, &session.signing, &session.kid, T0 / 1000 + 60);
    assert!(verify_statement::<Value>(&skewed, &public, T0).is_ok());
}

// Y.3059 10
// card C3
// Statements cost one KMS signature per delegation: renewed only when under five minutes
// remain.
#[tokio::test]
async fn the_session_key_is_renewed_near_the_end_of_its_delegation() {
    let (f, keys) = fixture(3);
    let public = registry_key(&keys).await;
    for _ in 0..50 {
        f.registry.statement(&json!({})).await.unwrap();
    }
    assert_eq!(keys.sign_calls.load(Ordering::SeqCst), 1);
    let first = cached(&f).kid.clone();
    f.clock.advance(55 * 60 * 1000 - 1);
    f.registry.statement(&json!({})).await.unwrap();
    assert_eq!(keys.sign_calls.load(Ordering::SeqCst), 1);
    f.clock.advance(1);
    let renewed = f.registry.statement(&json!({})).await.unwrap();
    assert_eq!(keys.sign_calls.load(Ordering::SeqCst), 2);
    assert_ne!(cached(&f).kid, first);
    let now = f.clock.0.load(Ordering::SeqCst);
    assert!(verify_statement::<Value>(&renewed, &public, now).is_ok());
}

/// The code block that follows `<!-- test vector: NAME -->` in docs/API.md.
fn api_md_vector(name: &str) -> String {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md")).unwrap();
    let marker = format!("<!-- test vector: {name} -->");
    let after = &text[text.find(&marker).unwrap_or_else(|| panic!("{marker}")) + marker.len()..];
    let block = after.split("```").nth(1).unwrap();
    // Past the fence's info string (`json`, `text`).
    block.split_once('\n').unwrap().1.trim().to_owned()
}

// The statement test vector of docs/API.md ("Registry statements") is what this registry
// makes today from its inputs there (a test key, the answer, the time), so the documented
// format cannot drift from the code; and it verifies with the published key it gives.
#[tokio::test]
async fn the_api_md_test_vector_is_what_the_registry_makes() {
    let (f, keys) = fixture(3);
    let mut published = jose::jwk_from_key(&registry_key(&keys).await);
    published["kid"] = json!(keys.key_id());
    let answer: Value = serde_json::from_str(&api_md_vector("answer")).unwrap();
    let statement = f.registry.statement(&answer).await.unwrap();
    let documented_key: Value = serde_json::from_str(&api_md_vector("registry key")).unwrap();
    assert_eq!(documented_key, published);
    assert_eq!(api_md_vector("statement"), statement);
    let said: Statement<Value> = verify_statement(
        &api_md_vector("statement"),
        &jose::key_from_jwk(&documented_key).unwrap(),
        T0,
    )
    .unwrap();
    assert_eq!(said.answer, answer);
    assert_eq!(said.iat, T0 / 1000);
}
