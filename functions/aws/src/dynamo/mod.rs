//! The storage ports on one DynamoDB table. Every state change goes with its audit record in
//! one TransactWriteItems; uniqueness rests on conditional writes, never on a read. Each port
//! is implemented in the module of its concern.

mod bulk;
mod devices;
mod enquirers;
mod hierarchy;
mod lookups;
mod notifications;
mod owners;
mod policies;
mod reports;
mod statistics;
mod subscriptions;
mod virtual_ids;
mod vulnerabilities;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use trustreg_core::error::StoreError;
use trustreg_core::identifier::RegDevId;
use trustreg_core::ports::{Page, Updated};
use trustreg_core::records::{AuditRecord, Transition};

use crate::keys::{
    self, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, GSI4PK, GSI4SK, PK, SK, TTL,
};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Concurrent transactions on one item are refused (TransactionConflict) rather than queued:
/// such a refusal is retried, a failed condition is an answer.
const CONFLICT_RETRIES: u32 = 10;

/// BatchGetItem takes at most 100 keys.
const KEYS_PER_BATCH_GET: usize = 100;
/// Keys a throttled BatchGetItem leaves unprocessed are asked for again this often, waiting
/// twice as long each time (from `BACKOFF_START_MS`, at most `BACKOFF_MAX_MS`), as AWS
/// advises; then the read fails rather than hold the request.
const UNPROCESSED_RETRIES: u32 = 8;
const BACKOFF_START_MS: u64 = 25;
const BACKOFF_MAX_MS: u64 = 1_000;

/// Longer cursors are refused before decoding: no LastEvaluatedKey of this table comes near.
const MAX_CURSOR_LEN: usize = 4_096;

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

/// Where a Query reads: one partition of the table or of an index, optionally narrowed to the
/// sort keys that start with `prefix`.
pub(crate) struct Partition {
    index: Index,
    value: String,
    prefix: Option<String>,
}

#[derive(Clone, Copy)]
pub(crate) enum Index {
    Table,
    Gsi1,
    Gsi4,
}

impl Index {
    fn name(self) -> Option<&'static str> {
        match self {
            Self::Table => None,
            Self::Gsi1 => Some("gsi1"),
            Self::Gsi4 => Some("gsi4"),
        }
    }

    /// The partition and sort key attributes of the index.
    fn attributes(self) -> (&'static str, &'static str) {
        match self {
            Self::Table => (PK, SK),
            Self::Gsi1 => (GSI1PK, GSI1SK),
            Self::Gsi4 => (GSI4PK, GSI4SK),
        }
    }
}

impl Partition {
    pub(crate) fn new(index: Index, value: String, prefix: Option<String>) -> Self {
        Self {
            index,
            value,
            prefix,
        }
    }
}

/// A FilterExpression with its names and values: applied after `Limit`, so it saves transfer,
/// not reads.
pub(crate) struct Filter {
    pub expression: String,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, AttributeValue)>,
}

/// Where a paged read resumes: the partition of its plan (always 0 for a read of one
/// partition) and DynamoDB's LastEvaluatedKey there (none: from the partition's start). The
/// client holds it as base64url JSON; anything that does not decode to a position in the read
/// it is handed back to is refused as `invalid cursor`, never passed to DynamoDB.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cursor {
    #[serde(rename = "p", default)]
    pub part: usize,
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<BTreeMap<String, String>>,
}

impl Cursor {
    /// The position after `last` (a LastEvaluatedKey) in partition `part` of a plan.
    pub(crate) fn at(part: usize, last: Option<&Item>) -> Result<Self, StoreError> {
        let key = last
            .map(|item| {
                item.iter()
                    .map(|(name, value)| match value {
                        AttributeValue::S(text) => Ok((name.clone(), text.clone())),
                        // Every key attribute of the table is a string.
                        _ => Err(StoreError::Failed(format!(
                            "key attribute {name} is not a string"
                        ))),
                    })
                    .collect::<Result<BTreeMap<_, _>, _>>()
            })
            .transpose()?;
        Ok(Self { part, key })
    }

    pub(crate) fn encode(&self) -> Result<String, StoreError> {
        let json =
            serde_json::to_vec(self).map_err(|e| StoreError::Failed(format!("cursor: {e}")))?;
        Ok(URL_SAFE_NO_PAD.encode(&json))
    }

    pub(crate) fn decode(text: &str) -> Result<Self, StoreError> {
        let invalid = StoreError::invalid_cursor;
        if text.len() > MAX_CURSOR_LEN {
            return Err(invalid("too long"));
        }
        let json = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| invalid("not base64url"))?;
        serde_json::from_slice(&json).map_err(|_| invalid("not a cursor"))
    }

    /// The ExclusiveStartKey for a read of `on`, once it is checked to be a key of that
    /// partition: a forged key would otherwise read another partition or fail in DynamoDB.
    pub(crate) fn start_in(&self, on: &Partition) -> Result<Option<Item>, StoreError> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let (pk, sk) = on.index.attributes();
        let expected: Vec<&str> = match on.index {
            Index::Table => vec![PK, SK],
            _ => vec![PK, SK, pk, sk],
        };
        let fits = key.len() == expected.len()
            && expected.iter().all(|name| key.contains_key(*name))
            && key.get(pk) == Some(&on.value)
            && on
                .prefix
                .as_ref()
                .is_none_or(|p| key.get(sk).is_some_and(|v| v.starts_with(p.as_str())));
        if !fits {
            return Err(StoreError::invalid_cursor("not a position of this listing"));
        }
        Ok(Some(
            key.iter()
                .map(|(name, value)| (name.clone(), s(value.clone())))
                .collect(),
        ))
    }
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

    /// One Query page of `on` from `start`, evaluating at most `limit` items (before `filter`):
    /// the items and the LastEvaluatedKey, if the partition goes on. Table partitions are read
    /// consistently; indexes cannot be.
    pub(crate) async fn query_page(
        &self,
        on: &Partition,
        filter: Option<&Filter>,
        start: Option<Item>,
        limit: usize,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let (pk, sk) = on.index.attributes();
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(on.index.name().map(str::to_owned))
            .consistent_read(matches!(on.index, Index::Table))
            .expression_attribute_names("#pk", pk)
            .expression_attribute_values(":pk", s(on.value.clone()))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        query = match &on.prefix {
            Some(prefix) => query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", sk)
                .expression_attribute_values(":prefix", s(prefix.clone())),
            None => query.key_condition_expression("#pk = :pk"),
        };
        if let Some(filter) = filter {
            query = query.filter_expression(&filter.expression);
            for (name, attribute) in &filter.names {
                query = query.expression_attribute_names(name, attribute);
            }
            for (name, value) in &filter.values {
                query = query.expression_attribute_values(name, value.clone());
            }
        }
        let out = query.send().await.map_err(sdk)?;
        Ok((out.items().to_vec(), out.last_evaluated_key().cloned()))
    }

    /// One page of a read of one partition, from the client's `cursor`.
    pub(crate) async fn page_of<T>(
        &self,
        on: &Partition,
        cursor: Option<&str>,
        limit: usize,
        decode: impl Fn(Item) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let start = match cursor {
            Some(text) => {
                let cursor = Cursor::decode(text)?;
                if cursor.part != 0 || cursor.key.is_none() {
                    return Err(StoreError::invalid_cursor("not a position of this listing"));
                }
                cursor.start_in(on)?
            }
            None => None,
        };
        let (items, last) = self.query_page(on, None, start, limit).await?;
        let next = match last {
            Some(last) => Some(Cursor::at(0, Some(&last))?.encode()?),
            None => None,
        };
        Ok(Page {
            items: items.into_iter().map(decode).collect::<Result<_, _>>()?,
            next,
        })
    }

    /// The items stored under `keys` (read consistently, in no particular order; absent ones
    /// left out), 100 keys per BatchGetItem.
    pub(crate) async fn batch_read(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(KEYS_PER_BATCH_GET) {
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Failed(format!("batch get: {e}")))?;
            let mut retries = 0;
            loop {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(sdk)?;
                if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().cloned());
                }
                match out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                {
                    None => break,
                    Some(_) if retries == UNPROCESSED_RETRIES => {
                        return Err(StoreError::Failed(format!(
                            "DynamoDB: keys still unprocessed after {retries} retries"
                        )));
                    }
                    Some(unprocessed) => {
                        let wait = (BACKOFF_START_MS << retries).min(BACKOFF_MAX_MS);
                        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                        retries += 1;
                        request = unprocessed.clone();
                    }
                }
            }
        }
        Ok(found)
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
        put.build()
            .map_err(|e| StoreError::Failed(format!("put: {e}")))
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
    /// Puts a new item (only if absent) with its audit record, in one transaction. Ids are
    /// random: a collision is the store's fault, not the client's.
    pub(crate) async fn create_audited(
        &self,
        item: Item,
        audit: &AuditRecord,
        what: &str,
    ) -> Result<(), StoreError> {
        let put = self.put_if(item, Some(Condition::Absent))?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.audit_item(audit)?,
        ];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => Err(StoreError::Failed(format!("{what} exists"))),
        }
    }

    /// Replaces an item whose stored version is `version - 1`, with its audit record.
    pub(crate) async fn update_audited(
        &self,
        item: Item,
        version: u64,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let put = self.put_if(item, Some(Condition::Version(version.saturating_sub(1))))?;
        self.write_versioned(vec![
            TransactWriteItem::builder().put(put).build(),
            self.audit_item(audit)?,
        ])
        .await
    }

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
    // Registrations stay out of the recent changes: a bulk registration would bury them, and
    // write a thousand entries at once into one index partition.
    if t.from.is_some() {
        let (pk, sk) = keys::by_transition_time(&t.regdevid, t.at_ms);
        item.insert(GSI1PK.into(), s(pk));
        item.insert(GSI1SK.into(), s(sk));
    }
    Ok(item)
}

fn s(v: String) -> AttributeValue {
    AttributeValue::S(v)
}

fn item<T: Serialize>(value: &T, (pk, sk): (String, String)) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::to_item(value).map_err(|e| StoreError::Failed(format!("encode: {e}")))?;
    item.insert(PK.into(), s(pk));
    item.insert(SK.into(), s(sk));
    Ok(item)
}

fn record<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    for k in [
        PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, GSI4PK, GSI4SK, TTL, "kind",
    ] {
        item.remove(k);
    }
    serde_dynamo::from_item(item).map_err(|e| StoreError::Failed(format!("decode: {e}")))
}

/// The RegDevID an item names in its `regdevid` attribute (devices, links to them).
fn regdevid_of(item: &Item) -> Result<RegDevId, StoreError> {
    match item.get("regdevid") {
        Some(AttributeValue::S(text)) => text
            .parse()
            .map_err(|e| StoreError::Failed(format!("stored RegDevID {text:?}: {e}"))),
        _ => Err(StoreError::Failed("item without regdevid".into())),
    }
}

fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

fn sdk<E: std::error::Error + 'static>(err: E) -> StoreError {
    StoreError::Failed(format!("DynamoDB: {}", DisplayErrorContext(err)))
}
