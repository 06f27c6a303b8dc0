//! Backup and restore drill (issue 19): a registry's table copied into a new stack that took
//! over the registry's retained KMS keys (scripts/restore-drill) answers as the registry did:
//! the same devices, statuses, histories and owners' PII, under statements signed with the
//! same published key.
//!
//! The source is the test command's stack `trustreg-drill` (scripts/test), a primary registry
//! of its own outside the hierarchy: its restored twin holds the same RegID and must not send
//! changes to a parent. The drill deploys (or updates) `trustreg-drill-restored` from the test.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::{Value, json};
use trustreg_core::jose;
use trustreg_core::ports::Clock;
use trustreg_device::RegistryClient;
use trustreg_device::client::ReportParams;
use trustreg_tests::devices::{admin_hold, owned_device, trusted_device};
use trustreg_tests::{
    Answer, Stack, challenge, enquirer_token, post_signed, repo_root, send, stack_from_file,
    test_admin,
};

const SOURCE: &str = "trustreg-drill";
const TARGET: &str = "trustreg-drill-restored";

fn stack(name: &str) -> Stack {
    stack_from_file(&repo_root().join(format!(".trustreg/stacks/{name}.json")))
}

async fn get(api: &str, path: &str, token: Option<&str>) -> Answer {
    send("GET", format!("{api}{path}"), token, None).await
}

async fn admin_token(api: &str) -> String {
    let (name, key) = test_admin();
    let kid = format!("admin:{name}");
    let session = post_signed(
        api,
        "/v1/sessions",
        &key,
        &kid,
        &json!({"nonce": challenge(api, "login").await, "enquirer_id": kid}),
    )
    .await;
    assert_eq!(session.status, 200, "{session:?}");
    session.body["access_token"].as_str().unwrap().to_owned()
}

fn segment(id: &str) -> String {
    id.replace('/', "%2F")
}

/// What a registry answers about `regdevids`: the public lookup, an enquirer's details and
/// history, an administrator's lookup (owner PII included); each statement verified with the
/// registry's published key and then left out (its `iat` is the time of the answer).
async fn answers(stack: &Stack, regdevids: &[&str]) -> Value {
    let api = stack.api_url();
    let document = get(&api, "/v1/registry", None).await;
    assert_eq!(document.status, 200, "{document:?}");
    let key = jose::key_from_jwk(&document.body["public_key"]).unwrap();
    let enquirer = enquirer_token(&api).await;
    let admin = admin_token(&api).await;
    let mut all = serde_json::Map::new();
    for regdevid in regdevids {
        let path = format!("/v1/devices/{}", segment(regdevid));
        let mut seen = Vec::new();
        for (what, path, token) in [
            ("public", path.clone(), None),
            ("enquirer", path.clone(), Some(enquirer.as_str())),
            (
                "history",
                format!("{path}/history"),
                Some(enquirer.as_str()),
            ),
            ("admin", path.clone(), Some(admin.as_str())),
        ] {
            let mut answer = get(&api, &path, token).await;
            assert_eq!(answer.status, 200, "{what} {path}: {answer:?}");
            if let Some(statement) = answer.body.as_object_mut().unwrap().remove("statement") {
                trustreg_core::statements::verify_statement::<Value>(
                    statement.as_str().unwrap(),
                    &key,
                    trustreg_aws::SystemClock.now_ms(),
                )
                .unwrap_or_else(|e| panic!("{what} {path}: statement: {e}"));
            }
            seen.push(json!({what: answer.body}));
        }
        all.insert((*regdevid).to_owned(), Value::Array(seen));
    }
    json!({"public_key": document.body["public_key"], "devices": all})
}

// Y.3059 9.3 i a
// Y.3059 9.1 iii
#[tokio::test]
async fn a_registry_restored_into_a_new_stack_with_its_keys_answers_as_before() {
    let source = stack(SOURCE);
    // A trusted device with a report in its history, one an administrator holds (unreliable),
    // one with an owner whose PII is sealed under the PII key.
    let trusted = trusted_device(&source).await;
    RegistryClient::new(source.api_url())
        .unwrap()
        .report(
            &trusted.se,
            ReportParams {
                firmware_version: "1.0.1".into(),
                software_version: "1.0.0".into(),
                communication: vec!["lte".into()],
                configuration: Some(json!({"tls": "1.3"})),
            },
        )
        .await
        .unwrap();
    let held = trusted_device(&source).await;
    admin_hold(&source, &held.regdevid).await;
    let owned = owned_device(&source).await;
    let devices = [
        trusted.regdevid.as_str(),
        held.regdevid.as_str(),
        owned.regdevid.as_str(),
    ];
    let before = answers(&source, &devices).await;
    assert_eq!(
        before["devices"][&held.regdevid][0]["public"]["status"],
        "unreliable"
    );
    assert!(
        before["devices"][&owned.regdevid][3]
            .to_string()
            .contains("Owner"),
        "the administrator reads the owner's PII: {}",
        before["devices"][&owned.regdevid][3]
    );

    let drill = Command::new(repo_root().join("scripts/restore-drill"))
        .args([SOURCE, TARGET])
        .output()
        .unwrap();
    assert!(
        drill.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&drill.stdout),
        String::from_utf8_lossy(&drill.stderr)
    );
    let target = stack(TARGET);
    assert_ne!(target.api_url(), source.api_url());
    assert_ne!(target.table(), source.table());
    assert_eq!(target.output("SigningKeyId"), source.output("SigningKeyId"));
    assert_eq!(target.output("PiiKeyId"), source.output("PiiKeyId"));

    let after = answers(&target, &devices).await;
    assert_eq!(
        after, before,
        "the restored registry answers as the original did"
    );
}
