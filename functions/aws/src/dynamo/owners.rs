//! `OwnerStore` on DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use trustreg_core::error::StoreError;
use trustreg_core::identifier::RegDevId;
use trustreg_core::ports::{OwnerStore, Updated};
use trustreg_core::records::{
    AuditRecord, CustodyEntry, DeviceRecord, OwnerRecord, Receipt, Transition,
};

use super::{Condition, DynamoStore, Item, TxOutcome, item, key, regdevid_of, s};
use crate::keys::{self, PK, SK};

fn owner_item(owner: &OwnerRecord) -> Result<Item, StoreError> {
    let mut it = item(owner, keys::owner(&owner.owner_id))?;
    it.insert("kind".into(), s("owner".into()));
    Ok(it)
}

fn link_item(owner_id: &str, regdevid: &RegDevId) -> Item {
    let (pk, sk) = keys::owner_device(owner_id, regdevid);
    Item::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(sk)),
        ("regdevid".to_owned(), s(regdevid.to_string())),
    ])
}

#[async_trait]
impl OwnerStore for DynamoStore {
    async fn create_owner(
        &self,
        owner: &OwnerRecord,
        device: Option<&RegDevId>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut items = vec![
            TransactWriteItem::builder()
                .put(self.put_if(owner_item(owner)?, Some(Condition::Absent))?)
                .build(),
        ];
        if let Some(regdevid) = device {
            items.push(
                TransactWriteItem::builder()
                    .put(self.put(link_item(&owner.owner_id, regdevid))?)
                    .build(),
            );
        }
        items.push(self.audit_item(audit)?);
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => Err(StoreError::Failed("owner id collision".into())),
        }
    }

    async fn get_owner(&self, owner_id: &str) -> Result<Option<OwnerRecord>, StoreError> {
        self.get_record(keys::owner(owner_id)).await
    }

    async fn update_owner(
        &self,
        owner: &OwnerRecord,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let put = self.put_if(
            owner_item(owner)?,
            Some(Condition::Version(owner.version.saturating_sub(1))),
        )?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(Updated::Updated),
            TxOutcome::ConditionFailed => Ok(Updated::VersionConflict),
        }
    }

    async fn devices_of_owner(&self, owner_id: &str) -> Result<Vec<RegDevId>, StoreError> {
        let links = self
            .query_prefix(keys::owner(owner_id).0, keys::DEVICE_PREFIX)
            .await?;
        links.iter().map(regdevid_of).collect()
    }

    async fn change_custody(
        &self,
        device: &DeviceRecord,
        custody: &CustodyEntry,
        transition: Option<&Transition>,
        audit: &AuditRecord,
        receipt: Option<&Receipt>,
    ) -> Result<Updated, StoreError> {
        let mut extra = Vec::new();
        if let Some(from) = &custody.from
            && Some(from) != custody.to.as_ref()
        {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::owner_device(from, &device.regdevid))))
                .build()
                .map_err(|e| StoreError::Failed(format!("delete: {e}")))?;
            extra.push(TransactWriteItem::builder().delete(delete).build());
        }
        // No new owner when the custody ended without a transfer (its revocation).
        if let Some(to) = &custody.to {
            extra.push(self.put_tx(link_item(to, &device.regdevid))?);
        }
        let mut entry = item(
            custody,
            keys::custody(&device.regdevid, custody.at_ms, &audit.id),
        )?;
        entry.insert("kind".into(), s("custody".into()));
        extra.push(self.put_tx(entry)?);
        self.change_device_with(device, extra, transition, audit, receipt)
            .await
    }

    async fn custody_of(&self, regdevid: &RegDevId) -> Result<Vec<CustodyEntry>, StoreError> {
        self.records_with_prefix(keys::device(regdevid).0, keys::CUSTODY_PREFIX)
            .await
    }
}
