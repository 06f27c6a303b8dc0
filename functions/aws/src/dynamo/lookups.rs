//! `LookupStore` on DynamoDB. Every read is a Query of an index or a batched get:
//! - search: an owner's links (`OWNER#<id>`, then BatchGetItem), else the status partitions of
//!   gsi4 (one, or all three in order), narrowed by the make/model sort-key prefix;
//! - bulk lookup: BatchGetItem;
//! - audit: a day's partition, or gsi1 by target;
//! - devices of a root: gsi1 `ROOTDEV#<root id>`;
//! - mirrors by inherent identifier: the origins below (gsi1 `ORIGINS`), then BatchGetItem of
//!   the RegDevID each origin would give the identifier.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use trustreg_core::error::StoreError;
use trustreg_core::identifier::{Identifier, RegDevId, RegistryPath};
use trustreg_core::ports::{AuditQuery, DeviceQuery, HierarchyStore as _, LookupStore, Page};
use trustreg_core::records::{AuditRecord, DeviceRecord, MirrorRecord};
use trustreg_core::status::TrustStatus;

use super::{
    Cursor, DynamoStore, Filter, Index, Item, Partition, TxOutcome, key, record, regdevid_of, s,
};
use crate::keys;

/// Queries one search makes at most: a selective criterion over a large partition must not
/// hold the request; the cursor resumes where it stopped.
const SEARCH_ROUND_TRIPS: usize = 10;

/// The status partitions a search without status reads, in this order.
const STATUSES: [TrustStatus; 4] = [
    TrustStatus::Trusted,
    TrustStatus::Unverified,
    TrustStatus::Unreliable,
    TrustStatus::Deregistered,
];

/// Where a search reads: the owner's links, or status partitions of gsi4.
enum Plan {
    Owner(Partition),
    Statuses(Vec<Partition>),
}

impl Plan {
    fn of(query: &DeviceQuery) -> Self {
        if let Some(owner) = &query.owner_id {
            return Self::Owner(Partition::new(
                Index::Table,
                keys::owner(owner).0,
                Some(keys::DEVICE_PREFIX.into()),
            ));
        }
        let prefix = query
            .make
            .as_deref()
            .map(|make| keys::make_model_prefix(make, query.model.as_deref()));
        let statuses = match query.status {
            Some(status) => vec![status],
            None => STATUSES.to_vec(),
        };
        Self::Statuses(
            statuses
                .into_iter()
                .map(|status| {
                    Partition::new(Index::Gsi4, keys::status_partition(status), prefix.clone())
                })
                .collect(),
        )
    }

    fn partitions(&self) -> &[Partition] {
        match self {
            Self::Owner(links) => std::slice::from_ref(links),
            Self::Statuses(partitions) => partitions,
        }
    }
}

/// The domain criterion, evaluated by DynamoDB on device items. The capability one is not:
/// it compares case-insensitively, which a FilterExpression cannot.
fn domain_filter(query: &DeviceQuery) -> Option<Filter> {
    query.domain.as_ref().map(|domain| Filter {
        expression: "contains(#domains, :domain)".into(),
        names: vec![("#domains".into(), "trust_domains".into())],
        values: vec![(":domain".into(), s(domain.clone()))],
    })
}

fn same_text(stored: &str, asked: Option<&String>) -> bool {
    asked.is_none_or(|a| stored.to_lowercase() == a.to_lowercase())
}

/// Every criterion but the owner (the plan's partition): the indexes only narrow the reads,
/// and a make or model that holds `#` could fall under another's sort-key prefix.
fn matches(device: &DeviceRecord, query: &DeviceQuery) -> bool {
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
}

impl DynamoStore {
    /// The devices of a page of `plan`'s items: themselves, or for owner links the devices
    /// they name.
    async fn devices_of_page(
        &self,
        plan: &Plan,
        items: Vec<Item>,
    ) -> Result<Vec<DeviceRecord>, StoreError> {
        match plan {
            Plan::Statuses(_) => items.into_iter().map(record).collect(),
            Plan::Owner(_) => {
                let ids = items
                    .iter()
                    .map(regdevid_of)
                    .collect::<Result<Vec<_>, _>>()?;
                let mut devices = self.read_devices(&ids).await?;
                // In the links' (RegDevID) order, so pages follow one another in that order.
                devices.sort_by_key(|d| d.regdevid.to_string());
                Ok(devices)
            }
        }
    }

    async fn read_devices(&self, ids: &[RegDevId]) -> Result<Vec<DeviceRecord>, StoreError> {
        // BatchGetItem refuses a request that names a key twice.
        let unique: BTreeSet<(String, String)> = ids.iter().map(keys::device).collect();
        self.batch_read(unique.into_iter().map(key).collect())
            .await?
            .into_iter()
            .map(record)
            .collect()
    }
}

#[async_trait]
impl LookupStore for DynamoStore {
    async fn search_devices(
        &self,
        query: &DeviceQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<DeviceRecord>, StoreError> {
        let plan = Plan::of(query);
        let partitions = plan.partitions();
        let filter = match &plan {
            Plan::Statuses(_) => domain_filter(query),
            // Links carry no device attributes: the owner's devices are filtered once read.
            Plan::Owner(_) => None,
        };
        let position = match cursor {
            Some(text) => Cursor::decode(text)?,
            None => Cursor::default(),
        };
        let mut part = position.part;
        let Some(first) = partitions.get(part) else {
            return Err(StoreError::invalid_cursor("not a position of this listing"));
        };
        let mut start = position.start_in(first)?;
        let limit = limit.max(1);
        let mut found = Vec::new();
        for _ in 0..SEARCH_ROUND_TRIPS {
            let Some(on) = partitions.get(part) else {
                break;
            };
            // `Limit` counts the items read, before any filter: asking for no more than are
            // missing keeps every device read on this page, so the cursor skips none.
            let (items, last) = self
                .query_page(on, filter.as_ref(), start, Some(limit - found.len()))
                .await?;
            found.extend(
                self.devices_of_page(&plan, items)
                    .await?
                    .into_iter()
                    .filter(|d| matches(d, query)),
            );
            start = last;
            if start.is_none() {
                part += 1;
                if part == partitions.len() {
                    return Ok(Page {
                        items: found,
                        next: None,
                    });
                }
            }
            if found.len() >= limit {
                break;
            }
        }
        Ok(Page {
            items: found,
            next: Some(Cursor::at(part, start.as_ref())?.encode()?),
        })
    }

    async fn get_devices(&self, ids: &[RegDevId]) -> Result<Vec<DeviceRecord>, StoreError> {
        self.read_devices(ids).await
    }

    async fn audit_records(
        &self,
        query: &AuditQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditRecord>, StoreError> {
        match query {
            AuditQuery::Day(day) => self.audit_day_page(day, cursor, limit).await,
            // A target's records are one gsi1 partition whatever shard each is in: a target
            // (a device, an owner, an enquirer) is written far below a partition's 1,000 a
            // second, so the index needs no sharding of its own.
            AuditQuery::Target(target) => {
                let on = Partition::new(Index::Gsi1, keys::audit_by_target(target), None);
                self.page_of(&on, cursor, limit, record).await
            }
        }
    }

    async fn devices_of_root(
        &self,
        root_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<RegDevId>, StoreError> {
        let on = Partition::new(Index::Gsi1, keys::root_devices_partition(root_id), None);
        self.page_of(&on, cursor, limit, |item| regdevid_of(&item))
            .await
    }

    async fn mirrors_with_identifiers(
        &self,
        identifiers: &[Identifier],
    ) -> Result<Vec<MirrorRecord>, StoreError> {
        // A RegDevID is its registry's path and the identifier, and the mirrors of a registry
        // below all came from it as origin: the candidates are one key per origin, a few
        // hundred at most in a hierarchy.
        let candidates: BTreeSet<(String, String)> = self
            .mirrored_origins()
            .await?
            .iter()
            .filter_map(|origin| origin.parse::<RegistryPath>().ok())
            .flat_map(|path| {
                identifiers.iter().map(move |identifier| {
                    keys::mirror(&RegDevId::new(path.clone(), identifier.clone()))
                })
            })
            .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        self.batch_read(candidates.into_iter().map(key).collect())
            .await?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn remove_root_of_trust(&self, id: &str, audit: &AuditRecord) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::root(id))))
            .build()
            .map_err(|e| StoreError::Failed(format!("delete: {e}")))?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => Err(StoreError::Failed("unexpected condition".into())),
        }
    }
}
