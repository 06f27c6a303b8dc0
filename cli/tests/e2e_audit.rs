//! `trustreg audit verify` end to end on LocalStack, through API Gateway (issue 14): a clean
//! log verifies; then each tampering a holder of the table could do behind the registry's
//! back, each undone before the next: a record altered, a record deleted, two records'
//! contents swapped; then an older checkpoint served in place of the latest. Each is detected
//! and named by leaf index or tree size. One test: the tamperings would otherwise show in
//! each other's runs.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use trustreg_tests::devices::trusted_device;
use trustreg_tests::{Stack, challenge, localstack, post_signed, scratch, send, test_admin};

mod rollback_proxy;

type Item = HashMap<String, AttributeValue>;

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

const CHECKPOINT: &str = "/v1/audit/checkpoint";

/// The CLI's verdict: success, and its JSON.
fn verify(api: &str, token: &str, state: &Path) -> (bool, Value) {
    verify_pinned(api, token, state, None)
}

/// The verdict with the log's key given (`--key`).
fn verify_pinned(api: &str, token: &str, state: &Path, key: Option<&str>) -> (bool, Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trustreg"));
    command
        .args([
            "--json", "audit", "verify", "--api", api, "--token", token, "--state",
        ])
        .arg(state)
        .env_remove("TRUSTREG_API")
        .env_remove("TRUSTREG_TOKEN")
        .env_remove("TRUSTREG_LOG_KEY");
    if let Some(key) = key {
        command.args(["--key", key]);
    }
    let out = command.output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "no JSON from trustreg audit verify: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), json)
}

fn clean(api: &str, token: &str, state: &Path) {
    let (ok, json) = verify(api, token, state);
    assert!(ok, "a clean log verifies: {json}");
}

/// The records of `target` with their leaf indexes, once all are sequenced.
async fn sequenced(api: &str, token: &str, target: &str) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let page = send(
            "GET",
            format!("{api}/v1/audit?target={}", target.replace('/', "%2F")),
            Some(token),
            None,
        )
        .await;
        assert_eq!(page.status, 200, "{page:?}");
        let records: Vec<Value> = page.body["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] != "read-audit")
            .cloned()
            .collect();
        if records.len() >= 2 && records.iter().all(|r| r["leaf"].is_u64()) {
            // And a checkpoint covers them.
            let checkpoint = send(
                "GET",
                format!("{api}/v1/audit/checkpoint"),
                Some(token),
                None,
            )
            .await;
            let note = checkpoint.body.as_str().unwrap_or_default().to_owned();
            let size: u64 = note.lines().nth(1).unwrap_or("0").parse().unwrap_or(0);
            if records.iter().all(|r| r["leaf"].as_u64().unwrap() < size) {
                return records;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not sequenced: {records:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct Table {
    client: aws_sdk_dynamodb::Client,
    name: String,
}

impl Table {
    fn key(pk: &str, sk: &str) -> Item {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk.into())),
            ("sk".to_owned(), AttributeValue::S(sk.into())),
        ])
    }

    async fn get(&self, pk: &str, sk: &str) -> Item {
        self.client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap_or_else(|| panic!("no item {pk} {sk}"))
    }

    async fn put(&self, item: Item) {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }

    async fn delete(&self, pk: &str, sk: &str) {
        self.client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(pk, sk)))
            .send()
            .await
            .unwrap();
    }
}

/// Where the record is in the table (its day's shard).
fn audit_key(store: &trustreg_aws::DynamoStore, record: &Value) -> (String, String) {
    let record: trustreg_core::records::AuditRecord =
        serde_json::from_value(record.clone()).unwrap();
    store.audit_key(&record)
}

fn findings(json: &Value) -> Vec<Value> {
    json["findings"].as_array().cloned().unwrap_or_default()
}

// Y.3059 7 i c
#[tokio::test]
async fn tampering_with_audit_records_or_the_checkpoint_is_detected_and_named() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let token = admin_token(&api).await;
    let dir = scratch("e2e-audit");
    let state = dir.join("seen.json");
    let store = stack.store(&localstack().await);
    let table = Table {
        client: aws_sdk_dynamodb::Client::new(&localstack().await),
        name: stack.table().to_owned(),
    };

    // Records of a device of this test's own, sequenced.
    let device = trusted_device(&stack).await;
    let records = sequenced(&api, &token, &device.regdevid).await;
    let (a, b) = (&records[0], &records[1]);
    let (a_leaf, b_leaf) = (a["leaf"].as_u64().unwrap(), b["leaf"].as_u64().unwrap());
    clean(&api, &token, &state);
    let seen: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(seen["size"].as_u64().unwrap() > a_leaf.max(b_leaf));

    // A record altered in the table.
    let (pk, sk) = audit_key(&store, a);
    let original = table.get(&pk, &sk).await;
    let mut altered = original.clone();
    altered.insert("outcome".into(), AttributeValue::S("rejected".into()));
    table.put(altered).await;
    let (ok, json) = verify(&api, &token, &state);
    table.put(original.clone()).await;
    assert!(!ok);
    assert!(
        findings(&json).contains(&json!({"finding": "altered", "index": a_leaf, "record": sk})),
        "{json}"
    );
    clean(&api, &token, &state);

    // A record deleted.
    table.delete(&pk, &sk).await;
    let (ok, json) = verify(&api, &token, &state);
    table.put(original.clone()).await;
    assert!(!ok);
    assert!(
        findings(&json).contains(&json!({"finding": "missing", "index": a_leaf, "record": sk})),
        "{json}"
    );
    clean(&api, &token, &state);

    // Two records' contents swapped (each keeps its key and id).
    let (b_pk, b_sk) = audit_key(&store, b);
    let b_original = table.get(&b_pk, &b_sk).await;
    let content = |item: &Item| -> Item {
        item.iter()
            .filter(|(k, _)| ["actor", "action", "target", "outcome", "code"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut a_swapped: Item = original
        .iter()
        .filter(|(k, _)| !content(&original).contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    a_swapped.extend(content(&b_original));
    let mut b_swapped: Item = b_original
        .iter()
        .filter(|(k, _)| !content(&b_original).contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    b_swapped.extend(content(&original));
    assert_ne!(
        content(&original),
        content(&b_original),
        "two different records"
    );
    table.put(a_swapped).await;
    table.put(b_swapped).await;
    let (ok, json) = verify(&api, &token, &state);
    table.put(original.clone()).await;
    table.put(b_original.clone()).await;
    assert!(!ok);
    let named = findings(&json);
    assert!(
        named.contains(&json!({"finding": "altered", "index": a_leaf, "record": sk}))
            && named.contains(&json!({"finding": "altered", "index": b_leaf, "record": b_sk})),
        "{json}"
    );
    clean(&api, &token, &state);

    // An older checkpoint, properly signed, served in place of the latest: the log grows
    // (this test's own reads are audited), the verifier accepts the newer, then the older
    // is served. Served by a proxy in front of the API, as a rolled-back registry or a man in
    // the middle would: rolled back in the table, the sequencer re-signs the latest as soon
    // as the next records arrive (every second while other tests run), before or after the
    // verifier reads it.
    let older = table.get("TLOG", "CHECKPOINT").await;
    let older_size: u64 = match &older["size"] {
        AttributeValue::N(n) => n.parse().unwrap(),
        other => panic!("{other:?}"),
    };
    let AttributeValue::S(older_note) = &older["note"] else {
        panic!("{older:?}")
    };
    let started = Instant::now();
    loop {
        trusted_device(&stack).await;
        clean(&api, &token, &state);
        let seen: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        if seen["size"].as_u64().unwrap() > older_size {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the log did not grow"
        );
    }
    let proxy = rollback_proxy::serve(
        &api,
        &[(
            CHECKPOINT,
            "text/plain; charset=utf-8",
            older_note.to_owned(),
        )],
    );
    let (ok, json) = verify(&proxy.url, &token, &state);
    assert!(
        proxy.served(CHECKPOINT),
        "the verifier read the older checkpoint"
    );
    assert!(!ok);
    let seen_size =
        serde_json::from_slice::<Value>(&std::fs::read(&state).unwrap()).unwrap()["size"]
            .as_u64()
            .unwrap();
    assert!(
        findings(&json)
            .contains(&json!({"finding": "rolled-back", "size": older_size, "seen": seen_size})),
        "{json}"
    );
}

// Y.3059 7 i c
// A registry (or a man in the middle) that serves another key, with a checkpoint signed by
// it, is named by a verifier that pinned the log's key: remembered from its last clean run,
// or given on the command line to a verifier that never ran; the forged checkpoint is not
// accepted and the state keeps the real key.
#[tokio::test]
async fn a_substituted_log_key_is_detected_by_a_verifier_that_pinned_it() {
    use p256::ecdsa::signature::Signer;
    use trustreg_model::tlog::note::EcdsaNoteKey;
    use trustreg_model::tlog::{Checkpoint, SignedNote};

    let stack = Stack::deployed();
    let api = stack.api_url();
    let token = admin_token(&api).await;
    let dir = scratch("e2e-audit-key");
    let state = dir.join("seen.json");
    clean(&api, &token, &state);
    let seen: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let real = seen["key"].as_str().expect("the key pinned").to_owned();

    // The attacker's key, published in the registry document, signing a log of its own.
    let forger = trustreg_tests::new_signing_key();
    let mut document = send("GET", format!("{api}/v1/registry"), None, None)
        .await
        .body;
    let path = document["path"].as_str().unwrap().to_owned();
    document["public_key"] = trustreg_model::jose::jwk_from_key(forger.verifying_key());
    let key = EcdsaNoteKey {
        name: path.clone(),
        key: *forger.verifying_key(),
    };
    let text = Checkpoint::new(&path, seen["size"].as_u64().unwrap() + 1, [7u8; 32]).text();
    let signature: p256::ecdsa::Signature = forger.sign(text.as_bytes());
    let note = SignedNote {
        text,
        signatures: vec![key.signature(signature.to_der().as_bytes().to_vec())],
    }
    .to_string();
    let proxy = rollback_proxy::serve(
        &api,
        &[
            ("/v1/registry", "application/json", document.to_string()),
            (CHECKPOINT, "text/plain; charset=utf-8", note),
        ],
    );
    let changed = json!({"finding": "key-changed", "pinned": real, "served": key.verifier_key()});
    let (ok, json) = verify(&proxy.url, &token, &state);
    assert!(proxy.served("/v1/registry"));
    assert!(!ok);
    assert_eq!(findings(&json), vec![changed.clone()], "{json}");
    let kept: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(kept, seen);

    let fresh = dir.join("fresh.json");
    let (ok, json) = verify_pinned(&proxy.url, &token, &fresh, Some(&real));
    assert!(!ok);
    assert_eq!(findings(&json), vec![changed], "{json}");
    assert!(!fresh.exists());
    // The same key given against the real registry verifies.
    let (ok, json) = verify_pinned(&api, &token, &fresh, Some(&real));
    assert!(ok, "{json}");
}
