//! Verifying the audit log from outside (issue 14; `trustreg audit verify`): the checkpoint's
//! signature, the tree rebuilt from the entries against the signed head, every leaf against
//! the record the API returns, and the checkpoint against the last one this verifier saw.
//! Each finding names the leaf index or tree size it is about.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::merkle::{self, Hash};
use crate::records::AuditRecord;

use super::note::EcdsaNoteKey;
use super::{Checkpoint, SignedNote, leaf};

/// What a verifier remembers of the last checkpoint it accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub size: u64,
    /// base64, as in the checkpoint.
    pub root: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum Finding {
    #[error("the checkpoint is not a signed note of the registry's key: {why}")]
    BadCheckpoint { why: String },
    #[error("checkpoint of size {size} is smaller than the {seen} already seen: rolled back")]
    RolledBack { size: u64, seen: u64 },
    #[error(
        "the tree's first {seen} leaves no longer make the head seen before: history rewritten"
    )]
    Inconsistent { seen: u64 },
    #[error("the entries do not make the signed head of size {size}")]
    HeadMismatch { size: u64 },
    #[error("leaf {index} is not an audit leaf")]
    Unreadable { index: u64 },
    #[error("leaf {index}: record {record} is missing")]
    Missing { index: u64, record: String },
    #[error("leaf {index}: record {record} was altered")]
    Altered { index: u64, record: String },
    #[error("leaf {index}: record {record} claims leaf {claimed}")]
    Misplaced {
        index: u64,
        record: String,
        claimed: u64,
    },
}

/// The checkpoint of a note, if the note verifies with `key` and names its origin.
pub fn open_checkpoint(note: &str, key: &EcdsaNoteKey) -> Result<Checkpoint, Finding> {
    let bad = |why: String| Finding::BadCheckpoint { why };
    let note = SignedNote::parse(note).map_err(|e| bad(e.to_string()))?;
    key.verify(&note).map_err(|e| bad(e.to_string()))?;
    let checkpoint = Checkpoint::parse(&note.text).map_err(|e| bad(e.to_string()))?;
    if checkpoint.origin != key.name {
        return Err(bad(format!(
            "origin {} is not {}",
            checkpoint.origin, key.name
        )));
    }
    Ok(checkpoint)
}

/// Checks a tree of `checkpoint.size` leaves (`entries`, in order) against the checkpoint,
/// the records (by id, each with the leaf index the API gives it) and what was seen before.
/// Empty when all is well. The leaves are checked on every core (each is independent); the
/// tree is hashed once, its prefix heads taken from the same levels (`merkle::Levels`).
pub fn check(
    checkpoint: &Checkpoint,
    entries: &[Vec<u8>],
    records: &HashMap<String, (AuditRecord, Option<u64>)>,
    seen: Option<&Seen>,
) -> Vec<Finding> {
    use base64::Engine;
    let (hashes, leaf_findings) = check_leaves(entries, records);
    let mut findings = Vec::new();
    let tree = merkle::Levels::new(hashes);
    if entries.len() as u64 != checkpoint.size || tree.root(tree.size()) != checkpoint.root {
        findings.push(Finding::HeadMismatch {
            size: checkpoint.size,
        });
    }
    if let Some(seen) = seen {
        if checkpoint.size < seen.size {
            findings.push(Finding::RolledBack {
                size: checkpoint.size,
                seen: seen.size,
            });
        } else {
            let old = usize::try_from(seen.size)
                .ok()
                .filter(|m| *m <= tree.size())
                .map(|m| tree.root(m));
            if old.map(|o| base64::engine::general_purpose::STANDARD.encode(o))
                != Some(seen.root.clone())
            {
                findings.push(Finding::Inconsistent { seen: seen.size });
            }
        }
    }
    findings.extend(leaf_findings);
    findings
}

/// Below this many leaves, threads cost more than they save.
const PARALLEL_FROM: usize = 4096;

/// Every entry's leaf hash, and what is wrong with each leaf, in leaf order: split over the
/// machine's cores (one thread where there are none to spare, e.g. in WebAssembly).
fn check_leaves(
    entries: &[Vec<u8>],
    records: &HashMap<String, (AuditRecord, Option<u64>)>,
) -> (Vec<Hash>, Vec<Finding>) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(16));
    if threads == 1 || entries.len() < PARALLEL_FROM {
        return check_part(0, entries, records);
    }
    let size = entries.len().div_ceil(threads);
    let parts: Vec<(Vec<Hash>, Vec<Finding>)> = std::thread::scope(|scope| {
        let running: Vec<_> = (0u64..)
            .step_by(size)
            .zip(entries.chunks(size))
            .map(|(first, part)| scope.spawn(move || check_part(first, part, records)))
            .collect();
        running
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut hashes = Vec::with_capacity(entries.len());
    let mut findings = Vec::new();
    for (h, f) in parts {
        hashes.extend(h);
        findings.extend(f);
    }
    (hashes, findings)
}

/// `check_leaves` for the entries from leaf index `first` on.
fn check_part(
    first: u64,
    entries: &[Vec<u8>],
    records: &HashMap<String, (AuditRecord, Option<u64>)>,
) -> (Vec<Hash>, Vec<Finding>) {
    let mut findings = Vec::new();
    let hashes = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
    for (index, entry) in (first..).zip(entries) {
        let Some((id, digest)) = leaf::parse_leaf(entry) else {
            findings.push(Finding::Unreadable { index });
            continue;
        };
        match records.get(id) {
            None => findings.push(Finding::Missing {
                index,
                record: id.to_owned(),
            }),
            Some((record, claimed)) => {
                if !leaf::digest_matches(record, digest) {
                    findings.push(Finding::Altered {
                        index,
                        record: id.to_owned(),
                    });
                }
                if let Some(claimed) = claimed.filter(|c| *c != index) {
                    findings.push(Finding::Misplaced {
                        index,
                        record: id.to_owned(),
                        claimed,
                    });
                }
            }
        }
    }
    (hashes, findings)
}

/// The UTC days whose audit partitions hold the records of these leaves: a record's id
/// starts with its time in milliseconds, then a dash.
pub fn days_of(entries: &[Vec<u8>]) -> Vec<String> {
    let mut days: Vec<String> = entries
        .iter()
        .filter_map(|e| leaf::parse_leaf(e))
        .filter_map(|(id, _)| id.split('-').next()?.parse::<u64>().ok())
        .map(crate::dates::utc_day)
        .collect();
    days.sort();
    days.dedup();
    days
}
