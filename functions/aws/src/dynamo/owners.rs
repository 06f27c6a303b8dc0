//! `OwnerStore` on DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use trustreg_core::error::StoreError;
use trustreg_core::identifier::RegDevId;
use trustreg_core::ports::{OwnerStore, Updated};
use trustreg_core::records::{AuditRecord, CustodyEntry, DeviceRecord, OwnerRecord, Transition};

use super::devices::device_item;
use super::{Condition, DynamoStore, Item, TxOutcome, item, key, record, s, sdk, transition_item};
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
            TxOutcome::ConditionFailed => Err(StoreError("owner id collision".into())),
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
        let (pk, _) = keys::owner(owner_id);
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :dev)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":dev", s("DEV#".into()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            for it in out.items() {
                match it.get("regdevid") {
                    Some(AttributeValue::S(text)) => found.push(
                        text.parse()
                            .map_err(|e| StoreError(format!("owner link {text:?}: {e}")))?,
                    ),
                    _ => return Err(StoreError("owner link without regdevid".into())),
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    async fn change_custody(
        &self,
        device: &DeviceRecord,
        custody: &CustodyEntry,
        transition: Option<&Transition>,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let put = self.put_if(
            device_item(device)?,
            Some(Condition::Version(device.version.saturating_sub(1))),
        )?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(from) = &custody.from
            && from != &custody.to
        {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::owner_device(from, &device.regdevid))))
                .build()
                .map_err(|e| StoreError(format!("delete: {e}")))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        items.push(
            TransactWriteItem::builder()
                .put(self.put(link_item(&custody.to, &device.regdevid))?)
                .build(),
        );
        let mut entry = item(
            custody,
            keys::custody(&device.regdevid, custody.at_ms, &audit.id),
        )?;
        entry.insert("kind".into(), s("custody".into()));
        items.push(TransactWriteItem::builder().put(self.put(entry)?).build());
        if let Some(t) = transition {
            items.push(
                TransactWriteItem::builder()
                    .put(self.put(transition_item(t, &audit.id)?)?)
                    .build(),
            );
        }
        items.push(self.audit_item(audit)?);
        match self.transact(items).await? {
            TxOutcome::Done => Ok(Updated::Updated),
            TxOutcome::ConditionFailed => Ok(Updated::VersionConflict),
        }
    }

    async fn custody_of(&self, regdevid: &RegDevId) -> Result<Vec<CustodyEntry>, StoreError> {
        let (pk, _) = keys::device(regdevid);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :custody)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":custody", s("CUSTODY#".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        out.items().iter().cloned().map(record).collect()
    }
}
