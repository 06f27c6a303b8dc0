//! The hierarchy's exchange on the in-memory fakes: registries wired to each other through
//! recording outboxes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

mod clones;
mod hierarchy;
mod link_sync;
mod links;
mod peers;
mod receive;
mod send;
mod status_lists;
mod vulnerabilities;

use std::sync::Arc;

use p256::ecdsa::SigningKey;
use serde_json::{Value, json};

use super::*;
use crate::RegistryKind;
use crate::fakes::FakeRegistry;
use crate::fakes::device_info;
use crate::fakes::{FixedClock, MemoryKeys, MemoryOutbox, MemoryStore};
use crate::identifier::RegDevId;
use crate::jose::{self, JwsHeader};
use crate::lookups::tests::imei;
use crate::messages::Purpose;
use crate::ports::RegistryKeys;
use crate::records::{AuditRecord, DeviceRecord, MirrorRecord, Outcome};
use crate::status::Facts;
use crate::virtual_ids::tests::{T0, key};

pub(crate) const PRIMARY: &str = "IN1.HLT.P07";
pub(crate) const SECTORAL: &str = "IN1.HLT";
pub(crate) const GEOGRAPHICAL: &str = "IN1";
/// Owner ids are PII-adjacent: they never leave the registry.
pub(crate) const OWNER: &str = "owner-7f3a";

/// One registry with its own store, KMS key and outbox.
pub(crate) struct Node {
    pub registry: Registry,
    pub store: Arc<MemoryStore>,
    pub keys: Arc<MemoryKeys>,
    pub outbox: Arc<MemoryOutbox>,
    pub clock: Arc<FixedClock>,
    pub admin: SigningKey,
    pub path: String,
    pub inbox: String,
}

impl Node {
    pub fn new(path: &str, kind: RegistryKind, seed: u8) -> Self {
        Self::configured(path, kind, seed, |_| {})
    }

    /// A node with one more setting of its configuration (e.g. a test stack's switch).
    pub fn configured(
        path: &str,
        kind: RegistryKind,
        seed: u8,
        adjust: impl FnOnce(&mut crate::config::RegistryConfig),
    ) -> Self {
        let admin = key(0x0a);
        let outbox = Arc::new(MemoryOutbox::default());
        let FakeRegistry {
            registry,
            store,
            keys,
            clock,
        } = FakeRegistry::builder()
            .path(path)
            .kind(kind)
            .admin("ops", &admin)
            .key_seed(seed)
            .clock_at(T0)
            .outbox(outbox.clone())
            .configure(adjust)
            .build();
        Self {
            registry,
            store,
            keys,
            outbox,
            clock,
            admin,
            path: path.into(),
            inbox: format!("https://sqs.ap-south-1.amazonaws.com/123456789012/inbox-{path}"),
        }
    }

    pub fn primary() -> Self {
        Self::new(PRIMARY, RegistryKind::Primary, 1)
    }
    pub fn sectoral() -> Self {
        Self::new(SECTORAL, RegistryKind::Sectoral, 2)
    }
    pub fn geographical() -> Self {
        Self::new(GEOGRAPHICAL, RegistryKind::Geographical, 3)
    }

    pub async fn jwk(&self) -> Value {
        jose::jwk_from_key(&self.keys.public_key().await.unwrap())
    }

    /// An administrator's signed link request, as `POST /v1/admin/links` takes it.
    pub async fn link_request(&self, claims: Value) -> String {
        self.signed_by(&self.admin.clone(), "admin:ops", claims)
            .await
    }

    pub async fn signed_by(&self, signer: &SigningKey, kid: &str, mut claims: Value) -> String {
        let nonce = self.registry.challenge(Purpose::Link).await.unwrap().nonce;
        claims["nonce"] = json!(nonce);
        let header = JwsHeader::es256().with_kid(kid);
        jose::sign_with(signer, &header, claims.to_string().as_bytes())
    }

    /// Links `other` here as `kind`, through the admin flow, and drops the link's first
    /// messages (tests that wire registries before any device exists); `link_live` keeps them.
    pub async fn link(&self, other: &Node, kind: &str) -> Result<LinkRecord, RegistryError> {
        let linked = self.link_live(other, kind).await;
        self.outbox.drain();
        linked
    }

    /// Links `other` here as `kind`, through the admin flow; the link's first messages stay in
    /// the outbox.
    pub async fn link_live(&self, other: &Node, kind: &str) -> Result<LinkRecord, RegistryError> {
        let request = self
            .link_request(json!({
                "kind": kind,
                "reg_id": other.path.rsplit('.').next().unwrap(),
                "path": other.path,
                "public_key": other.jwk().await,
                "inbox": other.inbox,
            }))
            .await;
        self.registry.link_registry(&request).await
    }

    /// A device registered here, owned by `OWNER`.
    pub fn add_device(&self, n: u32, status: TrustStatus) -> DeviceRecord {
        let device = device(&self.path, n, status);
        self.store
            .lock()
            .devices
            .insert(device.regdevid.to_string(), device.clone());
        device
    }

    /// Device `n`, trusted, with facts that keep it trusted when it is re-evaluated.
    pub fn healthy_device(&self, n: u32) -> DeviceRecord {
        let mut device = self.add_device(n, TrustStatus::Trusted);
        device.facts = Facts {
            rot_verified: true,
            acknowledged: true,
            owner_verified: true,
            last_report_at_ms: Some(T0),
            ..Facts::default()
        };
        self.store
            .lock()
            .devices
            .insert(device.regdevid.to_string(), device.clone());
        device
    }

    pub fn audited(&self, action: &str, outcome: Outcome) -> Vec<AuditRecord> {
        self.store
            .snapshot()
            .audit
            .into_iter()
            .filter(|a| a.action == action && a.outcome == outcome)
            .collect()
    }
}

/// Links `child` below `parent`, on both sides.
pub(crate) async fn wire(parent: &Node, child: &Node) {
    parent.link(child, "child").await.unwrap();
    child.link(parent, "parent").await.unwrap();
}

/// Delivers every message sent between `nodes` until none is left; answers what each receipt
/// did, in order, with the receiving registry's path.
pub(crate) async fn pump(nodes: &[&Node]) -> Vec<(String, Result<Received, RegistryError>)> {
    let mut results = Vec::new();
    for _ in 0..32 {
        let mut moved = false;
        for node in nodes {
            for (inbox, message) in node.outbox.drain() {
                moved = true;
                let to = nodes.iter().find(|n| n.inbox == inbox).unwrap();
                results.push((
                    to.path.clone(),
                    to.registry.receive_exchange(&message).await,
                ));
            }
        }
        if !moved {
            break;
        }
    }
    results
}

pub(crate) fn claims_of(message: &str) -> ExchangeClaims {
    jose::parse(message).unwrap().claims().unwrap()
}

/// An exchange message signed by `signer`, whoever it claims to be.
pub(crate) fn forged(signer: &SigningKey, claims: &Value) -> String {
    let header = JwsHeader::es256().with_typ(EXCHANGE_TYP);
    jose::sign_with(signer, &header, claims.to_string().as_bytes())
}

pub(crate) fn device(path: &str, n: u32, status: TrustStatus) -> DeviceRecord {
    let regdevid: RegDevId = format!("{path}:imei:{}", imei(n)).parse().unwrap();
    let public_key = jose::jwk_from_key(key(0x21).verifying_key());
    DeviceRecord {
        regdevid,
        key_thumbprint: jose::jwk_thumbprint(&public_key),
        public_key,
        root_id: "root".into(),
        leaf_fingerprint: "leaf".into(),
        info: device_info("Pump", "1"),
        trust_domains: vec!["health".into()],
        owner_id: Some(OWNER.into()),
        facts: Facts::default(),
        status,
        reasons: vec![],
        status_since_ms: T0,
        next_evaluation_at_ms: None,
        registered_at_ms: T0,
        acknowledged_at_ms: Some(T0),
        credential: "credential".into(),
        transfer_offer: None,
        version: 1,
    }
}
