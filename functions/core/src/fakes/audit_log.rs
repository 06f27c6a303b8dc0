//! `AuditLogStore` in memory.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::ports::{AuditLogStore, StoredCheckpoint};
use crate::tlog::{Edge, Tile};

#[derive(Debug, Default, Clone)]
pub struct LogState {
    pub edge: Edge,
    pub leaves: BTreeMap<String, u64>,
    pub tiles: BTreeMap<String, Vec<u8>>,
    pub checkpoint: Option<StoredCheckpoint>,
}

#[async_trait]
impl AuditLogStore for MemoryStore {
    async fn log_edge(&self) -> Result<Edge, StoreError> {
        Ok(self.lock().log.edge.clone())
    }

    async fn leaf_indexes(&self, ids: &[String]) -> Result<HashMap<String, u64>, StoreError> {
        let s = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| s.log.leaves.get(id).map(|i| (id.clone(), *i)))
            .collect())
    }

    async fn append_leaves(
        &self,
        from: u64,
        edge: &Edge,
        tiles: &[(Tile, Vec<u8>)],
        leaves: &[(String, u64)],
    ) -> Result<bool, StoreError> {
        let mut s = self.lock();
        if s.log.edge.size != from || leaves.iter().any(|(id, _)| s.log.leaves.contains_key(id)) {
            return Ok(false);
        }
        s.log.edge = edge.clone();
        for (tile, bytes) in tiles {
            s.log.tiles.insert(tile.path(), bytes.clone());
        }
        for (id, index) in leaves {
            s.log.leaves.insert(id.clone(), *index);
        }
        Ok(true)
    }

    async fn checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        Ok(self.lock().log.checkpoint.clone())
    }

    async fn put_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError> {
        let mut s = self.lock();
        if s.log
            .checkpoint
            .as_ref()
            .is_some_and(|c| c.size >= checkpoint.size)
        {
            return Ok(false);
        }
        s.log.checkpoint = Some(checkpoint.clone());
        Ok(true)
    }

    async fn tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().log.tiles.get(&tile.path()).cloned())
    }
}
