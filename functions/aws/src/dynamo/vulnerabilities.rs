//! `VulnerabilityStore` on DynamoDB: reports at `VULN#<id>`, one link per affected device in
//! the device's partition, ranges found through gsi2 (make/model), never a scan.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use trustreg_core::error::StoreError;
use trustreg_core::identifier::RegDevId;
use trustreg_core::ports::{ModelEntry, ModelPage, Updated, VulnerabilityStore};
use trustreg_core::records::{
    AffectedLink, AuditRecord, DeviceRecord, Transition, VulnerabilityRecord,
};

use super::{DynamoStore, Item, item, s, sdk};
use crate::keys::{self, GSI2PK, GSI2SK};

fn vulnerability_item(v: &VulnerabilityRecord) -> Result<Item, StoreError> {
    let mut it = item(v, keys::vulnerability(&v.id))?;
    it.insert("kind".into(), s("vulnerability".into()));
    Ok(it)
}

fn link_item(link: &AffectedLink) -> Result<Item, StoreError> {
    let mut it = item(
        link,
        keys::vulnerability_link(&link.regdevid, &link.vulnerability_id),
    )?;
    it.insert("kind".into(), s("vulnerability-link".into()));
    Ok(it)
}

/// The RegDevID and firmware of a device item read from gsi2 (which projects all attributes).
fn model_entry(item: &Item) -> Result<ModelEntry, StoreError> {
    let regdevid = match item.get("regdevid") {
        Some(AttributeValue::S(text)) => text
            .parse()
            .map_err(|e| StoreError::Failed(format!("stored RegDevID {text:?}: {e}")))?,
        _ => return Err(StoreError::Failed("device item without regdevid".into())),
    };
    let firmware = match item.get("info") {
        Some(AttributeValue::M(info)) => match info.get("firmware_version") {
            Some(AttributeValue::S(f)) => f.clone(),
            _ => return Err(StoreError::Failed("device item without firmware".into())),
        },
        _ => return Err(StoreError::Failed("device item without info".into())),
    };
    Ok(ModelEntry { regdevid, firmware })
}

impl DynamoStore {}

#[async_trait]
impl VulnerabilityStore for DynamoStore {
    async fn create_vulnerability(
        &self,
        vulnerability: &VulnerabilityRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.create_audited(
            vulnerability_item(vulnerability)?,
            audit,
            &format!("vulnerability {}", vulnerability.id),
        )
        .await
    }

    async fn get_vulnerability(&self, id: &str) -> Result<Option<VulnerabilityRecord>, StoreError> {
        self.get_record(keys::vulnerability(id)).await
    }

    async fn update_vulnerability(
        &self,
        vulnerability: &VulnerabilityRecord,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        self.update_audited(
            vulnerability_item(vulnerability)?,
            vulnerability.version,
            audit,
        )
        .await
    }

    async fn devices_by_model(
        &self,
        make: &str,
        model: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ModelPage, StoreError> {
        let limit = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .expression_attribute_names("#pk", GSI2PK)
            .expression_attribute_values(":pk", s(keys::model_partition(make, model)))
            .limit(limit);
        // Resuming by sort key rather than ExclusiveStartKey keeps the cursor one string.
        query = match after {
            Some(after) => query
                .key_condition_expression("#pk = :pk AND #sk > :after")
                .expression_attribute_names("#sk", GSI2SK)
                .expression_attribute_values(":after", s(after.to_owned())),
            None => query.key_condition_expression("#pk = :pk"),
        };
        let out = query.send().await.map_err(sdk)?;
        let devices = out
            .items()
            .iter()
            .map(model_entry)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match out.last_evaluated_key() {
            Some(last) => match last.get(GSI2SK) {
                Some(AttributeValue::S(sk)) => Some(sk.clone()),
                _ => return Err(StoreError::Failed("gsi2 page without its sort key".into())),
            },
            None => None,
        };
        Ok(ModelPage { devices, next })
    }

    async fn update_device_linked(
        &self,
        device: &DeviceRecord,
        link: &AffectedLink,
        transition: Option<&Transition>,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let extra = vec![self.put_tx(link_item(link)?)?];
        self.change_device_with(device, extra, transition, audit, None)
            .await
    }

    async fn links_of(&self, regdevid: &RegDevId) -> Result<Vec<AffectedLink>, StoreError> {
        self.records_with_prefix(keys::device(regdevid).0, keys::VULNERABILITY_PREFIX)
            .await
    }
}
