//! The storage ports on one DynamoDB table. Every state change goes with its audit record in
//! one TransactWriteItems; uniqueness rests on conditional writes, never on a read. Each port
//! is implemented in the module of its concern.

mod audit_days;
mod audit_log;
mod bulk;
mod codec;
mod cursor;
mod devices;
mod enquirers;
mod hierarchy;
mod lookups;
mod notifications;
mod owners;
mod policies;
mod query;
mod reports;
mod shard_merge;
mod statistics;
mod subscriptions;
mod transaction;
mod virtual_ids;
mod vulnerabilities;

use aws_sdk_dynamodb::Client;
use trustreg_core::error::StoreError;
use trustreg_core::identifier::RegDevId;
use trustreg_core::records::{AuditRecord, Transition};

use crate::keys;

pub(crate) use codec::{Item, audit_item, item, key, record, regdevid_of, s, sdk, transition_item};
pub(crate) use cursor::{Cursor, Filter, Index, Partition};
pub(crate) use transaction::{Condition, TxOutcome};

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// How many partitions a day's audit records are spread over (`keys::audit`).
    audit_shards: u32,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            audit_shards: keys::DEFAULT_AUDIT_SHARDS,
        }
    }

    /// The store writing audit records over `shards` partitions a day (1 to
    /// `keys::MAX_AUDIT_SHARDS`, clamped). Readers read every one of them: the count may grow
    /// between deployments, never shrink, or the records in the shards left out are no longer
    /// listed by day (they stay in the log and by target).
    pub fn with_audit_shards(mut self, shards: u32) -> Self {
        self.audit_shards = shards.clamp(1, keys::MAX_AUDIT_SHARDS);
        self
    }

    pub fn audit_shards(&self) -> u32 {
        self.audit_shards
    }

    /// The table key of an audit record (for tests and tools that read or alter it directly).
    pub fn audit_key(&self, record: &AuditRecord) -> (String, String) {
        keys::audit(record, self.audit_shards)
    }

    /// Every table partition that may hold audit records of `day` (`YYYY-MM-DD`): the one
    /// records written before sharding are in, then each shard's.
    pub fn audit_day_partitions(&self, day: &str) -> Vec<String> {
        keys::audit_day_partitions(day, self.audit_shards)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub async fn audit_of(&self, target: &str) -> Result<Vec<AuditRecord>, StoreError> {
        self.query_index(&keys::audit_by_target(target)).await
    }

    pub async fn transitions_of(&self, regdevid: &RegDevId) -> Result<Vec<Transition>, StoreError> {
        self.records_with_prefix(keys::device(regdevid).0, keys::HISTORY_PREFIX)
            .await
    }
}
