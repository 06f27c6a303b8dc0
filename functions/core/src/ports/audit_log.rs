//! Where the audit log's tree lives (issue 14): the sequencer's right edge, the tiles, the
//! records' leaf indexes and the signed checkpoint.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::error::StoreError;
use trustreg_model::tlog::{Edge, Tile};

/// The latest signed checkpoint, as served: a C2SP signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub note: String,
}

#[async_trait]
pub trait AuditLogStore: Send + Sync {
    /// The tree's right edge as the sequencer left it (the empty tree before the first leaf).
    async fn log_edge(&self) -> Result<Edge, StoreError>;
    /// The leaf index of each of these records that has one.
    async fn leaf_indexes(&self, ids: &[String]) -> Result<HashMap<String, u64>, StoreError>;
    /// In one transaction: the tiles, each record's leaf index (refused for a record that has
    /// one), and the new edge (refused unless the stored one is still of size `from`). False
    /// when a condition failed: nothing was written.
    async fn append_leaves(
        &self,
        from: u64,
        edge: &Edge,
        tiles: &[(Tile, Vec<u8>)],
        leaves: &[(String, u64)],
    ) -> Result<bool, StoreError>;
    async fn checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// Stores the checkpoint unless one of this size or larger is stored: the log never goes
    /// back. False when it was not stored.
    async fn put_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError>;
    async fn tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>, StoreError>;
}
