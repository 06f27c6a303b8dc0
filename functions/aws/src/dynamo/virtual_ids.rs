//! `VirtualIdStore` on DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use trustreg_core::error::StoreError;
use trustreg_core::ports::VirtualIdStore;
use trustreg_core::records::{AuditRecord, VirtualIdRecord};

use super::{Condition, DynamoStore, TxOutcome, item, key, s};
use crate::keys::{self, PK, TTL};

#[async_trait]
impl VirtualIdStore for DynamoStore {
    async fn put_virtual_id(
        &self,
        record: &VirtualIdRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut it = item(record, keys::virtual_id(&record.virtual_id))?;
        it.insert("kind".into(), s("virtual-id".into()));
        // DynamoDB deletes expired items lazily, within days: readers check the expiry too.
        it.insert(
            TTL.into(),
            AttributeValue::N((record.expires_at_ms / 1000 + 1).to_string()),
        );
        let items = vec![
            TransactWriteItem::builder()
                .put(self.put_if(it, Some(Condition::Absent))?)
                .build(),
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => Err(StoreError::Failed("virtual ID collision".into())),
        }
    }

    async fn get_virtual_id(
        &self,
        virtual_id: &str,
    ) -> Result<Option<VirtualIdRecord>, StoreError> {
        self.get_record(keys::virtual_id(virtual_id)).await
    }

    async fn consume_virtual_id(
        &self,
        virtual_id: &str,
        now_ms: u64,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        // DynamoDB serializes writes to one item: of racing deletes, one finds it there.
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::virtual_id(virtual_id))))
            .condition_expression("attribute_exists(#pk) AND expires_at_ms > :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":now", AttributeValue::N(now_ms.to_string()))
            .build()
            .map_err(|e| StoreError::Failed(format!("delete: {e}")))?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(true),
            TxOutcome::ConditionFailed => Ok(false),
        }
    }
}
