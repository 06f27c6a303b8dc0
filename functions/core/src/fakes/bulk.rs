//! `BulkStore` in memory: the same outcomes as one device at a time.

use async_trait::async_trait;

use super::MemoryStore;
use super::devices::guard_key;
use crate::error::StoreError;
use crate::identifier::Identifier;
use crate::ports::{BulkStore, Created, DeviceStore, NewDevice};
use crate::records::DeviceRecord;

#[async_trait]
impl BulkStore for MemoryStore {
    async fn devices_holding(
        &self,
        identifiers: &[Identifier],
    ) -> Result<Vec<Option<DeviceRecord>>, StoreError> {
        let s = self.lock();
        Ok(identifiers
            .iter()
            .map(|id| {
                s.guards
                    .get(&guard_key(id))
                    .and_then(|holder| s.devices.get(&holder.to_string()).cloned())
            })
            .collect())
    }

    async fn create_devices(&self, devices: &[NewDevice]) -> Result<Vec<Created>, StoreError> {
        let mut outcomes = Vec::with_capacity(devices.len());
        for d in devices {
            outcomes.push(
                self.create_device(&d.device, &d.transition, &d.audit)
                    .await?,
            );
        }
        Ok(outcomes)
    }
}
