//! Security-parameter reports, the device history they are part of, and the due-time lookup
//! of the scheduled evaluation.

use async_trait::async_trait;

use super::Updated;
use crate::error::StoreError;
use crate::identifier::RegDevId;
use crate::records::{AuditRecord, DeviceRecord, HistoryEntry, Receipt, ReportRecord, Transition};

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores the report with the device it updated (version-guarded like `update_device`),
    /// the transition if the status changed, the audit record and the receipt (as
    /// `update_device`), in one transaction.
    async fn record_report(
        &self,
        device: &DeviceRecord,
        transition: Option<&Transition>,
        report: &ReportRecord,
        audit: &AuditRecord,
        receipt: Option<&Receipt>,
    ) -> Result<Updated, StoreError>;
    /// The device's newest report, if it ever reported.
    async fn latest_report(&self, regdevid: &RegDevId) -> Result<Option<ReportRecord>, StoreError>;
    /// Reports and transitions of the device, oldest first.
    async fn history_of(&self, regdevid: &RegDevId) -> Result<Vec<HistoryEntry>, StoreError>;
    /// Up to `limit` devices whose next evaluation falls due at or before `now_ms`.
    async fn due_for_evaluation(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<RegDevId>, StoreError>;
}
