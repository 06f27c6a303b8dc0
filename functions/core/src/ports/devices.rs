//! Devices and what their registration needs: nonces, roots of trust, transitions, audit.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::identifier::{Identifier, RegDevId};
use crate::records::{AuditRecord, DeviceRecord, Nonce, Receipt, RootOfTrust, Transition};

/// Result of the conditional creation of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Created,
    /// The inherent identifier is already held, by this RegDevID.
    IdentifierTaken(RegDevId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    Updated,
    /// Someone changed the device since it was read.
    VersionConflict,
}

#[async_trait]
pub trait DeviceStore: Send + Sync {
    async fn put_nonce(&self, nonce: &Nonce) -> Result<(), StoreError>;
    /// Removes the nonce and returns it; `None` when unknown or already taken. Atomic, so a
    /// nonce is used once however many requests race for it.
    async fn take_nonce(&self, value: &str) -> Result<Option<Nonce>, StoreError>;
    async fn roots_of_trust(&self) -> Result<Vec<RootOfTrust>, StoreError>;
    async fn put_root_of_trust(
        &self,
        root: &RootOfTrust,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
    async fn get_device(&self, regdevid: &RegDevId) -> Result<Option<DeviceRecord>, StoreError>;
    /// Writes the device, the uniqueness guard of its inherent identifier, its first
    /// transition and the audit record in one transaction; nothing when the identifier is taken.
    async fn create_device(
        &self,
        device: &DeviceRecord,
        transition: &Transition,
        audit: &AuditRecord,
    ) -> Result<Created, StoreError>;
    /// Replaces the device if its stored version is `device.version - 1`, with the transition
    /// (if the status changed), the audit record and the receipt of a change a client named
    /// (only if no receipt of that id exists: else a `VersionConflict`), in one transaction.
    async fn update_device(
        &self,
        device: &DeviceRecord,
        transition: Option<&Transition>,
        audit: &AuditRecord,
        receipt: Option<&Receipt>,
    ) -> Result<Updated, StoreError>;
    /// The receipt of a change a client named with an idempotency key (`crate::idempotency`).
    async fn receipt(&self, id: &str) -> Result<Option<Receipt>, StoreError>;
    async fn record_audit(&self, audit: &AuditRecord) -> Result<(), StoreError>;
    async fn holder_of(&self, identifier: &Identifier) -> Result<Option<RegDevId>, StoreError>;
}
