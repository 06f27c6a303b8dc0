//! What a leaf of the audit log holds: the record's id and the SHA-256 of its canonical JSON,
//! never the record itself, so the log (public to enquirers) reveals no PII an audit record
//! may carry (an actor, a target). A verifier recomputes the digest from the record the API
//! returns and compares.

use sha2::{Digest, Sha256};

use crate::records::{AuditRecord, Outcome};

/// Leaf data: `<record id> <hex SHA-256 of the record's JSON>`.
pub fn audit_leaf(record: &AuditRecord) -> Vec<u8> {
    format!("{} {}", record.id, record_digest(record)).into_bytes()
}

/// The record's JSON as serde writes the struct (fields in declaration order, absent options
/// skipped): the same bytes whoever serializes the same record.
pub fn record_digest(record: &AuditRecord) -> String {
    // Serializing a struct of strings and numbers cannot fail.
    let json = serde_json::to_vec(record).unwrap_or_default();
    data_encoding::HEXLOWER.encode(&Sha256::digest(json))
}

/// Whether `digest` (a leaf's hex) is the digest of `record`, without allocating (the
/// verifier does this for every leaf).
pub fn digest_matches(record: &AuditRecord, digest: &str) -> bool {
    Digester::default().matches(record.into(), digest)
}

/// An audit record's fields, borrowed: what a digest is made of, small enough to copy into
/// an index (the verifier's, by leaf) where the record itself would be read at random.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordFields<'a> {
    pub id: &'a str,
    pub at_ms: u64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub outcome: Outcome,
    pub code: Option<&'a str>,
}

impl<'a> From<&'a AuditRecord> for RecordFields<'a> {
    fn from(record: &'a AuditRecord) -> Self {
        // Every field named: a field added to the record fails to compile until it is here,
        // and so in the digest.
        let AuditRecord {
            id,
            at_ms,
            actor,
            action,
            target,
            outcome,
            code,
        } = record;
        RecordFields {
            id,
            at_ms: *at_ms,
            actor,
            action,
            target: target.as_deref(),
            outcome: *outcome,
            code: code.as_deref(),
        }
    }
}

/// Digests records one after another in one buffer: the verifier digests every record of
/// the log, and one buffer for all spares an allocation per record.
#[derive(Debug, Default)]
pub struct Digester {
    json: Vec<u8>,
}

impl Digester {
    /// SHA-256 of the record's JSON, as `record_digest` before it is written in hex.
    pub fn digest(&mut self, record: RecordFields<'_>) -> [u8; 32] {
        self.json.clear();
        write_json(record, &mut self.json);
        Sha256::digest(&self.json).into()
    }

    /// `digest_matches`, in this digester's buffer.
    pub fn matches(&mut self, record: RecordFields<'_>, digest: &str) -> bool {
        // The record's digest written in hex and compared, rather than the leaf's decoded:
        // lowercase hex spells each digest one way only, so the two agree, and writing hex
        // takes no checking.
        digest.len() == 64 && hex(&self.digest(record)) == digest.as_bytes()
    }
}

/// Lowercase hex of a digest, as `data_encoding::HEXLOWER` writes it: its general encoder
/// took 3% of the verifier's time, this loop a fraction of that.
fn hex(digest: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
    out
}

/// The record's JSON exactly as serde_json writes it (`record_digest`'s bytes), written
/// directly: serde's machinery took as long as hashing the result. The tests compare the two
/// encodings.
fn write_json(record: RecordFields<'_>, out: &mut Vec<u8>) {
    let RecordFields {
        id,
        at_ms,
        actor,
        action,
        target,
        outcome,
        code,
    } = record;
    out.extend_from_slice(b"{\"id\":");
    write_str(id, out);
    out.extend_from_slice(b",\"at_ms\":");
    write_u64(at_ms, out);
    out.extend_from_slice(b",\"actor\":");
    write_str(actor, out);
    out.extend_from_slice(b",\"action\":");
    write_str(action, out);
    if let Some(target) = target {
        out.extend_from_slice(b",\"target\":");
        write_str(target, out);
    }
    out.extend_from_slice(b",\"outcome\":");
    out.extend_from_slice(match outcome {
        Outcome::Accepted => b"\"accepted\"",
        Outcome::Rejected => b"\"rejected\"",
    });
    if let Some(code) = code {
        out.extend_from_slice(b",\"code\":");
        write_str(code, out);
    }
    out.push(b'}');
}

/// A JSON string: as is between quotes when nothing in it needs escaping (the usual case),
/// else escaped by serde_json itself.
fn write_str(s: &str, out: &mut Vec<u8>) {
    // A fold without an early exit, which the compiler turns into vector code: `any` went
    // byte by byte, three times as long.
    let plain = s.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if !plain {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
        return;
    }
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// A decimal number, as serde_json writes a u64.
fn write_u64(mut n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The record id a leaf names, and its digest.
pub fn parse_leaf(data: &[u8]) -> Option<(&str, &str)> {
    std::str::from_utf8(data).ok()?.split_once(' ')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(
        (id, at_ms, actor, action): (String, u64, String, String),
        (target, rejected, code): (Option<String>, bool, Option<String>),
    ) -> AuditRecord {
        AuditRecord {
            id,
            at_ms,
            actor,
            action,
            target,
            outcome: if rejected {
                Outcome::Rejected
            } else {
                Outcome::Accepted
            },
            code,
        }
    }

    proptest! {
        // Any string, with quotes, backslashes, control and non-ASCII characters among them.
        #[test]
        fn the_digesters_json_is_serde_jsons(
            strings in (".*", any::<u64>(), "[a-z:\"\\\\\u{0}-\u{1f}\u{7f}é€😀]*", ".*"),
            rest in (proptest::option::of(".*"), any::<bool>(), proptest::option::of(".*")),
        ) {
            let r = record(strings, rest);
            let mut json = Vec::new();
            write_json((&r).into(), &mut json);
            prop_assert_eq!(&json, &serde_json::to_vec(&r).unwrap());
            let digest = record_digest(&r);
            prop_assert!(digest_matches(&r, &digest));
        }
    }

    #[test]
    fn every_outcome_and_edge_number_is_written_as_serde_writes_it() {
        for (outcome, at_ms) in [(Outcome::Accepted, 0), (Outcome::Rejected, u64::MAX)] {
            let r = AuditRecord {
                id: "1-a".into(),
                at_ms,
                actor: "admin:alice".into(),
                action: "put-root".into(),
                target: None,
                outcome,
                code: Some("denied".into()),
            };
            let mut json = Vec::new();
            write_json((&r).into(), &mut json);
            assert_eq!(json, serde_json::to_vec(&r).unwrap());
        }
    }

    #[test]
    fn hex_is_data_encodings() {
        let digest: [u8; 32] = std::array::from_fn(|i| (i * 37 + 11) as u8);
        assert_eq!(
            hex(&digest).as_slice(),
            data_encoding::HEXLOWER.encode(&digest).as_bytes()
        );
    }

    #[test]
    fn a_digest_that_is_not_64_lowercase_hex_never_matches() {
        let r = record(
            ("1-a".into(), 1, "a".into(), "b".into()),
            (None, false, None),
        );
        let digest = record_digest(&r);
        assert!(digest_matches(&r, &digest));
        assert!(!digest_matches(&r, &digest.to_uppercase()));
        assert!(!digest_matches(&r, &digest[1..]));
        assert!(!digest_matches(&r, &format!("{digest}0")));
    }
}
