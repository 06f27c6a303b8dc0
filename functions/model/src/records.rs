//! What the registry stores: device records, status transitions, audit records, nonces.

use serde::{Deserialize, Serialize};

use crate::identifier::RegDevId;
use crate::messages::{DeviceInfo, Purpose};
pub use crate::messages::{OwnerKind, Verification, VerificationState};
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
    /// The owner or custodian (`OwnerRecord`); their PII lives sealed on that record only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
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
    /// A transfer the current owner offered, waiting for the receiving owner (9.2 i d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_offer: Option<TransferOffer>,
    pub version: u64,
}

/// An owner's offer of its device to another owner, who must accept it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferOffer {
    /// The receiving owner's id.
    pub to: String,
    /// Who offered it (`owner:<id>`).
    pub by: String,
    pub at_ms: u64,
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

/// What the registry remembers of a change a client named with an idempotency key
/// (`crate::idempotency`): written in the change's own transaction, so a change that was
/// stored always leaves its receipt, and a retry is answered from it instead of applied again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// Digest of (signer, route, target, key): where the receipt is kept.
    pub id: String,
    /// Digest of the request's intent (its claims but the nonce and the key).
    pub intent: String,
    /// The answer the change had, replayed to a retry.
    pub response: serde_json::Value,
    pub at_ms: u64,
    /// Kept at least until then (DynamoDB TTL removes it some time after).
    pub expires_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nonce {
    pub value: String,
    pub purpose: Purpose,
    pub expires_at_ms: u64,
    /// A `tpm-activation` nonce's credential: what the registration over it must show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<TpmActivation>,
}

/// What the registry made a TPM credential for (`Registry::tpm_challenge`); the secret itself
/// is not kept, only its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TpmActivation {
    /// Lowercase hex of the AK's Name.
    pub ak_name: String,
    /// Lowercase hex SHA-256 of the secret.
    pub secret_sha256: String,
    /// The accepted root the EK certificate chained to.
    pub ek_root_id: String,
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
    /// The identifiers its devices may carry (`rot::scope`); a root stored before scopes
    /// existed has none, and certifies nothing until an administrator gives it its ranges.
    #[serde(default)]
    pub identifier_scopes: Vec<String>,
    /// Intermediate CAs under it that an administrator revoked (`rot::intermediate_id`), for
    /// good: putting the root again keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked_intermediates: Vec<String>,
}

impl RootOfTrust {
    /// The root as chain verification takes it; `None` when its stored certificate is not
    /// base64 (never stored so: `accept_root` checks it).
    pub fn accepted(&self) -> Option<crate::rot::AcceptedRoot> {
        use base64::Engine as _;
        Some(crate::rot::AcceptedRoot {
            id: self.id.clone(),
            der: base64::engine::general_purpose::STANDARD
                .decode(&self.certificate)
                .ok()?,
            scopes: self.identifier_scopes.clone(),
            rot_types: self.rot_types.clone(),
            revoked_intermediates: self.revoked_intermediates.clone(),
        })
    }
}

/// A virtual RegDevID (9.2 i f): stands for `regdevid` until `expires_at_ms`, or for one
/// resolution when `single_use`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualIdRecord {
    pub virtual_id: String,
    pub regdevid: RegDevId,
    pub issued_at_ms: u64,
    pub expires_at_ms: u64,
    pub single_use: bool,
}

/// An owner or custodian (9.2 i d). The identity attributes are PII: stored only sealed with
/// the registry's PII key under the owner id, so they open for no other record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerRecord {
    pub owner_id: String,
    /// Stored as `owner_kind`: `kind` tells the table's item types apart.
    #[serde(rename = "owner_kind")]
    pub kind: OwnerKind,
    pub attributes_sealed: String,
    /// The owner's signing key (JWK), when the owner signs requests (kid `owner:<owner_id>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<serde_json::Value>,
    pub verification: Verification,
    pub created_at_ms: u64,
    pub version: u64,
}

/// One link of a device's custody chain, kept in its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyEntry {
    pub regdevid: RegDevId,
    pub at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `None`: the custody of `from` ended without passing to anyone (its revocation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub actor: String,
}

/// A vulnerability report (Y.3059 9.3 ii b): timestamped, with its source, open or fixed.
/// `cursor`, `affected` and `complete` track the bounded re-evaluation of its devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilityRecord {
    pub id: String,
    pub source: VulnerabilitySource,
    pub reported_at_ms: u64,
    pub severity: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve: Option<String>,
    pub summary: String,
    pub target: crate::messages::VulnerabilityTarget,
    pub state: VulnerabilityState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_in_firmware: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_at_ms: Option<u64>,
    /// Who declared it fixed (an audit name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_by: Option<String>,
    /// Where the current pass over the target resumes (opaque to all but the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Devices found affected (or, once fixed, cleared) by the current pass so far.
    pub affected: u64,
    /// The current pass is done.
    pub complete: bool,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnerabilitySource {
    pub kind: crate::messages::SourceKind,
    pub name: String,
}

impl VulnerabilitySource {
    /// How audit records and transitions name the source.
    pub fn actor(&self) -> String {
        let kind = match self.kind {
            crate::messages::SourceKind::Device => "device",
            crate::messages::SourceKind::Owner => "owner",
            crate::messages::SourceKind::Agency => "agency",
            crate::messages::SourceKind::Registry => "registry",
            crate::messages::SourceKind::Admin => "admin",
        };
        format!("{kind}:{}", self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VulnerabilityState {
    Open,
    Fixed,
}

/// One device affected by one vulnerability, written with the device's update so a device's
/// vulnerabilities are read together with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffectedLink {
    pub regdevid: RegDevId,
    pub vulnerability_id: String,
    pub severity: f32,
    pub source: VulnerabilitySource,
    pub reported_at_ms: u64,
    /// When this device was found affected.
    pub at_ms: u64,
    pub state: VulnerabilityState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_at_ms: Option<u64>,
}

/// One field of a security-parameter report that differs from what the registry held before
/// (Y.3059 9.3 ii a): with both values, so any earlier state can be rebuilt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `firmware_version`, `software_version`, `communication` or `configuration`.
    pub field: String,
    pub from: serde_json::Value,
    pub to: serde_json::Value,
}

/// A signed security-parameter report as stored, with its time (Y.3059 9.3 i c, iv).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRecord {
    pub regdevid: RegDevId,
    /// Sortable: zero-padded milliseconds, then random hex.
    pub id: String,
    pub at_ms: u64,
    pub firmware_version: String,
    pub software_version: String,
    #[serde(default)]
    pub communication: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<serde_json::Value>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// A device's history: its reports and status transitions, merged in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum HistoryEntry {
    Report(ReportRecord),
    Transition(Transition),
}

impl HistoryEntry {
    pub fn at_ms(&self) -> u64 {
        match self {
            Self::Report(r) => r.at_ms,
            Self::Transition(t) => t.at_ms,
        }
    }
}

/// The status policy of one trust domain (Y.3059 6.1 f), as an administrator set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainPolicy {
    pub name: String,
    pub policy: crate::status::Policy,
    pub updated_at_ms: u64,
    /// How far the change of the policy reached the domain's devices; `None` for a domain
    /// added by it (no devices yet) or stored before this was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reevaluation: Option<Reevaluation>,
}

/// The re-evaluation of a trust domain's registered devices under its changed policy
/// (6.1 f): a first batch by the change itself, the rest a batch at a time by the scheduled
/// evaluation, each resuming where the last stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reevaluation {
    /// Who changed the policy: the device changes it makes are theirs.
    pub by: String,
    /// Where the next batch starts in the domain's devices (an opaque search cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Devices whose status or reasons changed so far.
    pub changed: u64,
    pub complete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnquirerState {
    /// Signed up, waiting for an administrator.
    Pending,
    Approved,
    Rejected,
    /// Approved once, then withdrawn: it can no longer log in.
    Revoked,
}

impl EnquirerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Revoked => "revoked",
        }
    }
}

/// An enquirer or beneficiary (Y.3059 9.3 i a, 9.4 i a): signed up with its public key, able to
/// log in (challenge-response, 9.3 iii) only once an administrator approved it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnquirerRecord {
    pub enquirer_id: String,
    pub name: String,
    pub organisation: String,
    /// Contact details are personal data: stored only sealed with the PII key, under the
    /// enquirer id (`enquirer:<id>`) as encryption context.
    pub contact_sealed: String,
    /// `enquirer` or `agency` as requested at sign-up; an administrator may change it.
    pub role: crate::roles::Role,
    pub state: EnquirerState,
    /// The enquirer's signing key (JWK): it signs its login challenges.
    pub public_key: serde_json::Value,
    pub key_thumbprint: String,
    pub created_at_ms: u64,
    /// The administrator who last decided on it, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at_ms: Option<u64>,
    pub version: u64,
}

/// A subscription of an enquirer or beneficiary to one trust domain's notifications (9.4 i a).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub subscription_id: String,
    /// The principal's subject that owns it (`enquirer:<id>`, `owner:<id>`, `admin:<name>`).
    pub owner: String,
    pub domain: String,
    /// `sqs`, `https` or `email`.
    pub protocol: String,
    /// The endpoint (a queue ARN, an URL or an address): personal data for email, so stored
    /// sealed with the PII key under the subscription id.
    pub endpoint_sealed: String,
    pub filter_policy: serde_json::Value,
    /// The SNS subscription ARN, or `pending confirmation`.
    pub subscription_arn: String,
    pub created_at_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// The registry above this one (a primary's sectoral, a sectoral's geographical).
    Parent,
    Child,
    /// Another geographical registry (7 iv f).
    Peer,
}

/// Another registry this one exchanges with (Y.3059 9.1 v, 9.4 i b): its key verifies the
/// messages it sends; its inbox receives ours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub reg_id: String,
    /// Its registry path, e.g. `IN1.HLT`.
    pub path: String,
    pub kind: LinkKind,
    /// Its KMS signing key, as a public JWK.
    pub public_key: serde_json::Value,
    /// Its exchange inbox (an SQS queue URL).
    pub inbox: String,
    pub linked_at_ms: u64,
    pub linked_by: String,
}

/// The status of a device registered below this registry, as the hierarchy reported it
/// (Y.3059 6.1 c): where it comes from, and as of when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MirrorRecord {
    pub regdevid: RegDevId,
    /// The path of the primary registry the device is registered at.
    pub origin: String,
    pub status: TrustStatus,
    pub status_since_ms: u64,
    pub make: String,
    pub model: String,
    pub trust_domains: Vec<String>,
    /// The manufacturer root its certificate chains to, as the origin said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_id: Option<String>,
    /// The origin's sequence number of the message that said it.
    pub origin_seq: u64,
    pub received_at_ms: u64,
    /// The path of the linked registry that sent it.
    pub via: String,
}
