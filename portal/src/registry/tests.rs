//! The portal shows only what the registry signed (card C5: statements verified in the browser).
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use trustreg_model::jose::{self, JwsHeader};
use trustreg_model::statements::{DELEGATION_TYP, STATEMENT_TYP};

use super::*;

const NOW_MS: u64 = 1_800_000_000_000;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

fn registry(key: &SigningKey, path: &str) -> Registry {
    Registry::from_document(json!({
        "path": path,
        "public_key": jose::jwk_from_key(key.verifying_key()),
    }))
    .unwrap()
}

/// A statement as a registry makes one: a session key certified by the registry's key.
fn statement(registry_key: &SigningKey, iss: &str, answer: &Value) -> String {
    let session = key(9);
    let jwk = jose::jwk_from_key(session.verifying_key());
    let now = NOW_MS / 1000;
    let delegation = jose::sign_with(
        registry_key,
        &JwsHeader::es256().with_typ(DELEGATION_TYP),
        json!({"iss": iss, "jwk": jwk, "iat": now - 10, "exp": now + 3600})
            .to_string()
            .as_bytes(),
    );
    let header = json!({
        "alg": "ES256", "typ": STATEMENT_TYP, "kid": jose::jwk_thumbprint(&jwk), "dlg": delegation,
    });
    jose::sign_with(
        &session,
        &header,
        json!({"iss": iss, "iat": now, "answer": answer})
            .to_string()
            .as_bytes(),
    )
}

// card C5
// Y.3059 9.3 ii c
#[test]
fn a_statement_of_the_registry_gives_back_its_answer() {
    let answer = json!({"id": "IN1.HLT.P07:imei:490154203237518", "status": "trusted"});
    let signed = statement(&key(1), "IN1.HLT.P07", &answer);
    let said: Statement<Value> = registry(&key(1), "IN1.HLT.P07")
        .verified(Some(&signed), NOW_MS)
        .unwrap();
    assert_eq!(said.answer, answer);
}

#[test]
fn a_statement_by_another_key_or_registry_or_none_is_refused() {
    let answer = json!({"status": "trusted"});
    let by_other_key = statement(&key(2), "IN1.HLT.P07", &answer);
    let by_other_registry = statement(&key(1), "IN1.HLT.P08", &answer);
    let ours = registry(&key(1), "IN1.HLT.P07");
    for (statement, case) in [
        (Some(by_other_key.as_str()), "another key"),
        (Some(by_other_registry.as_str()), "another registry"),
        (None, "no statement"),
    ] {
        let refused = ours.verified::<Value>(statement, NOW_MS).unwrap_err();
        assert_eq!(
            refused.code.as_deref(),
            Some("statement-not-verified"),
            "{case}"
        );
    }
}

#[test]
fn a_tampered_answer_is_refused() {
    let signed = statement(&key(1), "IN1.HLT.P07", &json!({"status": "unreliable"}));
    let mut parts: Vec<String> = signed.split('.').map(str::to_owned).collect();
    parts[1] = base64_url(
        &json!({"iss": "IN1.HLT.P07", "iat": NOW_MS / 1000, "answer": {"status": "trusted"}}),
    );
    let tampered = parts.join(".");
    assert!(
        registry(&key(1), "IN1.HLT.P07")
            .verified::<Value>(Some(&tampered), NOW_MS)
            .is_err()
    );
}

fn base64_url(value: &Value) -> String {
    let input = jose::signing_input(&json!({}), value.to_string().as_bytes());
    input.split('.').nth(1).unwrap().to_owned()
}
