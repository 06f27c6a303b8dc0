//! Deregistration on the in-memory fakes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use p256::ecdsa::SigningKey;
use serde_json::json;

use crate::error::RegistryError;
use crate::identifier::RegDevId;
use crate::jose;
use crate::messages::{DeregistrationResponse, Purpose};
use crate::ports::DeviceStore;
use crate::records::{DeviceRecord, Outcome};
use crate::service::rfc3339;
use crate::status::{DeregistrationReason, TrustStatus};
use crate::virtual_ids::tests::{Fixture, T0, key};

const IMEI: &str = "356938035643809";
const OTHER_IMEI: &str = "490154203237518";

/// A self-registered owner with the key `seed`; its id.
async fn owner(f: &Fixture, seed: u8) -> String {
    let k = key(seed);
    let jws = f
        .signed(
            &k,
            None,
            Purpose::Owner,
            json!({"kind": "owner", "attributes": {"name": "Ada"},
                   "public_key": jose::jwk_from_key(k.verifying_key())}),
        )
        .await;
    f.registry.register_owner(&jws).await.unwrap().owner_id
}

async fn deregister(
    f: &Fixture,
    signer: &SigningKey,
    kid: &str,
    path: &RegDevId,
    signed_for: &RegDevId,
    reason: &str,
) -> Result<DeregistrationResponse, RegistryError> {
    let jws = f
        .signed(
            signer,
            Some(kid),
            Purpose::Deregister,
            json!({"regdevid": signed_for.to_string(), "reason": reason}),
        )
        .await;
    f.registry.deregister(&path.to_string(), &jws).await
}

async fn stored(f: &Fixture, id: &RegDevId) -> DeviceRecord {
    f.store.get_device(id).await.unwrap().unwrap()
}

// Y.3059 6.3 e
// The owner ends the registration: the status is deregistered from then, a transition says
// so, a lookup answers it with the date; asking again answers the same and changes nothing.
#[tokio::test]
async fn the_owner_deregisters_and_asking_again_changes_nothing() {
    let f = Fixture::new();
    let o = owner(&f, 0x31).await;
    let id = f.device(IMEI, &key(0x21), Some(&o)).await;
    f.clock.advance(5_000);
    let kid = format!("owner:{o}");
    let done = deregister(&f, &key(0x31), &kid, &id, &id, "decommissioned")
        .await
        .unwrap();
    assert_eq!(done.status, TrustStatus::Deregistered);
    assert_eq!(done.deregistered_at, rfc3339(T0 + 5_000));
    assert_eq!(done.reason, DeregistrationReason::Decommissioned);
    let device = stored(&f, &id).await;
    assert_eq!(device.status, TrustStatus::Deregistered);
    let last = f.store.snapshot().transitions.last().cloned().unwrap();
    assert_eq!(
        (last.from, last.to, last.at_ms),
        (
            Some(TrustStatus::Trusted),
            TrustStatus::Deregistered,
            T0 + 5_000
        )
    );
    let seen = f.registry.lookup(None, &id.to_string()).await.unwrap();
    assert_eq!(seen.device.status, TrustStatus::Deregistered);
    assert_eq!(seen.device.status_since, rfc3339(T0 + 5_000));

    f.clock.advance(5_000);
    let again = deregister(&f, &key(0x31), &kid, &id, &id, "lost")
        .await
        .unwrap();
    assert_eq!(again, done, "the first deregistration stands");
    let after = stored(&f, &id).await;
    assert_eq!(after.version, device.version);
    assert_eq!(f.store.snapshot().transitions.len(), 2);
    assert_eq!(f.audited("deregister:decommissioned", Outcome::Accepted), 1);
    assert_eq!(f.audited("deregister-again", Outcome::Accepted), 1);
}

// Y.3059 6.3 e
// An administrator deregisters any device.
#[tokio::test]
async fn an_administrator_deregisters_any_device() {
    let f = Fixture::new();
    let id = f.device(IMEI, &key(0x21), None).await;
    let admin = f.admin.clone();
    let done = deregister(&f, &admin, "admin:ops", &id, &id, "stolen")
        .await
        .unwrap();
    assert_eq!(done.status, TrustStatus::Deregistered);
    assert_eq!(done.reason, DeregistrationReason::Stolen);
    let d = stored(&f, &id).await.facts.deregistration.unwrap();
    assert_eq!(d.by, "admin:ops");
}

// Another owner, the device itself, a replayed request and one signed for another device are
// refused, each audited, and the device is unchanged.
#[tokio::test]
async fn only_the_owner_or_an_administrator_deregisters() {
    let f = Fixture::new();
    let o = owner(&f, 0x31).await;
    let stranger = owner(&f, 0x32).await;
    let id = f.device(IMEI, &key(0x21), Some(&o)).await;
    let other = f.device(OTHER_IMEI, &key(0x22), Some(&o)).await;
    let before = stored(&f, &id).await;

    let by_stranger = deregister(
        &f,
        &key(0x32),
        &format!("owner:{stranger}"),
        &id,
        &id,
        "lost",
    )
    .await;
    assert!(matches!(by_stranger, Err(RegistryError::Forbidden(_))));
    let by_device = deregister(&f, &key(0x21), &id.to_string(), &id, &id, "lost").await;
    assert!(matches!(by_device, Err(RegistryError::Forbidden(_))));
    let kid = format!("owner:{o}");
    let for_other = deregister(&f, &key(0x31), &kid, &id, &other, "lost").await;
    assert!(matches!(for_other, Err(RegistryError::Malformed(_))));
    let jws = f
        .signed(
            &key(0x31),
            Some(&kid),
            Purpose::Deregister,
            json!({"regdevid": other.to_string(), "reason": "lost"}),
        )
        .await;
    f.registry
        .deregister(&other.to_string(), &jws)
        .await
        .unwrap();
    let replayed = f.registry.deregister(&id.to_string(), &jws).await;
    assert!(matches!(replayed, Err(RegistryError::NonceInvalid)));

    assert_eq!(stored(&f, &id).await, before);
    assert_eq!(f.audited("deregister", Outcome::Rejected), 4);
}

// Y.3059 6.3 e
// After the deregistration nothing more is done to the device, and its identifier does not
// register again, with the same key or another: the RegDevID is never issued again, and no
// clone is recorded on it.
#[tokio::test]
async fn a_deregistered_device_takes_no_more_changes_and_never_registers_again() {
    let f = Fixture::new();
    let o = owner(&f, 0x31).await;
    let new_owner = owner(&f, 0x32).await;
    let id = f.device(IMEI, &key(0x21), Some(&o)).await;
    let kid = format!("owner:{o}");
    deregister(&f, &key(0x31), &kid, &id, &id, "end-of-custody")
        .await
        .unwrap();
    let before = stored(&f, &id).await;

    let hold = f
        .signed(
            &key(0x31),
            Some(&kid),
            Purpose::Hold,
            json!({"regdevid": id.to_string(), "kind": "stolen"}),
        )
        .await;
    let held = f.registry.place_hold(&id.to_string(), &hold).await;
    assert!(
        matches!(held, Err(RegistryError::Deregistered(_))),
        "{held:?}"
    );
    let transfer = f
        .signed(
            &f.admin.clone(),
            Some("admin:ops"),
            Purpose::Transfer,
            json!({"new_owner_id": new_owner}),
        )
        .await;
    let moved = f.registry.transfer(&id.to_string(), &transfer).await;
    assert!(
        matches!(moved, Err(RegistryError::Deregistered(_))),
        "{moved:?}"
    );
    let report = f
        .signed(
            &key(0x21),
            Some(&id.to_string()),
            Purpose::Report,
            json!({"firmware_version": "2", "software_version": "2"}),
        )
        .await;
    let reported = f.registry.report(&id.to_string(), &report).await;
    assert!(
        matches!(reported, Err(RegistryError::Deregistered(_))),
        "{reported:?}"
    );
    let same_key = f
        .registry
        .registered_again(
            before.clone(),
            &before.key_thumbprint,
            Some(u64::MAX),
            "device:x",
        )
        .await;
    assert!(matches!(same_key, Err(RegistryError::Deregistered(_))));
    let another_key = f
        .registry
        .registered_again(before.clone(), "another-thumbprint", None, "device:x")
        .await;
    assert!(matches!(another_key, Err(RegistryError::Deregistered(_))));

    assert_eq!(stored(&f, &id).await, before);
    assert_eq!(f.audited("hold", Outcome::Rejected), 1);
    assert_eq!(f.audited("transfer", Outcome::Rejected), 1);
    assert_eq!(f.audited("report", Outcome::Rejected), 1);
}

// Y.3059 6.3 e
// A vulnerability of a make and model is not refused for a deregistered device of that model:
// it marks the model's registered devices and passes the deregistered one over, which keeps
// the facts it ended with; the report naming it alone is refused, and stores nothing.
#[tokio::test]
async fn a_vulnerability_passes_over_a_deregistered_device() {
    let f = Fixture::new();
    let admin = f.admin.clone();
    let gone = f.device(IMEI, &key(0x21), None).await;
    let live = f.device(OTHER_IMEI, &key(0x22), None).await;
    deregister(&f, &admin, "admin:ops", &gone, &gone, "lost")
        .await
        .unwrap();
    let before = stored(&f, &gone).await;
    let info = before.info.clone();
    let report = |target: serde_json::Value| json!({"severity": 9.0, "summary": "debug port open", "target": target});
    let named = f
        .signed(
            &admin,
            Some("admin:ops"),
            Purpose::Vulnerability,
            report(json!({"regdevids": [gone.to_string()]})),
        )
        .await;
    let refused = f.registry.report_vulnerability(&named, 25).await;
    assert!(
        matches!(refused, Err(RegistryError::Deregistered(_))),
        "{refused:?}"
    );
    let range = f
        .signed(
            &admin,
            Some("admin:ops"),
            Purpose::Vulnerability,
            report(json!({"make": info.make, "model": info.model})),
        )
        .await;
    let progress = f.registry.report_vulnerability(&range, 25).await.unwrap();
    assert_eq!((progress.affected_so_far, progress.complete), (1, true));
    assert_eq!(stored(&f, &live).await.facts.open_vulnerabilities.len(), 1);
    assert_eq!(stored(&f, &gone).await, before);
}
