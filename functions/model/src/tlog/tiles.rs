//! C2SP `tlog-tiles`: the tree stored as tiles of 256 hashes (height 8), each immutable once
//! full, and the entries bundles of 256 leaves beside the level-0 tiles.
//!
//! A tile at level L, index N, width W holds the W hashes at tree level 8L numbered
//! 256N..256N+W: each the head of a perfect subtree of 256^L leaves. A partial tile (W < 256)
//! is published as `<path>.p/<W>` and superseded by wider ones; full tiles never change.

use crate::merkle::{self, Hash};

use super::TlogError;

pub const HEIGHT: u32 = 8;
pub const WIDTH: u64 = 1 << HEIGHT;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Hashes at tree level 8 × this level.
    Hashes(u8),
    /// The leaves' data (level 0 only), each a big-endian u16 length and the bytes.
    Entries,
}

/// One tile's address: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    pub kind: TileKind,
    pub index: u64,
    /// 1..=256; 256 is a full tile.
    pub width: u16,
}

impl Tile {
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes(l) => l.to_string(),
            TileKind::Entries => "entries".into(),
        };
        let mut path = format!("tile/{level}/{}", encode_index(self.index));
        if u64::from(self.width) < WIDTH {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses a path as the spec writes it (the `tile/` prefix included); anything else,
    /// including a non-canonical index or width, is refused.
    pub fn parse(path: &str) -> Result<Tile, TlogError> {
        let bad = || TlogError::TilePath(path.chars().take(80).collect());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (level, rest) = rest.split_once('/').ok_or_else(bad)?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            // Levels are small decimals without leading zeros; 63 covers any u64 size.
            let l: u8 = canonical_decimal(level).ok_or_else(bad)?;
            if l > 63 {
                return Err(bad());
            }
            TileKind::Hashes(l)
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let w: u16 = canonical_decimal(width).ok_or_else(bad)?;
                if w == 0 || u64::from(w) >= WIDTH {
                    return Err(bad());
                }
                (index, w)
            }
            None => (rest, WIDTH as u16),
        };
        let tile = Tile {
            kind,
            index: decode_index(index).ok_or_else(bad)?,
            width,
        };
        // Round trip: one path per tile, so caches never hold two copies.
        if tile.path() != path {
            return Err(bad());
        }
        Ok(tile)
    }
}

fn canonical_decimal<T: std::str::FromStr + ToString>(s: &str) -> Option<T> {
    let v: T = s.parse().ok()?;
    (v.to_string() == s).then_some(v)
}

/// The index as 3-digit groups, every group but the last prefixed with `x`:
/// 1234067 -> `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let mut groups = Vec::new();
    let mut n = n;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g:03}")
            } else {
                format!("{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn decode_index(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('/').collect();
    let mut n: u64 = 0;
    for (i, part) in parts.iter().enumerate() {
        let digits = if i + 1 < parts.len() {
            part.strip_prefix('x')?
        } else {
            part
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    Some(n)
}

/// The tiles (full and partial) that make up a tree of `size` leaves, hashes of every level and
/// the entries: what a verifier fetches.
pub fn tiles_for(size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    let mut level = 0u8;
    let mut count = size;
    while count > 0 {
        let full = count / WIDTH;
        let part = (count % WIDTH) as u16;
        for index in 0..full {
            out.push(Tile {
                kind: TileKind::Hashes(level),
                index,
                width: WIDTH as u16,
            });
            if level == 0 {
                out.push(Tile {
                    kind: TileKind::Entries,
                    index,
                    width: WIDTH as u16,
                });
            }
        }
        if part > 0 {
            out.push(Tile {
                kind: TileKind::Hashes(level),
                index: full,
                width: part,
            });
            if level == 0 {
                out.push(Tile {
                    kind: TileKind::Entries,
                    index: full,
                    width: part,
                });
            }
        }
        count = full;
        level += 1;
    }
    out
}

/// A hash tile's bytes: the hashes back to back.
pub fn hashes_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

pub fn parse_hashes(bytes: &[u8], width: u16) -> Result<Vec<Hash>, TlogError> {
    if bytes.len() != usize::from(width) * 32 {
        return Err(TlogError::Tile("hash tile of the wrong length"));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// An entries bundle: each leaf's data as a big-endian u16 length and the bytes.
pub fn entries_bytes(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        // Leaves are short (leaf.rs); a longer one is cut to its length field's range there.
        let len = u16::try_from(e.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&e[..usize::from(len)]);
    }
    out
}

pub fn parse_entries(bytes: &[u8], width: u16) -> Result<Vec<Vec<u8>>, TlogError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(TlogError::Tile("entry length cut short"));
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            return Err(TlogError::Tile("entry cut short"));
        }
        out.push(rest[2..2 + len].to_vec());
        rest = &rest[2 + len..];
    }
    if out.len() != usize::from(width) {
        return Err(TlogError::Tile("entries bundle of the wrong width"));
    }
    Ok(out)
}

/// The right edge of the tree: at each level, the hashes of its partial tile (fewer than 256).
/// With it the sequencer appends leaves and computes the new head without reading any full
/// tile again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edge {
    pub size: u64,
    /// Entries of the partial level-0 tile.
    pub entries: Vec<Vec<u8>>,
    /// `levels[L]`: hashes of level L's partial tile.
    pub levels: Vec<Vec<Hash>>,
}

/// What one append wrote: the tiles to store (full ones once, partial ones superseding), with
/// their bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub tiles: Vec<(Tile, Vec<u8>)>,
}

impl Edge {
    /// Appends leaves (their data); returns every tile that changed, full or partial.
    pub fn append(&mut self, entries: &[Vec<u8>]) -> Written {
        let mut written = Written::default();
        let mut touched = vec![false; self.levels.len()];
        for data in entries {
            let index = self.size;
            self.entries.push(data.clone());
            if self.entries.len() as u64 == WIDTH {
                written.tiles.push((
                    Tile {
                        kind: TileKind::Entries,
                        index: index / WIDTH,
                        width: WIDTH as u16,
                    },
                    entries_bytes(&self.entries),
                ));
                self.entries.clear();
            }
            self.push(0, merkle::leaf_hash(data), &mut written, &mut touched);
            self.size += 1;
        }
        if !self.entries.is_empty() && !entries.is_empty() {
            written.tiles.push((
                Tile {
                    kind: TileKind::Entries,
                    index: self.size / WIDTH,
                    width: self.entries.len() as u16,
                },
                entries_bytes(&self.entries),
            ));
        }
        for (level, hashes) in self.levels.iter().enumerate() {
            if touched.get(level).copied().unwrap_or(false) && !hashes.is_empty() {
                let count = self.size >> (HEIGHT * level as u32);
                written.tiles.push((
                    Tile {
                        kind: TileKind::Hashes(level as u8),
                        index: count / WIDTH,
                        width: hashes.len() as u16,
                    },
                    hashes_bytes(hashes),
                ));
            }
        }
        written
    }

    fn push(&mut self, level: usize, hash: Hash, written: &mut Written, touched: &mut Vec<bool>) {
        if self.levels.len() <= level {
            self.levels.resize(level + 1, Vec::new());
            touched.resize(level + 1, false);
        }
        touched[level] = true;
        self.levels[level].push(hash);
        if self.levels[level].len() as u64 == WIDTH {
            let full = std::mem::take(&mut self.levels[level]);
            // Hashes at level `level` counted after this push, in units of 256^level leaves.
            let count = (self.size + 1) >> (HEIGHT * level as u32);
            written.tiles.push((
                Tile {
                    kind: TileKind::Hashes(level as u8),
                    index: count / WIDTH - 1,
                    width: WIDTH as u16,
                },
                hashes_bytes(&full),
            ));
            // 256 hashes form a perfect subtree: its MTH is the next level's hash.
            self.push(level + 1, merkle::root(&full), written, touched);
        }
    }

    /// The tree head: the perfect subtrees of the right edge, largest first, folded from the
    /// right as RFC 9162's MTH splits them.
    pub fn root(&self) -> Hash {
        let mut subtrees: Vec<Hash> = Vec::new();
        for hashes in self.levels.iter().rev() {
            let mut rest: &[Hash] = hashes;
            while !rest.is_empty() {
                let k = 1usize << (usize::BITS - 1 - rest.len().leading_zeros());
                subtrees.push(merkle::root(&rest[..k]));
                rest = &rest[k..];
            }
        }
        let Some(mut head) = subtrees.pop() else {
            return merkle::root(&[]);
        };
        while let Some(left) = subtrees.pop() {
            head = merkle::node_hash(&left, &head);
        }
        head
    }

    /// The edge of a stored tree, rebuilt from its partial tiles (`hashes[L]` for each level
    /// with one, and the partial entries bundle).
    pub fn from_tiles(size: u64, entries: Vec<Vec<u8>>, levels: Vec<Vec<Hash>>) -> Edge {
        Edge {
            size,
            entries,
            levels,
        }
    }
}
