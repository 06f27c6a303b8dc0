//! Reading the audit log (issue 14): the latest signed checkpoint, the tiles, and inclusion and
//! consistency proofs, for enquirers and administrators (Y.3059 9.1 iv: who may query is
//! checked). Leaves hold ids and digests only, so what an enquirer learns here is that records
//! exist, not what they say.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::actors::Role;
use crate::error::RegistryError;
use crate::merkle::{self, Hash};
use crate::service::Registry;
use crate::sessions::Principal;

use super::tiles::{self, TileKind};
use super::{Tile, proofs};

/// Who reads the log: approved enquirers (agencies too) and administrators.
pub const LOG_READERS: &[Role] = &[Role::Enquirer, Role::Agency, Role::Admin];

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
        self.require(caller, LOG_READERS, "read-audit-log", None)
            .await?;
        self.store
            .checkpoint()
            .await?
            .map(|c| c.note)
            .ok_or_else(|| not_found("no checkpoint yet"))
    }

    /// A tile by its C2SP path (`tile/<L>/<N>[.p/<W>]`, `tile/entries/...`).
    pub async fn audit_tile(
        &self,
        caller: Option<&Principal>,
        path: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        self.require(caller, LOG_READERS, "read-audit-log", None)
            .await?;
        let tile = Tile::parse(path).map_err(|e| RegistryError::Malformed(e.to_string()))?;
        self.store
            .tile(&tile)
            .await?
            .ok_or_else(|| not_found(tile.path()))
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

    /// The leaf hashes of the tree of `size`, from its level-0 tiles.
    async fn leaf_hashes(&self, size: u64) -> Result<Vec<Hash>, RegistryError> {
        let mut out = Vec::with_capacity(size as usize);
        for tile in tiles::tiles_for(size) {
            if tile.kind != TileKind::Hashes(0) {
                continue;
            }
            let bytes = self.store.tile(&tile).await?.ok_or_else(|| {
                RegistryError::Store(crate::error::StoreError::Failed(format!(
                    "audit log tile {} missing",
                    tile.path()
                )))
            })?;
            out.extend(tiles::parse_hashes(&bytes, tile.width).map_err(|e| {
                RegistryError::Store(crate::error::StoreError::Failed(e.to_string()))
            })?);
        }
        Ok(out)
    }

    /// The inclusion proof of a record's leaf in the tree of `size` (the latest checkpoint's
    /// when none is given).
    pub async fn audit_inclusion(
        &self,
        caller: Option<&Principal>,
        record: &str,
        size: Option<u64>,
    ) -> Result<InclusionProof, RegistryError> {
        self.require(caller, LOG_READERS, "read-audit-log", None)
            .await?;
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
        let leaves = self.leaf_hashes(size).await?;
        Ok(InclusionProof {
            record: record.to_owned(),
            leaf_index: index,
            tree_size: size,
            hashes: b64(merkle::proof(&leaves, index as usize)),
        })
    }

    /// The consistency proof between the trees of `from` and `to` leaves (RFC 9162 2.1.4).
    pub async fn audit_consistency(
        &self,
        caller: Option<&Principal>,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, RegistryError> {
        self.require(caller, LOG_READERS, "read-audit-log", None)
            .await?;
        if from > to {
            return Err(RegistryError::Malformed("from must not exceed to".into()));
        }
        if to > self.signed_size().await? {
            return Err(not_found(format!("no checkpoint of size {to}")));
        }
        let leaves = self.leaf_hashes(to).await?;
        Ok(ConsistencyProof {
            from,
            to,
            hashes: b64(proofs::consistency(&leaves, from as usize)),
        })
    }
}
