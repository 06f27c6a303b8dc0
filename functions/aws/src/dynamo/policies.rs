//! `PolicyStore` on DynamoDB: one item per trust domain (`pk=REGISTRY`, `sk=DOMAIN#<name>`).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use trustreg_core::error::StoreError;
use trustreg_core::ports::PolicyStore;
use trustreg_core::records::{AuditRecord, DomainPolicy};

use super::{DynamoStore, TxOutcome, item, record, s, sdk};
use crate::keys::{self, PK, SK};

#[async_trait]
impl PolicyStore for DynamoStore {
    async fn domain_policies(&self) -> Result<Vec<DomainPolicy>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :domain)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(keys::ROOTS_PK.into()))
            .expression_attribute_values(":domain", s("DOMAIN#".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        out.items().iter().cloned().map(record).collect()
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
            TxOutcome::ConditionFailed => Err(StoreError("unexpected condition".into())),
        }
    }
}
