//! Reading the audit log (issue 14): the latest signed checkpoint, the tiles, and inclusion and
//! consistency proofs, for enquirers and administrators (Y.3059 9.1 iv: who may query is
//! checked). Leaves hold ids and digests only, so what an enquirer learns here is that records
//! exist, not what they say.

use std::collections::HashMap;
use trustreg_model::routes::Op;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::error::RegistryError;
use crate::merkle::Hash;
use crate::service::Registry;
use crate::sessions::{Principal, READ_LOG};

use super::Tile;
use super::tile_proofs::{self, TileHashes};
use super::tiles;

/// Who reads the log: approved enquirers (agencies too) and administrators, as its routes say.
pub use trustreg_model::routes::LOG_READERS;

/// What a read names is bounded in its record: a tile path from the request could be long.
const MAX_READ_TARGET: usize = 160;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InclusionProof {
    pub record: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    /// RFC 9162 audit path, bottom up, base64.
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// RFC 9162 consistency proof, base64.
    pub hashes: Vec<String>,
}

/// A tile the log should hold and does not: the store's failure, not the caller's.
fn missing(what: impl ToString) -> RegistryError {
    RegistryError::Store(crate::error::StoreError::Failed(what.to_string()))
}

fn not_found(what: impl Into<String>) -> RegistryError {
    RegistryError::LogEntryNotFound(what.into())
}

fn b64(hashes: Vec<Hash>) -> Vec<String> {
    hashes.iter().map(|h| STANDARD.encode(h)).collect()
}

impl Registry {
    /// The latest signed checkpoint (a C2SP signed note).
    pub async fn audit_checkpoint(
        &self,
        caller: Option<&Principal>,
    ) -> Result<String, RegistryError> {
        let reader = self.require(caller, Op::AuditCheckpoint, None).await?;
        let read = async {
            self.store
                .checkpoint()
                .await?
                .map(|c| c.note)
                .ok_or_else(|| not_found("no checkpoint yet"))
        };
        self.logged_read(reader, "checkpoint".into(), read).await
    }

    /// A tile by its C2SP path (`tile/<L>/<N>[.p/<W>]`, `tile/entries/...`).
    pub async fn audit_tile(
        &self,
        caller: Option<&Principal>,
        path: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        let reader = self.require(caller, Op::AuditTile, None).await?;
        let read = async {
            let tile = Tile::parse(path).map_err(|e| RegistryError::Malformed(e.to_string()))?;
            self.store
                .tile(&tile)
                .await?
                .ok_or_else(|| not_found(tile.path()))
        };
        self.logged_read(reader, path.to_owned(), read).await
    }

    /// Reads of the log by authenticated callers are audited like every transaction (7 i c):
    /// an answered read once its record is stored (a read whose record could not be written
    /// is not answered: the caller gets the store's 503 and may retry), a refused one as
    /// refused. Target `audit-log:<what>`, apart from the records read, as `read_audit`'s.
    async fn logged_read<T>(
        &self,
        reader: &Principal,
        what: String,
        read: impl std::future::Future<Output = Result<T, RegistryError>>,
    ) -> Result<T, RegistryError> {
        let target = Some(format!(
            "audit-log:{}",
            what.chars().take(MAX_READ_TARGET).collect::<String>()
        ));
        let result = read.await;
        match &result {
            Ok(_) => {
                let audit = self.audit(&reader.subject, READ_LOG, target, Ok(()));
                self.store.record_audit(&audit).await?;
            }
            Err(e) if !e.is_internal() => {
                self.audit_rejection(&reader.subject, READ_LOG, target, e)
                    .await;
            }
            Err(_) => {}
        }
        result
    }

    /// The leaf index of each of these records that has one.
    pub async fn audit_leaves(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, u64>, RegistryError> {
        Ok(self.store.leaf_indexes(ids).await?)
    }

    async fn signed_size(&self) -> Result<u64, RegistryError> {
        Ok(self.store.checkpoint().await?.map_or(0, |c| c.size))
    }

    /// The hash tiles a proof reads (`tile_proofs`): a few per proof, whatever the log's size,
    /// each as the signed tree stored it (tiles are never rewritten but at the edge, and the
    /// edge's partial tiles are those of the latest checkpoint).
    async fn hash_tiles(&self, wanted: Vec<Tile>) -> Result<TileHashes, RegistryError> {
        let mut read = TileHashes::with_capacity(wanted.len());
        for tile in wanted {
            let bytes = self
                .store
                .tile(&tile)
                .await?
                .ok_or_else(|| missing(format!("audit log tile {} missing", tile.path())))?;
            let hashes = tiles::parse_hashes(&bytes, tile.width).map_err(missing)?;
            read.insert(tile, hashes);
        }
        Ok(read)
    }

    /// The inclusion proof of a record's leaf in the tree of `size` (the latest checkpoint's
    /// when none is given).
    pub async fn audit_inclusion(
        &self,
        caller: Option<&Principal>,
        record: &str,
        size: Option<u64>,
    ) -> Result<InclusionProof, RegistryError> {
        let reader = self.require(caller, Op::AuditInclusion, None).await?;
        let what = match size {
            Some(size) => format!("inclusion/{record}/{size}"),
            None => format!("inclusion/{record}"),
        };
        self.logged_read(reader, what, self.inclusion(record, size))
            .await
    }

    async fn inclusion(
        &self,
        record: &str,
        size: Option<u64>,
    ) -> Result<InclusionProof, RegistryError> {
        let signed = self.signed_size().await?;
        let size = size.unwrap_or(signed);
        if size > signed {
            return Err(not_found(format!("no checkpoint of size {size}")));
        }
        let index = *self
            .store
            .leaf_indexes(&[record.to_owned()])
            .await?
            .get(record)
            .ok_or_else(|| not_found(format!("record {record} is not sequenced yet")))?;
        if index >= size {
            return Err(not_found(format!(
                "leaf {index} is not in the tree of size {size}"
            )));
        }
        let tiles = self
            .hash_tiles(tile_proofs::tiles_for_inclusion(index, size, signed))
            .await?;
        let hashes = tile_proofs::inclusion(index, size, signed, &tiles).map_err(missing)?;
        Ok(InclusionProof {
            record: record.to_owned(),
            leaf_index: index,
            tree_size: size,
            hashes: b64(hashes),
        })
    }

    /// The consistency proof between the trees of `from` and `to` leaves (RFC 9162 2.1.4).
    pub async fn audit_consistency(
        &self,
        caller: Option<&Principal>,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, RegistryError> {
        let reader = self.require(caller, Op::AuditConsistency, None).await?;
        self.logged_read(
            reader,
            format!("consistency/{from}/{to}"),
            self.consistency(from, to),
        )
        .await
    }

    async fn consistency(&self, from: u64, to: u64) -> Result<ConsistencyProof, RegistryError> {
        if from > to {
            return Err(RegistryError::Malformed("from must not exceed to".into()));
        }
        let signed = self.signed_size().await?;
        if to > signed {
            return Err(not_found(format!("no checkpoint of size {to}")));
        }
        let tiles = self
            .hash_tiles(tile_proofs::tiles_for_consistency(from, to, signed))
            .await?;
        let hashes = tile_proofs::consistency(from, to, signed, &tiles).map_err(missing)?;
        Ok(ConsistencyProof {
            from,
            to,
            hashes: b64(hashes),
        })
    }
}
