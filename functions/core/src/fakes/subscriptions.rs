//! `SubscriptionStore` in memory, and `MemoryBroker`: the notification service's subscriptions
//! as SNS keeps them (a repeat answers the same ARN, HTTPS and email wait for confirmation),
//! with every call recorded.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::{NotifyError, StoreError};
use crate::ports::{SubscriptionBroker, SubscriptionStore};
use crate::records::{AuditRecord, SubscriptionRecord};
use crate::subscriptions::SubscriptionState;

#[async_trait]
impl SubscriptionStore for MemoryStore {
    async fn put_subscription(
        &self,
        subscription: &SubscriptionRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        if s.subscriptions.contains_key(&subscription.subscription_id) {
            return Err(StoreError::Failed(format!(
                "subscription {} exists",
                subscription.subscription_id
            )));
        }
        s.subscriptions
            .insert(subscription.subscription_id.clone(), subscription.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn get_subscription(&self, id: &str) -> Result<Option<SubscriptionRecord>, StoreError> {
        Ok(self.lock().subscriptions.get(id).cloned())
    }

    async fn subscriptions_of(&self, owner: &str) -> Result<Vec<SubscriptionRecord>, StoreError> {
        let mut found: Vec<SubscriptionRecord> = self
            .lock()
            .subscriptions
            .values()
            .filter(|s| s.owner == owner)
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            (a.created_at_ms, &a.subscription_id).cmp(&(b.created_at_ms, &b.subscription_id))
        });
        Ok(found)
    }

    async fn delete_subscription(&self, id: &str, audit: &AuditRecord) -> Result<(), StoreError> {
        let mut s = self.lock();
        if s.subscriptions.remove(id).is_none() {
            return Err(StoreError::Failed(format!("subscription {id} is gone")));
        }
        s.audit.push(audit.clone());
        Ok(())
    }
}

/// One subscription as the fake service holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldSubscription {
    pub domain: String,
    pub protocol: String,
    pub endpoint: String,
    pub filter_policy: serde_json::Value,
    pub pending: bool,
}

#[derive(Debug, Default, Clone)]
pub struct BrokerState {
    /// By subscription ARN.
    pub held: BTreeMap<String, HeldSubscription>,
    /// `subscribe <domain>`, `provision <domain>`, `unsubscribe <arn>`, `state <arn>`, in
    /// order.
    pub calls: Vec<String>,
    /// The domains whose topics `provision` made.
    pub topics: std::collections::BTreeSet<String>,
    /// The next call fails with this.
    pub fail_next: Option<String>,
    next: u64,
}

#[derive(Default)]
pub struct MemoryBroker {
    inner: Mutex<BrokerState>,
}

impl MemoryBroker {
    pub fn snapshot(&self) -> BrokerState {
        self.lock().clone()
    }

    /// The endpoint confirms (SNS's handshake).
    pub fn confirm(&self, arn: &str) {
        if let Some(held) = self.lock().held.get_mut(arn) {
            held.pending = false;
        }
    }

    /// The endpoint unsubscribes itself (e.g. an email's unsubscribe link).
    pub fn drop_subscription(&self, arn: &str) {
        self.lock().held.remove(arn);
    }

    /// The next call fails: `refused: ...` as the service refusing the request, anything
    /// else as the service failing.
    pub fn fail_next(&self, why: &str) {
        self.lock().fail_next = Some(why.to_owned());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BrokerState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn call(&self, call: String) -> Result<std::sync::MutexGuard<'_, BrokerState>, NotifyError> {
        let mut s = self.lock();
        s.calls.push(call);
        match s.fail_next.take() {
            Some(why) => match why.strip_prefix("refused: ") {
                Some(refused) => Err(NotifyError::refused(refused)),
                None => Err(NotifyError::Failed(why)),
            },
            None => Ok(s),
        }
    }
}

#[async_trait]
impl SubscriptionBroker for MemoryBroker {
    async fn subscribe(
        &self,
        domain: &str,
        protocol: &str,
        endpoint: &str,
        filter_policy: &serde_json::Value,
    ) -> Result<String, NotifyError> {
        let mut s = self.call(format!("subscribe {domain}"))?;
        let same_endpoint = s
            .held
            .iter()
            .find(|(_, h)| h.domain == domain && h.protocol == protocol && h.endpoint == endpoint);
        if let Some((arn, held)) = same_endpoint {
            return if held.filter_policy == *filter_policy {
                Ok(arn.clone())
            } else {
                Err(NotifyError::refused(
                    "Subscription already exists with different attributes",
                ))
            };
        }
        s.next += 1;
        let arn = format!(
            "arn:aws:sns:us-east-1:000000000000:trustreg-fake-{domain}:{:08}",
            s.next
        );
        s.held.insert(
            arn.clone(),
            HeldSubscription {
                domain: domain.to_owned(),
                protocol: protocol.to_owned(),
                endpoint: endpoint.to_owned(),
                filter_policy: filter_policy.clone(),
                pending: protocol != "sqs",
            },
        );
        Ok(arn)
    }

    async fn provision(&self, domain: &str) -> Result<(), NotifyError> {
        let mut s = self.call(format!("provision {domain}"))?;
        s.topics.insert(domain.to_owned());
        Ok(())
    }

    async fn unsubscribe(&self, subscription: &SubscriptionRecord) -> Result<(), NotifyError> {
        let mut s = self.call(format!("unsubscribe {}", subscription.subscription_arn))?;
        s.held.remove(&subscription.subscription_arn);
        Ok(())
    }

    async fn state(&self, subscription_arn: &str) -> Result<SubscriptionState, NotifyError> {
        let s = self.call(format!("state {subscription_arn}"))?;
        Ok(match s.held.get(subscription_arn) {
            None => SubscriptionState::Removed,
            Some(h) if h.pending => SubscriptionState::PendingConfirmation,
            Some(_) => SubscriptionState::Confirmed,
        })
    }
}
