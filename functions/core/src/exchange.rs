//! The exchange between registries of the hierarchy (Y.3059 7 iv d-f, 9.1 v, 9.4 i b): links
//! set up by administrators, status changes sent up as JWS signed by the sender's KMS key with
//! the origin's sequence number, verified, deduplicated and mirrored by the receiver, forwarded
//! to its parent and peers; a gap is healed by a snapshot pulled from the sender.

mod clones;
mod down;
mod links;
mod receive;
mod send;
mod status_list;

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::messages::VulnerabilityTarget;
use crate::records::{LinkKind, LinkRecord, VulnerabilitySource, VulnerabilityState};
use crate::service::Registry;
use crate::sessions::Principal;
use crate::status::TrustStatus;

/// `typ` of exchange messages.
pub const EXCHANGE_TYP: &str = "trustreg-exchange+jwt";
/// Items per message: what one DynamoDB transaction takes with the sequence item and the audit
/// record, and well within SQS's 256 KiB.
pub const MAX_ITEMS_PER_MESSAGE: usize = 90;
/// Deliveries of an update after a gap that wait for the missing one before a snapshot is
/// pulled. With the exchange function's delay between deliveries (seconds), a reordered
/// message costs a few seconds, not a snapshot; and the inbox's receive limit (5) is never
/// reached by waiting alone.
pub const REORDER_DEFERRALS: u32 = 2;

/// Payload of `POST /v1/admin/links`, signed by an administrator over a `link` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkClaims {
    pub nonce: String,
    pub kind: LinkKind,
    pub reg_id: String,
    pub path: String,
    /// The other registry's published signing key (its `GET /v1/registry` `public_key`).
    pub public_key: serde_json::Value,
    /// The other registry's exchange inbox (an SQS queue URL; its stack output `InboxUrl`).
    pub inbox: String,
}

/// One device's status as the exchange carries it: no PII.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusItem {
    pub regdevid: String,
    pub status: TrustStatus,
    pub status_since_ms: u64,
    pub make: String,
    pub model: String,
    pub trust_domains: Vec<String>,
    /// The manufacturer root the device's certificate chains to (`rot::root_id_for`): the
    /// first registry above two primaries that hold one identifier tells a possible clone
    /// (one root) from a conflict of the primaries' root scopes (two). Absent from messages
    /// of registries that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

/// The claims of an exchange message. `sender` signed it (verified with its link's key);
/// `origin` and `seq` name the change however far it travelled, which cuts loops and drops
/// duplicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeClaims {
    pub sender: String,
    pub origin: String,
    pub seq: u64,
    /// Seconds.
    pub iat: u64,
    #[serde(flatten)]
    pub body: ExchangeBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ExchangeBody {
    /// Changes of the origin's devices, numbered `seq` by the origin.
    Update { items: Vec<StatusItem> },
    /// "Send me a snapshot of `origin`": after a gap.
    SnapshotRequest,
    /// The sender's view of every device of `origin`, as of the origin's `seq`, in pages.
    Snapshot {
        items: Vec<StatusItem>,
        last_page: bool,
    },
    /// "I recorded you as my parent (or peer)", from `origin`, the sender itself: the link is
    /// then recorded on both sides, and the receiver pulls a snapshot of everything the
    /// sender holds (a `SnapshotRequest` of the sender's path), so that devices registered
    /// before the link are known above without waiting for their next change.
    Linked,
    /// Two devices of one inherent identifier at two primaries whose certificates chain to one
    /// manufacturer root, found by `origin`, the first registry above both: sent down to both
    /// primaries, each of which records a possible clone on its device (3.2.1, 3.2.2, 6.1 a).
    PossibleClone {
        regdevids: Vec<String>,
        root: String,
    },
    /// A vulnerability entered at `origin` (a sectoral or geographical registry), sent down
    /// to the primaries it may affect (7 iv d, 9.3 ii b). Deduplicated by the origin's id and
    /// state, not by `seq`: a child sees only part of its parent's numbers.
    Vulnerability { report: Box<VulnerabilityReport> },
}

/// A vulnerability as the exchange carries it down: what the origin stored, without its
/// progress over devices (each registry re-evaluates its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilityReport {
    /// The id at the origin.
    pub id: String,
    /// Who reported it at the origin.
    pub source: VulnerabilitySource,
    pub reported_at_ms: u64,
    pub severity: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve: Option<String>,
    pub summary: String,
    pub target: VulnerabilityTarget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_in_firmware: Option<String>,
    /// `fixed` once the origin declared it fixed: devices below are then cleared.
    pub state: VulnerabilityState,
}

/// What receiving one message did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Received {
    Applied {
        items: usize,
        forwarded: usize,
    },
    Duplicate,
    /// An update after a gap, not applied: to be delivered again shortly, when the update
    /// numbered `waiting_for` has most likely arrived.
    Deferred {
        waiting_for: u64,
    },
    SnapshotRequested,
    SnapshotSent {
        messages: usize,
    },
    SnapshotApplied {
        items: usize,
    },
    /// A possible clone from above: recorded on `flagged` devices of this registry, and sent
    /// on to `forwarded` children toward the other primary.
    PossibleClone {
        flagged: usize,
        forwarded: usize,
    },
    /// A vulnerability from above: stored as `id` here, applied to this registry's devices
    /// (`affected` so far; the rest through `/v1/vulnerabilities/{id}/apply` when not
    /// `complete`), and sent on to `forwarded` children.
    Vulnerability {
        id: String,
        affected: u64,
        complete: bool,
        forwarded: usize,
    },
}

/// `GET /v1/status-lists/{status}?cursor=`: the registry's devices and those mirrored from
/// below, with one status, signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusListAnswer {
    pub registry: String,
    pub status: TrustStatus,
    pub devices: Vec<ListedDevice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    pub statement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedDevice {
    pub regdevid: String,
    pub status_since: String,
    /// The registry the device is registered at.
    pub origin: String,
    /// When this registry learnt it (RFC 3339).
    pub as_of: String,
}

/// Whether `path` is `root` or a registry below it.
pub(crate) fn is_within(path: &str, root: &str) -> bool {
    path.strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

impl StatusItem {
    pub fn of_device(device: &crate::records::DeviceRecord) -> Self {
        Self {
            regdevid: device.regdevid.to_string(),
            status: device.status,
            status_since_ms: device.status_since_ms,
            make: device.info.make.clone(),
            model: device.info.model.clone(),
            trust_domains: device.trust_domains.clone(),
            root: Some(device.root_id.clone()),
        }
    }

    pub fn of_mirror(mirror: &crate::records::MirrorRecord) -> Self {
        Self {
            regdevid: mirror.regdevid.to_string(),
            status: mirror.status,
            status_since_ms: mirror.status_since_ms,
            make: mirror.make.clone(),
            model: mirror.model.clone(),
            trust_domains: mirror.trust_domains.clone(),
            root: mirror.root_id.clone(),
        }
    }
}

impl Registry {
    /// `POST /v1/admin/links`: an administrator links another registry (parent, child or
    /// peer), checked against the hierarchy's shape. Once both sides recorded the link, the
    /// side that receives updates pulls the other's current state (see `ExchangeBody::Linked`).
    pub async fn link_registry(&self, compact: &str) -> Result<LinkRecord, RegistryError> {
        let result = self.link_registry_inner(compact).await;
        if let Err(e) = &result {
            self.audit_rejection(
                &crate::actors::unverified_actor(compact),
                "link-registry",
                None,
                e,
            )
            .await;
        }
        result
    }

    /// This registry's own devices changed (the `notify` function's stream batch): one
    /// update per `MAX_ITEMS_PER_MESSAGE`, numbered, signed, sent to the parent and peers.
    /// Answers how many messages were sent.
    pub async fn send_updates(
        &self,
        devices: &[crate::records::DeviceRecord],
    ) -> Result<usize, RegistryError> {
        self.send_updates_inner(devices).await
    }

    /// One message from the inbox, handled at once: a gap is answered with a snapshot
    /// request. A message from an unknown or unlinked sender, or with a bad signature, is
    /// refused and audited.
    pub async fn receive_exchange(&self, compact: &str) -> Result<Received, RegistryError> {
        self.receive_exchange_inner(compact, u32::MAX).await
    }

    /// One message from the inbox as the `exchange` function gets it, on its `attempt`th
    /// delivery (1 for the first): an update after a gap is `Deferred` on its first
    /// `REORDER_DEFERRALS` deliveries, as the missing one is most likely only late (the inbox
    /// is a standard queue, and messages of one origin go out from concurrent batches); a
    /// snapshot is requested only when it did not come.
    pub async fn receive_exchange_delivery(
        &self,
        compact: &str,
        attempt: u32,
    ) -> Result<Received, RegistryError> {
        self.receive_exchange_inner(compact, attempt).await
    }

    /// `GET /v1/status-lists/{status}` (7 iv d).
    pub async fn status_list(
        &self,
        caller: Option<&Principal>,
        status: &str,
        cursor: Option<String>,
    ) -> Result<StatusListAnswer, RegistryError> {
        self.status_list_inner(caller, status, cursor).await
    }
}

#[cfg(test)]
mod tests;
