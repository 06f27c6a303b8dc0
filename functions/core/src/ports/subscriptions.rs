//! Subscriptions of enquirers and beneficiaries to trust-domain topics (Y.3059 9.4 i a; card
//! C8): kept in the table with their owner, held by the notification service (SNS).

use async_trait::async_trait;

use crate::error::{NotifyError, StoreError};
use crate::records::{AuditRecord, SubscriptionRecord};

#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Writes the subscription with its audit record, in one transaction.
    async fn put_subscription(
        &self,
        subscription: &SubscriptionRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
    async fn get_subscription(&self, id: &str) -> Result<Option<SubscriptionRecord>, StoreError>;
    /// The subscriptions of one owner (a principal's subject), oldest first.
    async fn subscriptions_of(&self, owner: &str) -> Result<Vec<SubscriptionRecord>, StoreError>;
    /// Deletes the subscription with its audit record, in one transaction.
    async fn delete_subscription(&self, id: &str, audit: &AuditRecord) -> Result<(), StoreError>;
}

/// The notification service's side of a subscription.
#[async_trait]
pub trait SubscriptionBroker: Send + Sync {
    /// Subscribes `endpoint` over `protocol` (`sqs`, `https`, `email`) to the topic of
    /// `domain` with `filter_policy` (SNS filter policy JSON, on message attributes): the
    /// subscription's ARN, or `pending confirmation` until an HTTPS or email endpoint confirms.
    async fn subscribe(
        &self,
        domain: &str,
        protocol: &str,
        endpoint: &str,
        filter_policy: &serde_json::Value,
    ) -> Result<String, NotifyError>;
    /// Makes the topic of `domain` if it does not exist yet (a trust domain added at run
    /// time); making an existing one again changes nothing.
    async fn provision(&self, domain: &str) -> Result<(), NotifyError>;
    /// Removes a subscription by ARN (or, while pending, by its topic and endpoint).
    async fn unsubscribe(&self, subscription: &SubscriptionRecord) -> Result<(), NotifyError>;
    /// Whether the subscription is confirmed, still awaits its endpoint's confirmation, or is
    /// no longer held by the service.
    async fn state(
        &self,
        subscription_arn: &str,
    ) -> Result<trustreg_model::answers::SubscriptionState, NotifyError>;
}
