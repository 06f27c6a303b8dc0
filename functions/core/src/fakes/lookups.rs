//! `LookupStore` in memory.

use std::sync::atomic::Ordering;

use async_trait::async_trait;

use super::{MemoryStore, page_after};
use crate::error::StoreError;
use crate::identifier::{Identifier, RegDevId, RegistryPath};
use crate::ports::{AuditQuery, DeviceQuery, LookupStore, Page};
use crate::records::{AuditRecord, DeviceRecord, MirrorRecord};
use crate::service::utc_day;

fn same_text(stored: &str, asked: Option<&String>) -> bool {
    asked.is_none_or(|a| stored.to_lowercase() == a.to_lowercase())
}

fn matches(device: &DeviceRecord, query: &DeviceQuery, owned: Option<&[String]>) -> bool {
    same_text(&device.info.make, query.make.as_ref())
        && same_text(&device.info.model, query.model.as_ref())
        && query.status.is_none_or(|s| device.status == s)
        && query
            .domain
            .as_ref()
            .is_none_or(|d| device.trust_domains.contains(d))
        && query.capability.as_ref().is_none_or(|c| {
            let c = c.to_lowercase();
            device
                .info
                .communication
                .iter()
                .chain(&device.info.protocols)
                .any(|have| have.to_lowercase() == c)
        })
        && owned.is_none_or(|ids| ids.contains(&device.regdevid.to_string()))
}

#[async_trait]
impl LookupStore for MemoryStore {
    async fn search_devices(
        &self,
        query: &DeviceQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<DeviceRecord>, StoreError> {
        let s = self.lock();
        let owned: Option<Vec<String>> = query.owner_id.as_ref().map(|owner| {
            s.owner_links
                .get(owner)
                .map(|links| links.iter().cloned().collect())
                .unwrap_or_default()
        });
        // `devices` is keyed by RegDevID, so this is RegDevID order.
        let found: Vec<DeviceRecord> = s
            .devices
            .iter()
            .filter(|(key, _)| cursor.is_none_or(|c| key.as_str() > c))
            .filter(|(_, d)| matches(d, query, owned.as_deref()))
            .map(|(_, d)| d.clone())
            .collect();
        Ok(page_after(found, limit, |d| d.regdevid.to_string()))
    }

    async fn get_devices(&self, ids: &[RegDevId]) -> Result<Vec<DeviceRecord>, StoreError> {
        self.get_devices_calls.fetch_add(1, Ordering::SeqCst);
        let s = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| s.devices.get(&id.to_string()).cloned())
            .collect())
    }

    async fn audit_records(
        &self,
        query: &AuditQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditRecord>, StoreError> {
        let s = self.lock();
        let mut found: Vec<AuditRecord> = s
            .audit
            .iter()
            .filter(|r| match query {
                AuditQuery::Day(day) => utc_day(r.at_ms) == *day,
                AuditQuery::Target(target) => r.target.as_ref() == Some(target),
            })
            .filter(|r| cursor.is_none_or(|c| r.id.as_str() > c))
            .cloned()
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(page_after(found, limit, |r| r.id.clone()))
    }

    async fn devices_of_root(
        &self,
        root_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<RegDevId>, StoreError> {
        let s = self.lock();
        let found: Vec<RegDevId> = s
            .devices
            .iter()
            .filter(|(key, d)| {
                (d.root_id == root_id || d.facts.ek_root.as_deref() == Some(root_id))
                    && cursor.is_none_or(|c| key.as_str() > c)
            })
            .map(|(_, d)| d.regdevid.clone())
            .collect();
        Ok(page_after(found, limit, |r| r.to_string()))
    }

    /// As the adapter finds them: at the RegDevID each origin whose messages were applied
    /// would give the identifier.
    async fn mirrors_with_identifiers(
        &self,
        identifiers: &[Identifier],
    ) -> Result<Vec<MirrorRecord>, StoreError> {
        let s = self.lock();
        Ok(s.last_sequences
            .keys()
            .filter_map(|origin| origin.parse::<RegistryPath>().ok())
            .flat_map(|path| {
                identifiers
                    .iter()
                    .map(move |identifier| RegDevId::new(path.clone(), identifier.clone()))
            })
            .filter_map(|regdevid| s.mirrors.get(&regdevid.to_string()).cloned())
            .collect())
    }

    async fn remove_root_of_trust(&self, id: &str, audit: &AuditRecord) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.roots.remove(id);
        s.audit.push(audit.clone());
        Ok(())
    }
}
