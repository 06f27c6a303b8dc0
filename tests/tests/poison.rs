//! Poison and death on LocalStack: a table item notify can never process, an inbox message the
//! exchange can never apply, and both functions killed in the middle of a batch. Each test
//! proves the fault happened (the record set aside, the process killed) before it asserts what
//! the rest of the registry did: nothing lost, nothing done twice.
//!
//! The alarms on both queues (infra/template.yaml `NotifyFailuresAlarm`,
//! `InboxDeadLettersAlarm`) watch AWS/SQS ApproximateNumberOfMessagesVisible above 0: a record
//! set aside is the alarm's metric, asserted here as the queue's depth.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use trustreg_core::ports::HierarchyStore;
use trustreg_core::status::TrustStatus;
use trustreg_device::RegistryClient;
use trustreg_tests::devices::{admin_hold, trusted_device};
use trustreg_tests::exchange::{audit_since, into_inbox_tagged, message, now_ms, update};
use trustreg_tests::failures::{depth, items_named, peek, remove};
use trustreg_tests::faults::{arm, disarm, gone, killed_pid, killed_pid_within, tag};
use trustreg_tests::roles::function_name;
use trustreg_tests::subscriber::{Received, Subscriber, domains, topic_arn};
use trustreg_tests::{
    CountingKeys, Hierarchy, Manufacturer, Stack, eventually, imei, localstack, random_imei,
    sensor_info,
};

const DELIVERY: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_secs(5);
/// The stream mapping's three retries, with LocalStack's backoff between them.
const SET_ASIDE: Duration = Duration::from_secs(120);
/// A message whose function died comes back after the inbox's visibility timeout (360 s,
/// six times the exchange function's timeout, as AWS advises for a queue feeding a function).
const VISIBILITY: Duration = Duration::from_secs(480);

fn about<'a>(received: &'a [Received], regdevid: &str) -> Vec<&'a Received> {
    received
        .iter()
        .filter(|r| r.attributes.get("regdevid").map(String::as_str) == Some(regdevid))
        .collect()
}

fn events(received: &[&Received]) -> BTreeSet<String> {
    received
        .iter()
        .map(|r| r.attributes["event"].clone())
        .collect()
}

// ---------------------------------------------------------------- the stream

// Y.3059 7 iv e
// A device item whose stored shape is corrupt (written straight to the table, as a faulty
// migration or hand edit would) can never be decoded by notify. A good change written just
// after it is still notified; the corrupt one's record lands in notify's failure queue with
// what it takes to replay it: the OnFailure record of a DynamoDB stream names the stream, the
// shard and the first and last sequence number of the batch
// (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html), and that range
// read back from the stream holds the corrupt item. The queue's depth, the alarm's metric, is
// above 0.
#[tokio::test]
async fn a_corrupt_item_is_set_aside_and_the_changes_after_it_are_notified() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let good = trusted_device(&stack).await.regdevid;
    let topic = topic_arn(&stack, &domains(&stack)[0]);
    let subscriber = Subscriber::subscribe(&sdk, &topic, Some(json!({"regdevid": [good]}))).await;

    let corrupt = format!(
        "DEV#{}:imei:{}",
        stack.output("RegistryPath"),
        random_imei()
    );
    let s = |v: &str| AttributeValue::S(v.to_owned());
    ddb.put_item()
        .table_name(stack.table())
        .item("pk", s(&corrupt))
        .item("sk", s("DEVICE"))
        .item("kind", s("device"))
        .item("facts", s("not a map"))
        .send()
        .await
        .unwrap();
    admin_hold(&stack, &good).await;

    let received = subscriber
        .collect(DELIVERY, Duration::ZERO, |r| {
            events(&about(r, &good)).contains("hold")
        })
        .await;
    assert_eq!(
        events(&about(&received, &good)),
        BTreeSet::from(["hold".to_owned(), "status-changed".to_owned()]),
        "the good change after the corrupt item was notified: {received:?}"
    );

    let queue = stack.output("NotifyFailureQueueUrl");
    let record = eventually(SET_ASIDE, "the corrupt item's record set aside", || async {
        for peeked in peek(queue).await {
            let record: Value = serde_json::from_str(&peeked.body).ok()?;
            if items_named(&record).await.contains(&corrupt) {
                return Some(record);
            }
        }
        None
    })
    .await;
    let info = &record["DDBStreamBatchInfo"];
    assert_eq!(
        info["streamArn"],
        stack.output("TableStreamArn"),
        "{record}"
    );
    for field in ["shardId", "startSequenceNumber", "endSequenceNumber"] {
        assert!(info[field].is_string(), "{field} in {record}");
    }
    assert!(depth(queue).await.0 >= 1, "the alarm's metric");

    // Clean up for the other tests: the record (nothing can replay it) and the item.
    remove(queue, |b| {
        serde_json::from_str::<Value>(b).is_ok_and(|r| r == record)
    })
    .await;
    ddb.delete_item()
        .table_name(stack.table())
        .key("pk", s(&corrupt))
        .key("sk", s("DEVICE"))
        .send()
        .await
        .unwrap();
    subscriber.remove().await;
}

/// A device of `stack` registered (not yet acknowledged) in every trust domain of the stack:
/// its notifications go to two topics, so two PublishBatch calls per change.
async fn registered_in_every_domain(
    stack: &Stack,
) -> (RegistryClient, trustreg_device::SoftSecureElement, String) {
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let id = imei(&random_imei());
    let se = maker.device(&id);
    let client = RegistryClient::new(stack.api_url()).unwrap();
    let registered = client
        .register(&se, &id, sensor_info(), domains(stack))
        .await
        .expect("registered");
    (client, se, registered.regdevid)
}

// Y.3059 7 iv e
// notify dies in the middle of a batch: of the two PublishBatch calls of a device's hold (one
// per trust domain's topic), the second never reaches SNS. The stream delivers the batch again
// and every notification goes out at least once; one published before the death goes out
// again with the same `id` and message, so a subscriber drops the repeat by its `id`.
#[tokio::test]
async fn notify_killed_mid_batch_sends_every_notification_at_least_once_under_one_id() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let (client, se, regdevid) = registered_in_every_domain(&stack).await;
    let mut subscribers = Vec::new();
    for domain in domains(&stack) {
        let topic = topic_arn(&stack, &domain);
        subscribers
            .push(Subscriber::subscribe(&sdk, &topic, Some(json!({"regdevid": [regdevid]}))).await);
    }
    // The acknowledgement's notifications out first: the fault is for the hold's batch alone.
    client.acknowledge(&se).await.expect("acknowledged");
    for subscriber in &subscribers {
        subscriber
            .collect(DELIVERY, Duration::ZERO, |r| {
                events(&about(r, &regdevid)).contains("status-changed")
            })
            .await;
    }
    let fid = arm(
        json!({"function": function_name(&stack, "notify"), "service": "sns",
        "operation": "PublishBatch", "nth": 2, "action": "kill-before", "tag": regdevid}),
    )
    .await;
    admin_hold(&stack, &regdevid).await;
    let pid = killed_pid_within(&fid, DELIVERY).await;
    disarm(&fid).await;
    eventually(Duration::from_secs(5), "the bootstrap died", || async {
        gone(pid).then_some(())
    })
    .await;

    // Every (event, domain) of the hold: status-changed and hold, on each domain's topic.
    let expected: BTreeSet<(String, String)> = domains(&stack)
        .into_iter()
        .flat_map(|d| {
            [
                ("hold".to_owned(), d.clone()),
                ("status-changed".to_owned(), d),
            ]
        })
        .collect();
    let mut received = Vec::new();
    for subscriber in &subscribers {
        received.extend(
            subscriber
                .collect(DELIVERY, SETTLE, |r| {
                    let seen = events(&about(r, &regdevid));
                    seen.contains("hold") && seen.contains("status-changed")
                })
                .await,
        );
    }
    let ours: Vec<&Received> = about(&received, &regdevid)
        .into_iter()
        .filter(|r| r.attributes["status"] == "unreliable")
        .collect();
    let arrived: BTreeSet<(String, String)> = ours
        .iter()
        .map(|r| {
            (
                r.attributes["event"].clone(),
                r.message["domain"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(arrived, expected, "every notification at least once");
    let mut by_id: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in &ours {
        by_id
            .entry(r.message["id"].as_str().expect("an id").to_owned())
            .or_default()
            .push(&r.message);
    }
    assert_eq!(
        by_id.len(),
        expected.len(),
        "one id per notification: {by_id:?}"
    );
    for (id, copies) in &by_id {
        assert!(
            copies.iter().all(|m| m == &copies[0]),
            "a repeat of {id} is the same message: {copies:?}"
        );
    }
    // The first call's notifications were published before the death, and again after it.
    assert!(
        ours.len() > expected.len(),
        "the redelivery repeated what went out before the death: {by_id:?}"
    );
    for subscriber in subscribers {
        subscriber.remove().await;
    }
}

// ---------------------------------------------------------------- the inbox

/// The inbox tests one after the other: both number updates of the second primary, and a
/// message of one held back by the other's kill would leave a gap the sectoral registry heals
/// with a snapshot of the second primary, which knows nothing of the made-up devices.
static INBOX: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Updates of the second primary (IN1.HLT.P08) about fresh made-up devices, numbered from its
/// own counter as its notify would number them, signed with its key: (regdevid, seq, message).
async fn updates_of_p08(h: &Hierarchy, count: usize) -> Vec<(String, u64, String)> {
    let sdk = localstack().await;
    let p08 = h.second_primary.output("RegistryPath").to_owned();
    let store = h.second_primary.store(&sdk);
    let keys = CountingKeys::of(&h.second_primary, &sdk);
    let mut updates = Vec::new();
    for _ in 0..count {
        let regdevid = format!("{p08}:imei:{}", random_imei());
        let seq = store.next_sequence().await.unwrap();
        let claims = update(&p08, seq, &regdevid, TrustStatus::Unreliable);
        updates.push((regdevid.clone(), seq, message(&keys, &claims).await));
    }
    updates
}

/// Waits until `stack` mirrors `regdevid` as unreliable from `seq`.
async fn mirrored(stack: &Stack, regdevid: &str, seq: u64, within: Duration) {
    let store = stack.store(&localstack().await);
    let id = regdevid.parse().unwrap();
    eventually(within, &format!("{regdevid} mirrored"), || async {
        store
            .get_mirror(&id)
            .await
            .unwrap()
            .filter(|m| m.status == TrustStatus::Unreliable && m.origin_seq >= seq)
    })
    .await;
}

/// How often `stack` audits having applied the update `origin#seq`.
fn applications(audit: &[Value], origin: &str, seq: u64) -> usize {
    let target = format!("{origin}#{seq}");
    audit
        .iter()
        .filter(|r| r["action"] == "exchange-update" && r["target"] == target.as_str())
        .count()
}

// Y.3059 9.1 v
// A message in the sectoral registry's inbox that can never be applied (not a JWS at all)
// among two good updates of the second primary: both updates are applied, the poisoned one is
// set aside at once in the inbox's dead-letter queue, its body byte for byte, its refusal's
// code attached; the queue's depth, the alarm's metric, is above 0.
#[tokio::test]
async fn a_poisoned_inbox_message_is_dead_lettered_intact_and_the_good_ones_apply() {
    let _one_at_a_time = INBOX.lock().await;
    let h = Hierarchy::deployed();
    let since = now_ms();
    let updates = updates_of_p08(&h, 2).await;
    let poison = format!("not a JWS {} \u{1F9EA} {{\"seq\": 1}}", random_imei());
    into_inbox_tagged(&h.sectoral, &updates[0].2, None).await;
    into_inbox_tagged(&h.sectoral, &poison, None).await;
    into_inbox_tagged(&h.sectoral, &updates[1].2, None).await;

    for (regdevid, seq, _) in &updates {
        mirrored(&h.sectoral, regdevid, *seq, DELIVERY).await;
    }
    let queue = h.sectoral.output("InboxDeadLettersUrl");
    let dead = eventually(DELIVERY, "the poisoned message dead-lettered", || async {
        peek(queue).await.into_iter().find(|m| m.body == poison)
    })
    .await;
    assert_eq!(
        dead.attributes.get("refusal").map(String::as_str),
        Some("malformed-jws")
    );
    assert!(depth(queue).await.0 >= 1, "the alarm's metric");
    let audit = audit_since(&h.sectoral, since).await;
    let p08 = h.second_primary.output("RegistryPath");
    for (_, seq, _) in &updates {
        assert_eq!(
            applications(&audit, p08, *seq),
            1,
            "{p08}#{seq} applied once"
        );
    }
    assert!(
        audit.iter().any(|r| r["action"] == "receive-exchange"
            && r["outcome"] == "rejected"
            && r["code"] == "malformed-jws"),
        "the refusal audited"
    );
    remove(queue, |b| b == poison).await;
}

// Y.3059 9.1 v
// The sectoral registry's exchange function dies right after DynamoDB applied the second of
// three updates of the second primary (before it forwarded it, before SQS heard of it). SQS
// delivers the unfinished messages again after the inbox's visibility timeout: each (origin,
// sequence) is applied exactly once (one audit of its application, the mirror at its number),
// and the registry above (IN1) ends up holding all three.
#[tokio::test]
async fn exchange_killed_mid_batch_applies_each_update_once() {
    let _one_at_a_time = INBOX.lock().await;
    let h = Hierarchy::deployed();
    let since = now_ms();
    let updates = updates_of_p08(&h, 3).await;
    let tag = tag();
    let fid = arm(
        json!({"function": function_name(&h.sectoral, "exchange"), "service": "dynamodb",
        "operation": "TransactWriteItems", "nth": 2, "action": "kill-after", "tag": tag}),
    )
    .await;
    for (_, _, body) in &updates {
        into_inbox_tagged(&h.sectoral, body, Some(&tag)).await;
    }
    let pid = killed_pid(&fid).await;
    disarm(&fid).await;
    eventually(Duration::from_secs(5), "the bootstrap died", || async {
        gone(pid).then_some(())
    })
    .await;

    for (regdevid, seq, _) in &updates {
        mirrored(&h.sectoral, regdevid, *seq, VISIBILITY).await;
    }
    // The killed invocation's messages came back and were taken: the inbox drained.
    let inbox = h.sectoral.output("InboxUrl");
    eventually(VISIBILITY, "the inbox drained", || async {
        (depth(inbox).await == (0, 0)).then_some(())
    })
    .await;
    let audit = audit_since(&h.sectoral, since).await;
    let p08 = h.second_primary.output("RegistryPath");
    for (_, seq, _) in &updates {
        assert_eq!(
            applications(&audit, p08, *seq),
            1,
            "{p08}#{seq} applied exactly once"
        );
    }
    for (regdevid, seq, _) in &updates {
        mirrored(&h.geographical, regdevid, *seq, DELIVERY).await;
    }
}
