//! Writes: conditional puts and the transactions that carry a change with its audit record,
//! retried on TransactionConflict, a failed condition returned as an answer.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use trustreg_core::error::StoreError;
use trustreg_core::ports::Updated;
use trustreg_core::records::AuditRecord;

use super::DynamoStore;
use super::codec::{Item, audit_item, sdk};
use crate::keys::PK;

/// Concurrent transactions on one item are refused (TransactionConflict) rather than queued:
/// such a refusal is retried, a failed condition is an answer.
const CONFLICT_RETRIES: u32 = 10;

pub(crate) enum Condition {
    /// No item with this key yet.
    Absent,
    /// The stored item's version is this one.
    Version(u64),
}

pub(crate) enum TxOutcome {
    Done,
    /// A condition of the transaction failed.
    ConditionFailed,
}

impl DynamoStore {
    pub(crate) fn put(&self, item: Item) -> Result<Put, StoreError> {
        self.put_if(item, None)
    }

    pub(crate) fn put_if(
        &self,
        item: Item,
        condition: Option<Condition>,
    ) -> Result<Put, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        match condition {
            None => {}
            Some(Condition::Absent) => {
                put = put
                    .condition_expression("attribute_not_exists(#pk)")
                    .expression_attribute_names("#pk", PK);
            }
            Some(Condition::Version(previous)) => {
                put = put
                    .condition_expression("#version = :previous")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(
                        ":previous",
                        AttributeValue::N(previous.to_string()),
                    );
            }
        }
        put.build()
            .map_err(|e| StoreError::Failed(format!("put: {e}")))
    }

    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TxOutcome, StoreError> {
        if self.transact_failing(items).await?.is_empty() {
            Ok(TxOutcome::Done)
        } else {
            Ok(TxOutcome::ConditionFailed)
        }
    }

    pub(crate) async fn transact_failing(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Vec<usize>, StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let Err(err) = result else {
                return Ok(Vec::new());
            };
            if let SdkError::ServiceError(service) = &err
                && let TransactWriteItemsError::TransactionCanceledException(cancel) = service.err()
            {
                let codes: Vec<&str> = cancel
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None"))
                    .collect();
                let failed: Vec<usize> = codes
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == "ConditionalCheckFailed")
                    .map(|(i, _)| i)
                    .collect();
                if !failed.is_empty() {
                    return Ok(failed);
                }
                if codes.contains(&"TransactionConflict") && attempt < CONFLICT_RETRIES {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(attempt)))
                        .await;
                    continue;
                }
            }
            return Err(sdk(err));
        }
    }

    pub(crate) async fn write_versioned(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Updated, StoreError> {
        match self.transact(items).await? {
            TxOutcome::Done => Ok(Updated::Updated),
            TxOutcome::ConditionFailed => Ok(Updated::VersionConflict),
        }
    }

    pub(crate) async fn create_audited(
        &self,
        item: Item,
        audit: &AuditRecord,
        what: &str,
    ) -> Result<(), StoreError> {
        let put = self.put_if(item, Some(Condition::Absent))?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => Err(StoreError::Failed(format!("{what} exists"))),
        }
    }

    pub(crate) async fn update_audited(
        &self,
        item: Item,
        version: u64,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let put = self.put_if(item, Some(Condition::Version(version.saturating_sub(1))))?;
        self.write_versioned(vec![
            TransactWriteItem::builder().put(put).build(),
            self.audit_item(audit)?,
        ])
        .await
    }

    pub(crate) fn put_tx(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder().put(self.put(item)?).build())
    }

    pub(crate) fn audit_item(&self, audit: &AuditRecord) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .put(self.put(audit_item(audit, self.audit_shards)?)?)
            .build())
    }
}
