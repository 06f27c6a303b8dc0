//! `SubscriptionStore` on DynamoDB: a subscription at `SUB#<id>`, and a copy under its owner
//! (`SUBOWNER#<owner>`, sorted by creation time and id) so that an owner's list is one Query.
//! Both go with the audit record in one transaction; records never change, so the copies
//! cannot drift.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use trustreg_core::error::StoreError;
use trustreg_core::ports::SubscriptionStore;
use trustreg_core::records::{AuditRecord, SubscriptionRecord};

use super::{Condition, DynamoStore, Index, Item, Partition, TxOutcome, item, key, record, s};
use crate::keys::PK;
use crate::keys::{subscriber_partition as owner_partition, subscription as by_id};

/// An owner holds at most a few dozen: one page reads them all.
const PAGE: usize = 100;

fn by_owner(subscription: &SubscriptionRecord) -> (String, String) {
    (
        owner_partition(&subscription.owner),
        format!(
            "{:013}#{}",
            subscription.created_at_ms, subscription.subscription_id
        ),
    )
}

fn subscription_item(
    subscription: &SubscriptionRecord,
    at: (String, String),
) -> Result<Item, StoreError> {
    let mut it = item(subscription, at)?;
    it.insert("kind".into(), s("subscription".into()));
    Ok(it)
}

impl DynamoStore {
    fn delete_tx(&self, at: (String, String)) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(key(at)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|e| StoreError::Failed(format!("delete: {e}")))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

#[async_trait]
impl SubscriptionStore for DynamoStore {
    async fn put_subscription(
        &self,
        subscription: &SubscriptionRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let main = self.put_if(
            subscription_item(subscription, by_id(&subscription.subscription_id))?,
            Some(Condition::Absent),
        )?;
        let link = self.put_if(
            subscription_item(subscription, by_owner(subscription))?,
            Some(Condition::Absent),
        )?;
        let items = vec![
            TransactWriteItem::builder().put(main).build(),
            TransactWriteItem::builder().put(link).build(),
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => Err(StoreError::Failed(format!(
                "subscription {} exists",
                subscription.subscription_id
            ))),
        }
    }

    async fn get_subscription(&self, id: &str) -> Result<Option<SubscriptionRecord>, StoreError> {
        self.get_record(by_id(id)).await
    }

    async fn subscriptions_of(&self, owner: &str) -> Result<Vec<SubscriptionRecord>, StoreError> {
        let on = Partition::new(Index::Table, owner_partition(owner), None);
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let (items, last) = self.query_page(&on, None, start, Some(PAGE)).await?;
            for it in items {
                found.push(record(it)?);
            }
            match last {
                Some(last) => start = Some(last),
                None => return Ok(found),
            }
        }
    }

    async fn delete_subscription(&self, id: &str, audit: &AuditRecord) -> Result<(), StoreError> {
        let Some(subscription) = self.get_subscription(id).await? else {
            return Err(StoreError::Failed(format!("subscription {id} is gone")));
        };
        let items = vec![
            self.delete_tx(by_id(id))?,
            self.delete_tx(by_owner(&subscription))?,
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => {
                Err(StoreError::Failed(format!("subscription {id} is gone")))
            }
        }
    }
}
