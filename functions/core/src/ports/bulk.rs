//! Storage for bulk registration: many devices per round trip.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::identifier::Identifier;
use crate::ports::Created;
use crate::records::{AuditRecord, DeviceRecord, Transition};

/// A device to create with its first transition and audit record.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub device: DeviceRecord,
    pub transition: Transition,
    pub audit: AuditRecord,
}

#[async_trait]
pub trait BulkStore: Send + Sync {
    /// The devices holding these identifiers, in order (`None` where free).
    async fn devices_holding(
        &self,
        identifiers: &[Identifier],
    ) -> Result<Vec<Option<DeviceRecord>>, StoreError>;
    /// Creates each device as `DeviceStore::create_device` would, many per transaction; one
    /// outcome per device, in order. A device whose identifier is taken changes nothing.
    async fn create_devices(&self, devices: &[NewDevice]) -> Result<Vec<Created>, StoreError>;
}
