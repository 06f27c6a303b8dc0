//! Idempotency keys on the in-memory fakes: a retry over a fresh nonce with the same key and
//! intent is answered from the receipt, and stores nothing more.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use p256::ecdsa::SigningKey;
use serde_json::{Value, json};

use super::{Intent, validate_key};
use crate::error::RegistryError;
use crate::identifier::RegDevId;
use crate::messages::Purpose;
use crate::ports::DeviceStore;
use crate::records::Outcome;
use crate::virtual_ids::tests::{Fixture, key};

const IMEI: &str = "356938035643809";
const KEY: &str = "report-0001-abcd";

#[test]
fn keys_are_8_to_64_unreserved_characters() {
    for good in ["abcdefgh", "A-b_c.d~0123", &"k".repeat(64)] {
        assert!(validate_key(good).is_ok(), "{good}");
    }
    for bad in [
        "short",
        &"k".repeat(65),
        "with space",
        "slash/slash",
        "ünïcödé1",
        "",
    ] {
        assert!(
            matches!(validate_key(bad), Err(RegistryError::Malformed(_))),
            "{bad}"
        );
    }
}

#[test]
fn the_intent_leaves_out_the_nonce_and_the_key_only() {
    let of = |signer: &str, route: &str, target: &str, key: &str, claims: Value| {
        Intent::of(signer, route, target, Some(key), &claims)
            .unwrap()
            .unwrap()
    };
    let base = of(
        "device:a",
        "report",
        "t",
        KEY,
        json!({"nonce": "1", "fw": "2"}),
    );
    let retry = of(
        "device:a",
        "report",
        "t",
        KEY,
        json!({"nonce": "9", "fw": "2", "idempotency_key": KEY}),
    );
    assert_eq!(base, retry, "a fresh nonce is the same intent");
    let other_body = of(
        "device:a",
        "report",
        "t",
        KEY,
        json!({"nonce": "1", "fw": "3"}),
    );
    assert_eq!(other_body.id, base.id, "same key, same receipt");
    assert_ne!(other_body.digest, base.digest, "another intent");
    for (signer, route, target, k) in [
        ("device:b", "report", "t", KEY),
        ("device:a", "hold:stolen", "t", KEY),
        ("device:a", "report", "u", KEY),
        ("device:a", "report", "t", "another-key"),
    ] {
        let other = of(signer, route, target, k, json!({"nonce": "1", "fw": "2"}));
        assert_ne!(other.id, base.id, "{signer} {route} {target} {k}");
    }
    assert_eq!(Intent::of("s", "r", "t", None, &json!({})).unwrap(), None);
    assert!(Intent::of("s", "r", "t", Some("bad key"), &json!({})).is_err());
}

async fn report(
    f: &Fixture,
    k: &SigningKey,
    id: &RegDevId,
    firmware: &str,
    idempotency_key: Option<&str>,
) -> (
    String,
    Result<crate::messages::ReportResponse, RegistryError>,
) {
    let mut claims = json!({"firmware_version": firmware, "software_version": "1",
                            "communication": ["lte"]});
    if let Some(key) = idempotency_key {
        claims["idempotency_key"] = json!(key);
    }
    let jws = f
        .signed(k, Some(&id.to_string()), Purpose::Report, claims)
        .await;
    let answer = f.registry.report(&id.to_string(), &jws).await;
    (jws, answer)
}

// A report retried over a fresh nonce with the same key is answered as the first was, and
// stores no second report, audit record or device version; the first request's body stays
// refused (its nonce is spent).
#[tokio::test]
async fn a_retried_report_is_answered_from_its_receipt() {
    let f = Fixture::new();
    let k = key(0x21);
    let id = f.device(IMEI, &k, None).await;
    let (first_jws, first) = report(&f, &k, &id, "2", Some(KEY)).await;
    let first = first.unwrap();
    f.clock.advance(5_000);
    let (_, again) = report(&f, &k, &id, "2", Some(KEY)).await;
    let again = again.unwrap();
    assert_eq!(
        (&again.received_at, &again.changed, again.status),
        (&first.received_at, &first.changed, first.status),
        "the first answer, replayed"
    );
    let s = f.store.snapshot();
    assert_eq!(s.reports.len(), 1, "one report stored");
    assert_eq!(s.receipts.len(), 1);
    assert_eq!(f.audited("report", Outcome::Accepted), 1);
    assert_eq!(
        s.devices[&id.to_string()].version,
        2,
        "one change of the device"
    );
    let replayed = f.registry.report(&id.to_string(), &first_jws).await;
    assert!(matches!(replayed, Err(RegistryError::NonceInvalid)));
    // Without a key, every report is a new one, as before.
    report(&f, &k, &id, "2", None).await.1.unwrap();
    assert_eq!(f.store.snapshot().reports.len(), 2);
}

// The same key over another report is the client's mistake: refused, nothing stored.
#[tokio::test]
async fn a_key_reused_for_another_report_is_refused() {
    let f = Fixture::new();
    let k = key(0x21);
    let id = f.device(IMEI, &k, None).await;
    report(&f, &k, &id, "2", Some(KEY)).await.1.unwrap();
    let (_, other) = report(&f, &k, &id, "3", Some(KEY)).await;
    assert!(
        matches!(other, Err(RegistryError::IdempotencyKeyReused)),
        "{other:?}"
    );
    let s = f.store.snapshot();
    assert_eq!(s.reports.len(), 1);
    assert_eq!(s.devices[&id.to_string()].info.firmware_version, "2");
    assert_eq!(
        f.audited("report", Outcome::Rejected),
        1,
        "the refusal audited"
    );
    let (_, bad) = report(&f, &k, &id, "3", Some("no")).await;
    assert!(matches!(bad, Err(RegistryError::Malformed(_))), "{bad:?}");
}

async fn hold(
    f: &Fixture,
    id: &RegDevId,
    idempotency_key: Option<&str>,
) -> Result<crate::messages::HoldResponse, RegistryError> {
    let mut claims = json!({"regdevid": id.to_string(), "kind": "stolen"});
    if let Some(key) = idempotency_key {
        claims["idempotency_key"] = json!(key);
    }
    let jws = f
        .signed(&f.admin, Some("admin:ops"), Purpose::Hold, claims)
        .await;
    f.registry.place_hold(&id.to_string(), &jws).await
}

// A hold retried with its key after the hold was released meanwhile is answered as placed
// then: the retry does not place it again, nor record a second hold or transition.
#[tokio::test]
async fn a_retried_hold_is_not_placed_again() {
    let f = Fixture::new();
    let id = f.device(IMEI, &key(0x21), None).await;
    let placed = hold(&f, &id, Some("hold-key-0001")).await.unwrap();
    assert_eq!(placed.holds, ["stolen"]);
    let jws = f
        .signed(
            &f.admin,
            Some("admin:ops"),
            Purpose::Hold,
            json!({"regdevid": id.to_string(), "kind": "stolen"}),
        )
        .await;
    f.registry
        .release_hold(&id.to_string(), "stolen", &jws)
        .await
        .unwrap();
    let transitions = f.store.snapshot().transitions.len();
    let again = hold(&f, &id, Some("hold-key-0001")).await.unwrap();
    assert_eq!(again.holds, placed.holds, "the answer of the hold placed");
    let device = f.store.get_device(&id).await.unwrap().unwrap();
    assert!(device.facts.holds.is_empty(), "not placed again");
    assert_eq!(f.store.snapshot().transitions.len(), transitions);
    assert_eq!(f.audited("hold:stolen", Outcome::Accepted), 1);
}

/// A self-registered owner with the key `k`; its id.
async fn self_registered(f: &Fixture, k: &SigningKey) -> String {
    let jws = f
        .signed(
            k,
            None,
            Purpose::Owner,
            json!({"kind": "owner", "attributes": {"name": "Ada"},
                   "public_key": crate::jose::jwk_from_key(k.verifying_key())}),
        )
        .await;
    f.registry.register_owner(&jws).await.unwrap().owner_id
}

// An owner's transfer offer retried with its key records no second offer.
#[tokio::test]
async fn a_retried_transfer_offer_is_made_once() {
    let f = Fixture::new();
    let owner = key(0x31);
    let owner_id = self_registered(&f, &owner).await;
    let other_id = self_registered(&f, &key(0x32)).await;
    let device = f.device(IMEI, &key(0x21), Some(&owner_id)).await;
    let offer = || async {
        let jws = f
            .signed(
                &owner,
                Some(&format!("owner:{owner_id}")),
                Purpose::Transfer,
                json!({"new_owner_id": other_id, "idempotency_key": "transfer-0001"}),
            )
            .await;
        f.registry.transfer(&device.to_string(), &jws).await
    };
    let first = offer().await.unwrap();
    f.clock.advance(1_000);
    let again = offer().await.unwrap();
    assert_eq!(again.offered_to, first.offered_to);
    assert_eq!(f.audited("offer-transfer", Outcome::Accepted), 1);
    let stored = f.store.get_device(&device).await.unwrap().unwrap();
    assert_eq!(stored.version, 2, "one offer written");
}
