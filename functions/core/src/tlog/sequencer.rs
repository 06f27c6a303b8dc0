//! The sequencer (issue 14): audit records, written as before by each transaction, become
//! leaves in batches; one signature per batch vouches for all of them. Idempotent: a batch
//! delivered again appends only the records that hold no leaf yet, and a checkpoint left
//! unsigned by a crash is signed by the next batch.

use std::collections::HashSet;

use crate::error::{KeyError, StoreError};
use crate::jose;
use crate::ports::StoredCheckpoint;
use crate::records::AuditRecord;
use crate::service::Registry;

use super::note::EcdsaNoteKey;
use super::{Checkpoint, Edge, SignedNote, leaf};

/// Leaves committed per transaction. DynamoDB takes 100 actions per TransactWriteItems
/// ("TransactWriteItems", Amazon DynamoDB API Reference); the rest is for the tiles a chunk
/// writes (at most a full and a partial tile per level, and the entries) and the edge.
pub const CHUNK: usize = 80;

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sequenced {
    /// Leaves appended by this batch.
    pub appended: usize,
    /// Records of the batch that already had a leaf (a batch delivered again).
    pub already: usize,
    /// The tree's size after the batch.
    pub size: u64,
    /// Whether a checkpoint was signed (one KMS request).
    pub signed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SequenceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Another sequencer moved the log on: the batch is delivered again and finds its records.
    #[error("the log moved on from size {0} under this sequencer")]
    Raced(u64),
}

impl Registry {
    /// The log's origin line and key name: the registry's path.
    pub fn log_origin(&self) -> String {
        self.config.path.to_string()
    }

    /// The registry's signing key as the log's note key (signature type 0x02).
    pub async fn log_key(&self) -> Result<EcdsaNoteKey, KeyError> {
        Ok(EcdsaNoteKey {
            name: self.log_origin(),
            key: self.keys.public_key().await?,
        })
    }

    pub async fn sequence(&self, records: &[AuditRecord]) -> Result<Sequenced, SequenceError> {
        let mut seen = HashSet::new();
        let fresh: Vec<&AuditRecord> = records
            .iter()
            .filter(|r| seen.insert(r.id.as_str()))
            .collect();
        let ids: Vec<String> = fresh.iter().map(|r| r.id.clone()).collect();
        let done = self.store.leaf_indexes(&ids).await?;
        let pending: Vec<&AuditRecord> = fresh
            .into_iter()
            .filter(|r| !done.contains_key(&r.id))
            .collect();
        let mut edge = self.store.log_edge().await?;
        for chunk in pending.chunks(CHUNK) {
            let from = edge.size;
            let mut next = edge.clone();
            let entries: Vec<Vec<u8>> = chunk.iter().map(|r| leaf::audit_leaf(r)).collect();
            let written = next.append(&entries);
            let leaves: Vec<(String, u64)> = chunk
                .iter()
                .zip(from..)
                .map(|(r, i)| (r.id.clone(), i))
                .collect();
            if !self
                .store
                .append_leaves(from, &next, &written.tiles, &leaves)
                .await?
            {
                return Err(SequenceError::Raced(from));
            }
            edge = next;
        }
        let signed_size = self.store.checkpoint().await?.map(|c| c.size);
        let mut signed = false;
        if edge.size > signed_size.unwrap_or(0) {
            let note = self.sign_checkpoint(&edge).await?;
            signed = self
                .store
                .put_checkpoint(&StoredCheckpoint {
                    size: edge.size,
                    note,
                })
                .await?;
        }
        Ok(Sequenced {
            appended: pending.len(),
            already: done.len(),
            size: edge.size,
            signed,
        })
    }

    async fn sign_checkpoint(&self, edge: &Edge) -> Result<String, KeyError> {
        let text = Checkpoint::new(self.log_origin(), edge.size, edge.root()).text();
        let raw = self.keys.sign(text.as_bytes()).await?;
        // Signed-note ECDSA signatures are ASN.1 DER, as KMS returns them (the port gives r || s).
        let der = jose::raw_to_der(&raw).map_err(|e| KeyError(e.to_string()))?;
        let key = self.log_key().await?;
        Ok(SignedNote {
            text,
            signatures: vec![key.signature(der)],
        }
        .to_string())
    }
}
