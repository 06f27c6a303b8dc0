//! `EnquirerStore` on DynamoDB: enquirers at `ENQ#<id>`, listed by state through gsi4.

use async_trait::async_trait;
use trustreg_core::error::StoreError;
use trustreg_core::ports::{EnquirerStore, Page, Updated};
use trustreg_core::records::{AuditRecord, EnquirerRecord, EnquirerState};

use super::{DynamoStore, Index, Item, Partition, item, record, s};
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
        self.create_audited(
            enquirer_item(enquirer)?,
            audit,
            &format!("enquirer {}", enquirer.enquirer_id),
        )
        .await
    }

    async fn get_enquirer(&self, id: &str) -> Result<Option<EnquirerRecord>, StoreError> {
        self.get_record(keys::enquirer(id)).await
    }

    async fn update_enquirer(
        &self,
        enquirer: &EnquirerRecord,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        self.update_audited(enquirer_item(enquirer)?, enquirer.version, audit)
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
