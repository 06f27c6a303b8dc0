//! `PolicyStore` on DynamoDB: one item per trust domain (`pk=REGISTRY`, `sk=DOMAIN#<name>`).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use trustreg_core::error::StoreError;
use trustreg_core::ports::PolicyStore;
use trustreg_core::records::{AuditRecord, DomainPolicy};

use super::{DynamoStore, TxOutcome, item};
use crate::keys;

#[async_trait]
impl PolicyStore for DynamoStore {
    async fn domain_policies(&self) -> Result<Vec<DomainPolicy>, StoreError> {
        self.records_with_prefix(keys::ROOTS_PK.into(), keys::DOMAIN_PREFIX)
            .await
    }

    async fn put_domain_policy(
        &self,
        policy: &DomainPolicy,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let items = vec![
            TransactWriteItem::builder()
                .put(self.put(item(policy, keys::domain_policy(&policy.name))?)?)
                .build(),
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => Err(StoreError::Failed("unexpected condition".into())),
        }
    }

    async fn put_reevaluation(&self, policy: &DomainPolicy) -> Result<bool, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(policy, keys::domain_policy(&policy.name))?))
            .condition_expression("#at = :at")
            .expression_attribute_names("#at", "updated_at_ms")
            .expression_attribute_values(":at", AttributeValue::N(policy.updated_at_ms.to_string()))
            .build()
            .map_err(|e| StoreError::Failed(format!("put: {e}")))?;
        let items = vec![TransactWriteItem::builder().put(put).build()];
        Ok(matches!(self.transact(items).await?, TxOutcome::Done))
    }
}
