//! The storage ports on one DynamoDB table. Every state change goes with its audit record in
//! one TransactWriteItems; uniqueness rests on conditional writes, never on a read. Each port
//! is implemented in the module of its concern.

mod bulk;
mod devices;
mod enquirers;
mod lookups;
mod owners;
mod policies;
mod reports;
mod virtual_ids;
mod vulnerabilities;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use trustreg_core::error::StoreError;
use trustreg_core::identifier::RegDevId;
use trustreg_core::ports::Updated;
use trustreg_core::records::{AuditRecord, Transition};

use crate::keys::{self, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, PK, SK, TTL};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Concurrent transactions on one item are refused (TransactionConflict) rather than queued:
/// such a refusal is retried, a failed condition is an answer.
const CONFLICT_RETRIES: u32 = 10;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

enum Condition {
    /// No item with this key yet.
    Absent,
    /// The stored item's version is this one.
    Version(u64),
}

enum TxOutcome {
    Done,
    /// A condition of the transaction failed.
    ConditionFailed,
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

    /// The audit records naming `target`, oldest first (served by the GSI, never a scan).
    pub async fn audit_of(&self, target: &str) -> Result<Vec<AuditRecord>, StoreError> {
        self.query_index(&keys::audit_by_target(target)).await
    }

    /// The device's status transitions, oldest first.
    pub async fn transitions_of(&self, regdevid: &RegDevId) -> Result<Vec<Transition>, StoreError> {
        self.records_with_prefix(keys::device(regdevid).0, "HIST#")
            .await
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, in sort order, over
    /// all pages, read consistently.
    pub(crate) async fn query_prefix(
        &self,
        pk: String,
        prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            found.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// `query_prefix`, as records.
    pub(crate) async fn records_with_prefix<T: DeserializeOwned>(
        &self,
        pk: String,
        prefix: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.query_prefix(pk, prefix)
            .await?
            .into_iter()
            .map(record)
            .collect()
    }

    /// The record stored under `key`, read consistently.
    pub(crate) async fn get_record<T: DeserializeOwned>(
        &self,
        key_parts: (String, String),
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(key_parts)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        out.item.map(record).transpose()
    }

    async fn query_index<T: DeserializeOwned>(&self, key: &str) -> Result<Vec<T>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", GSI1PK)
                .expression_attribute_values(":pk", AttributeValue::S(key.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            for item in out.items() {
                found.push(record(item.clone())?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    fn put(&self, item: Item) -> Result<Put, StoreError> {
        self.put_if(item, None)
    }

    /// A put, with `condition` (over `#pk`, `#version` and `:previous`) when given.
    fn put_if(&self, item: Item, condition: Option<Condition>) -> Result<Put, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        match condition {
            None => {}
            Some(Condition::Absent) => {
                put = put
                    .condition_expression("attribute_not_exists(#pk)")
                    .expression_attribute_names("#pk", PK);
            }
            Some(Condition::Version(previous)) => {
                put = put
                    .condition_expression("#version = :previous")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(
                        ":previous",
                        AttributeValue::N(previous.to_string()),
                    );
            }
        }
        put.build().map_err(|e| StoreError(format!("put: {e}")))
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<TxOutcome, StoreError> {
        if self.transact_failing(items).await?.is_empty() {
            Ok(TxOutcome::Done)
        } else {
            Ok(TxOutcome::ConditionFailed)
        }
    }

    /// Runs a transaction; empty when it was written, else the indexes of the items whose
    /// condition failed (nothing was written then).
    async fn transact_failing(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Vec<usize>, StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let Err(err) = result else {
                return Ok(Vec::new());
            };
            if let SdkError::ServiceError(service) = &err
                && let TransactWriteItemsError::TransactionCanceledException(cancel) = service.err()
            {
                let codes: Vec<&str> = cancel
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None"))
                    .collect();
                let failed: Vec<usize> = codes
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == "ConditionalCheckFailed")
                    .map(|(i, _)| i)
                    .collect();
                if !failed.is_empty() {
                    return Ok(failed);
                }
                if codes.contains(&"TransactionConflict") && attempt < CONFLICT_RETRIES {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(attempt)))
                        .await;
                    continue;
                }
            }
            return Err(sdk(err));
        }
    }

    /// A transaction whose only conditions are versions: a failed one is a conflict to retry.
    pub(crate) async fn write_versioned(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Updated, StoreError> {
        match self.transact(items).await? {
            TxOutcome::Done => Ok(Updated::Updated),
            TxOutcome::ConditionFailed => Ok(Updated::VersionConflict),
        }
    }

    /// An unconditional put, as one item of a transaction.
    pub(crate) fn put_tx(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder().put(self.put(item)?).build())
    }

    fn audit_item(&self, audit: &AuditRecord) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .put(self.put(audit_item(audit)?)?)
            .build())
    }
}

fn audit_item(audit: &AuditRecord) -> Result<Item, StoreError> {
    let mut item = item(audit, keys::audit(audit))?;
    if let Some(target) = &audit.target {
        item.insert(GSI1PK.into(), s(keys::audit_by_target(target)));
        item.insert(GSI1SK.into(), s(audit.id.clone()));
    }
    Ok(item)
}

fn transition_item(t: &Transition, salt: &str) -> Result<Item, StoreError> {
    let mut item = item(t, keys::history(&t.regdevid, t.at_ms, salt))?;
    item.insert("kind".into(), s("transition".into()));
    Ok(item)
}

fn s(v: String) -> AttributeValue {
    AttributeValue::S(v)
}

fn item<T: Serialize>(value: &T, (pk, sk): (String, String)) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::to_item(value).map_err(|e| StoreError(format!("encode: {e}")))?;
    item.insert(PK.into(), s(pk));
    item.insert(SK.into(), s(sk));
    Ok(item)
}

fn record<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    for k in [
        PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, TTL, "kind",
    ] {
        item.remove(k);
    }
    serde_dynamo::from_item(item).map_err(|e| StoreError(format!("decode: {e}")))
}

fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

fn sdk<E: std::error::Error + 'static>(err: E) -> StoreError {
    StoreError(format!("DynamoDB: {}", DisplayErrorContext(err)))
}
