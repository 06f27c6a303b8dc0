//! Verifying the audit log from outside (issue 14; `trustreg audit verify`): the checkpoint's
//! signature, the tree rebuilt from the entries against the signed head, every leaf against
//! the record the API returns, and the checkpoint against the last one this verifier saw.
//! Each finding names the leaf index or tree size it is about.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    /// The key the checkpoint verified with, as a verifier key string: pinned from then on,
    /// so a registry (or a man in the middle) that serves another key with a log signed by it
    /// is caught, not trusted on its word. Absent in a state written before keys were pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum Finding {
    #[error("the checkpoint is not a signed note of the registry's key: {why}")]
    BadCheckpoint { why: String },
    #[error("the registry serves the key {served}, not the pinned {pinned}")]
    KeyChanged { pinned: String, served: String },
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

/// The key to verify the log with: the one pinned (given to the verifier, else remembered
/// from its last clean run), which the key the registry serves must be; the served one only
/// when nothing is pinned yet (trust on first use, as a witness or the Go checksum database's
/// client starts from a configured key).
pub fn pinned_key(
    served: EcdsaNoteKey,
    given: Option<EcdsaNoteKey>,
    seen: Option<&Seen>,
) -> Result<EcdsaNoteKey, Finding> {
    let remembered = seen.and_then(|s| s.key.clone());
    let pinned = match given {
        Some(key) => Some(key.verifier_key()),
        None => remembered,
    };
    match pinned {
        Some(pinned) if pinned != served.verifier_key() => Err(Finding::KeyChanged {
            pinned,
            served: served.verifier_key(),
        }),
        _ => Ok(served),
    }
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
/// Empty when all is well. The leaves are checked on every core (each is independent), each
/// core also hashing its part of the tree; the prefix heads are taken from the same levels
/// (`merkle::Levels`).
pub fn check(
    checkpoint: &Checkpoint,
    entries: &[Vec<u8>],
    records: &HashMap<String, (AuditRecord, Option<u64>)>,
    seen: Option<&Seen>,
) -> Vec<Finding> {
    let (tree, leaf_findings) = check_leaves(entries, records, threads());
    let mut findings = Vec::new();
    if entries.len() as u64 != checkpoint.size || tree.root(tree.size()) != checkpoint.root {
        findings.push(Finding::HeadMismatch {
            size: checkpoint.size,
        });
    }
    if let Some(seen) = seen {
        findings.extend(check_seen(checkpoint, &tree, seen));
    }
    findings.extend(leaf_findings);
    findings
}

/// Whether the checkpoint grows the head seen before: never smaller, and the tree's first
/// `seen.size` leaves still make that head.
fn check_seen(checkpoint: &Checkpoint, tree: &merkle::Levels, seen: &Seen) -> Option<Finding> {
    use base64::Engine;
    if checkpoint.size < seen.size {
        return Some(Finding::RolledBack {
            size: checkpoint.size,
            seen: seen.size,
        });
    }
    let old = usize::try_from(seen.size)
        .ok()
        .filter(|m| *m <= tree.size())
        .map(|m| tree.root(m));
    let same =
        old.is_some_and(|o| base64::engine::general_purpose::STANDARD.encode(o) == seen.root);
    (!same).then_some(Finding::Inconsistent { seen: seen.size })
}

/// The records served by id, as the API gives them.
type ById = HashMap<String, (AuditRecord, Option<u64>)>;

/// A leaf's slot: the id and fields of a record that claims the leaf, if one does.
type Slot<'a> = Option<(&'a str, leaf::RecordFields<'a>)>;

/// The slots of `leaves` leaves, filled in one read of the map in the map's own order: most
/// leaves then find their record at their own index, where hashing each leaf's id and reading
/// the map at random took as long as hashing the leaves. The fields are copied, not referred
/// to, for the same reason.
fn slots(by_id: &ById, leaves: usize) -> Vec<Slot<'_>> {
    let mut slots = vec![None; leaves];
    for (id, (record, claimed)) in by_id {
        let slot = claimed
            .and_then(|c| usize::try_from(c).ok())
            .and_then(|c| slots.get_mut(c));
        if let Some(slot) = slot {
            *slot = Some((id.as_str(), record.into()));
        }
    }
    slots
}

/// The records served, and the slots of a run of leaves from `first` on. A leaf whose slot
/// holds another id, or none, looks its id up in the map.
struct Records<'a, 's> {
    by_id: &'a ById,
    first: u64,
    slots: &'s [Slot<'a>],
}

impl<'a> Records<'a, '_> {
    /// The record of `id` and the leaf it claims, for leaf `index`.
    fn get(&self, index: u64, id: &str) -> Option<(leaf::RecordFields<'a>, Option<u64>)> {
        let slot = index
            .checked_sub(self.first)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.slots.get(i))
            .copied()
            .flatten();
        match slot {
            // Ids are the map's keys: the record in the slot is the one the map holds for `id`.
            Some((key, record)) if key == id => Some((record, Some(index))),
            _ => self
                .by_id
                .get(id)
                .map(|(record, claimed)| (record.into(), *claimed)),
        }
    }
}

/// The machine's cores, up to 16; one where there are none to spare (e.g. in WebAssembly,
/// where a thread cannot be spawned).
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(16))
}

/// Leaves are checked in blocks of 2^`BLOCK_HEIGHT`, each block's levels of the tree hashed
/// with it, aligned with the whole tree's. Below one block, threads cost more than they save.
const BLOCK_HEIGHT: usize = 12;
const BLOCK: usize = 1 << BLOCK_HEIGHT;

/// The tree of the entries, and what is wrong with each leaf, in leaf order, on `threads`
/// threads.
fn check_leaves(
    entries: &[Vec<u8>],
    records: &ById,
    threads: usize,
) -> (merkle::Levels, Vec<Finding>) {
    if threads <= 1 || entries.len() < BLOCK {
        let slots = slots(records, entries.len());
        let (hashes, findings) = check_run(0, entries, records, &slots);
        return (merkle::Levels::new(hashes), findings);
    }
    let mut trees = Vec::new();
    let mut findings = Vec::new();
    for (tree, found) in check_blocks(entries, records, threads) {
        trees.push(tree);
        findings.extend(found);
    }
    (merkle::Levels::join(trees, BLOCK_HEIGHT), findings)
}

/// Each block's levels and findings, in block order. The threads take the next block as they
/// finish one, so that a thread slowed by other work on its core checks fewer of them. The
/// first thread fills the leaves' slots first, once for all; until it has, the others look
/// their leaves' records up by id.
fn check_blocks(
    entries: &[Vec<u8>],
    records: &ById,
    threads: usize,
) -> Vec<(merkle::Part, Vec<Finding>)> {
    let blocks = Blocks {
        blocks: entries.chunks(BLOCK).collect(),
        next: AtomicUsize::new(0),
        records,
        filled: OnceLock::new(),
    };
    let mut done: Vec<(usize, merkle::Part, Vec<Finding>)> = std::thread::scope(|scope| {
        let running: Vec<_> = (0..threads)
            .map(|t| {
                let blocks = &blocks;
                scope.spawn(move || {
                    if t == 0 {
                        blocks.fill(entries.len());
                    }
                    blocks.check_the_next()
                })
            })
            .collect();
        running.into_iter().flat_map(joined).collect()
    });
    done.sort_unstable_by_key(|(b, ..)| *b);
    done.into_iter()
        .map(|(_, tree, found)| (tree, found))
        .collect()
}

/// The blocks of leaves the threads share, and the leaves' slots once filled.
struct Blocks<'a, 'e> {
    blocks: Vec<&'e [Vec<u8>]>,
    /// The first block no thread has taken.
    next: AtomicUsize,
    records: &'a ById,
    filled: OnceLock<Vec<Slot<'a>>>,
}

impl Blocks<'_, '_> {
    fn fill(&self, leaves: usize) {
        self.filled.get_or_init(|| slots(self.records, leaves));
    }

    /// A thread's share: the next block no thread has taken, until none is left, each with
    /// its number, levels and findings.
    fn check_the_next(&self) -> Vec<(usize, merkle::Part, Vec<Finding>)> {
        let mut mine = Vec::new();
        loop {
            let b = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(block) = self.blocks.get(b) else {
                return mine;
            };
            let first = b * BLOCK;
            let slots = self
                .filled
                .get()
                .and_then(|s| s.get(first..first + block.len()))
                .unwrap_or_default();
            let (hashes, found) = check_run(first as u64, block, self.records, slots);
            mine.push((b, merkle::Part::new(hashes, BLOCK_HEIGHT), found));
        }
    }
}

/// A scoped thread's result, its panic passed on.
fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Leaf hashes and findings for the entries from leaf index `first` on, with their slots.
fn check_run(
    first: u64,
    entries: &[Vec<u8>],
    by_id: &ById,
    slots: &[Slot],
) -> (Vec<Hash>, Vec<Finding>) {
    let records = Records {
        by_id,
        first,
        slots,
    };
    let mut findings = Vec::new();
    let mut hashes = Vec::with_capacity(entries.len());
    let mut digester = leaf::Digester::default();
    for (index, entry) in (first..).zip(entries) {
        hashes.push(merkle::leaf_hash(entry));
        check_leaf(index, entry, &records, &mut digester, &mut findings);
    }
    (hashes, findings)
}

/// What is wrong with leaf `index`, if anything: unreadable, its record missing, altered or
/// claiming another leaf.
fn check_leaf(
    index: u64,
    entry: &[u8],
    records: &Records,
    digester: &mut leaf::Digester,
    findings: &mut Vec<Finding>,
) {
    let Some((id, digest)) = leaf::parse_leaf(entry) else {
        findings.push(Finding::Unreadable { index });
        return;
    };
    let Some((record, claimed)) = records.get(index, id) else {
        findings.push(Finding::Missing {
            index,
            record: id.to_owned(),
        });
        return;
    };
    if !digester.matches(record, digest) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Outcome;

    fn record(i: u64) -> AuditRecord {
        AuditRecord {
            id: format!("{:013}-{i:05x}", 1_764_000_000_000u64 + i),
            at_ms: 1_764_000_000_000 + i,
            actor: format!("enquirer:{i}"),
            action: "lookup".into(),
            target: (!i.is_multiple_of(5)).then(|| format!("root:{i}")),
            outcome: Outcome::Accepted,
            code: None,
        }
    }

    /// The findings of every leaf as the verifier first checked them, one by one: each
    /// leaf's id looked up in the map, its record digested afresh.
    fn one_by_one(entries: &[Vec<u8>], records: &ById) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (index, entry) in (0u64..).zip(entries) {
            let Some((id, digest)) = leaf::parse_leaf(entry) else {
                findings.push(Finding::Unreadable { index });
                continue;
            };
            let record = id.to_owned();
            match records.get(id) {
                None => findings.push(Finding::Missing { index, record }),
                Some((r, claimed)) => {
                    if !leaf::digest_matches(r, digest) {
                        findings.push(Finding::Altered {
                            index,
                            record: record.clone(),
                        });
                    }
                    if let Some(claimed) = claimed.filter(|c| *c != index) {
                        findings.push(Finding::Misplaced {
                            index,
                            record,
                            claimed,
                        });
                    }
                }
            }
        }
        findings
    }

    /// A log of `n` leaves, and records served with every kind of fault, spread over it.
    fn tampered(n: u64) -> (Vec<Vec<u8>>, ById) {
        let records: Vec<AuditRecord> = (0..n).map(record).collect();
        let mut entries: Vec<Vec<u8>> = records.iter().map(leaf::audit_leaf).collect();
        let mut served: ById = records
            .iter()
            .zip(0..)
            .map(|(r, i)| (r.id.clone(), (r.clone(), Some(i))))
            .collect();
        for i in (3..n).step_by(997) {
            served
                .entry(records[i as usize].id.clone())
                .and_modify(|(r, _)| r.outcome = Outcome::Rejected);
        }
        for i in (5..n).step_by(1499) {
            served.remove(&records[i as usize].id);
        }
        for i in (7..n).step_by(2003) {
            // Claims another leaf, or one past the tree, or none.
            let claim = [Some(i + 1), Some(n + i), None][(i % 3) as usize];
            served
                .entry(records[i as usize].id.clone())
                .and_modify(|(_, c)| *c = claim);
        }
        for i in (11..n).step_by(3001) {
            // A record served under its id but claiming the leaf of the record before it.
            let mut other = records[i as usize - 1].clone();
            other.id = format!("{}-extra", other.id);
            served.insert(other.id.clone(), (other, Some(i - 1)));
            entries[i as usize] = b"not an audit leaf".to_vec();
        }
        for i in (13..n).step_by(4001) {
            // Its id kept as the key, the record itself names another id.
            served
                .entry(records[i as usize].id.clone())
                .and_modify(|(r, _)| r.id = "other".into());
        }
        (entries, served)
    }

    #[test]
    fn every_finding_is_found_alike_on_one_thread_or_many() {
        for n in [BLOCK as u64 - 1, BLOCK as u64, 3 * BLOCK as u64 + 17] {
            let (entries, served) = tampered(n);
            let expected = one_by_one(&entries, &served);
            assert!(expected.len() > 5, "{expected:?}");
            let whole = merkle::root(
                &entries
                    .iter()
                    .map(|e| merkle::leaf_hash(e))
                    .collect::<Vec<_>>(),
            );
            // Without slots (a thread that starts before they are filled): all by id.
            assert_eq!(check_run(0, &entries, &served, &[]).1, expected, "n={n}");
            for threads in [1, 2, 3, 5] {
                let (tree, findings) = check_leaves(&entries, &served, threads);
                assert_eq!(findings, expected, "n={n} threads={threads}");
                assert_eq!(tree.root(tree.size()), whole, "n={n} threads={threads}");
            }
        }
    }
}
