//! `trustreg admin redrive` end to end on LocalStack: what the registry set aside while
//! something was broken is replayed once it is fixed, with effect exactly once, and the queue
//! is left holding only what is still broken.
//!
//! The tests of this file own the primary's notify failure queue and the sectoral registry's
//! inbox dead-letter queue while they run (no other test file runs beside them), so they
//! assert on whole queues.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use trustreg_core::ports::HierarchyStore;
use trustreg_device::RegistryClient;
use trustreg_model::status::TrustStatus;
use trustreg_tests::devices::{admin_hold, certified_device};
use trustreg_tests::exchange::{audit_since, into_inbox, message, now_ms, update};
use trustreg_tests::failures::{depth, items_named, peek, remove};
use trustreg_tests::faults::{arm, disarm, fault, fired};
use trustreg_tests::roles::function_name;
use trustreg_tests::subscriber::{Received, Subscriber, domains, topic_arn};
use trustreg_tests::{
    CountingKeys, DEFAULT_STACK, Hierarchy, SECTORAL_STACK, Stack, eventually, localstack,
    outputs_file, random_imei, sensor_info,
};

const DELIVERY: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_secs(5);
/// The stream mapping's three retries, with LocalStack's backoff between them.
const SET_ASIDE: Duration = Duration::from_secs(120);

/// `trustreg --json admin redrive --stack <file> <args>`: its answer, or its exit failure and
/// standard error.
fn redrive(stack_file: &std::path::Path, args: &[&str]) -> Result<Value, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_trustreg"))
        .args(["--json", "admin", "redrive", "--stack"])
        .arg(stack_file)
        .args(args)
        .env(
            "AWS_ENDPOINT_URL",
            std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into()),
        )
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

// Y.3059 7 iv e
// SNS throttles every publication of a device's hold (past the SDK's retries and the stream
// mapping's three): its record lands in notify's failure queue and no notification goes out.
// Once SNS is back, `trustreg admin redrive --stream` reads the record's range back from the
// table's stream and hands it to notify: each notification of the hold arrives exactly once,
// and the failure queue is empty.
#[tokio::test]
async fn a_stream_record_set_aside_is_replayed_once_after_the_fix() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let queue = stack.output("NotifyFailureQueueUrl");
    let (_maker, id, se) = certified_device(&stack).await;
    let regdevid = format!("{}:{id}", stack.output("RegistryPath"));
    let topic = topic_arn(&stack, &domains(&stack)[0]);
    let subscriber =
        Subscriber::subscribe(&sdk, &topic, Some(json!({"regdevid": [regdevid]}))).await;
    let client = RegistryClient::new(stack.api_url()).unwrap();
    client
        .register(&se, &id, sensor_info(), vec![])
        .await
        .unwrap();
    client.acknowledge(&se).await.unwrap();
    // The device's earlier changes are fanned out before the fault is armed: the stream
    // delivers a device's records in order, so once its acknowledgement (trusted) is
    // notified, the hold's record is the only one of it the fault can meet.
    let status =
        |r: &Received, status: &str| r.attributes.get("status").map(String::as_str) == Some(status);
    let unreliable = |r: &Received| status(r, "unreliable");
    let acknowledged = subscriber
        .collect(DELIVERY, Duration::ZERO, |r| {
            r.iter().any(|m| status(m, "trusted"))
        })
        .await;
    assert!(
        acknowledged.iter().any(|m| status(m, "trusted")),
        "the acknowledgement is notified: {acknowledged:?}"
    );
    let fid = arm(
        json!({"function": function_name(&stack, "notify"), "service": "sns",
        "operation": "PublishBatch", "times": 1000, "action": "throttle", "tag": regdevid}),
    )
    .await;
    admin_hold(&stack, &regdevid).await;
    let item = format!("DEV#{regdevid}");
    eventually(SET_ASIDE, "the hold's record set aside", || async {
        for peeked in peek(queue).await {
            let record: Value = serde_json::from_str(&peeked.body).ok()?;
            if items_named(&record).await.contains(&item) {
                return Some(());
            }
        }
        None
    })
    .await;
    // The cause goes away.
    let throttled = fired(&fault(&fid).await);
    disarm(&fid).await;
    assert!(throttled >= 4, "every attempt throttled: {throttled}");
    let before = subscriber.receive(Duration::from_secs(1)).await;
    assert!(
        !before.iter().any(unreliable),
        "nothing went out while throttled: {before:?}"
    );

    let answer = redrive(
        &outputs_file("TRUSTREG_STACK_OUTPUTS", DEFAULT_STACK),
        &["--stream"],
    )
    .expect("the redrive replays everything");
    assert!(answer["stream"]["replayed"].as_u64() >= Some(1), "{answer}");
    assert_eq!(answer["stream"]["kept"], json!([]), "{answer}");
    assert!(answer.get("inbox").is_none(), "--stream only: {answer}");

    let received = subscriber
        .collect(DELIVERY, SETTLE, |r| {
            r.iter().filter(|m| unreliable(m)).count() >= 2
        })
        .await;
    let mut by_event: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in received.iter().filter(|m| unreliable(m)) {
        by_event
            .entry(r.attributes["event"].clone())
            .or_default()
            .push(r.message["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        by_event.keys().collect::<Vec<_>>(),
        ["hold", "status-changed"],
        "{received:?}"
    );
    assert!(
        by_event.values().all(|ids| ids.len() == 1),
        "each notification exactly once: {by_event:?}"
    );
    assert_eq!(depth(queue).await, (0, 0), "the failure queue is empty");
    subscriber.remove().await;
}

// Y.3059 9.1 v
// In the sectoral registry's inbox dead-letter queue: an update of the second primary, as the
// queue's redrive policy puts a message there after five failed receives (put there by the
// test: the half hour of receives is SQS's own), and a message refused as malformed (the
// exchange function's own dead-lettering). `trustreg admin redrive --inbox` moves both back,
// bodies unchanged: the update is applied exactly once; the malformed one, still refused,
// comes back, and is all the queue holds.
#[tokio::test]
async fn the_inbox_dead_letters_are_moved_back_and_what_is_fixed_applies_once() {
    let h = Hierarchy::deployed();
    let sdk = localstack().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = h.sectoral.output("InboxDeadLettersUrl");
    // What earlier test files set aside here (forged messages) is theirs, not this test's.
    remove(queue, |_| true).await;

    let since = now_ms();
    let p08 = h.second_primary.output("RegistryPath");
    let regdevid = format!("{p08}:imei:{}", random_imei());
    let seq = h.second_primary.store(&sdk).next_sequence().await.unwrap();
    let keys = CountingKeys::of(&h.second_primary, &sdk);
    let good = message(&keys, &update(p08, seq, &regdevid, TrustStatus::Unreliable)).await;
    sqs.send_message()
        .queue_url(queue)
        .message_body(&good)
        .send()
        .await
        .unwrap();
    let poison = format!("not a JWS {}", random_imei());
    into_inbox(&h.sectoral, &poison).await;
    eventually(DELIVERY, "the malformed message dead-lettered", || async {
        peek(queue).await.into_iter().find(|m| m.body == poison)
    })
    .await;
    let store = h.sectoral.store(&sdk);
    let id = regdevid.parse().unwrap();
    assert!(
        store.get_mirror(&id).await.unwrap().is_none(),
        "not yet applied"
    );

    let answer = redrive(
        &outputs_file("TRUSTREG_SECTORAL_STACK_OUTPUTS", SECTORAL_STACK),
        &["--inbox"],
    )
    .expect("the redrive moves everything");
    assert_eq!(answer["inbox"]["moved"], 2, "{answer}");

    let mirror = eventually(DELIVERY, "the update applied", || async {
        store.get_mirror(&id).await.unwrap()
    })
    .await;
    assert_eq!(
        (mirror.status, mirror.origin_seq),
        (TrustStatus::Unreliable, seq)
    );
    let back = eventually(DELIVERY, "the malformed message back", || async {
        let held = peek(queue).await;
        held.iter().any(|m| m.body == poison).then_some(held)
    })
    .await;
    assert_eq!(back.len(), 1, "only the malformed message: {back:?}");
    assert_eq!(
        back[0].attributes.get("refusal").map(String::as_str),
        Some("malformed-jws")
    );
    let target = format!("{p08}#{seq}");
    let applied = audit_since(&h.sectoral, since)
        .await
        .into_iter()
        .filter(|r| r["action"] == "exchange-update" && r["target"] == target.as_str())
        .count();
    assert_eq!(applied, 1, "{target} applied exactly once");
    remove(queue, |b| b == poison).await;
}
