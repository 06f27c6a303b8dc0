//! `HierarchyStore` in memory, and `MemoryOutbox`: an exchange outbox that records what it
//! sent and fails the inboxes it is told to.

use std::sync::Mutex;

use async_trait::async_trait;

use super::{MemoryStore, page_after};
use crate::error::{NotifyError, StoreError};
use crate::identifier::{RegDevId, RegistryPath};
use crate::ports::{Applied, ExchangeOutbox, HierarchyStore, Page};
use crate::records::{AuditRecord, LinkKind, LinkRecord, MirrorRecord};
use crate::status::TrustStatus;

/// The key of a link: one link per (kind, RegID).
pub fn link_key(kind: LinkKind, reg_id: &str) -> String {
    format!("{kind:?}#{reg_id}")
}

#[async_trait]
impl HierarchyStore for MemoryStore {
    async fn put_link(&self, link: &LinkRecord, audit: &AuditRecord) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.links
            .insert(link_key(link.kind, &link.reg_id), link.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn links(&self) -> Result<Vec<LinkRecord>, StoreError> {
        Ok(self.lock().links.values().cloned().collect())
    }

    async fn next_sequence(&self) -> Result<u64, StoreError> {
        let mut s = self.lock();
        s.sequence += 1;
        Ok(s.sequence)
    }

    async fn current_sequence(&self) -> Result<u64, StoreError> {
        Ok(self.lock().sequence)
    }

    async fn apply_exchange(
        &self,
        origin: &str,
        seq: u64,
        snapshot: bool,
        mirrors: &[MirrorRecord],
        audit: &AuditRecord,
    ) -> Result<Applied, StoreError> {
        let mut s = self.lock();
        let last = s.last_sequences.get(origin).copied();
        match last {
            // A snapshot comes in pages that share its number.
            Some(last) if snapshot && seq < last => return Ok(Applied::Duplicate { last }),
            Some(last) if !snapshot && seq <= last => return Ok(Applied::Duplicate { last }),
            Some(last) if !snapshot && seq != last + 1 => return Ok(Applied::Gap { last }),
            _ => {}
        }
        for mirror in mirrors {
            s.mirrors
                .insert(mirror.regdevid.to_string(), mirror.clone());
        }
        s.last_sequences.insert(origin.to_owned(), seq);
        s.audit.push(audit.clone());
        Ok(Applied::Applied)
    }

    async fn last_sequence(&self, origin: &str) -> Result<u64, StoreError> {
        Ok(self.lock().last_sequences.get(origin).copied().unwrap_or(0))
    }

    async fn get_mirror(&self, regdevid: &RegDevId) -> Result<Option<MirrorRecord>, StoreError> {
        Ok(self.lock().mirrors.get(&regdevid.to_string()).cloned())
    }

    async fn mirrors_with_status(
        &self,
        status: TrustStatus,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<MirrorRecord>, StoreError> {
        let s = self.lock();
        let found: Vec<MirrorRecord> = s
            .mirrors
            .iter()
            .filter(|(key, m)| cursor.is_none_or(|c| key.as_str() > c) && m.status == status)
            .map(|(_, m)| m.clone())
            .collect();
        Ok(page_after(found, limit, |m| m.regdevid.to_string()))
    }

    async fn mirrors_of_origin(
        &self,
        origin: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<MirrorRecord>, StoreError> {
        let s = self.lock();
        let found: Vec<MirrorRecord> = s
            .mirrors
            .iter()
            .filter(|(key, m)| cursor.is_none_or(|c| key.as_str() > c) && m.origin == origin)
            .map(|(_, m)| m.clone())
            .collect();
        Ok(page_after(found, limit, |m| m.regdevid.to_string()))
    }

    async fn mirrored_origins(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .lock()
            .last_sequences
            .keys()
            .filter(|origin| origin.parse::<RegistryPath>().is_ok())
            .cloned()
            .collect())
    }
}

#[derive(Debug, Default, Clone)]
pub struct OutboxState {
    /// Every message sent, as (inbox, compact JWS), in order.
    pub sent: Vec<(String, String)>,
    /// Sends to these inboxes fail.
    pub failing: Vec<String>,
}

#[derive(Default)]
pub struct MemoryOutbox {
    inner: Mutex<OutboxState>,
}

impl MemoryOutbox {
    pub fn snapshot(&self) -> OutboxState {
        self.lock().clone()
    }

    /// Takes the messages sent so far (a test delivers them, then looks at what follows).
    pub fn drain(&self) -> Vec<(String, String)> {
        std::mem::take(&mut self.lock().sent)
    }

    /// Sends to `inbox` fail from now on.
    pub fn fail_inbox(&self, inbox: &str) {
        self.lock().failing.push(inbox.to_owned());
    }

    /// Sends to `inbox` succeed again.
    pub fn heal_inbox(&self, inbox: &str) {
        self.lock().failing.retain(|f| f != inbox);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OutboxState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ExchangeOutbox for MemoryOutbox {
    async fn send(&self, inbox: &str, message: &str) -> Result<(), NotifyError> {
        let mut s = self.lock();
        if s.failing.iter().any(|f| f == inbox) {
            return Err(NotifyError::Failed(format!("inbox {inbox} unreachable")));
        }
        s.sent.push((inbox.to_owned(), message.to_owned()));
        Ok(())
    }
}
