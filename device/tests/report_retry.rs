//! The device client's report when its answer is lost: sent again over a fresh nonce under the
//! same idempotency key, so the registry recognises the report it may already have stored.
//! Against a scripted HTTP server on the loopback (the registry's side is proven against
//! LocalStack in tests/tests/fault_retries.rs).
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use trustreg_device::client::ReportParams;
use trustreg_device::{RegistryClient, SoftSecureElement, StoredRegistration};

fn claims_of(jws: &str) -> Value {
    let payload = jws.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_report_whose_answer_was_lost_is_sent_again_under_its_key() {
    let regdevid = "IN1.HLT.P07:imei:356938035643809";
    let challenge = |n: &str| (201, format!(r#"{{"nonce":"{n}","expires_at":"x"}}"#));
    let stored = format!(
        r#"{{"regdevid":"{regdevid}","status":"trusted","received_at":"t","changed":["firmware_version"]}}"#
    );
    let (url, seen) = common::scripted(vec![
        challenge("nonce-1"),
        (502, r#"{"message":"Internal server error"}"#.into()),
        challenge("nonce-2"),
        (201, stored),
    ]);
    let dir = std::env::temp_dir().join(format!("report-retry-{}", std::process::id()));
    let se = SoftSecureElement::create(&dir).unwrap();
    se.store_registration(&StoredRegistration {
        regdevid: regdevid.parse().unwrap(),
        credential: "credential".into(),
        acknowledged: true,
    })
    .unwrap();
    let params = ReportParams {
        firmware_version: "2.0".into(),
        software_version: "1.0".into(),
        ..ReportParams::default()
    };
    let answer = RegistryClient::new(url)
        .unwrap()
        .report(&se, params)
        .await
        .unwrap();
    assert_eq!(answer.changed, ["firmware_version"]);
    let seen = seen.lock().unwrap().clone();
    let reports: Vec<Value> = seen
        .iter()
        .filter(|(path, _)| path.ends_with("/reports"))
        .map(|(_, body)| claims_of(body))
        .collect();
    assert_eq!(reports.len(), 2, "sent again after the 502");
    assert_eq!(
        (&reports[0]["nonce"], &reports[1]["nonce"]),
        (&Value::from("nonce-1"), &Value::from("nonce-2")),
        "each attempt over a fresh nonce"
    );
    let key = reports[0]["idempotency_key"].as_str().unwrap();
    assert!((8..=64).contains(&key.len()), "{key}");
    assert_eq!(reports[1]["idempotency_key"], key, "the same key");
    std::fs::remove_dir_all(dir).ok();
}
