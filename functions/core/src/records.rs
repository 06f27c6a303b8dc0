//! What the registry stores: device records, status transitions, audit records, nonces.

use serde::{Deserialize, Serialize};

use crate::identifier::RegDevId;
use crate::messages::{DeviceInfo, Purpose};
use crate::status::{Facts, Reason, TrustStatus};

/// A registered device (Y.3059 9.2 i e). `version` guards every update (optimistic locking).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub regdevid: RegDevId,
    /// The device key from its secure element, as a JWK (RFC 7517).
    pub public_key: serde_json::Value,
    /// JWK thumbprint (RFC 7638) of `public_key`: how "the same key" is recognized.
    pub key_thumbprint: String,
    /// Id of the accepted manufacturer root the device chains to (7 ii).
    pub root_id: String,
    pub leaf_fingerprint: String,
    pub info: DeviceInfo,
    pub trust_domains: Vec<String>,
    /// Owner or custodian PII, sealed with the registry's PII key; never stored in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_sealed: Option<String>,
    pub facts: Facts,
    pub status: TrustStatus,
    pub reasons: Vec<Reason>,
    pub status_since_ms: u64,
    /// When time alone changes the status (a report falls due); indexed for the scheduled
    /// evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_evaluation_at_ms: Option<u64>,
    pub registered_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at_ms: Option<u64>,
    /// The credential issued at registration, returned again on an idempotent repeat.
    pub credential: String,
    pub version: u64,
}

/// A change of trust status with its reasons (kept in the device's history).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub regdevid: RegDevId,
    pub at_ms: u64,
    pub from: Option<TrustStatus>,
    pub to: TrustStatus,
    pub reasons: Vec<Reason>,
    pub actor: String,
    pub cause: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Accepted,
    Rejected,
}

/// One audited transaction (Y.3059 7 i c): who did what to what, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Sortable: zero-padded milliseconds, then random hex.
    pub id: String,
    pub at_ms: u64,
    pub actor: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub outcome: Outcome,
    /// For a rejection, the problem code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nonce {
    pub value: String,
    pub purpose: Purpose,
    pub expires_at_ms: u64,
}

/// A manufacturer CA the registry accepts as root of trust (Y.3059 9.1 vi, 7 ii).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootOfTrust {
    /// Hex SHA-256 of the certificate's DER.
    pub id: String,
    pub name: String,
    /// Base64 (standard) DER.
    pub certificate: String,
    pub rot_types: Vec<String>,
}
