//! `ReportStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::identifier::RegDevId;
use crate::ports::{ReportStore, Updated};
use crate::records::{AuditRecord, DeviceRecord, HistoryEntry, Receipt, ReportRecord, Transition};

#[async_trait]
impl ReportStore for MemoryStore {
    async fn record_report(
        &self,
        device: &DeviceRecord,
        transition: Option<&Transition>,
        report: &ReportRecord,
        audit: &AuditRecord,
        receipt: Option<&Receipt>,
    ) -> Result<Updated, StoreError> {
        let mut s = self.lock();
        let key = device.regdevid.to_string();
        if !s.may_write(device, receipt) {
            return Ok(Updated::VersionConflict);
        }
        s.devices.insert(key, device.clone());
        if let Some(t) = transition {
            s.transitions.push(t.clone());
        }
        s.reports.push(report.clone());
        s.audit.push(audit.clone());
        Ok(Updated::Updated)
    }

    async fn latest_report(&self, regdevid: &RegDevId) -> Result<Option<ReportRecord>, StoreError> {
        let s = self.lock();
        Ok(s.reports
            .iter()
            .filter(|r| &r.regdevid == regdevid)
            .max_by(|a, b| a.id.cmp(&b.id))
            .cloned())
    }

    async fn history_of(&self, regdevid: &RegDevId) -> Result<Vec<HistoryEntry>, StoreError> {
        let s = self.lock();
        let mut entries: Vec<HistoryEntry> = s
            .reports
            .iter()
            .filter(|r| &r.regdevid == regdevid)
            .cloned()
            .map(HistoryEntry::Report)
            .chain(
                s.transitions
                    .iter()
                    .filter(|t| &t.regdevid == regdevid)
                    .cloned()
                    .map(HistoryEntry::Transition),
            )
            .collect();
        crate::reports::sort_history(&mut entries);
        Ok(entries)
    }

    async fn due_for_evaluation(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<RegDevId>, StoreError> {
        let s = self.lock();
        let mut due: Vec<(u64, RegDevId)> = s
            .devices
            .values()
            .filter_map(|d| Some((d.next_evaluation_at_ms?, d.regdevid.clone())))
            .filter(|(at, _)| *at <= now_ms)
            .collect();
        due.sort_by_key(|(at, _)| *at);
        Ok(due.into_iter().take(limit).map(|(_, id)| id).collect())
    }
}
