//! Virtual RegDevIDs on the in-memory fakes; `Fixture` (a registry from `fakes::FakeRegistry`
//! with its administrator) serves the domain's other tests too.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use std::sync::Arc;

use p256::ecdsa::SigningKey;
use serde_json::json;

use crate::error::RegistryError;
use crate::fakes::{FakeRegistry, FakeRegistryBuilder, FixedClock, MemoryStore, TrustedDevice};
use crate::identifier::RegDevId;
use crate::jose::{self, JwsHeader};
use crate::messages::Purpose;
use crate::records::Outcome;
use crate::{Registry, RegistryConfig};

pub(crate) use crate::fakes::T0;

pub(crate) struct Fixture {
    pub registry: Registry,
    pub store: Arc<MemoryStore>,
    pub clock: Arc<FixedClock>,
    pub admin: SigningKey,
}

pub(crate) fn key(seed: u8) -> SigningKey {
    let mut bytes = [seed; 32];
    bytes[0] = 0x01;
    SigningKey::from_bytes(&bytes.into()).unwrap()
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    pub fn with_config(adjust: impl FnOnce(&mut RegistryConfig)) -> Self {
        let admin = key(0x0a);
        Self::on(
            FakeRegistry::builder()
                .admin("ops", &admin)
                .key_seed(3)
                .clock_at(T0)
                .configure(adjust),
            admin,
        )
    }

    /// The registry `builder` makes, whose administrator signs with `admin`.
    pub fn on(builder: FakeRegistryBuilder, admin: SigningKey) -> Self {
        let FakeRegistry {
            registry,
            store,
            clock,
            ..
        } = builder.build();
        Self {
            registry,
            store,
            clock,
            admin,
        }
    }

    /// A registered device with the key `device_key`, owned by `owner_id`.
    pub async fn device(
        &self,
        imei: &str,
        device_key: &SigningKey,
        owner_id: Option<&str>,
    ) -> RegDevId {
        let regdevid: RegDevId = format!("IN1.HLT.P07:imei:{imei}").parse().unwrap();
        TrustedDevice::new(regdevid, device_key.verifying_key(), T0)
            .model("Pump")
            .firmware("1")
            .owner(owner_id)
            .store_in(&self.store)
            .await
    }

    /// A compact JWS over `claims` plus a fresh nonce for `purpose`, signed by `key` as `kid`.
    pub async fn signed(
        &self,
        key: &SigningKey,
        kid: Option<&str>,
        purpose: Purpose,
        mut claims: serde_json::Value,
    ) -> String {
        let nonce = self.registry.challenge(purpose).await.unwrap().nonce;
        claims["nonce"] = json!(nonce);
        let mut header = JwsHeader::es256();
        if let Some(kid) = kid {
            header = header.with_kid(kid);
        }
        jose::sign_with(key, &header, claims.to_string().as_bytes())
    }

    pub fn audited(&self, action: &str, outcome: Outcome) -> usize {
        self.store
            .snapshot()
            .audit
            .iter()
            .filter(|a| a.action == action && a.outcome == outcome)
            .count()
    }
}

const IMEI: &str = "356938035643809";

async fn issue(
    f: &Fixture,
    k: &SigningKey,
    id: &RegDevId,
    ttl: u64,
    single_use: bool,
) -> Result<crate::messages::VirtualIdResponse, RegistryError> {
    let jws = f
        .signed(
            k,
            Some(&id.to_string()),
            Purpose::VirtualId,
            json!({"ttl_seconds": ttl, "single_use": single_use}),
        )
        .await;
    f.registry.issue_virtual_id(&id.to_string(), &jws).await
}

// Y.3059 9.2 i f
// A virtual ID names its device until it expires, then is unknown, and never says which
// device it was.
#[tokio::test]
async fn a_virtual_id_resolves_until_it_expires() {
    let f = Fixture::new();
    let k = key(0x21);
    let id = f.device(IMEI, &k, None).await;
    let issued = issue(&f, &k, &id, 60, false).await.unwrap();
    assert!(issued.virtual_id.starts_with("IN1.HLT.P07:v:"));
    assert_eq!(issued.virtual_id.len(), "IN1.HLT.P07:v:".len() + 26);
    assert!(!issued.virtual_id.contains(IMEI));
    assert_eq!(f.registry.resolve(&issued.virtual_id).await.unwrap(), id);
    assert_eq!(f.registry.resolve(&issued.virtual_id).await.unwrap(), id);
    f.clock.advance(60_000);
    let expired = f.registry.resolve(&issued.virtual_id).await.unwrap_err();
    assert!(
        matches!(expired, RegistryError::VirtualIdNotFound),
        "{expired:?}"
    );
    assert!(!expired.to_string().contains(IMEI));
    assert_eq!(f.audited("issue-virtual-id", Outcome::Accepted), 1);
}

// Y.3059 9.2 i f
// A single-use virtual ID serves one transaction: the second resolution finds nothing.
#[tokio::test]
async fn a_single_use_virtual_id_resolves_once() {
    let f = Fixture::new();
    let k = key(0x21);
    let id = f.device(IMEI, &k, None).await;
    let issued = issue(&f, &k, &id, 600, true).await.unwrap();
    assert_eq!(f.registry.resolve(&issued.virtual_id).await.unwrap(), id);
    assert!(matches!(
        f.registry.resolve(&issued.virtual_id).await,
        Err(RegistryError::VirtualIdNotFound)
    ));
    assert_eq!(f.audited("consume-virtual-id", Outcome::Accepted), 1);
}

// Y.3059 9.2 i f
// A RegDevID resolves to itself; unknown or malformed virtual IDs are not found.
#[tokio::test]
async fn resolution_of_regdevids_and_unknown_virtual_ids() {
    let f = Fixture::new();
    let id: RegDevId = format!("IN1.HLT.P07:imei:{IMEI}").parse().unwrap();
    assert_eq!(f.registry.resolve(&id.to_string()).await.unwrap(), id);
    for unknown in [
        "IN1.HLT.P07:v:AAAAAAAAAAAAAAAAAAAAAAAAAA",
        "IN1.HLT.P07:v:short",
        "XX1.HLT.P07:v:AAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert!(matches!(
            f.registry.resolve(unknown).await,
            Err(RegistryError::VirtualIdNotFound)
        ));
    }
    assert!(matches!(
        f.registry.resolve("nonsense").await,
        Err(RegistryError::InvalidIdentifier { .. })
    ));
}

// Y.3059 9.2 i f
// Y.3059 7 i c
// Only the device itself names itself: another device's signature, a TTL out of range and a
// replayed nonce are refused and audited.
#[tokio::test]
async fn issuing_is_refused_to_others_bad_ttls_and_replays() {
    let f = Fixture::new();
    let k = key(0x21);
    let other = key(0x22);
    let id = f.device(IMEI, &k, None).await;
    let other_id = f.device("490154203237518", &other, None).await;
    let jws = f
        .signed(
            &other,
            Some(&other_id.to_string()),
            Purpose::VirtualId,
            json!({"ttl_seconds": 60}),
        )
        .await;
    assert!(matches!(
        f.registry.issue_virtual_id(&id.to_string(), &jws).await,
        Err(RegistryError::Forbidden(_))
    ));
    for ttl in [0, 30 * 24 * 3600 + 1] {
        assert!(matches!(
            issue(&f, &k, &id, ttl, false).await,
            Err(RegistryError::Malformed(_))
        ));
    }
    let jws = f
        .signed(
            &k,
            Some(&id.to_string()),
            Purpose::VirtualId,
            json!({"ttl_seconds": 60}),
        )
        .await;
    f.registry
        .issue_virtual_id(&id.to_string(), &jws)
        .await
        .unwrap();
    assert!(matches!(
        f.registry.issue_virtual_id(&id.to_string(), &jws).await,
        Err(RegistryError::NonceInvalid)
    ));
    // Signed by the wrong key under the device's kid.
    let forged = f
        .signed(
            &other,
            Some(&id.to_string()),
            Purpose::VirtualId,
            json!({"ttl_seconds": 60}),
        )
        .await;
    assert!(matches!(
        f.registry.issue_virtual_id(&id.to_string(), &forged).await,
        Err(RegistryError::BadSignature)
    ));
    // A nonce for another purpose does not serve.
    let wrong = f
        .signed(
            &k,
            Some(&id.to_string()),
            Purpose::Report,
            json!({"ttl_seconds": 60}),
        )
        .await;
    assert!(matches!(
        f.registry.issue_virtual_id(&id.to_string(), &wrong).await,
        Err(RegistryError::NonceInvalid)
    ));
    assert_eq!(f.audited("issue-virtual-id", Outcome::Rejected), 6);
    assert_eq!(f.audited("issue-virtual-id", Outcome::Accepted), 1);
}
