//! Owners and custodians on the in-memory fakes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use serde_json::json;

use crate::actors::Actor;
use crate::error::RegistryError;
use crate::jose;
use crate::messages::Purpose;
use crate::ports::{DeviceStore, OwnerStore};
use crate::records::{Outcome, VerificationState};
use crate::status::TrustStatus;
use crate::virtual_ids::tests::{Fixture, key};

const IMEI: &str = "356938035643809";

fn attributes() -> serde_json::Value {
    json!({"name": "Ada Lovelace", "email": "ada@example.org", "phone": "+44 20 0000"})
}

/// A self-registered owner with the key `seed`; its id.
async fn self_registered(f: &Fixture, seed: u8) -> String {
    let k = key(seed);
    let jws = f
        .signed(
            &k,
            None,
            Purpose::Owner,
            json!({"kind": "owner", "attributes": attributes(),
                   "public_key": jose::jwk_from_key(k.verifying_key())}),
        )
        .await;
    let done = f.registry.register_owner(&jws).await.unwrap();
    assert_eq!(done.verification, VerificationState::Unverified);
    done.owner_id
}

async fn verify(f: &Fixture, owner_id: &str, state: &str) -> Result<(), RegistryError> {
    let jws = f
        .signed(
            &f.admin,
            Some("admin:ops"),
            Purpose::OwnerVerification,
            json!({"state": state}),
        )
        .await;
    f.registry.verify_owner(owner_id, &jws).await.map(|_| ())
}

async fn transfer(
    f: &Fixture,
    signer: &p256::ecdsa::SigningKey,
    kid: &str,
    regdevid: &str,
    to: &str,
) -> Result<crate::messages::TransferResponse, RegistryError> {
    let jws = f
        .signed(
            signer,
            Some(kid),
            Purpose::Transfer,
            json!({"new_owner_id": to}),
        )
        .await;
    f.registry.transfer(regdevid, &jws).await
}

/// The acceptance of a device offered to `owner` (key `signer`).
async fn accept(
    f: &Fixture,
    signer: &p256::ecdsa::SigningKey,
    owner: &str,
    regdevid: &str,
) -> Result<crate::messages::TransferResponse, RegistryError> {
    let jws = f
        .signed(
            signer,
            Some(&format!("owner:{owner}")),
            Purpose::Transfer,
            json!({}),
        )
        .await;
    f.registry.accept_transfer(regdevid, &jws).await
}

// Y.3059 9.2 i d
// Y.3059 9.1 iii
// A self-registered owner's PII is stored sealed only, and opens for that owner and admins.
#[tokio::test]
async fn owner_pii_is_sealed_and_only_for_the_owner_and_admins() {
    let f = Fixture::new();
    let owner_id = self_registered(&f, 0x31).await;
    let stored = f.store.snapshot().owners[&owner_id].clone();
    let raw = serde_json::to_string(&stored).unwrap();
    assert!(!raw.contains("Ada") && !raw.contains("ada@example.org"));
    let admin = Actor::Admin("ops".into());
    let details = f.registry.owner_details(&owner_id, &admin).await.unwrap();
    assert_eq!(details.attributes.name.as_deref(), Some("Ada Lovelace"));
    assert!(!format!("{details:?}").contains("Ada"));
    let itself = Actor::Owner(Box::new(stored.clone()));
    assert!(f.registry.owner_details(&owner_id, &itself).await.is_ok());
    let other_id = self_registered(&f, 0x32).await;
    let other = Actor::Owner(Box::new(f.store.snapshot().owners[&other_id].clone()));
    assert!(matches!(
        f.registry.owner_details(&owner_id, &other).await,
        Err(RegistryError::Forbidden(_))
    ));
    assert_eq!(f.audited("read-owner", Outcome::Rejected), 1);
}

// Y.3059 9.2 i d
// Self-service registration proves possession of the key it registers; a signature by
// another key is refused, and a replayed request too.
#[tokio::test]
async fn self_registration_needs_the_registered_key() {
    let f = Fixture::new();
    let k = key(0x31);
    let intruder = key(0x39);
    let forged = f
        .signed(
            &intruder,
            None,
            Purpose::Owner,
            json!({"kind": "custodian", "attributes": attributes(),
                   "public_key": jose::jwk_from_key(k.verifying_key())}),
        )
        .await;
    assert!(matches!(
        f.registry.register_owner(&forged).await,
        Err(RegistryError::BadSignature)
    ));
    let jws = f
        .signed(
            &k,
            None,
            Purpose::Owner,
            json!({"kind": "custodian", "attributes": attributes(),
                   "public_key": jose::jwk_from_key(k.verifying_key())}),
        )
        .await;
    f.registry.register_owner(&jws).await.unwrap();
    assert!(matches!(
        f.registry.register_owner(&jws).await,
        Err(RegistryError::NonceInvalid)
    ));
    assert_eq!(f.audited("register-owner", Outcome::Rejected), 2);
}

// Y.3059 9.2 i d
// 6.1 f
// Verification by an admin re-derives the status of the owner's devices where the policy
// requires a verified owner; nobody else may verify.
#[tokio::test]
async fn verifying_an_owner_changes_its_devices_status() {
    let f = Fixture::with_config(|c| c.policy.require_owner_verified = true);
    let owner_id = self_registered(&f, 0x31).await;
    let regdevid = f.device(IMEI, &key(0x21), Some(&owner_id)).await;
    // The owner may not verify itself.
    let jws = f
        .signed(
            &key(0x31),
            Some(&format!("owner:{owner_id}")),
            Purpose::OwnerVerification,
            json!({"state": "verified"}),
        )
        .await;
    assert!(matches!(
        f.registry.verify_owner(&owner_id, &jws).await,
        Err(RegistryError::Forbidden(_))
    ));
    verify(&f, &owner_id, "verified").await.unwrap();
    let device = f.store.get_device(&regdevid).await.unwrap().unwrap();
    assert!(device.facts.owner_verified);
    assert_eq!(device.status, TrustStatus::Trusted);
    verify(&f, &owner_id, "rejected").await.unwrap();
    let device = f.store.get_device(&regdevid).await.unwrap().unwrap();
    assert!(!device.facts.owner_verified);
    assert_eq!(device.status, TrustStatus::Unverified);
    assert!(
        f.store
            .snapshot()
            .transitions
            .iter()
            .any(|t| t.cause == "verify-owner")
    );
    assert!(matches!(
        verify(&f, "nobody", "verified").await,
        Err(RegistryError::OwnerNotFound(_))
    ));
}

// Y.3059 9.2 i d
// Y.3059 9.3 iv
// A transfer by the current owner is an offer the receiving owner accepts; only then does the
// device move, its verification follow the new owner and the custody chain keep both. A
// non-owner may not transfer it, nobody but the receiving owner accepts, and a transfer to the
// current owner changes nothing.
#[tokio::test]
async fn transfer_by_the_owner_keeps_the_custody_chain() {
    let f = Fixture::with_config(|c| c.policy.require_owner_verified = true);
    let first = self_registered(&f, 0x31).await;
    let second = self_registered(&f, 0x32).await;
    verify(&f, &first, "verified").await.unwrap();
    let regdevid = f.device(IMEI, &key(0x21), Some(&first)).await;
    let id = regdevid.to_string();
    let stranger = transfer(&f, &key(0x32), &format!("owner:{second}"), &id, &second).await;
    assert!(matches!(stranger, Err(RegistryError::Forbidden(_))));
    let device_itself = transfer(&f, &key(0x21), &id, &id, &second).await;
    assert!(matches!(device_itself, Err(RegistryError::Forbidden(_))));
    let unknown = transfer(&f, &key(0x31), &format!("owner:{first}"), &id, "nobody").await;
    assert!(matches!(unknown, Err(RegistryError::OwnerNotFound(_))));

    let same = transfer(&f, &key(0x31), &format!("owner:{first}"), &id, &first)
        .await
        .unwrap();
    assert_eq!(
        (same.owner_id.as_str(), same.offered_to),
        (first.as_str(), None)
    );
    let offered = transfer(&f, &key(0x31), &format!("owner:{first}"), &id, &second)
        .await
        .unwrap();
    assert_eq!(
        offered.owner_id, first,
        "nothing moves before the acceptance"
    );
    assert_eq!(offered.offered_to.as_deref(), Some(second.as_str()));
    let third = self_registered(&f, 0x33).await;
    let not_offered = accept(&f, &key(0x33), &third, &id).await;
    assert!(matches!(not_offered, Err(RegistryError::Forbidden(_))));
    let done = accept(&f, &key(0x32), &second, &id).await.unwrap();
    assert_eq!(done.owner_id, second);
    assert_eq!(done.offered_to, None);
    // The new owner is not verified yet.
    assert_eq!(done.status, TrustStatus::Unverified);
    let device = f.store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(device.owner_id.as_deref(), Some(second.as_str()));
    assert_eq!(
        f.store.devices_of_owner(&second).await.unwrap(),
        vec![regdevid.clone()]
    );
    assert!(f.store.devices_of_owner(&first).await.unwrap().is_empty());
    let chain = f.store.custody_of(&regdevid).await.unwrap();
    assert_eq!(chain.len(), 1);
    assert_eq!(chain[0].from.as_deref(), Some(first.as_str()));
    assert_eq!(chain[0].to.as_deref(), Some(second.as_str()));
    // The previous owner has no say any more; an admin does.
    let again = transfer(&f, &key(0x31), &format!("owner:{first}"), &id, &first).await;
    assert!(matches!(again, Err(RegistryError::Forbidden(_))));
    let by_admin = transfer(&f, &f.admin.clone(), "admin:ops", &id, &first)
        .await
        .unwrap();
    assert_eq!(by_admin.status, TrustStatus::Trusted);
    assert_eq!(f.store.custody_of(&regdevid).await.unwrap().len(), 2);
    assert_eq!(f.audited("transfer", Outcome::Accepted), 2);
    assert_eq!(f.audited("offer-transfer", Outcome::Accepted), 1);
    assert_eq!(f.audited("transfer", Outcome::Rejected), 4);
    assert_eq!(f.audited("accept-transfer", Outcome::Rejected), 1);
}

// Y.3059 9.2 i f
// An owner that signs names its own devices by virtual IDs, not others'.
#[tokio::test]
async fn owners_issue_virtual_ids_for_their_devices() {
    let f = Fixture::new();
    let owner_id = self_registered(&f, 0x31).await;
    let mine = f.device(IMEI, &key(0x21), Some(&owner_id)).await;
    let theirs = f.device("490154203237518", &key(0x22), None).await;
    let kid = format!("owner:{owner_id}");
    for (target, ok) in [(&mine, true), (&theirs, false)] {
        let jws = f
            .signed(
                &key(0x31),
                Some(&kid),
                Purpose::VirtualId,
                json!({"ttl_seconds": 60}),
            )
            .await;
        let result = f.registry.issue_virtual_id(&target.to_string(), &jws).await;
        assert_eq!(result.is_ok(), ok, "{result:?}");
    }
}

// Y.3059 9.2 i d
// Y.3059 9.2 i g
// A device registering with an owner claim creates that owner, sealed and linked.
#[tokio::test]
async fn an_owner_claim_at_registration_creates_a_linked_owner() {
    let f = Fixture::new();
    let regdevid = format!("IN1.HLT.P07:imei:{IMEI}").parse().unwrap();
    let owner = f
        .registry
        .owner_at_registration(
            &regdevid,
            &json!({"kind": "custodian", "attributes": {"organisation": "St Mary's"}}),
            "device:test",
        )
        .await
        .unwrap();
    assert_eq!(
        f.store.devices_of_owner(&owner.owner_id).await.unwrap(),
        vec![regdevid.clone()]
    );
    assert!(!owner.attributes_sealed.contains("Mary"));
    for bad in [
        json!({"attributes": {}}),
        json!({"attributes": {"name": ""}}),
        json!({"ssn": "1"}),
    ] {
        assert!(matches!(
            f.registry
                .owner_at_registration(&regdevid, &bad, "device:test")
                .await,
            Err(RegistryError::Malformed(_))
        ));
    }
}

async fn revoke(
    f: &Fixture,
    signer: &p256::ecdsa::SigningKey,
    kid: &str,
    regdevid: &str,
    idempotency_key: Option<&str>,
) -> Result<crate::messages::OwnerRevocationResponse, RegistryError> {
    let mut claims = json!({"regdevid": regdevid});
    if let Some(k) = idempotency_key {
        claims["idempotency_key"] = json!(k);
    }
    let jws = f.signed(signer, Some(kid), Purpose::Transfer, claims).await;
    f.registry.revoke_owner(regdevid, &jws).await
}

// Y.3059 6.3 e
// The owner ends its custody: the device keeps its status and has no owner, the owner's link
// is gone and the custody chain ends without a new holder; a retry under the same key answers
// the same, the former owner is then a stranger, another owner never could, and an
// administrator gives the device a new owner by a transfer.
#[tokio::test]
async fn an_owner_ends_its_custody_without_a_new_owner() {
    let f = Fixture::new();
    let first = self_registered(&f, 0x31).await;
    let second = self_registered(&f, 0x32).await;
    let regdevid = f.device(IMEI, &key(0x21), Some(&first)).await;
    let id = regdevid.to_string();
    let kid = format!("owner:{first}");
    let other = revoke(&f, &key(0x32), &format!("owner:{second}"), &id, None).await;
    assert!(
        matches!(other, Err(RegistryError::Forbidden(_))),
        "{other:?}"
    );
    let before = f.store.get_device(&regdevid).await.unwrap().unwrap();

    let done = revoke(&f, &key(0x31), &kid, &id, Some("revoke-k1"))
        .await
        .unwrap();
    assert_eq!(done.former_owner_id, first);
    assert_eq!(done.status, before.status);
    let after = f.store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(
        (after.owner_id.as_deref(), after.status),
        (None, before.status)
    );
    assert!(f.store.devices_of_owner(&first).await.unwrap().is_empty());
    let chain = f.store.custody_of(&regdevid).await.unwrap();
    assert_eq!(
        (chain[0].from.as_deref(), chain[0].to.as_deref()),
        (Some(first.as_str()), None)
    );
    let again = revoke(&f, &key(0x31), &kid, &id, Some("revoke-k1"))
        .await
        .unwrap();
    assert_eq!(again, done);
    let stranger = revoke(&f, &key(0x31), &kid, &id, None).await;
    assert!(matches!(stranger, Err(RegistryError::Forbidden(_))));
    assert_eq!(f.store.get_device(&regdevid).await.unwrap().unwrap(), after);
    let none = revoke(&f, &f.admin.clone(), "admin:ops", &id, None).await;
    assert!(matches!(none, Err(RegistryError::OwnerNotFound(_))));

    transfer(&f, &f.admin.clone(), "admin:ops", &id, &second)
        .await
        .unwrap();
    let moved = f.store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(moved.owner_id.as_deref(), Some(second.as_str()));
    assert_eq!(f.audited("revoke-owner", Outcome::Accepted), 1);
    assert_eq!(f.audited("revoke-owner", Outcome::Rejected), 3);
}
