//! `ReportStore` on DynamoDB: reports in the device's partition (`REPORT#<ms>#<salt>`), the
//! history read by Query of that partition, the due devices by Query of gsi3, one per shard.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use trustreg_core::error::StoreError;
use trustreg_core::identifier::RegDevId;
use trustreg_core::ports::{ReportStore, Updated};
use trustreg_core::records::{
    AuditRecord, DeviceRecord, HistoryEntry, Receipt, ReportRecord, Transition,
};

use super::{DynamoStore, Item, item, record, s, sdk};
use crate::keys::{self, DUE_SHARDS, GSI3PK, GSI3SK, PK, SK};

fn report_item(report: &ReportRecord) -> Result<Item, StoreError> {
    let salt = report.id.rsplit('-').next().unwrap_or(&report.id);
    let mut it = item(report, keys::report(&report.regdevid, report.at_ms, salt))?;
    it.insert("kind".into(), s("report".into()));
    Ok(it)
}

#[async_trait]
impl ReportStore for DynamoStore {
    async fn record_report(
        &self,
        device: &DeviceRecord,
        transition: Option<&Transition>,
        report: &ReportRecord,
        audit: &AuditRecord,
        receipt: Option<&Receipt>,
    ) -> Result<Updated, StoreError> {
        let extra = vec![self.put_tx(report_item(report)?)?];
        self.change_device_with(device, extra, transition, audit, receipt)
            .await
    }

    async fn latest_report(&self, regdevid: &RegDevId) -> Result<Option<ReportRecord>, StoreError> {
        let (pk, _) = keys::device(regdevid);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(keys::REPORT_PREFIX.into()))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        out.items().first().cloned().map(record).transpose()
    }

    async fn history_of(&self, regdevid: &RegDevId) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut entries = Vec::new();
        for item in self
            .query_prefix(keys::device(regdevid).0, keys::REPORT_PREFIX)
            .await?
        {
            entries.push(HistoryEntry::Report(record(item)?));
        }
        for item in self
            .query_prefix(keys::device(regdevid).0, keys::HISTORY_PREFIX)
            .await?
        {
            entries.push(HistoryEntry::Transition(record(item)?));
        }
        trustreg_core::reports::sort_history(&mut entries);
        Ok(entries)
    }

    async fn due_for_evaluation(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<RegDevId>, StoreError> {
        let mut due: Vec<(String, RegDevId)> = Vec::new();
        for shard in 0..DUE_SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi3")
                .key_condition_expression("#pk = :pk AND #sk < :until")
                .expression_attribute_names("#pk", GSI3PK)
                .expression_attribute_names("#sk", GSI3SK)
                .expression_attribute_values(":pk", s(keys::due_partition(shard)))
                .expression_attribute_values(":until", s(keys::due_until(now_ms)))
                .limit(i32::try_from(limit).unwrap_or(i32::MAX).max(1))
                .send()
                .await
                .map_err(sdk)?;
            for item in out.items() {
                if let (Some(AttributeValue::S(sk)), Some(AttributeValue::S(id))) =
                    (item.get(GSI3SK), item.get("regdevid"))
                {
                    let regdevid = id
                        .parse()
                        .map_err(|e| StoreError::Failed(format!("stored RegDevID {id:?}: {e}")))?;
                    due.push((sk.clone(), regdevid));
                }
            }
        }
        // The most overdue first, across shards.
        due.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(due.into_iter().take(limit).map(|(_, id)| id).collect())
    }
}
