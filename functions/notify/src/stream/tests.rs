//! Stream batches on the in-memory fakes: the records as Lambda delivers them (DynamoDB JSON
//! images), the registry's fan-out, the partial batch response.

use std::sync::Arc;

use serde_json::{Value, json};
use trustreg_core::fakes::{CountingRng, FixedClock, MemoryKeys, MemoryNotifier, MemoryStore};
use trustreg_core::messages::{DeviceInfo, RotClaim};
use trustreg_core::records::DeviceRecord;
use trustreg_core::status::{Facts, TrustStatus};
use trustreg_core::{Registry, RegistryConfig, RegistryKind};

use super::{Exchange, handle_batch};

const T0: u64 = 1_795_000_000_000;

fn registry() -> (Registry, Arc<MemoryNotifier>, Arc<MemoryStore>) {
    let notifier = Arc::new(MemoryNotifier::default());
    let store = Arc::new(MemoryStore::default());
    let registry = Registry::new(
        RegistryConfig::new(
            "IN1.HLT.P07".parse().unwrap(),
            RegistryKind::Primary,
            vec!["health".into()],
        ),
        store.clone(),
        Arc::new(MemoryKeys::new(1)),
        Arc::new(FixedClock::at(T0)),
        Arc::new(CountingRng::default()),
    )
    .with_notifier(notifier.clone());
    (registry, notifier, store)
}

fn device(imei: &str, status: TrustStatus, version: u64) -> DeviceRecord {
    DeviceRecord {
        regdevid: format!("IN1.HLT.P07:imei:{imei}").parse().unwrap(),
        public_key: json!({"kty": "EC"}),
        key_thumbprint: "thumb".into(),
        root_id: "root".into(),
        leaf_fingerprint: "leaf".into(),
        info: DeviceInfo {
            make: "Acme".into(),
            model: "Pump".into(),
            firmware_version: "1".into(),
            software_version: "1".into(),
            rot: RotClaim {
                kind: "secure-element".into(),
            },
            communication: vec![],
            power: Default::default(),
            protocols: vec![],
        },
        trust_domains: vec!["health".into()],
        owner_id: Some("owner-1".into()),
        facts: Facts::default(),
        status,
        reasons: vec![],
        status_since_ms: T0,
        next_evaluation_at_ms: None,
        registered_at_ms: T0,
        acknowledged_at_ms: None,
        credential: "credential".into(),
        version,
    }
}

/// A device item's image as the table holds it, in DynamoDB JSON.
fn image(d: &DeviceRecord) -> Value {
    let mut item: serde_dynamo::Item = serde_dynamo::to_item(d).unwrap();
    item.insert(
        "pk".into(),
        serde_dynamo::AttributeValue::S(format!("DEV#{}", d.regdevid)),
    );
    item.insert(
        "sk".into(),
        serde_dynamo::AttributeValue::S("DEVICE".into()),
    );
    item.insert(
        "kind".into(),
        serde_dynamo::AttributeValue::S("device".into()),
    );
    serde_json::to_value(item).unwrap()
}

fn record(sequence: &str, name: &str, old: Value, new: Value) -> Value {
    json!({
        "eventID": format!("e{sequence}"),
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795000000.0,
            "Keys": {"pk": new.get("pk").or(old.get("pk")).cloned().unwrap_or(json!({"S": "X"})),
                     "sk": {"S": "DEVICE"}},
            "NewImage": new,
            "OldImage": old,
            "SequenceNumber": sequence,
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    })
}

fn status_change(sequence: &str, imei: &str) -> Value {
    record(
        sequence,
        "MODIFY",
        image(&device(imei, TrustStatus::Trusted, 3)),
        image(&device(imei, TrustStatus::Unreliable, 4)),
    )
}

// Y.3059 7 iv e
// A record whose image does not decode is reported alone; the records after it are fanned
// out; records of other items are skipped.
#[tokio::test]
async fn a_poisoned_record_is_reported_alone() {
    let (registry, notifier, _) = registry();
    let poisoned = json!({"pk": {"S": "DEV#IN1.HLT.P07:imei:356938035643809"},
                          "sk": {"S": "DEVICE"}, "kind": {"S": "device"},
                          "facts": {"S": "not a map"}});
    let transition =
        json!({"pk": {"S": "DEV#x"}, "sk": {"S": "HIST#1"}, "kind": {"S": "transition"}});
    let batch = vec![
        status_change("100", "356938035643809"),
        record("101", "MODIFY", poisoned.clone(), poisoned),
        record("102", "INSERT", json!({}), transition),
        status_change("103", "490154203237518"),
    ];
    let outcome = handle_batch(&registry, &batch, Exchange::Off)
        .await
        .unwrap();
    assert_eq!(outcome.failures, vec!["101".to_owned()]);
    assert_eq!(outcome.changes, 2);
    assert_eq!(
        outcome.response(),
        json!({"batchItemFailures": [{"itemIdentifier": "101"}]})
    );
    let published = notifier.snapshot().published;
    assert_eq!(published.len(), 2);
    assert!(
        published
            .iter()
            .all(|n| n.attributes["status"] == "unreliable")
    );
}

// Y.3059 7 iv e
// Redelivered, a batch publishes nothing twice; a publish failure fails only its record,
// which then succeeds on its own redelivery.
#[tokio::test]
async fn redeliveries_publish_once_and_failures_stay_retryable() {
    let (registry, notifier, store) = registry();
    let batch = vec![
        status_change("200", "356938035643809"),
        status_change("201", "490154203237518"),
    ];
    notifier.fail_ids_containing("490154203237518");
    let first = handle_batch(&registry, &batch, Exchange::Off)
        .await
        .unwrap();
    assert_eq!(first.failures, vec!["201".to_owned()]);
    assert_eq!(store.snapshot().notified.len(), 1);

    notifier.recover();
    let again = handle_batch(&registry, &batch, Exchange::Off)
        .await
        .unwrap();
    assert!(again.failures.is_empty());
    let published = notifier.snapshot().published;
    assert_eq!(published.len(), 2, "each change once: {published:?}");
    assert_eq!(
        handle_batch(&registry, &batch, Exchange::Off)
            .await
            .unwrap()
            .response(),
        json!({"batchItemFailures": []})
    );
    assert_eq!(notifier.snapshot().published.len(), 2);
}

// card C1
// A record Lambda cannot name fails the batch as a whole.
#[tokio::test]
async fn a_record_without_a_sequence_number_fails_the_batch() {
    let (registry, _, _) = registry();
    let mut nameless = status_change("300", "356938035643809");
    nameless["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("SequenceNumber");
    assert!(
        handle_batch(&registry, &[nameless], Exchange::Off)
            .await
            .is_err()
    );
}
