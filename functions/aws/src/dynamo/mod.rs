//! The storage ports on one DynamoDB table. Every state change goes with its audit record in
//! one TransactWriteItems; uniqueness rests on conditional writes, never on a read. Each port
//! is implemented in the module of its concern.

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
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
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
