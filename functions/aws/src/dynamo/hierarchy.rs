//! `HierarchyStore` on DynamoDB (layout in keys.rs). A message from another registry is
//! applied in one TransactWriteItems: its origin's sequence item, conditioned on being the
//! next one, with the mirrors and the audit record, so a duplicate or a message after a gap
//! writes nothing at all.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use trustreg_core::error::StoreError;
use trustreg_core::exchange::MAX_ITEMS_PER_MESSAGE;
use trustreg_core::identifier::{RegDevId, RegistryPath};
use trustreg_core::ports::{Applied, HierarchyStore, Page};
use trustreg_core::records::{AuditRecord, LinkRecord, MirrorRecord};
use trustreg_core::status::TrustStatus;

use super::{DynamoStore, Index, Item, Partition, TxOutcome, item, key, record, s, sdk};
use crate::keys::{self, GSI1PK, GSI1SK, GSI4PK, GSI4SK, PK, SK};

/// An origin's last applied sequence number.
#[derive(Serialize, Deserialize)]
struct OriginSequence {
    origin: String,
    last: u64,
    at_ms: u64,
}

/// The counter `next_sequence` advances.
#[derive(Deserialize)]
struct Counter {
    last: u64,
}

#[async_trait]
impl HierarchyStore for DynamoStore {
    async fn put_link(&self, link: &LinkRecord, audit: &AuditRecord) -> Result<(), StoreError> {
        // The record's own `kind` (parent, child, peer) is the item's: never `device`, so the
        // stream's filter keeps links from notify.
        let link_item = item(link, keys::link(link.kind, &link.reg_id))?;
        let items = vec![self.put_tx(link_item)?, self.audit_item(audit)?];
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => Err(StoreError::Failed("unexpected condition".into())),
        }
    }

    async fn links(&self) -> Result<Vec<LinkRecord>, StoreError> {
        self.query_prefix(keys::ROOTS_PK.into(), keys::LINK_PREFIX)
            .await?
            .into_iter()
            .map(link_record)
            .collect()
    }

    async fn next_sequence(&self) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::sequence_counter())))
            .update_expression("ADD #last :one SET #kind = :kind")
            .expression_attribute_names("#last", "last")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":kind", s("sequence".into()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk)?;
        match out.attributes().and_then(|a| a.get("last")) {
            Some(AttributeValue::N(n)) => n
                .parse()
                .map_err(|e| StoreError::Failed(format!("sequence counter {n:?}: {e}"))),
            _ => Err(StoreError::Failed(
                "the sequence counter was not returned".into(),
            )),
        }
    }

    async fn current_sequence(&self) -> Result<u64, StoreError> {
        let stored: Option<Counter> = self.get_record(keys::sequence_counter()).await?;
        Ok(stored.map_or(0, |c| c.last))
    }

    async fn apply_exchange(
        &self,
        origin: &str,
        seq: u64,
        snapshot: bool,
        mirrors: &[MirrorRecord],
        audit: &AuditRecord,
    ) -> Result<Applied, StoreError> {
        if seq == 0 {
            return Err(StoreError::Failed("sequence numbers start at 1".into()));
        }
        // A transaction may not name one item twice: the last word on a device wins.
        let mut latest: HashMap<String, &MirrorRecord> = HashMap::new();
        for mirror in mirrors {
            latest.insert(mirror.regdevid.to_string(), mirror);
        }
        if latest.len() > MAX_ITEMS_PER_MESSAGE {
            return Err(StoreError::Failed(format!(
                "{} mirrors in one message: at most {MAX_ITEMS_PER_MESSAGE}",
                latest.len()
            )));
        }
        let mut items = Vec::with_capacity(latest.len() + 2);
        items.push(self.sequence_put(origin, seq, snapshot, audit.at_ms)?);
        for mirror in latest.values() {
            items.push(self.put_tx(mirror_item(mirror)?)?);
        }
        items.push(self.audit_item(audit)?);
        match self.transact(items).await? {
            TxOutcome::Done => Ok(Applied::Applied),
            // The transaction's only condition is the sequence's: what the origin's last
            // sequence is says which way it failed.
            TxOutcome::ConditionFailed => {
                let last = self.last_sequence(origin).await?;
                if last >= seq {
                    Ok(Applied::Duplicate { last })
                } else {
                    Ok(Applied::Gap { last })
                }
            }
        }
    }

    async fn last_sequence(&self, origin: &str) -> Result<u64, StoreError> {
        let stored: Option<OriginSequence> = self.get_record(keys::origin_sequence(origin)).await?;
        Ok(stored.map_or(0, |s| s.last))
    }

    async fn get_mirror(&self, regdevid: &RegDevId) -> Result<Option<MirrorRecord>, StoreError> {
        self.get_record(keys::mirror(regdevid)).await
    }

    async fn mirrors_with_status(
        &self,
        status: TrustStatus,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<MirrorRecord>, StoreError> {
        let on = Partition::new(Index::Gsi4, keys::mirror_status_partition(status), None);
        self.page_of(&on, cursor, limit, record).await
    }

    async fn mirrors_of_origin(
        &self,
        origin: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<MirrorRecord>, StoreError> {
        let on = Partition::new(Index::Gsi1, keys::mirror_origin_partition(origin), None);
        self.page_of(&on, cursor, limit, record).await
    }

    async fn mirrored_origins(&self) -> Result<Vec<String>, StoreError> {
        let on = Partition::new(Index::Gsi1, keys::ORIGINS_PARTITION.into(), None);
        let mut origins = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .page_of(
                    &on,
                    cursor.as_deref(),
                    ORIGINS_PAGE,
                    record::<OriginSequence>,
                )
                .await?;
            origins.extend(page.items.into_iter().map(|s| s.origin));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(origins)
    }
}

/// Origins read per query when listing them: a hierarchy has hundreds of registries at most.
const ORIGINS_PAGE: usize = 500;

impl DynamoStore {
    /// The origin's sequence item at `seq`, if `seq` follows the last one (an update), or is
    /// not below it (a snapshot, which heals any gap); an origin never seen takes any. The
    /// pages of one snapshot all carry its number: the first advances the origin to it, the
    /// others must still be taken. A snapshot page at the last number rewrites states at
    /// least that new, so taking it twice changes nothing.
    fn sequence_put(
        &self,
        origin: &str,
        seq: u64,
        snapshot: bool,
        at_ms: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut sequence = item(
            &OriginSequence {
                origin: origin.to_owned(),
                last: seq,
                at_ms,
            },
            keys::origin_sequence(origin),
        )?;
        sequence.insert("kind".into(), s("sequence".into()));
        // Registries' sequences are listed (gsi1) for snapshots of everything held; dedupe
        // marks, kept as sequences too, are not registries.
        if origin.parse::<RegistryPath>().is_ok() {
            sequence.insert(GSI1PK.into(), s(keys::ORIGINS_PARTITION.into()));
            sequence.insert(GSI1SK.into(), s(origin.to_owned()));
        }
        let (condition, bound) = if snapshot {
            ("attribute_not_exists(#pk) OR #last <= :bound", seq)
        } else {
            ("attribute_not_exists(#pk) OR #last = :bound", seq - 1)
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(sequence))
            .condition_expression(condition)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#last", "last")
            .expression_attribute_values(":bound", AttributeValue::N(bound.to_string()))
            .build()
            .map_err(|e| StoreError::Failed(format!("put: {e}")))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// `record` drops every item's `kind` attribute, which a link's record is the one to use.
fn link_record(mut item: Item) -> Result<LinkRecord, StoreError> {
    item.remove(PK);
    item.remove(SK);
    serde_dynamo::from_item(item).map_err(|e| StoreError::Failed(format!("decode: {e}")))
}

fn mirror_item(mirror: &MirrorRecord) -> Result<Item, StoreError> {
    let mut item = item(mirror, keys::mirror(&mirror.regdevid))?;
    // Not `device`: the stream's fan-out to notify skips mirrors, the exchange forwards them.
    item.insert("kind".into(), s("mirror".into()));
    item.insert(
        GSI4PK.into(),
        s(keys::mirror_status_partition(mirror.status)),
    );
    item.insert(GSI4SK.into(), s(mirror.regdevid.to_string()));
    item.insert(
        GSI1PK.into(),
        s(keys::mirror_origin_partition(&mirror.origin)),
    );
    item.insert(GSI1SK.into(), s(mirror.regdevid.to_string()));
    Ok(item)
}
