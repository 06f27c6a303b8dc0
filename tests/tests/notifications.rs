//! Notification fan-out end to end on LocalStack: devices change status through the API, the
//! table's stream triggers `notify`, SNS delivers to a subscriber's SQS queue through its
//! filter policy. Other tests share the stack and its topics, so each test looks at the
//! messages about its own devices.
// card C6
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use trustreg_tests::devices::{admin_hold, trusted_device};
use trustreg_tests::subscriber::{Received, Subscriber, domains, topic_arn};
use trustreg_tests::{
    Stack, challenge, invoke_notify, localstack, post_signed, random_imei, test_admin,
};

const DELIVERY: Duration = Duration::from_secs(30);
const SETTLE: Duration = Duration::from_secs(3);

/// The messages about `regdevids`, as (regdevid, event, status) in a set.
fn about(received: &[Received], regdevids: &[&str]) -> BTreeSet<(String, String, String)> {
    received
        .iter()
        .filter(|r| regdevids.contains(&r.attributes["regdevid"].as_str()))
        .map(|r| {
            (
                r.attributes["regdevid"].clone(),
                r.attributes["event"].clone(),
                r.attributes["status"].clone(),
            )
        })
        .collect()
}

fn count_about(received: &[Received], regdevid: &str) -> usize {
    received
        .iter()
        .filter(|r| r.attributes.get("regdevid").map(String::as_str) == Some(regdevid))
        .count()
}

// Y.3059 7 iv e
// Y.3059 9.4 i c
// card C4
// card C1
// A subscriber filtering on `status = unreliable` receives exactly the messages of the changes
// that made a device unreliable (its status change and its hold), none of the changes that
// made devices trusted, with the filterable attributes and without PII.
#[tokio::test]
async fn a_filtered_subscriber_receives_exactly_the_unreliable_changes() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let topic = topic_arn(&stack, &domains(&stack)[0]);
    let unreliable =
        Subscriber::subscribe(&sdk, &topic, Some(json!({"status": ["unreliable"]}))).await;

    let held = trusted_device(&stack).await;
    let (held, credential) = (held.regdevid, held.credential);
    let untouched = trusted_device(&stack).await.regdevid;
    // Everything about both devices, to show the trusted changes were published at all.
    let everything =
        Subscriber::subscribe(&sdk, &topic, Some(json!({"regdevid": [held, untouched]}))).await;
    admin_hold(&stack, &held).await;

    let ours = [held.as_str(), untouched.as_str()];
    let received = unreliable
        .collect(DELIVERY, SETTLE, |r| about(r, &ours).len() >= 2)
        .await;
    assert!(
        received
            .iter()
            .all(|r| r.attributes["status"] == "unreliable"),
        "the filter let through {received:?}"
    );
    assert_eq!(
        about(&received, &ours),
        BTreeSet::from([
            (held.clone(), "status-changed".into(), "unreliable".into()),
            (held.clone(), "hold".into(), "unreliable".into()),
        ])
    );
    assert_eq!(count_about(&received, &held), 2, "each message once");

    let change = received
        .iter()
        .find(|r| r.attributes["regdevid"] == held && r.attributes["event"] == "status-changed")
        .unwrap();
    assert_eq!(change.attributes["previous_status"], "trusted");
    assert_eq!(change.attributes["make"], "Acme");
    assert_eq!(change.attributes["model"], "Sensor-1");
    assert_eq!(change.attributes["registry"], stack.output("RegistryPath"));
    assert_eq!(change.message["regdevid"], held);
    // Y.3059 9.1 iii
    for r in &received {
        assert!(
            !r.body.contains(&credential),
            "credential leaked: {}",
            r.body
        );
        for field in ["owner_id", "public_key", "credential", "key_thumbprint"] {
            assert!(r.message.get(field).is_none(), "{field} in {}", r.message);
        }
    }

    // The trusted side was published too: the filter, not the fan-out, kept it away.
    let all = everything
        .collect(DELIVERY, Duration::ZERO, |r| about(r, &ours).len() >= 3)
        .await;
    assert!(
        about(&all, &ours).contains(&(
            untouched.clone(),
            "status-changed".into(),
            "trusted".into()
        )),
        "{all:?}"
    );
    unreliable.remove().await;
    everything.remove().await;
}

/// A stream record as Lambda delivers it, from two images of a device item.
fn stream_record(sequence: &str, old: &Value, new: &Value) -> Value {
    json!({
        "eventID": format!("test-{sequence}"),
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {"pk": new["pk"], "sk": new["sk"]},
            "NewImage": new,
            "OldImage": old,
            "SequenceNumber": sequence,
            "SizeBytes": 1000,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    })
}

/// The device item of `regdevid` in DynamoDB JSON, as a stream image carries it.
async fn device_image(stack: &Stack, regdevid: &str) -> Value {
    let sdk = localstack().await;
    let item = aws_sdk_dynamodb::Client::new(&sdk)
        .get_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S(format!("DEV#{regdevid}")))
        .key("sk", AttributeValue::S("DEVICE".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the device item");
    serde_json::to_value(serde_dynamo::Item::from(item)).unwrap()
}

// Y.3059 7 iv e
// card C1
// A stream record delivered twice (the same event invoked twice) is published once; a record
// whose image does not decode is reported alone, by its sequence number, both times.
#[tokio::test]
async fn a_redelivered_record_is_published_once_and_a_poisoned_one_reported_alone() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let regdevid = trusted_device(&stack).await.regdevid;
    let topic = topic_arn(&stack, &domains(&stack)[0]);
    let subscriber =
        Subscriber::subscribe(&sdk, &topic, Some(json!({"regdevid": [regdevid]}))).await;

    // A change the table never made, so that only the direct invocations publish it.
    let old = device_image(&stack, &regdevid).await;
    let mut new = old.clone();
    new["status"] = json!({"S": "unverified"});
    let version: u64 = old["version"]["N"].as_str().unwrap().parse().unwrap();
    new["version"] = json!({"N": (version + 1000).to_string()});
    let mut poisoned = new.clone();
    poisoned["facts"] = json!({"S": "not a map"});
    let event = json!({"Records": [
        stream_record("900000000000000000001", &poisoned, &poisoned),
        stream_record("900000000000000000002", &old, &new),
    ]});
    for _ in 0..2 {
        let answer = invoke_notify(&stack, &event).await;
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": "900000000000000000001"}]})
        );
    }
    let received = subscriber
        .collect(DELIVERY, SETTLE, |r| {
            r.iter().any(|m| m.attributes["status"] == "unverified")
        })
        .await;
    let synthetic: Vec<&Received> = received
        .iter()
        .filter(|r| r.attributes["status"] == "unverified")
        .collect();
    assert_eq!(synthetic.len(), 1, "{received:?}");
    assert_eq!(synthetic[0].attributes["event"], "status-changed");
    subscriber.remove().await;
}

// Y.3059 7 iv e
// A poisoned device item written straight into the table (its image cannot be decoded) does
// not stop the notifications of the changes after it, and is recorded in the failure queue.
#[tokio::test]
async fn a_poisoned_stream_record_does_not_stop_the_others() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let regdevid = trusted_device(&stack).await.regdevid;
    let topic = topic_arn(&stack, &domains(&stack)[0]);
    let filter = json!({"regdevid": [regdevid], "status": ["unreliable"]});
    let subscriber = Subscriber::subscribe(&sdk, &topic, Some(filter)).await;

    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let poisoned = format!(
        "DEV#{}:imei:{}",
        stack.output("RegistryPath"),
        random_imei()
    );
    dynamo
        .put_item()
        .table_name(stack.table())
        .item("pk", AttributeValue::S(poisoned.clone()))
        .item("sk", AttributeValue::S("DEVICE".into()))
        .item("kind", AttributeValue::S("device".into()))
        .item("facts", AttributeValue::S("not a map".into()))
        .send()
        .await
        .unwrap();
    admin_hold(&stack, &regdevid).await;

    let received = subscriber.collect(DELIVERY, SETTLE, |r| r.len() >= 2).await;
    let events: BTreeSet<String> = received
        .iter()
        .map(|r| r.attributes["event"].clone())
        .collect();
    assert_eq!(
        events,
        BTreeSet::from(["hold".to_owned(), "status-changed".to_owned()]),
        "{received:?}"
    );
    assert_eq!(received.len(), 2, "each once: {received:?}");
    // Once its retries are spent, the poisoned record's position is kept for an operator.
    let failures = failure_records(&sdk, stack.output("NotifyFailureQueueUrl")).await;
    assert!(
        failures.iter().any(|f| f.contains("DDBStreamBatchInfo")),
        "{failures:?}"
    );
    dynamo
        .delete_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S(poisoned))
        .key("sk", AttributeValue::S("DEVICE".into()))
        .send()
        .await
        .unwrap();
    subscriber.remove().await;
}

// Y.3059 9.4 ii
// Y.3059 7 i c
// An administrator's bulk notification reaches the subscribers of each named device, on its
// domain's topic; the answer lists unknown devices.
#[tokio::test]
async fn an_admin_bulk_notification_reaches_the_devices_subscribers() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let a = trusted_device(&stack).await.regdevid;
    let b = trusted_device(&stack).await.regdevid;
    let topic = topic_arn(&stack, &domains(&stack)[0]);
    let subscriber = Subscriber::subscribe(
        &sdk,
        &topic,
        Some(json!({"event": ["bulk"], "regdevid": [a, b]})),
    )
    .await;
    let unknown = format!("{}:imei:{}", stack.output("RegistryPath"), random_imei());
    let (admin, key) = test_admin();
    let claims = json!({
        "nonce": challenge(&api, "bulk-notification").await,
        "regdevids": [a, b, unknown],
        "message": "firmware 2.0 fixes CVE-2026-0001: update"
    });
    let answer = post_signed(
        &api,
        "/v1/admin/notifications",
        &key,
        &format!("admin:{admin}"),
        &claims,
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["devices"], 2);
    assert_eq!(answer.body["published"], 2);
    assert_eq!(answer.body["unknown"], json!([unknown]));

    let received = subscriber.collect(DELIVERY, SETTLE, |r| r.len() >= 2).await;
    let devices: BTreeSet<String> = received
        .iter()
        .map(|r| r.attributes["regdevid"].clone())
        .collect();
    assert_eq!(devices, BTreeSet::from([a, b]));
    assert_eq!(received.len(), 2);
    assert!(
        received
            .iter()
            .all(|r| r.message["message"] == "firmware 2.0 fixes CVE-2026-0001: update")
    );
    subscriber.remove().await;
}

// Y.3059 9.4 i c
// The digest schedule's event publishes one digest per trust domain, with counts by status.
#[tokio::test]
async fn the_digest_is_published_on_every_domain_topic() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let mut subscribers = Vec::new();
    for domain in domains(&stack) {
        let topic = topic_arn(&stack, &domain);
        subscribers.push((
            domain,
            Subscriber::subscribe(&sdk, &topic, Some(json!({"event": ["digest"]}))).await,
        ));
    }
    let answer = invoke_notify(&stack, &json!({"task": "digest"})).await;
    assert_eq!(answer["failed"], json!([]), "{answer}");
    for (domain, subscriber) in subscribers {
        // Other runs of the digest may publish too: each of ours names its domain.
        let received = subscriber
            .collect(DELIVERY, Duration::ZERO, |r| !r.is_empty())
            .await;
        let digest = &received.first().expect("a digest").message;
        assert_eq!(digest["domain"], domain);
        assert_eq!(digest["event"], "digest");
        for status in ["trusted", "unverified", "unreliable"] {
            assert!(digest["counts"][status].is_u64(), "{digest}");
        }
        subscriber.remove().await;
    }
}

/// The failure queue's messages, waiting up to a minute for a first one.
async fn failure_records(sdk: &aws_config::SdkConfig, queue_url: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut bodies = Vec::new();
    while bodies.is_empty() && std::time::Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap();
        bodies.extend(
            out.messages()
                .iter()
                .filter_map(|m| m.body().map(str::to_owned)),
        );
    }
    bodies
}
