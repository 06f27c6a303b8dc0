//! Owners and custodians (Y.3059 9.2 i d) and the custody chain of devices.

use async_trait::async_trait;

use super::Updated;
use crate::error::StoreError;
use crate::identifier::RegDevId;
use crate::records::{AuditRecord, CustodyEntry, DeviceRecord, OwnerRecord, Receipt, Transition};

#[async_trait]
pub trait OwnerStore: Send + Sync {
    /// Writes a new owner, and its link to `device` when one is named, with the audit record
    /// in one transaction.
    async fn create_owner(
        &self,
        owner: &OwnerRecord,
        device: Option<&RegDevId>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
    async fn get_owner(&self, owner_id: &str) -> Result<Option<OwnerRecord>, StoreError>;
    /// Replaces the owner if its stored version is `owner.version - 1`, with the audit record.
    async fn update_owner(
        &self,
        owner: &OwnerRecord,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError>;
    /// The devices linked to the owner.
    async fn devices_of_owner(&self, owner_id: &str) -> Result<Vec<RegDevId>, StoreError>;
    /// Replaces the device (version-checked, like `update_device`) now held by
    /// `custody.to` (by nobody when `None`: the custody was revoked), moves the owner link from
    /// `custody.from` (removes it), and appends the custody entry,
    /// the transition (if any), the audit record and the receipt (as `update_device`), in one
    /// transaction.
    async fn change_custody(
        &self,
        device: &DeviceRecord,
        custody: &CustodyEntry,
        transition: Option<&Transition>,
        audit: &AuditRecord,
        receipt: Option<&Receipt>,
    ) -> Result<Updated, StoreError>;
    /// The device's custody chain, oldest first.
    async fn custody_of(&self, regdevid: &RegDevId) -> Result<Vec<CustodyEntry>, StoreError>;
}
