//! Notifications on the in-memory fakes: the mapping of changes, the deduplicated fan-out, the
//! digest and bulk notifications.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::error::RegistryError;
use crate::fakes::MemoryNotifier;
use crate::identifier::RegDevId;
use crate::lookups::tests::imei;
use crate::messages::Purpose;
use crate::ports::DeviceStore as _;
use crate::records::Outcome;
use crate::status::{OpenVulnerability, TrustStatus};
use crate::virtual_ids::tests::{Fixture, T0, key};

const REGISTRY: &str = "IN1.HLT.P07";

/// A registry on fakes with a notifier, hosting `health` and `finance`.
struct Notifying {
    f: Fixture,
    notifier: Arc<MemoryNotifier>,
}

impl Notifying {
    fn new() -> Self {
        let notifier = Arc::new(MemoryNotifier::default());
        let f = Fixture::with_config(|c| c.trust_domains = vec!["health".into(), "finance".into()]);
        let f = Fixture {
            registry: f.registry.with_notifier(notifier.clone()),
            ..f
        };
        Self { f, notifier }
    }

    /// A trusted device in both domains.
    async fn device(&self, n: u32) -> RegDevId {
        let id = self.f.device(&imei(n), &key(0x21), Some("owner-1")).await;
        if let Some(d) = self.f.store.lock().devices.get_mut(&id.to_string()) {
            d.trust_domains = vec!["health".into(), "finance".into()];
        }
        id
    }

    async fn stored(&self, id: &RegDevId) -> DeviceRecord {
        self.f.store.get_device(id).await.unwrap().unwrap()
    }

    /// The change an admin hold makes to `id`, as the stream would carry it.
    async fn hold(&self, id: &RegDevId) -> DeviceChange {
        let old = self.stored(id).await;
        let jws = self
            .f
            .signed(
                &self.f.admin,
                Some("admin:ops"),
                Purpose::Hold,
                json!({"regdevid": id.to_string(), "kind": "stolen"}),
            )
            .await;
        self.f
            .registry
            .place_hold(&id.to_string(), &jws)
            .await
            .unwrap();
        DeviceChange {
            old: Some(old),
            new: self.stored(id).await,
        }
    }

    fn published(&self) -> Vec<Notification> {
        self.notifier.snapshot().published
    }
}

fn events(notes: &[Notification]) -> Vec<(String, String)> {
    notes
        .iter()
        .map(|n| (n.attributes["event"].clone(), n.domain.clone()))
        .collect()
}

// Y.3059 7 iv e
// card C4
// A status change becomes one `status-changed` message per trust domain of the device, with
// the attributes subscribers filter on.
#[tokio::test]
async fn a_status_change_is_one_message_per_domain() {
    let n = Notifying::new();
    let id = n.device(1).await;
    let old = n.stored(&id).await;
    let mut new = old.clone();
    new.status = TrustStatus::Unverified;
    new.version += 1;
    let notes = notifications_for(
        REGISTRY,
        &DeviceChange {
            old: Some(old),
            new,
        },
    );
    assert_eq!(
        events(&notes),
        vec![
            ("status-changed".into(), "health".into()),
            ("status-changed".into(), "finance".into())
        ]
    );
    let a = &notes[0].attributes;
    assert_eq!(a["status"], "unverified");
    assert_eq!(a["previous_status"], "trusted");
    assert_eq!(a["make"], "Acme");
    assert_eq!(a["model"], "Pump");
    assert_eq!(a["regdevid"], id.to_string());
    assert_eq!(a["registry"], REGISTRY);
    assert!(!a.contains_key("severity"), "no vulnerability is open");
    assert_ne!(notes[0].id, notes[1].id);
}

// Y.3059 7 iv e
// A placed hold yields `hold` and `status-changed` (the device becomes unreliable); an open
// vulnerability yields `vulnerability` with its severity; the status message carries the
// highest open severity.
#[tokio::test]
async fn holds_and_vulnerabilities_are_their_own_events() {
    let n = Notifying::new();
    let id = n.device(2).await;
    let change = n.hold(&id).await;
    let notes = notifications_for(REGISTRY, &change);
    let mut kinds: Vec<_> = events(&notes);
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("hold".into(), "finance".into()),
            ("hold".into(), "health".into()),
            ("status-changed".into(), "finance".into()),
            ("status-changed".into(), "health".into()),
        ]
    );
    let hold = notes
        .iter()
        .find(|n| n.attributes["event"] == "hold")
        .unwrap();
    assert_eq!(hold.attributes["status"], "unreliable");
    assert_eq!(hold.message["hold"], "stolen");

    let old = n.stored(&id).await;
    let mut new = old.clone();
    new.facts.open_vulnerabilities.push(OpenVulnerability {
        id: "v-1".into(),
        severity: 9.1,
    });
    new.version += 1;
    let notes = notifications_for(
        REGISTRY,
        &DeviceChange {
            old: Some(old),
            new,
        },
    );
    assert_eq!(
        events(&notes),
        vec![
            ("vulnerability".into(), "health".into()),
            ("vulnerability".into(), "finance".into())
        ],
        "the status stays unreliable: no status message"
    );
    assert_eq!(notes[0].attributes["severity"], "9.1");
    assert_eq!(notes[0].message["vulnerability"]["id"], "v-1");
}

// Y.3059 9.1 iii
// Messages and attributes name the device, never its owner, keys or credential.
#[tokio::test]
async fn messages_carry_no_pii() {
    let n = Notifying::new();
    let id = n.device(3).await;
    let device = n.stored(&id).await;
    let change = n.hold(&id).await;
    for note in notifications_for(REGISTRY, &change) {
        let text = format!("{} {:?}", note.message, note.attributes);
        for secret in [
            "owner-1",
            device.credential.as_str(),
            device.key_thumbprint.as_str(),
            device.leaf_fingerprint.as_str(),
        ] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
        for field in ["owner_id", "public_key", "credential", "key_thumbprint"] {
            assert!(
                note.message.get(field).is_none(),
                "{field} in {}",
                note.message
            );
        }
    }
}

// Y.3059 7 iv e
// A new device, or a change that neither changes the status nor opens anything, is silent;
// one change always yields the same ids, another version other ids.
#[tokio::test]
async fn ids_are_stable_per_change_and_quiet_changes_are_silent() {
    let n = Notifying::new();
    let id = n.device(4).await;
    let device = n.stored(&id).await;
    let created = DeviceChange {
        old: None,
        new: device.clone(),
    };
    assert!(notifications_for(REGISTRY, &created).is_empty());
    let mut reported = device.clone();
    reported.facts.last_report_at_ms = Some(T0 + 1);
    reported.version += 1;
    let quiet = DeviceChange {
        old: Some(device.clone()),
        new: reported.clone(),
    };
    assert!(notifications_for(REGISTRY, &quiet).is_empty());

    let mut changed = reported.clone();
    changed.status = TrustStatus::Unreliable;
    let change = DeviceChange {
        old: Some(device.clone()),
        new: changed.clone(),
    };
    let ids = |c: &DeviceChange| -> Vec<String> {
        notifications_for(REGISTRY, c)
            .into_iter()
            .map(|n| n.id)
            .collect()
    };
    assert_eq!(ids(&change), ids(&change.clone()));
    let mut later = changed;
    later.version += 1;
    let again = DeviceChange {
        old: Some(device),
        new: later,
    };
    assert!(ids(&again).iter().all(|i| !ids(&change).contains(i)));
}

// Y.3059 7 iv e
// A change delivered twice is published once: the second delivery finds every mark.
#[tokio::test]
async fn a_redelivered_change_is_published_once() {
    let n = Notifying::new();
    let id = n.device(5).await;
    let change = n.hold(&id).await;
    let first = n.f.registry.fan_out(std::slice::from_ref(&change)).await;
    assert_eq!(
        first[0].as_ref().unwrap(),
        &FanOut {
            published: 4,
            duplicates: 0
        }
    );
    let second = n.f.registry.fan_out(&[change]).await;
    assert_eq!(
        second[0].as_ref().unwrap(),
        &FanOut {
            published: 0,
            duplicates: 4
        }
    );
    assert_eq!(n.published().len(), 4);
    let marks = n.f.store.snapshot().notified;
    assert_eq!(marks.len(), 4);
    assert!(marks.values().all(|expiry| *expiry == T0 + DEDUPE_TTL_MS));
}

// Y.3059 7 iv e
// A change whose messages fail is reported alone, its marks removed; the others of the batch
// are published. Redelivered once the service recovers, only what failed is published.
#[tokio::test]
async fn a_failed_change_stays_retryable_and_does_not_block_the_others() {
    let n = Notifying::new();
    let a = n.device(6).await;
    let b = n.device(7).await;
    let c = n.device(8).await;
    let changes = vec![n.hold(&a).await, n.hold(&b).await, n.hold(&c).await];
    n.notifier
        .fail_ids_containing(&format!("{b}#{}#hold", changes[1].new.version));
    let outcomes = n.f.registry.fan_out(&changes).await;
    assert_eq!(outcomes[0].as_ref().unwrap().published, 4);
    assert!(matches!(outcomes[1], Err(FanOutError::Publish(_))));
    assert_eq!(outcomes[2].as_ref().unwrap().published, 4);
    assert_eq!(
        n.notifier.snapshot().calls,
        vec![12],
        "one publish call for the batch"
    );
    assert_eq!(n.published().len(), 10);
    assert_eq!(n.f.store.snapshot().notified.len(), 10);

    n.notifier.recover();
    let retried = n.f.registry.fan_out(&changes[1..]).await;
    assert_eq!(
        retried[0].as_ref().unwrap(),
        &FanOut {
            published: 2,
            duplicates: 2
        }
    );
    assert_eq!(
        retried[1].as_ref().unwrap(),
        &FanOut {
            published: 0,
            duplicates: 4
        }
    );
    assert_eq!(n.published().len(), 12);
}

// card C1
// Without a notifier nothing is marked: every change fails and stays retryable.
#[tokio::test]
async fn without_a_notifier_every_change_fails_unmarked() {
    let f = Fixture::new();
    let id = f.device(&imei(9), &key(0x21), None).await;
    let old = f.store.get_device(&id).await.unwrap().unwrap();
    let mut new = old.clone();
    new.status = TrustStatus::Unreliable;
    let outcomes = f
        .registry
        .fan_out(&[DeviceChange {
            old: Some(old),
            new,
        }])
        .await;
    assert!(matches!(outcomes[0], Err(FanOutError::Publish(_))));
    assert!(f.store.snapshot().notified.is_empty());
}

// Y.3059 9.4 i c
// The digest of each domain counts its devices by status, the changes since the last digest
// and the open vulnerabilities; the next digest counts only what changed after it.
#[tokio::test]
async fn the_digest_counts_each_domain_and_what_changed_since_the_last() {
    let n = Notifying::new();
    let a = n.device(10).await;
    let _b = n.device(11).await;
    // A device of `health` only.
    let c = n.f.device(&imei(13), &key(0x21), None).await;
    {
        let mut s = n.f.store.lock();
        for id in [&a, &c] {
            let d = s.devices.get_mut(&id.to_string()).unwrap();
            d.status = TrustStatus::Unreliable;
            d.facts.open_vulnerabilities.push(OpenVulnerability {
                id: "v-9".into(),
                severity: 8.0,
            });
        }
    }
    let outcomes = n.f.registry.digest(T0 + 1000).await;
    assert_eq!(outcomes.len(), 2);
    let health = outcomes[0].result.as_ref().unwrap();
    assert_eq!(outcomes[0].domain, "health");
    assert_eq!(health.counts["trusted"], 1);
    assert_eq!(health.counts["unreliable"], 2);
    assert_eq!(health.counts["unverified"], 0);
    assert_eq!(health.changed, 3, "the first digest counts every device");
    assert_eq!(health.devices_with_open_vulnerabilities, 2);
    assert_eq!(health.open_vulnerabilities, vec!["v-9".to_owned()]);
    assert!(health.complete);
    let finance = outcomes[1].result.as_ref().unwrap();
    assert_eq!(finance.counts["unreliable"], 1);
    assert_eq!(finance.counts["trusted"], 1);

    let published = n.published();
    assert_eq!(published.len(), 2);
    assert_eq!(published[0].attributes["event"], "digest");
    assert_eq!(published[0].domain, "health");
    assert_eq!(published[0].message["counts"]["unreliable"], 2);
    assert!(!published[0].attributes.contains_key("status"));

    // One device changes after the first digest.
    if let Some(d) = n.f.store.lock().devices.get_mut(&a.to_string()) {
        d.status_since_ms = T0 + 5000;
    }
    let next = n.f.registry.digest(T0 + 10_000).await;
    let health = next[0].result.as_ref().unwrap();
    assert_eq!(health.changed, 1);
    assert_eq!(health.since.as_deref(), Some(rfc3339(T0 + 1000).as_str()));
}

// Y.3059 9.4 i c
// A digest that cannot be published keeps the previous digest time, so the next run still
// covers the changes it would have reported.
#[tokio::test]
async fn an_unpublished_digest_keeps_its_window() {
    let n = Notifying::new();
    n.device(12).await;
    n.notifier.fail_ids_containing("digest#health");
    let outcomes = n.f.registry.digest(T0 + 1000).await;
    assert!(matches!(outcomes[0].result, Err(RegistryError::Notify(_))));
    assert!(outcomes[1].result.is_ok());
    let digests = n.f.store.snapshot().digests;
    assert_eq!(digests.get("health"), None);
    assert_eq!(digests.get("finance"), Some(&(T0 + 1000)));
}

async fn bulk(
    n: &Notifying,
    signer: &p256::ecdsa::SigningKey,
    kid: &str,
    claims: serde_json::Value,
) -> Result<BulkNotificationResponse, RegistryError> {
    let jws =
        n.f.signed(signer, Some(kid), Purpose::BulkNotification, claims)
            .await;
    n.f.registry.notify_devices(&jws).await
}

// Y.3059 9.4 ii
// Y.3059 7 i c
// An administrator notifies a set of devices' subscribers: one message per device and
// domain, in one publish call, unknown devices listed, the request audited once.
#[tokio::test]
async fn an_admin_notifies_many_devices_at_once() {
    let n = Notifying::new();
    let a = n.device(20).await;
    let b = n.device(21).await;
    let unknown = format!("IN1.HLT.P07:imei:{}", imei(22));
    let answer = bulk(
        &n,
        &n.f.admin.clone(),
        "admin:ops",
        json!({"regdevids": [a.to_string(), b.to_string(), a.to_string(), unknown],
               "message": "firmware 2.0 is out: update"}),
    )
    .await
    .unwrap();
    assert_eq!(answer.devices, 2);
    assert_eq!(answer.published, 4);
    assert!(answer.failed.is_empty());
    assert_eq!(answer.unknown, vec![unknown.clone()]);
    assert_eq!(n.notifier.snapshot().calls, vec![4]);
    let published = n.published();
    assert!(published.iter().all(|p| p.attributes["event"] == "bulk"));
    assert_eq!(
        published[0].message["message"],
        "firmware 2.0 is out: update"
    );
    assert_eq!(n.f.audited("bulk-notification", Outcome::Accepted), 1);
}

// Y.3059 9.4 ii
// Only administrators send bulk notifications, for at most 1000 devices, with a message;
// refusals are audited and publish nothing.
#[tokio::test]
async fn bulk_notifications_are_for_admins_and_bounded() {
    let n = Notifying::new();
    let a = n.device(23).await;
    let device_signed = bulk(
        &n,
        &key(0x21),
        &a.to_string(),
        json!({"regdevids": [a.to_string()], "message": "hello"}),
    )
    .await;
    assert!(
        matches!(device_signed, Err(RegistryError::Forbidden(_))),
        "{device_signed:?}"
    );
    let many: Vec<String> = (0..1001)
        .map(|i| format!("IN1.HLT.P07:imei:{}", imei(100 + i)))
        .collect();
    let too_many = bulk(
        &n,
        &n.f.admin.clone(),
        "admin:ops",
        json!({"regdevids": many, "message": "x"}),
    )
    .await;
    assert!(matches!(
        too_many,
        Err(RegistryError::TooManyItems { max: 1000 })
    ));
    let empty = bulk(
        &n,
        &n.f.admin.clone(),
        "admin:ops",
        json!({"regdevids": [a.to_string()], "message": " "}),
    )
    .await;
    assert!(matches!(empty, Err(RegistryError::Malformed(_))));
    assert!(n.published().is_empty());
    assert_eq!(n.f.audited("bulk-notification", Outcome::Rejected), 3);
}

// Y.3059 9.4 ii
// A device whose messages cannot be published is named in the answer; the others go out.
#[tokio::test]
async fn bulk_failures_are_named_per_device() {
    let n = Notifying::new();
    let a = n.device(30).await;
    let b = n.device(31).await;
    n.notifier.fail_ids_containing(&format!("#{b}#finance"));
    let answer = bulk(
        &n,
        &n.f.admin.clone(),
        "admin:ops",
        json!({"regdevids": [a.to_string(), b.to_string()], "message": "recall"}),
    )
    .await
    .unwrap();
    assert_eq!(answer.published, 3);
    assert_eq!(answer.failed, vec![b.to_string()]);
}
