//! `NotificationStore` in memory, and `MemoryNotifier`: a notification service that records
//! what it published and fails the notifications it is told to.

use std::sync::Mutex;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::{NotifyError, StoreError};
use crate::ports::{Notification, NotificationStore, Notifier};

#[async_trait]
impl NotificationStore for MemoryStore {
    async fn mark_published(&self, id: &str, expires_at_ms: u64) -> Result<bool, StoreError> {
        let mut s = self.lock();
        if s.notified.contains_key(id) {
            return Ok(false);
        }
        s.notified.insert(id.to_owned(), expires_at_ms);
        Ok(true)
    }

    async fn is_published(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().notified.contains_key(id))
    }

    async fn last_digest(&self, domain: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.lock().digests.get(domain).copied())
    }

    async fn set_last_digest(&self, domain: &str, at_ms: u64) -> Result<(), StoreError> {
        self.lock().digests.insert(domain.to_owned(), at_ms);
        Ok(())
    }
}

#[derive(Debug, Default, Clone)]
pub struct NotifierState {
    /// Everything published, in order.
    pub published: Vec<Notification>,
    /// Calls of `publish`, with how many notifications each carried.
    pub calls: Vec<usize>,
    /// Notifications whose id contains one of these fail.
    pub failing: Vec<String>,
}

#[derive(Default)]
pub struct MemoryNotifier {
    inner: Mutex<NotifierState>,
}

impl MemoryNotifier {
    pub fn snapshot(&self) -> NotifierState {
        self.lock().clone()
    }

    /// Notifications whose id contains `part` fail from now on.
    pub fn fail_ids_containing(&self, part: &str) {
        self.lock().failing.push(part.to_owned());
    }

    /// Nothing fails any more.
    pub fn recover(&self) {
        self.lock().failing.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NotifierState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn publish(&self, notifications: &[Notification]) -> Vec<Result<(), NotifyError>> {
        let mut s = self.lock();
        s.calls.push(notifications.len());
        notifications
            .iter()
            .map(|n| {
                if s.failing.iter().any(|part| n.id.contains(part.as_str())) {
                    Err(NotifyError::Failed(format!("{} refused", n.id)))
                } else {
                    s.published.push(n.clone());
                    Ok(())
                }
            })
            .collect()
    }
}
