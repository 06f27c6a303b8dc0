//! One listing over several partitions, in sort-key order: a day's audit records are spread
//! over shards (`keys::audit`), and `GET /v1/audit?day=` pages through all of them as if they
//! were one. Pure: the reads are the caller's (`audit_days`).
//!
//! Each page reads up to `limit` items from every partition not yet exhausted, from where the
//! cursor left it, and answers the smallest `limit` of them, but none past the point where a
//! partition with more to read stopped: what it has not read yet might sort before. The cursor
//! holds each partition's position (its start, after a sort key, or done), base64url JSON
//! like the listings' other cursors, and is checked before any key reaches DynamoDB; it only
//! names sort keys, the partitions being the reader's own, so a forged one can only move
//! within the day's records.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use trustreg_core::error::StoreError;

/// Longer cursors are refused before decoding (33 partitions of ids near 30 characters make
/// about 1.5 KB).
const MAX_CURSOR_LEN: usize = 4_096;
/// No sort key of an audit record comes near: a longer one is not ours.
const MAX_SORT_KEY_LEN: usize = 256;

/// Where one partition's reading stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Position {
    /// Not read yet.
    #[serde(rename = "s")]
    Start,
    /// Read up to and including this sort key.
    #[serde(rename = "a")]
    After(String),
    /// Read to its end.
    #[serde(rename = "d")]
    Done,
}

/// The client's cursor: one position per partition, in the reader's partition order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergedCursor {
    #[serde(rename = "m")]
    pub positions: Vec<Position>,
}

impl MergedCursor {
    /// Every partition from its start.
    pub(crate) fn start(partitions: usize) -> Self {
        Self {
            positions: vec![Position::Start; partitions],
        }
    }

    pub(crate) fn encode(&self) -> Result<String, StoreError> {
        let json =
            serde_json::to_vec(self).map_err(|e| StoreError::Failed(format!("cursor: {e}")))?;
        Ok(URL_SAFE_NO_PAD.encode(&json))
    }

    /// The cursor `text` of a listing over `partitions` partitions; anything else (another
    /// listing's cursor, a count that does not fit, an empty or overlong key) is refused as
    /// `invalid cursor`.
    pub(crate) fn decode(text: &str, partitions: usize) -> Result<Self, StoreError> {
        let invalid = StoreError::invalid_cursor;
        if text.len() > MAX_CURSOR_LEN {
            return Err(invalid("too long"));
        }
        let json = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| invalid("not base64url"))?;
        let cursor: Self = serde_json::from_slice(&json).map_err(|_| invalid("not a cursor"))?;
        if cursor.positions.len() != partitions {
            return Err(invalid("not a position of this listing"));
        }
        let fits = cursor.positions.iter().all(|p| match p {
            Position::After(key) => !key.is_empty() && key.len() <= MAX_SORT_KEY_LEN,
            _ => true,
        });
        if !fits || cursor.positions.iter().all(|p| *p == Position::Done) {
            return Err(invalid("not a position of this listing"));
        }
        Ok(cursor)
    }
}

/// What one Query of a partition gave: its items with their sort keys, in order, and the sort
/// key of its LastEvaluatedKey when it has more.
pub(crate) struct Fetched<T> {
    pub items: Vec<(String, T)>,
    pub more: Option<String>,
}

/// The page: the next at most `limit` items over all partitions in sort-key order, and the
/// cursor after them (none when every partition is read to its end). `fetched` holds one
/// entry per partition of `cursor`, `None` for those already done.
pub(crate) fn merge<T>(
    cursor: &MergedCursor,
    fetched: Vec<Option<Fetched<T>>>,
    limit: usize,
) -> (Vec<T>, Option<MergedCursor>) {
    // Past the smallest point where a partition with more stopped, its unread items could
    // sort first: nothing beyond it is answered yet.
    let bound: Option<String> = fetched
        .iter()
        .flatten()
        .filter_map(|f| f.more.clone())
        .min();
    let mut candidates: Vec<(String, usize, T)> = Vec::new();
    let mut read: Vec<Option<(usize, Option<String>)>> = Vec::with_capacity(fetched.len());
    for (part, f) in fetched.into_iter().enumerate() {
        match f {
            Some(f) => {
                read.push(Some((f.items.len(), f.more)));
                candidates.extend(
                    f.items
                        .into_iter()
                        .filter(|(key, _)| bound.as_ref().is_none_or(|b| key <= b))
                        .map(|(key, item)| (key, part, item)),
                );
            }
            None => read.push(None),
        }
    }
    candidates.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    candidates.truncate(limit);

    let mut taken = vec![0usize; read.len()];
    let mut last: Vec<Option<String>> = vec![None; read.len()];
    for (key, part, _) in &candidates {
        taken[*part] += 1;
        last[*part] = Some(key.clone());
    }
    let positions: Vec<Position> = read
        .into_iter()
        .enumerate()
        .map(|(part, r)| match r {
            None => Position::Done,
            // Everything read was answered: resume after what DynamoDB stopped at, or done.
            Some((count, Some(key))) if taken[part] == count => Position::After(key),
            Some((count, None)) if taken[part] == count => Position::Done,
            Some(_) => match last[part].take() {
                Some(key) => Position::After(key),
                None => cursor
                    .positions
                    .get(part)
                    .cloned()
                    .unwrap_or(Position::Start),
            },
        })
        .collect();
    let items = candidates.into_iter().map(|(_, _, item)| item).collect();
    let next = positions
        .iter()
        .any(|p| *p != Position::Done)
        .then_some(MergedCursor { positions });
    (items, next)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
