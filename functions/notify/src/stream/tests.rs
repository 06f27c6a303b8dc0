//! Stream batches on the in-memory fakes: the records as Lambda delivers them (DynamoDB JSON
//! images), the registry's fan-out, the partial batch response.

use std::sync::Arc;

use serde_json::{Value, json};
use trustreg_core::exchange::{EXCHANGE_TYP, ExchangeBody, ExchangeClaims, Received};
use trustreg_core::fakes::device_info;
use trustreg_core::fakes::{MemoryKeys, MemoryNotifier, MemoryOutbox, MemoryStore};
use trustreg_core::jose;
use trustreg_core::ports::{HierarchyStore, RegistryKeys};
use trustreg_core::records::{AuditRecord, DeviceRecord, LinkKind, LinkRecord, Outcome};
use trustreg_core::status::{Facts, TrustStatus};
use trustreg_core::{Registry, RegistryKind};

use super::{Exchange, handle_batch};
use trustreg_core::fakes::FakeRegistry;

const T0: u64 = 1_795_000_000_000;

fn registry() -> (Registry, Arc<MemoryNotifier>, Arc<MemoryStore>) {
    let notifier = Arc::new(MemoryNotifier::default());
    let store = Arc::new(MemoryStore::default());
    let registry = FakeRegistry::builder()
        .store(store.clone())
        .notifier(notifier.clone())
        .build()
        .registry;
    (registry, notifier, store)
}

fn device(imei: &str, status: TrustStatus, version: u64) -> DeviceRecord {
    DeviceRecord {
        regdevid: format!("IN1.HLT.P07:imei:{imei}").parse().unwrap(),
        public_key: json!({"kty": "EC"}),
        key_thumbprint: "thumb".into(),
        root_id: "root".into(),
        leaf_fingerprint: "leaf".into(),
        info: device_info("Pump", "1"),
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
        transfer_offer: None,
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

/// The sectoral registry's inbox, as the primary's link to its parent names it.
const PARENT_INBOX: &str = "https://sqs.local/inbox-IN1.HLT";

/// The primary as the stack's notify function builds it (with an outbox), linked to its
/// sectoral parent, and the parent, linked back to it: the link records as `trustreg admin
/// link` leaves them on both sides.
struct Linked {
    primary: Registry,
    outbox: Arc<MemoryOutbox>,
    keys: Arc<MemoryKeys>,
    notifier: Arc<MemoryNotifier>,
    parent: Registry,
}

async fn linked() -> Linked {
    let notifier = Arc::new(MemoryNotifier::default());
    let store = Arc::new(MemoryStore::default());
    let outbox = Arc::new(MemoryOutbox::default());
    let keys = Arc::new(MemoryKeys::new(1));
    let primary = FakeRegistry::builder()
        .store(store.clone())
        .keys(keys.clone())
        .notifier(notifier.clone())
        .outbox(outbox.clone())
        .build()
        .registry;
    let parent_keys = MemoryKeys::new(2);
    store
        .put_link(
            &link(
                "HLT",
                "IN1.HLT",
                LinkKind::Parent,
                &parent_keys,
                PARENT_INBOX,
            )
            .await,
            &audit("1"),
        )
        .await
        .unwrap();
    let parent_store = Arc::new(MemoryStore::default());
    parent_store
        .put_link(
            &link(
                "P07",
                "IN1.HLT.P07",
                LinkKind::Child,
                &keys,
                "https://sqs.local/inbox-IN1.HLT.P07",
            )
            .await,
            &audit("2"),
        )
        .await
        .unwrap();
    let parent = FakeRegistry::builder()
        .path("IN1.HLT")
        .kind(RegistryKind::Sectoral)
        .store(parent_store)
        .keys(Arc::new(parent_keys))
        .outbox(Arc::new(MemoryOutbox::default()))
        .build()
        .registry;
    Linked {
        primary,
        outbox,
        keys,
        notifier,
        parent,
    }
}

async fn link(
    reg_id: &str,
    path: &str,
    kind: LinkKind,
    keys: &MemoryKeys,
    inbox: &str,
) -> LinkRecord {
    LinkRecord {
        reg_id: reg_id.into(),
        path: path.into(),
        kind,
        public_key: jose::jwk_from_key(&keys.public_key().await.unwrap()),
        inbox: inbox.into(),
        linked_at_ms: T0,
        linked_by: "admin:ops".into(),
    }
}

fn audit(id: &str) -> AuditRecord {
    AuditRecord {
        id: id.into(),
        at_ms: T0,
        actor: "admin:ops".into(),
        action: "link-registry".into(),
        target: None,
        outcome: Outcome::Accepted,
        code: None,
    }
}

/// A change the hierarchy does not hear of: a new report, the status as it was.
fn report_only(sequence: &str, imei: &str) -> Value {
    let old = device(imei, TrustStatus::Trusted, 3);
    let mut new = device(imei, TrustStatus::Trusted, 4);
    new.info.firmware_version = "2".into();
    record(sequence, "MODIFY", image(&old), image(&new))
}

/// The claims of a message the primary sent, once its signature verifies with its key.
async fn verified_claims(keys: &MemoryKeys, message: &str) -> ExchangeClaims {
    let jws = jose::parse(message).unwrap();
    jws.verify(&keys.public_key().await.unwrap()).unwrap();
    assert_eq!(jws.header().typ.as_deref(), Some(EXCHANGE_TYP));
    jws.claims().unwrap()
}

// Y.3059 7 iv f
// Y.3059 9.4 i b
// A batch's device changes go up as one update, signed by the primary, numbered, to the
// parent's inbox, carrying only the devices whose mirrored fields changed; the parent accepts
// it. The next batch takes the next number; without the exchange nothing is sent.
#[tokio::test]
async fn device_changes_go_up_as_one_numbered_update() {
    let linked = linked().await;
    let transition =
        json!({"pk": {"S": "DEV#x"}, "sk": {"S": "HIST#1"}, "kind": {"S": "transition"}});
    let batch = vec![
        status_change("400", "356938035643809"),
        report_only("401", "490154203237518"),
        record("402", "INSERT", json!({}), transition),
        status_change("403", "352099001761481"),
    ];
    let off = handle_batch(&linked.primary, &batch, Exchange::Off)
        .await
        .unwrap();
    assert!(off.failures.is_empty(), "{off:?}");
    assert!(linked.outbox.snapshot().sent.is_empty());

    let outcome = handle_batch(&linked.primary, &batch, Exchange::SendUp)
        .await
        .unwrap();
    assert!(outcome.failures.is_empty(), "{outcome:?}");
    assert_eq!(outcome.changes, 3);
    let sent = linked.outbox.drain();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (inbox, message) = &sent[0];
    assert_eq!(inbox, PARENT_INBOX);
    let claims = verified_claims(&linked.keys, message).await;
    assert_eq!(
        (claims.sender.as_str(), claims.origin.as_str(), claims.seq),
        ("IN1.HLT.P07", "IN1.HLT.P07", 1)
    );
    let ExchangeBody::Update { items } = claims.body else {
        panic!("not an update: {claims:?}");
    };
    let sent_up: Vec<(&str, TrustStatus)> = items
        .iter()
        .map(|i| (i.regdevid.as_str(), i.status))
        .collect();
    assert_eq!(
        sent_up,
        [
            ("IN1.HLT.P07:imei:356938035643809", TrustStatus::Unreliable),
            ("IN1.HLT.P07:imei:352099001761481", TrustStatus::Unreliable),
        ]
    );
    // No owner leaves the registry.
    assert!(!message.contains("owner-1"));
    assert_eq!(
        linked.parent.receive_exchange(message).await.unwrap(),
        Received::Applied {
            items: 2,
            forwarded: 0
        }
    );

    let next = vec![status_change("404", "356938035643809")];
    handle_batch(&linked.primary, &next, Exchange::SendUp)
        .await
        .unwrap();
    let sent = linked.outbox.drain();
    assert_eq!(sent.len(), 1);
    assert_eq!(verified_claims(&linked.keys, &sent[0].1).await.seq, 2);
}

// Y.3059 7 iv f
// An update the parent's inbox did not take fails the records of its devices, and only
// those: Lambda delivers them again; the fan-out of the batch still happened.
#[tokio::test]
async fn an_update_not_sent_up_fails_its_records() {
    let linked = linked().await;
    linked.outbox.fail_inbox(PARENT_INBOX);
    let batch = vec![
        status_change("500", "356938035643809"),
        report_only("501", "490154203237518"),
        status_change("502", "352099001761481"),
    ];
    let outcome = handle_batch(&linked.primary, &batch, Exchange::SendUp)
        .await
        .unwrap();
    assert_eq!(outcome.failures, ["500".to_owned(), "502".to_owned()]);
    assert_eq!(
        outcome.response(),
        json!({"batchItemFailures": [{"itemIdentifier": "500"}, {"itemIdentifier": "502"}]})
    );
    assert!(linked.outbox.snapshot().sent.is_empty());
    assert_eq!(linked.notifier.snapshot().published.len(), 2);
}
