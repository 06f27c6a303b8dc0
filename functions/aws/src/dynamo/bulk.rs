//! `BulkStore` on DynamoDB: 25 devices (100 items) per TransactWriteItems, and BatchGetItem
//! for the holders of many identifiers. A chunk is atomic: a crash mid-bulk leaves whole
//! devices or none, and the repeated request completes the rest idempotently.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use trustreg_core::error::StoreError;
use trustreg_core::identifier::{Identifier, RegDevId};
use trustreg_core::ports::{BulkStore, Created, DeviceStore, NewDevice};
use trustreg_core::records::DeviceRecord;

use super::{DynamoStore, Item, key, record};
use crate::keys::{self, PK};

/// A device's creation writes 4 items; a transaction takes at most 100.
const ITEMS_PER_DEVICE: usize = 4;
const DEVICES_PER_TRANSACTION: usize = 25;

impl DynamoStore {
    /// Creates the devices at `pending` (indexes into `devices`) in one transaction, leaving
    /// out and retrying without those whose identifier is taken.
    async fn create_chunk(
        &self,
        devices: &[NewDevice],
        mut pending: Vec<usize>,
    ) -> Result<Vec<(usize, Created)>, StoreError> {
        let mut outcomes = Vec::with_capacity(pending.len());
        while !pending.is_empty() {
            let mut items = Vec::with_capacity(pending.len() * ITEMS_PER_DEVICE);
            for &i in &pending {
                let d = &devices[i];
                items.extend(self.creation_items(&d.device, &d.transition, &d.audit)?);
            }
            let failed = self.transact_failing(items).await?;
            if failed.is_empty() {
                outcomes.extend(pending.iter().map(|&i| (i, Created::Created)));
                break;
            }
            // Only the guard and device puts carry conditions: a failed one names its device,
            // which is left out; the others are tried again together.
            let taken: BTreeSet<usize> = failed
                .iter()
                .filter_map(|f| pending.get(f / ITEMS_PER_DEVICE).copied())
                .collect();
            for &i in &taken {
                let regdevid = &devices[i].device.regdevid;
                let holder = self
                    .holder_of(&regdevid.identifier)
                    .await?
                    .unwrap_or_else(|| regdevid.clone());
                outcomes.push((i, Created::IdentifierTaken(holder)));
            }
            pending.retain(|i| !taken.contains(i));
        }
        Ok(outcomes)
    }

    /// The plain items that creating this device writes, without their conditions: what a
    /// benchmark writes with raw BatchWriteItem to compare against bulk registration.
    pub fn creation_item_maps(&self, d: &NewDevice) -> Result<Vec<Item>, StoreError> {
        Ok(self
            .creation_items(&d.device, &d.transition, &d.audit)?
            .into_iter()
            .filter_map(|t| t.put().map(|p| p.item().clone()))
            .collect())
    }

    /// The items of these keys (consistent reads), by `pk`; absent keys are simply missing.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<HashMap<String, Item>, StoreError> {
        Ok(self
            .batch_read(keys)
            .await?
            .into_iter()
            .filter_map(|item| match item.get(PK) {
                Some(AttributeValue::S(pk)) => Some((pk.clone(), item)),
                _ => None,
            })
            .collect())
    }
}

#[async_trait]
impl BulkStore for DynamoStore {
    async fn devices_holding(
        &self,
        identifiers: &[Identifier],
    ) -> Result<Vec<Option<DeviceRecord>>, StoreError> {
        let guards = self
            .batch_get(identifiers.iter().map(|i| key(keys::guard(i))).collect())
            .await?;
        let holders: Vec<Option<RegDevId>> = identifiers
            .iter()
            .map(|i| {
                let (pk, _) = keys::guard(i);
                match guards.get(&pk).and_then(|g| g.get("regdevid")) {
                    Some(AttributeValue::S(text)) => text.parse().ok(),
                    _ => None,
                }
            })
            .collect();
        let devices = self
            .batch_get(
                holders
                    .iter()
                    .flatten()
                    .map(|r| key(keys::device(r)))
                    .collect(),
            )
            .await?;
        holders
            .into_iter()
            .map(|holder| {
                holder
                    .and_then(|r| devices.get(&keys::device(&r).0).cloned())
                    .map(record)
                    .transpose()
            })
            .collect()
    }

    async fn create_devices(&self, devices: &[NewDevice]) -> Result<Vec<Created>, StoreError> {
        let all: Vec<usize> = (0..devices.len()).collect();
        // One transaction at a time: measured on LocalStack, several in flight were slower
        // (moto serializes them anyway).
        let mut chunks = Vec::new();
        for chunk in all.chunks(DEVICES_PER_TRANSACTION) {
            chunks.push(self.create_chunk(devices, chunk.to_vec()).await?);
        }
        let mut outcomes: Vec<Option<Created>> = vec![None; devices.len()];
        for (i, created) in chunks.into_iter().flatten() {
            outcomes[i] = Some(created);
        }
        outcomes
            .into_iter()
            .map(|o| o.ok_or_else(|| StoreError::Failed("a bulk outcome went missing".into())))
            .collect()
    }
}
