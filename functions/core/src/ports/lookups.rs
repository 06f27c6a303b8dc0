//! Reads for enquirers and administrators: device search, bulk lookup, audit reads, the
//! devices of a root of trust. Served by indexes and batch reads, never by scans.

use async_trait::async_trait;

use super::Page;
use crate::error::StoreError;
use crate::identifier::{Identifier, RegDevId};
use crate::records::{AuditRecord, DeviceRecord, MirrorRecord};
use crate::status::TrustStatus;

/// Search criteria (Y.3059 8); all given ones must match. Make and model compare
/// case-insensitively, like the vulnerability ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceQuery {
    pub make: Option<String>,
    /// Only with `make`.
    pub model: Option<String>,
    pub status: Option<TrustStatus>,
    pub domain: Option<String>,
    /// Matches a device's communication technologies or protocols.
    pub capability: Option<String>,
    pub owner_id: Option<String>,
}

/// Which audit records to read (7 i c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditQuery {
    /// Every record of one UTC day (`YYYY-MM-DD`), in time order.
    Day(String),
    /// Every record about one target (a RegDevID, `owner:<id>`, `enquirer:<id>`...), in time
    /// order.
    Target(String),
}

#[async_trait]
pub trait LookupStore: Send + Sync {
    /// Devices matching `query`, up to `limit` from `cursor` (opaque, from an earlier page).
    /// A page may hold fewer than `limit` devices and still have a `next`.
    async fn search_devices(
        &self,
        query: &DeviceQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<DeviceRecord>, StoreError>;
    /// The stored devices among `ids` (any order, unknown ones left out): batched reads.
    async fn get_devices(&self, ids: &[RegDevId]) -> Result<Vec<DeviceRecord>, StoreError>;
    async fn audit_records(
        &self,
        query: &AuditQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditRecord>, StoreError>;
    /// Devices that chain to the root `root_id`, `limit` at a time from `cursor`.
    async fn devices_of_root(
        &self,
        root_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<RegDevId>, StoreError>;
    /// The devices mirrored from below (6.1 c) whose inherent identifier is one of
    /// `identifiers`, at any registry below: a lookup by identifier at a sectoral or
    /// geographical registry, and the clone check of an update's devices.
    async fn mirrors_with_identifiers(
        &self,
        identifiers: &[Identifier],
    ) -> Result<Vec<MirrorRecord>, StoreError>;
    /// Removes an accepted root of trust with its audit record, in one transaction. Its
    /// devices stay; the caller re-evaluates them.
    async fn remove_root_of_trust(&self, id: &str, audit: &AuditRecord) -> Result<(), StoreError>;
}
