//! In-memory fakes of the ports, for fast unit tests of the domain only. Integration tests use
//! the AWS adapters against LocalStack.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};

use crate::error::{KeyError, StoreError};
use crate::identifier::{Identifier, RegDevId};
use crate::ports::{Clock, Created, DeviceStore, RegistryKeys, Rng, Updated};
use crate::records::{AuditRecord, DeviceRecord, Nonce, RootOfTrust, Transition};

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<State>,
}

#[derive(Default, Clone)]
pub struct State {
    pub nonces: BTreeMap<String, Nonce>,
    pub roots: BTreeMap<String, RootOfTrust>,
    pub devices: BTreeMap<String, DeviceRecord>,
    pub guards: BTreeMap<String, RegDevId>,
    pub transitions: Vec<Transition>,
    pub audit: Vec<AuditRecord>,
}

impl MemoryStore {
    pub fn snapshot(&self) -> State {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn guard_key(identifier: &Identifier) -> String {
    format!("{}:{}", identifier.scheme().as_str(), identifier.value())
}

#[async_trait]
impl DeviceStore for MemoryStore {
    async fn put_nonce(&self, nonce: &Nonce) -> Result<(), StoreError> {
        self.lock()
            .nonces
            .insert(nonce.value.clone(), nonce.clone());
        Ok(())
    }

    async fn take_nonce(&self, value: &str) -> Result<Option<Nonce>, StoreError> {
        Ok(self.lock().nonces.remove(value))
    }

    async fn roots_of_trust(&self) -> Result<Vec<RootOfTrust>, StoreError> {
        Ok(self.lock().roots.values().cloned().collect())
    }

    async fn put_root_of_trust(
        &self,
        root: &RootOfTrust,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.roots.insert(root.id.clone(), root.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn get_device(&self, regdevid: &RegDevId) -> Result<Option<DeviceRecord>, StoreError> {
        Ok(self.lock().devices.get(&regdevid.to_string()).cloned())
    }

    async fn create_device(
        &self,
        device: &DeviceRecord,
        transition: &Transition,
        audit: &AuditRecord,
    ) -> Result<Created, StoreError> {
        let mut s = self.lock();
        let key = guard_key(&device.regdevid.identifier);
        if let Some(holder) = s.guards.get(&key) {
            return Ok(Created::IdentifierTaken(holder.clone()));
        }
        s.guards.insert(key, device.regdevid.clone());
        s.devices
            .insert(device.regdevid.to_string(), device.clone());
        s.transitions.push(transition.clone());
        s.audit.push(audit.clone());
        Ok(Created::Created)
    }

    async fn update_device(
        &self,
        device: &DeviceRecord,
        transition: Option<&Transition>,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let mut s = self.lock();
        let key = device.regdevid.to_string();
        match s.devices.get(&key) {
            Some(stored) if stored.version + 1 == device.version => {}
            _ => return Ok(Updated::VersionConflict),
        }
        s.devices.insert(key, device.clone());
        if let Some(t) = transition {
            s.transitions.push(t.clone());
        }
        s.audit.push(audit.clone());
        Ok(Updated::Updated)
    }

    async fn record_audit(&self, audit: &AuditRecord) -> Result<(), StoreError> {
        self.lock().audit.push(audit.clone());
        Ok(())
    }

    async fn holder_of(&self, identifier: &Identifier) -> Result<Option<RegDevId>, StoreError> {
        Ok(self.lock().guards.get(&guard_key(identifier)).cloned())
    }
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
