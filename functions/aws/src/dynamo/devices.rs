//! `DeviceStore` on DynamoDB.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};
use trustreg_core::error::StoreError;
use trustreg_core::identifier::{Identifier, RegDevId};
use trustreg_core::ports::{Created, DeviceStore, Updated};
use trustreg_core::records::{AuditRecord, DeviceRecord, Nonce, Receipt, RootOfTrust, Transition};

use super::{
    Condition, DynamoStore, Item, TxOutcome, audit_item, item, key, record, regdevid_of, s, sdk,
    transition_item,
};
use crate::keys::{
    self, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, GSI4PK, GSI4SK, PK, SK, TTL,
};

impl DynamoStore {
    /// A versioned change of a device with the `extra` writes that go with it, its transition
    /// if the status changed, its audit record, and the receipt of a change a client named
    /// (only if absent: a second change under the same key cancels the transaction, which the
    /// caller sees as a lost race): one transaction.
    pub(super) async fn change_device_with(
        &self,
        device: &DeviceRecord,
        extra: Vec<TransactWriteItem>,
        transition: Option<&Transition>,
        audit: &AuditRecord,
        receipt: Option<&Receipt>,
    ) -> Result<Updated, StoreError> {
        let put = self.put_if(
            device_item(device)?,
            Some(Condition::Version(device.version.saturating_sub(1))),
        )?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(extra);
        if let Some(t) = transition {
            items.push(self.put_tx(transition_item(t, &audit.id)?)?);
        }
        items.push(self.audit_item(audit)?);
        if let Some(r) = receipt {
            let mut it = item(r, keys::receipt(&r.id))?;
            it.insert("kind".into(), s("receipt".into()));
            // AWS: TTL takes epoch seconds and deletes expired items lazily, typically within
            // days (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html).
            it.insert(
                TTL.into(),
                AttributeValue::N((r.expires_at_ms / 1000 + 1).to_string()),
            );
            items.push(
                TransactWriteItem::builder()
                    .put(self.put_if(it, Some(Condition::Absent))?)
                    .build(),
            );
        }
        self.write_versioned(items).await
    }

    /// What creating a device writes, in one transaction: the uniqueness guard of its
    /// identifier and the device (both only if absent), its first transition, its audit record.
    pub(super) fn creation_items(
        &self,
        device: &DeviceRecord,
        transition: &Transition,
        audit: &AuditRecord,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let (guard_pk, guard_sk) = keys::guard(&device.regdevid.identifier);
        let mut guard = HashMap::from([
            (PK.to_owned(), s(guard_pk)),
            (SK.to_owned(), s(guard_sk)),
            ("regdevid".to_owned(), s(device.regdevid.to_string())),
        ]);
        // A TPM device depends on its EK's root too: the guard, written once with the device,
        // lists it in that root's device index (gsi1), so a device costs no extra item.
        if let Some(ek_root) = &device.facts.ek_root {
            guard.insert(GSI1PK.into(), s(keys::root_devices_partition(ek_root)));
            guard.insert(GSI1SK.into(), s(device.regdevid.to_string()));
        }
        let put = |item, condition| -> Result<TransactWriteItem, StoreError> {
            Ok(TransactWriteItem::builder()
                .put(self.put_if(item, condition)?)
                .build())
        };
        Ok(vec![
            put(guard, Some(Condition::Absent))?,
            put(device_item(device)?, Some(Condition::Absent))?,
            put(transition_item(transition, &audit.id)?, None)?,
            self.audit_item(audit)?,
        ])
    }
}

/// A device item with its index entries: by root of trust (gsi1), by make and model (gsi2), by
/// when its next evaluation falls due (gsi3), and by status (gsi4). Attributes of the one item,
/// so creating a device, in bulk too, writes no more items.
pub(super) fn device_item(device: &DeviceRecord) -> Result<Item, StoreError> {
    let mut it = item(device, keys::device(&device.regdevid))?;
    it.insert("kind".into(), s("device".into()));
    let (root_pk, root_sk) = keys::by_root(device);
    it.insert(GSI1PK.into(), s(root_pk));
    it.insert(GSI1SK.into(), s(root_sk));
    let (model_pk, model_sk) = keys::by_model(device);
    it.insert(GSI2PK.into(), s(model_pk));
    it.insert(GSI2SK.into(), s(model_sk));
    if let Some(due) = device.next_evaluation_at_ms {
        let (due_pk, due_sk) = keys::by_due_time(&device.regdevid, due);
        it.insert(GSI3PK.into(), s(due_pk));
        it.insert(GSI3SK.into(), s(due_sk));
    }
    let (status_pk, status_sk) = keys::by_status(device);
    it.insert(GSI4PK.into(), s(status_pk));
    it.insert(GSI4SK.into(), s(status_sk));
    Ok(it)
}

#[async_trait]
impl DeviceStore for DynamoStore {
    async fn put_nonce(&self, nonce: &Nonce) -> Result<(), StoreError> {
        let mut item = item(nonce, keys::nonce(&nonce.value))?;
        item.insert(
            TTL.into(),
            AttributeValue::N((nonce.expires_at_ms / 1000 + 1).to_string()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn take_nonce(&self, value: &str) -> Result<Option<Nonce>, StoreError> {
        // DynamoDB serializes writes to one item: only one delete sees the old attributes.
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::nonce(value))))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk)?;
        match out.attributes {
            Some(item) if !item.is_empty() => Ok(Some(record(item)?)),
            _ => Ok(None),
        }
    }

    async fn roots_of_trust(&self) -> Result<Vec<RootOfTrust>, StoreError> {
        self.records_with_prefix(keys::ROOTS_PK.into(), keys::ROOT_PREFIX)
            .await
    }

    async fn put_root_of_trust(
        &self,
        root: &RootOfTrust,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let items = vec![
            TransactWriteItem::builder()
                .put(self.put(item(root, keys::root(&root.id))?)?)
                .build(),
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => Err(StoreError::Failed("unexpected condition".into())),
        }
    }

    async fn get_device(&self, regdevid: &RegDevId) -> Result<Option<DeviceRecord>, StoreError> {
        self.get_record(keys::device(regdevid)).await
    }

    async fn create_device(
        &self,
        device: &DeviceRecord,
        transition: &Transition,
        audit: &AuditRecord,
    ) -> Result<Created, StoreError> {
        let items = self.creation_items(device, transition, audit)?;
        match self.transact(items).await? {
            TxOutcome::Done => Ok(Created::Created),
            TxOutcome::ConditionFailed => {
                let holder = self
                    .holder_of(&device.regdevid.identifier)
                    .await?
                    .unwrap_or_else(|| device.regdevid.clone());
                Ok(Created::IdentifierTaken(holder))
            }
        }
    }

    async fn update_device(
        &self,
        device: &DeviceRecord,
        transition: Option<&Transition>,
        audit: &AuditRecord,
        receipt: Option<&Receipt>,
    ) -> Result<Updated, StoreError> {
        self.change_device_with(device, Vec::new(), transition, audit, receipt)
            .await
    }

    async fn receipt(&self, id: &str) -> Result<Option<Receipt>, StoreError> {
        self.get_record(keys::receipt(id)).await
    }

    async fn record_audit(&self, audit: &AuditRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(audit_item(audit, self.audit_shards)?))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn holder_of(&self, identifier: &Identifier) -> Result<Option<RegDevId>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::guard(identifier))))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        regdevid_of(&item).map(Some)
    }
}
