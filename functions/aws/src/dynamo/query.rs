//! Reads: one paged Query helper (`query_page`) that every listing goes through, whole
//! partitions read page after page (`query_all`), single items and batches of keys.

use aws_sdk_dynamodb::types::KeysAndAttributes;
use serde::de::DeserializeOwned;
use trustreg_core::error::StoreError;
use trustreg_core::ports::Page;

use super::DynamoStore;
use super::codec::{Item, key, record, s, sdk};
use super::cursor::{Cursor, Filter, Index, Partition};

/// BatchGetItem takes at most 100 keys.
const KEYS_PER_BATCH_GET: usize = 100;
/// Keys a throttled BatchGetItem leaves unprocessed are asked for again this often, waiting
/// twice as long each time (from `BACKOFF_START_MS`, at most `BACKOFF_MAX_MS`), as AWS
/// advises; then the read fails rather than hold the request.
const UNPROCESSED_RETRIES: u32 = 8;
const BACKOFF_START_MS: u64 = 25;
const BACKOFF_MAX_MS: u64 = 1_000;

impl DynamoStore {
    /// Every item of `on`, in sort order, over all pages (table partitions read consistently).
    pub(crate) async fn query_all(&self, on: &Partition) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let (items, last) = self.query_page(on, None, start, None).await?;
            found.extend(items);
            match last {
                Some(last) => start = Some(last),
                None => return Ok(found),
            }
        }
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, in sort order, over
    /// all pages, read consistently.
    pub(crate) async fn query_prefix(
        &self,
        pk: String,
        prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
        self.query_all(&Partition::new(Index::Table, pk, Some(prefix.to_owned())))
            .await
    }

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

    /// The records under `key` in gsi1, in sort order.
    pub(crate) async fn query_index<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.query_all(&Partition::new(Index::Gsi1, key.to_owned(), None))
            .await?
            .into_iter()
            .map(record)
            .collect()
    }

    pub(crate) async fn query_page(
        &self,
        on: &Partition,
        filter: Option<&Filter>,
        start: Option<Item>,
        limit: Option<usize>,
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
            .set_limit(limit.map(|l| i32::try_from(l.max(1)).unwrap_or(i32::MAX)))
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
        let (items, last) = self.query_page(on, None, start, Some(limit)).await?;
        let next = match last {
            Some(last) => Some(Cursor::at(0, Some(&last))?.encode()?),
            None => None,
        };
        Ok(Page {
            items: items.into_iter().map(decode).collect::<Result<_, _>>()?,
            next,
        })
    }

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
}
