//! In-memory fakes of the ports, for fast unit tests of the domain only. Integration tests use
//! the AWS adapters against LocalStack. `MemoryStore` implements each storage port in the
//! module of its concern.

mod audit_log;
mod bulk;
mod devices;
mod enquirers;
mod hierarchy;
mod lookups;
mod notifications;
mod owners;
mod policies;
mod registry;
mod reports;
mod seeded;
mod statistics;
mod subscriptions;
mod virtual_ids;
mod vulnerabilities;

pub use hierarchy::{MemoryOutbox, OutboxState};
pub use notifications::MemoryNotifier;
pub use registry::{FakeRegistry, FakeRegistryBuilder, T0};
pub use seeded::{TrustedDevice, device_info};
pub use subscriptions::MemoryBroker;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};

use crate::error::KeyError;
use crate::identifier::RegDevId;
use crate::ports::{Clock, RegistryKeys, Rng};
use crate::records::{AuditRecord, DeviceRecord, Nonce, RootOfTrust, Transition};

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<State>,
    /// How many batched device reads were made: bulk lookups promise one.
    pub get_devices_calls: AtomicU64,
    /// Set: every `record_audit` fails, as a throttled or unreachable table would.
    pub fail_audit_writes: std::sync::atomic::AtomicBool,
}

#[derive(Default, Clone)]
pub struct State {
    pub nonces: BTreeMap<String, Nonce>,
    pub roots: BTreeMap<String, RootOfTrust>,
    pub devices: BTreeMap<String, DeviceRecord>,
    pub guards: BTreeMap<String, RegDevId>,
    pub transitions: Vec<Transition>,
    pub audit: Vec<AuditRecord>,
    /// The audit log's tree (issue 14).
    pub log: audit_log::LogState,
    pub virtual_ids: BTreeMap<String, crate::records::VirtualIdRecord>,
    pub owners: BTreeMap<String, crate::records::OwnerRecord>,
    /// Owner id -> RegDevIDs of its devices.
    pub owner_links: BTreeMap<String, std::collections::BTreeSet<String>>,
    pub custody: Vec<crate::records::CustodyEntry>,
    pub reports: Vec<crate::records::ReportRecord>,
    pub domain_policies: BTreeMap<String, crate::records::DomainPolicy>,
    pub vulnerabilities: BTreeMap<String, crate::records::VulnerabilityRecord>,
    /// (RegDevID, vulnerability id) -> the device's link to it.
    pub vulnerability_links: BTreeMap<(String, String), crate::records::AffectedLink>,
    pub enquirers: BTreeMap<String, crate::records::EnquirerRecord>,
    pub subscriptions: BTreeMap<String, crate::records::SubscriptionRecord>,
    /// Dedupe marks of published notifications: id -> expiry.
    pub notified: BTreeMap<String, u64>,
    /// Trust domain -> time of its last digest.
    pub digests: BTreeMap<String, u64>,
    /// (kind, RegID) -> the link (`hierarchy::link_key`).
    pub links: BTreeMap<String, crate::records::LinkRecord>,
    /// The last sequence number this registry gave its own messages.
    pub sequence: u64,
    /// Origin path -> the last sequence applied from it.
    pub last_sequences: BTreeMap<String, u64>,
    /// RegDevID -> the mirrored status of a device registered below.
    pub mirrors: BTreeMap<String, crate::records::MirrorRecord>,
    /// Receipts of changes clients named with an idempotency key, by id.
    pub receipts: BTreeMap<String, crate::records::Receipt>,
}

impl State {
    /// The conditions of a device's change: its stored version is the one before, and no
    /// receipt of the same id was written. Records the receipt when they hold, as the
    /// transaction would.
    pub(crate) fn may_write(
        &mut self,
        device: &DeviceRecord,
        receipt: Option<&crate::records::Receipt>,
    ) -> bool {
        let current = self
            .devices
            .get(&device.regdevid.to_string())
            .is_some_and(|stored| stored.version + 1 == device.version);
        let fresh = receipt.is_none_or(|r| !self.receipts.contains_key(&r.id));
        if current
            && fresh
            && let Some(r) = receipt
        {
            self.receipts.insert(r.id.clone(), r.clone());
        }
        current && fresh
    }
}

impl MemoryStore {
    pub fn snapshot(&self) -> State {
        self.lock().clone()
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The first `limit` of `items` (already in order and past the cursor), with the cursor of the
/// next page (`key` of the last item) when more remain.
pub(crate) fn page_after<T>(
    mut items: Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> String,
) -> crate::ports::Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(key) } else { None };
    crate::ports::Page { items, next }
}

/// A software stand-in for the KMS keys.
pub struct MemoryKeys {
    signing: SigningKey,
    pub sign_calls: AtomicU64,
}

impl MemoryKeys {
    pub fn new(seed: u8) -> Self {
        let mut bytes = [seed.max(1); 32];
        bytes[0] = 0x11;
        Self {
            signing: SigningKey::from_bytes(&bytes.into()).unwrap_or_else(|_| {
                SigningKey::from_bytes(&[0x22u8; 32].into()).expect("constant key is valid")
            }),
            sign_calls: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl RegistryKeys for MemoryKeys {
    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError> {
        self.sign_calls.fetch_add(1, Ordering::SeqCst);
        let sig: Signature = self.signing.sign(message);
        Ok(sig.to_bytes().into())
    }

    async fn public_key(&self) -> Result<VerifyingKey, KeyError> {
        Ok(*self.signing.verifying_key())
    }

    fn key_id(&self) -> String {
        "memory-key".into()
    }

    async fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut out = context.as_bytes().to_vec();
        out.push(0);
        out.extend(plaintext.iter().map(|b| b ^ 0x5a));
        Ok(out)
    }

    async fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let split = sealed
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| KeyError("not sealed".into()))?;
        if &sealed[..split] != context.as_bytes() {
            return Err(KeyError("wrong encryption context".into()));
        }
        Ok(sealed[split + 1..].iter().map(|b| b ^ 0x5a).collect())
    }
}

pub struct FixedClock(pub AtomicU64);

impl FixedClock {
    pub fn at(ms: u64) -> Self {
        Self(AtomicU64::new(ms))
    }
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Deterministic bytes: a counter run through SHA-256.
#[derive(Default)]
pub struct CountingRng(AtomicU64);

impl Rng for CountingRng {
    fn fill(&self, buf: &mut [u8]) {
        use sha2::Digest;
        for chunk in buf.chunks_mut(32) {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            let digest = sha2::Sha256::digest(n.to_be_bytes());
            chunk.copy_from_slice(&digest[..chunk.len()]);
        }
    }
}

/// Identifier scopes (`rot::scope`) covering every identifier the tests make: every IMEI, MAC
/// and EUI-64 by its first digit, every IPv6 address, the `acme` serial numbers. Tests of the
/// scopes themselves accept roots with narrow ones.
pub fn broad_identifier_scopes() -> Vec<String> {
    trustreg_model::rot::scope::every_identifier()
}
