//! `AuditLogStore` on the table (issue 14). Kept in DynamoDB rather than S3: one transaction
//! then commits a chunk's tiles, its records' leaf indexes and the sequencer's edge together
//! (S3 writes cannot join it), and the largest item, an entries bundle of 256 leaves of about
//! 90 bytes, is far below DynamoDB's 400 KB item limit.
//!
//! Items: the edge (`TLOG`, `EDGE`) and the signed checkpoint (`TLOG`, `CHECKPOINT`); each
//! tile under its C2SP path (`TLOG#<path>`, `TILE`), immutable, one partition each; each
//! record's leaf index (`TLOG#LEAF#<record id>`, `LEAF`), written once, beside the record,
//! which is never rewritten.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use trustreg_core::error::StoreError;
use trustreg_core::ports::{AuditLogStore, StoredCheckpoint};
use trustreg_core::records::AuditRecord;
use trustreg_core::tlog::{Edge, Tile};

use super::codec::{Item, key, record, s, sdk};
use super::{DynamoStore, TxOutcome};
use crate::keys::{self, PK};

const LOG_PK: &str = "TLOG";
const EDGE_SK: &str = "EDGE";
const CHECKPOINT_SK: &str = "CHECKPOINT";

fn tile_key(tile: &Tile) -> (String, String) {
    (format!("{LOG_PK}#{}", tile.path()), "TILE".into())
}

fn leaf_key(record_id: &str) -> (String, String) {
    (format!("{LOG_PK}#LEAF#{record_id}"), "LEAF".into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn number(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Failed(format!("log item's {name} is not a number"))),
        _ => Err(StoreError::Failed(format!("log item without {name}"))),
    }
}

fn blobs(item: &Item, name: &str) -> Result<Vec<Vec<u8>>, StoreError> {
    match item.get(name) {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::B(b) => Ok(b.as_ref().to_vec()),
                _ => Err(StoreError::Failed(format!(
                    "log item's {name} holds a non-binary"
                ))),
            })
            .collect(),
        None => Ok(Vec::new()),
        _ => Err(StoreError::Failed(format!(
            "log item's {name} is not a list"
        ))),
    }
}

fn blob_list(values: impl IntoIterator<Item = Vec<u8>>) -> AttributeValue {
    AttributeValue::L(
        values
            .into_iter()
            .map(|v| AttributeValue::B(Blob::new(v)))
            .collect(),
    )
}

impl DynamoStore {
    /// The audit record a stream record's new image holds, if it is one.
    pub fn audit_record(new: serde_dynamo::Item) -> Result<Option<AuditRecord>, StoreError> {
        let new: Item = new.into();
        match new.get(PK) {
            Some(AttributeValue::S(pk)) if keys::is_audit_record(pk) => record(new).map(Some),
            _ => Ok(None),
        }
    }

    async fn get_raw(&self, key_parts: (String, String)) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(key_parts)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item)
    }

    fn log_put(
        &self,
        (pk, sk): (String, String),
        attrs: Vec<(&str, AttributeValue)>,
    ) -> aws_sdk_dynamodb::types::builders::PutBuilder {
        let mut item: Item = key((pk, sk));
        for (name, value) in attrs {
            item.insert(name.to_owned(), value);
        }
        Put::builder().table_name(&self.table).set_item(Some(item))
    }
}

fn built(
    put: aws_sdk_dynamodb::types::builders::PutBuilder,
) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .put(
            put.build()
                .map_err(|e| StoreError::Failed(format!("put: {e}")))?,
        )
        .build())
}

#[async_trait]
impl AuditLogStore for DynamoStore {
    async fn log_edge(&self) -> Result<Edge, StoreError> {
        let Some(item) = self.get_raw((LOG_PK.into(), EDGE_SK.into())).await? else {
            return Ok(Edge::default());
        };
        let levels = blobs(&item, "levels")?
            .into_iter()
            .map(|bytes| {
                trustreg_core::tlog::tiles::parse_hashes(&bytes, (bytes.len() / 32) as u16)
                    .map_err(|e| StoreError::Failed(format!("log edge: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Edge::from_tiles(
            number(&item, "size")?,
            blobs(&item, "entries")?,
            levels,
        ))
    }

    async fn leaf_indexes(&self, ids: &[String]) -> Result<HashMap<String, u64>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let keys = ids.iter().map(|id| key(leaf_key(id))).collect();
        let mut found = HashMap::new();
        for item in self.batch_read(keys).await? {
            let id = match item.get("record") {
                Some(AttributeValue::S(id)) => id.clone(),
                _ => return Err(StoreError::Failed("leaf mark without record".into())),
            };
            found.insert(id, number(&item, "leaf")?);
        }
        Ok(found)
    }

    async fn append_leaves(
        &self,
        from: u64,
        edge: &Edge,
        tiles: &[(Tile, Vec<u8>)],
        leaves: &[(String, u64)],
    ) -> Result<bool, StoreError> {
        let mut items = Vec::with_capacity(tiles.len() + leaves.len() + 1);
        let edge_put = self
            .log_put(
                (LOG_PK.into(), EDGE_SK.into()),
                vec![
                    ("size", n(edge.size)),
                    ("entries", blob_list(edge.entries.iter().cloned())),
                    ("levels", blob_list(edge.levels.iter().map(|l| l.concat()))),
                ],
            )
            .expression_attribute_names("#size", "size")
            .expression_attribute_values(":from", n(from));
        // Only the sequencer that read the edge at `from` moves it on.
        let edge_put = if from == 0 {
            edge_put
                .condition_expression("attribute_not_exists(#pk) OR #size = :from")
                .expression_attribute_names("#pk", PK)
        } else {
            edge_put.condition_expression("#size = :from")
        };
        items.push(built(edge_put)?);
        for (tile, bytes) in tiles {
            items.push(built(self.log_put(
                tile_key(tile),
                vec![("data", AttributeValue::B(Blob::new(bytes.clone())))],
            ))?);
        }
        for (id, index) in leaves {
            items.push(built(
                self.log_put(
                    leaf_key(id),
                    vec![("record", s(id.clone())), ("leaf", n(*index))],
                )
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK),
            )?);
        }
        Ok(matches!(self.transact(items).await?, TxOutcome::Done))
    }

    async fn checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let Some(item) = self.get_raw((LOG_PK.into(), CHECKPOINT_SK.into())).await? else {
            return Ok(None);
        };
        let note = match item.get("note") {
            Some(AttributeValue::S(note)) => note.clone(),
            _ => return Err(StoreError::Failed("checkpoint without note".into())),
        };
        Ok(Some(StoredCheckpoint {
            size: number(&item, "size")?,
            note,
        }))
    }

    async fn put_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError> {
        // An update, not a put, to count the checkpoints signed (`signatures`): the KMS
        // requests the log costs, for the operator and the benchmark.
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key((LOG_PK.into(), CHECKPOINT_SK.into()))))
            .update_expression("SET #size = :size, #note = :note ADD #signatures :one")
            .condition_expression("attribute_not_exists(#pk) OR #size < :size")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#size", "size")
            .expression_attribute_names("#note", "note")
            .expression_attribute_names("#signatures", "signatures")
            .expression_attribute_values(":size", n(checkpoint.size))
            .expression_attribute_values(":note", s(checkpoint.note.clone()))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(|e| StoreError::Failed(format!("update: {e}")))?;
        let item = TransactWriteItem::builder().update(update).build();
        Ok(matches!(self.transact(vec![item]).await?, TxOutcome::Done))
    }

    async fn tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .get_raw(tile_key(tile))
            .await?
            .and_then(|item| match item.get("data") {
                Some(AttributeValue::B(b)) => Some(b.as_ref().to_vec()),
                _ => None,
            }))
    }
}
