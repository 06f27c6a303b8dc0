//! What a leaf of the audit log holds: the record's id and the SHA-256 of its canonical JSON,
//! never the record itself, so the log (public to enquirers) reveals no PII an audit record
//! may carry (an actor, a target). A verifier recomputes the digest from the record the API
//! returns and compares.

use sha2::{Digest, Sha256};

use crate::records::AuditRecord;

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

/// Whether `digest` (a leaf's hex) is the digest of `record`: compared as bytes, without
/// writing the record's digest out in hex (the verifier does this for every leaf).
pub fn digest_matches(record: &AuditRecord, digest: &str) -> bool {
    // decode_mut wants exactly the output's length of input.
    let mut expected = [0u8; 32];
    if digest.len() != 64
        || data_encoding::HEXLOWER
            .decode_mut(digest.as_bytes(), &mut expected)
            .is_err()
    {
        return false;
    }
    let json = serde_json::to_vec(record).unwrap_or_default();
    let actual: [u8; 32] = Sha256::digest(json).into();
    actual == expected
}

/// The record id a leaf names, and its digest.
pub fn parse_leaf(data: &[u8]) -> Option<(&str, &str)> {
    std::str::from_utf8(data).ok()?.split_once(' ')
}
