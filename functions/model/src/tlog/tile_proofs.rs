//! RFC 9162 proofs from the stored tiles, as Go's `tlog.ProveRecord` / `ProveTree` make them: a
//! proof needs O(log n) subtree hashes, each a complete aligned subtree whose hash a tile holds
//! or is a few levels above the hashes one tile holds (a tile of level L holds the hashes of
//! tree level 8L). Reading every leaf hash instead costs a read of every level-0 tile, which on
//! a log of millions of leaves does not fit a Lambda invocation.
//!
//! Pure, in two passes over the same recursion: `tiles_for_*` names the tiles a proof reads,
//! the caller reads them, and `inclusion` / `consistency` compute the proof from them.

use std::collections::{BTreeSet, HashMap};

use crate::merkle::{Hash, node_hash};

use super::tiles::{HEIGHT, WIDTH};
use super::{Tile, TileKind};

/// Hashes read from the stored tiles, by tile.
pub type TileHashes = HashMap<Tile, Vec<Hash>>;

/// Why a proof could not be made from the tiles given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileProofError {
    #[error("tile {0} was not read")]
    Missing(String),
    #[error("tile {0} is shorter than the tree says")]
    Short(String),
}

/// A complete subtree: `2^level` leaves from `index << level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Node {
    level: u32,
    index: u64,
}

/// Where a proof's subtree hashes come from.
trait Nodes {
    fn node(&mut self, node: Node) -> Hash;
}

/// The first pass: the nodes a proof needs, hashes left zero.
#[derive(Default)]
struct Needed(BTreeSet<Node>);

impl Nodes for Needed {
    fn node(&mut self, node: Node) -> Hash {
        self.0.insert(node);
        [0; 32]
    }
}

/// The second pass: each node from its tile; the first failure is kept.
struct FromTiles<'a> {
    signed: u64,
    tiles: &'a TileHashes,
    error: Option<TileProofError>,
}

impl Nodes for FromTiles<'_> {
    fn node(&mut self, node: Node) -> Hash {
        match node_from_tiles(node, self.signed, self.tiles) {
            Ok(hash) => hash,
            Err(e) => {
                self.error.get_or_insert(e);
                [0; 32]
            }
        }
    }
}

/// The tile that holds the hashes `node` is made of, as the tree of `signed` leaves stored it
/// (a partial tile only at the edge of that tree), and the node's offset and span in it.
fn tile_of(node: Node, signed: u64) -> (Tile, usize, usize) {
    let tile_level = node.level / HEIGHT;
    let above = node.level % HEIGHT;
    let first = node.index << above;
    let index = first / WIDTH;
    let stored = signed >> (tile_level * HEIGHT);
    let width = (stored - index * WIDTH).min(WIDTH);
    let tile = Tile {
        kind: TileKind::Hashes(tile_level as u8),
        index,
        width: width as u16,
    };
    ((tile), (first - index * WIDTH) as usize, 1usize << above)
}

fn node_from_tiles(node: Node, signed: u64, tiles: &TileHashes) -> Result<Hash, TileProofError> {
    let (tile, offset, span) = tile_of(node, signed);
    let hashes = tiles
        .get(&tile)
        .ok_or_else(|| TileProofError::Missing(tile.path()))?;
    let slice = hashes
        .get(offset..offset + span)
        .ok_or_else(|| TileProofError::Short(tile.path()))?;
    Ok(crate::merkle::root(slice))
}

/// MTH(D[start:end]) (RFC 9162 2.1.1) for a range the proofs' recursion makes: aligned, so a
/// power-of-two range is one stored subtree.
fn mth(nodes: &mut dyn Nodes, start: u64, end: u64) -> Hash {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let level = n.trailing_zeros();
        return nodes.node(Node {
            level,
            index: start >> level,
        });
    }
    let k = split(n);
    let left = mth(nodes, start, start + k);
    let right = mth(nodes, start + k, end);
    node_hash(&left, &right)
}

/// The largest power of two smaller than `n` (n > 1).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// PATH(m, D[start:end]) (RFC 9162 2.1.3.1), bottom up.
fn path(nodes: &mut dyn Nodes, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(nodes, m, start, start + k, out);
        out.push(mth(nodes, start + k, end));
    } else {
        path(nodes, m - k, start + k, end, out);
        out.push(mth(nodes, start, start + k));
    }
}

/// SUBPROOF(m, D[start:end], b) (RFC 9162 2.1.4.1).
fn subproof(
    nodes: &mut dyn Nodes,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(mth(nodes, start, end));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(nodes, m, start, start + k, complete, out);
        out.push(mth(nodes, start + k, end));
    } else {
        subproof(nodes, m - k, start + k, end, false, out);
        out.push(mth(nodes, start, start + k));
    }
}

fn inclusion_with(nodes: &mut dyn Nodes, index: u64, size: u64) -> Vec<Hash> {
    let mut out = Vec::new();
    if index < size {
        path(nodes, index, 0, size, &mut out);
    }
    out
}

fn consistency_with(nodes: &mut dyn Nodes, m: u64, size: u64) -> Vec<Hash> {
    let mut out = Vec::new();
    if m > 0 && m < size {
        subproof(nodes, m, 0, size, true, &mut out);
    }
    out
}

fn tiles_of(needed: Needed, signed: u64) -> Vec<Tile> {
    let tiles: BTreeSet<(u8, u64, u16)> = needed
        .0
        .into_iter()
        .map(|node| {
            let (tile, _, _) = tile_of(node, signed);
            let level = match tile.kind {
                TileKind::Hashes(l) => l,
                TileKind::Entries => 0,
            };
            (level, tile.index, tile.width)
        })
        .collect();
    tiles
        .into_iter()
        .map(|(level, index, width)| Tile {
            kind: TileKind::Hashes(level),
            index,
            width,
        })
        .collect()
}

/// The tiles (of the tree of `signed` leaves) the inclusion proof of leaf `index` in the tree
/// of `size` leaves reads (`size` ≤ `signed`).
pub fn tiles_for_inclusion(index: u64, size: u64, signed: u64) -> Vec<Tile> {
    let mut needed = Needed::default();
    inclusion_with(&mut needed, index, size);
    tiles_of(needed, signed)
}

/// The tiles the consistency proof from `m` to `size` leaves reads.
pub fn tiles_for_consistency(m: u64, size: u64, signed: u64) -> Vec<Tile> {
    let mut needed = Needed::default();
    consistency_with(&mut needed, m, size);
    tiles_of(needed, signed)
}

/// PATH(index, D[size]) from the tiles `tiles_for_inclusion` named.
pub fn inclusion(
    index: u64,
    size: u64,
    signed: u64,
    tiles: &TileHashes,
) -> Result<Vec<Hash>, TileProofError> {
    let mut from = FromTiles {
        signed,
        tiles,
        error: None,
    };
    let proof = inclusion_with(&mut from, index, size);
    from.error.map_or(Ok(proof), Err)
}

/// PROOF(m, D[size]) from the tiles `tiles_for_consistency` named.
pub fn consistency(
    m: u64,
    size: u64,
    signed: u64,
    tiles: &TileHashes,
) -> Result<Vec<Hash>, TileProofError> {
    let mut from = FromTiles {
        signed,
        tiles,
        error: None,
    };
    let proof = consistency_with(&mut from, m, size);
    from.error.map_or(Ok(proof), Err)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;
    use crate::merkle::{self, leaf_hash};
    use crate::tlog::proofs;
    use crate::tlog::tiles::{Edge, tiles_for};

    /// The hash tiles of a log of `signed` leaves, as the sequencer stores them (appended in
    /// batches, so partial tiles are rewritten whole at each size).
    fn stored(signed: u64) -> (Vec<Hash>, TileHashes) {
        let entries: Vec<Vec<u8>> = (0..signed).map(|i| i.to_be_bytes().to_vec()).collect();
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let mut edge = Edge::default();
        let written = edge.append(&entries);
        let mut tiles = TileHashes::new();
        for (tile, bytes) in written.tiles {
            if let TileKind::Hashes(_) = tile.kind {
                tiles.insert(
                    tile,
                    crate::tlog::tiles::parse_hashes(&bytes, tile.width).unwrap(),
                );
            }
        }
        // Every tile of the signed tree is there.
        for tile in tiles_for(signed) {
            if tile.kind != TileKind::Entries {
                assert!(tiles.contains_key(&tile), "{}", tile.path());
            }
        }
        (leaves, tiles)
    }

    /// The proofs from the tiles against those from every leaf hash.
    fn same_proofs(
        leaves: &[Hash],
        tiles: &TileHashes,
        signed: u64,
        size: u64,
        index: u64,
        m: u64,
    ) {
        let wanted = tiles_for_inclusion(index, size, signed);
        let read: TileHashes = wanted.iter().map(|t| (*t, tiles[t].clone())).collect();
        assert_eq!(
            inclusion(index, size, signed, &read).unwrap(),
            merkle::proof(&leaves[..size as usize], index as usize),
            "inclusion of {index} in {size} (signed {signed})"
        );
        let wanted = tiles_for_consistency(m, size, signed);
        let read: TileHashes = wanted.iter().map(|t| (*t, tiles[t].clone())).collect();
        assert_eq!(
            consistency(m, size, signed, &read).unwrap(),
            proofs::consistency(&leaves[..size as usize], m as usize),
            "consistency of {m} with {size} (signed {signed})"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        // The proofs from the tiles are those from every leaf hash, for any size up to the
        // signed one, across tile boundaries (partial tiles at the signed edge).
        #[test]
        fn proofs_from_tiles_match_proofs_from_every_leaf(
            signed in 1u64..2_000,
            size_permille in 1u64..=1000,
            index_permille in 0u64..1000,
            from_permille in 0u64..=1000,
        ) {
            let (leaves, tiles) = stored(signed);
            let size = (signed * size_permille / 1000).max(1);
            same_proofs(
                &leaves,
                &tiles,
                signed,
                size,
                size * index_permille / 1000,
                size * from_permille / 1000,
            );
        }
    }

    // Past 65,536 leaves a proof also reads level-2 tiles.
    #[test]
    fn proofs_from_three_tile_levels_match() {
        let signed = 65_536 + 300;
        let (leaves, tiles) = stored(signed);
        for (size, index, m) in [
            (signed, 0, 1),
            (signed, signed - 1, 65_536),
            (signed, 40_000, 65_537),
            (65_536, 65_535, 256),
            (70_000.min(signed), 1, 255),
        ] {
            same_proofs(&leaves, &tiles, signed, size, index, m);
        }
    }

    // A proof reads a few tiles, not every level-0 tile.
    #[test]
    fn a_proof_in_a_large_log_reads_a_few_tiles() {
        let signed = 300_000;
        assert!(tiles_for_inclusion(123_456, signed, signed).len() <= 6);
        assert!(tiles_for_consistency(200_001, signed, signed).len() <= 8);
        let (_, tiles) = stored(1000);
        let empty = TileHashes::new();
        assert!(matches!(
            inclusion(5, 1000, 1000, &empty),
            Err(TileProofError::Missing(_))
        ));
        assert!(!tiles.is_empty());
    }
}
