//! A day's audit records over its partitions (`GET /v1/audit?day=`): the unsharded partition
//! of records written before sharding and every shard's, queried in parallel and merged by
//! record id (`shard_merge`).

use futures::future::try_join_all;
use trustreg_core::error::StoreError;
use trustreg_core::ports::Page;
use trustreg_core::records::AuditRecord;

use super::DynamoStore;
use super::codec::{Item, record, s};
use super::cursor::{Index, Partition};
use super::shard_merge::{Fetched, MergedCursor, Position, merge};
use crate::keys::{PK, SK};

impl DynamoStore {
    /// Up to `limit` records of `day` from `cursor`, in record id (time) order.
    pub(crate) async fn audit_day_page(
        &self,
        day: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditRecord>, StoreError> {
        let partitions = self.audit_day_partitions(day);
        let cursor = match cursor {
            Some(text) => MergedCursor::decode(text, partitions.len())?,
            None => MergedCursor::start(partitions.len()),
        };
        let reads = partitions
            .iter()
            .zip(&cursor.positions)
            .map(|(pk, at)| self.audit_partition_read(pk, at, limit));
        let fetched = try_join_all(reads).await?;
        let (items, next) = merge(&cursor, fetched, limit);
        Ok(Page {
            items: items.into_iter().map(record).collect::<Result<_, _>>()?,
            next: next.map(|c| c.encode()).transpose()?,
        })
    }

    /// One partition's next items from `at` (none read when it is done).
    async fn audit_partition_read(
        &self,
        pk: &str,
        at: &Position,
        limit: usize,
    ) -> Result<Option<Fetched<Item>>, StoreError> {
        let start = match at {
            Position::Done => return Ok(None),
            Position::Start => None,
            Position::After(sk) => Some(
                [(PK, pk), (SK, sk.as_str())]
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), s(value.to_owned())))
                    .collect(),
            ),
        };
        let on = Partition::new(Index::Table, pk.to_owned(), None);
        let (items, last) = self.query_page(&on, None, start, Some(limit)).await?;
        let sort_key = |item: &Item| match item.get(SK) {
            Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) => Ok(sk.clone()),
            _ => Err(StoreError::Failed("audit item without a sort key".into())),
        };
        Ok(Some(Fetched {
            items: items
                .into_iter()
                .map(|item| Ok((sort_key(&item)?, item)))
                .collect::<Result<_, StoreError>>()?,
            more: last.as_ref().map(sort_key).transpose()?,
        }))
    }
}
