//! `trustreg status check` on files: a status list token signed in the test with a test key
//! stands for the registry's, its key given as a JWK or a saved registry document. No AWS, no
//! network: the check is offline once the token is downloaded.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey;
use rand_core::OsRng;
use trustreg_model::jose;
use trustreg_model::status::TrustStatus;
use trustreg_model::status_list::{
    REGISTRY_BITS, StatusList, StatusListClaims, sign_with, value_of,
};
use trustreg_tests::scratch;

const URI: &str = "https://registry.example/v1/status-lists/1";

fn check(list: &Path, key: &Path, ids: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustreg"))
        .args(["--json", "status", "check", "--list"])
        .arg(list)
        .arg("--key")
        .arg(key)
        .args(ids)
        .env_remove("TRUSTREG_API")
        .output()
        .unwrap()
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A registry's token over 4096 devices, four of them not trusted, and its key's files.
struct Fixture {
    dir: std::path::PathBuf,
    token: String,
    jwk: std::path::PathBuf,
    document: std::path::PathBuf,
}

fn fixture(name: &str) -> Fixture {
    let dir = scratch(name);
    let key = SigningKey::random(&mut OsRng);
    let mut list = StatusList::new(REGISTRY_BITS, 4096);
    for (idx, status) in [
        (1, TrustStatus::Unverified),
        (2, TrustStatus::Unreliable),
        (3, TrustStatus::Deregistered),
        (4000, TrustStatus::Unreliable),
    ] {
        list.set(idx, value_of(status)).unwrap();
    }
    let claims = StatusListClaims::new(URI, &list, now_s(), 3600, 300).with_iss("IN1.HLT.P07");
    let token = sign_with(&key, &claims, None);
    let public = jose::jwk_from_key(key.verifying_key());
    let jwk = dir.join("registry.jwk");
    std::fs::write(&jwk, public.to_string()).unwrap();
    let document = dir.join("registry.json");
    std::fs::write(
        &document,
        serde_json::json!({"path": "IN1.HLT.P07", "public_key": public}).to_string(),
    )
    .unwrap();
    Fixture {
        dir,
        token,
        jwk,
        document,
    }
}

#[test]
fn statuses_are_answered_from_a_verified_token_file() {
    let f = fixture("status-check");
    let list = f.dir.join("list.jwt");
    std::fs::write(&list, &f.token).unwrap();
    let reference = format!("3@{URI}");
    for key in [&f.jwk, &f.document] {
        let out = check(&list, key, &["0", "1", "2", &reference, "4000", "4095"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(answer["sub"], URI);
        let statuses: Vec<(&str, &str)> = answer["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].as_str().unwrap(), s["status"].as_str().unwrap()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("0", "trusted"),
                ("1", "unverified"),
                ("2", "unreliable"),
                (reference.as_str(), "deregistered"),
                ("4000", "unreliable"),
                ("4095", "trusted"),
            ]
        );
    }
}

#[test]
fn a_tampered_token_file_is_refused_and_answers_nothing() {
    let f = fixture("status-check-tampered");
    // The same token with a list where everyone is trusted, the signature left as it was.
    let segments: Vec<&str> = f.token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segments[1]).unwrap()).unwrap();
    claims["status_list"]["lst"] = StatusList::new(REGISTRY_BITS, 4096).lst().into();
    let forged = [
        segments[0].to_owned(),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        segments[2].to_owned(),
    ]
    .join(".");
    let list = f.dir.join("forged.jwt");
    std::fs::write(&list, forged).unwrap();
    let out = check(&list, &f.jwk, &["2"]);
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("signature does not verify"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_token_of_another_key_or_a_reference_to_another_list_is_refused() {
    let f = fixture("status-check-refused");
    let other = fixture("status-check-other");
    let list = f.dir.join("list.jwt");
    std::fs::write(&list, &f.token).unwrap();
    let out = check(&list, &other.jwk, &["0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature does not verify"));

    let out = check(
        &list,
        &f.jwk,
        &["0@https://registry.example/v1/status-lists/2"],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("not https://registry.example/v1/status-lists/2")
    );
}
