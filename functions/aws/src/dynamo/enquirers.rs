//! `EnquirerStore` on DynamoDB: enquirers at `ENQ#<id>`, listed by state through gsi4.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use trustreg_core::error::StoreError;
use trustreg_core::ports::{EnquirerStore, Page, Updated};
use trustreg_core::records::{AuditRecord, EnquirerRecord, EnquirerState};

use super::{Condition, DynamoStore, Index, Item, Partition, TxOutcome, item, record, s};
use crate::keys::{self, GSI4PK, GSI4SK};

fn enquirer_item(enquirer: &EnquirerRecord) -> Result<Item, StoreError> {
    let mut it = item(enquirer, keys::enquirer(&enquirer.enquirer_id))?;
    it.insert("kind".into(), s("enquirer".into()));
    let (state_pk, state_sk) = keys::enquirer_by_state(enquirer);
    it.insert(GSI4PK.into(), s(state_pk));
    it.insert(GSI4SK.into(), s(state_sk));
    Ok(it)
}

#[async_trait]
impl EnquirerStore for DynamoStore {
    async fn create_enquirer(
        &self,
        enquirer: &EnquirerRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let put = self.put_if(enquirer_item(enquirer)?, Some(Condition::Absent))?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            // Ids are random: a collision is the store's fault, not the client's.
            TxOutcome::ConditionFailed => Err(StoreError(format!(
                "enquirer {} exists",
                enquirer.enquirer_id
            ))),
        }
    }

    async fn get_enquirer(&self, id: &str) -> Result<Option<EnquirerRecord>, StoreError> {
        self.get_record(keys::enquirer(id)).await
    }

    async fn update_enquirer(
        &self,
        enquirer: &EnquirerRecord,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let put = self.put_if(
            enquirer_item(enquirer)?,
            Some(Condition::Version(enquirer.version.saturating_sub(1))),
        )?;
        self.write_versioned(vec![
            TransactWriteItem::builder().put(put).build(),
            self.audit_item(audit)?,
        ])
        .await
    }

    async fn enquirers_in(
        &self,
        state: EnquirerState,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<EnquirerRecord>, StoreError> {
        let on = Partition::new(Index::Gsi4, keys::enquirer_state_partition(state), None);
        self.page_of(&on, cursor, limit, record).await
    }
}
