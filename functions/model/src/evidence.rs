//! The registry interrogating a device (Y.3059 9.2 note) and the device's feed (9.4 i b): the
//! wire payloads of both, and the feed's offline verification by the device.

use p256::ecdsa::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::jose;
use crate::statements::{MAX_STATEMENT_LEN, verify_delegated};
use crate::status::{Reason, TrustStatus};

/// The `typ` of a device's feed: signed like a statement (a session key its delegation
/// certifies), but a type of its own, so a feed is never taken for a lookup's statement.
pub const FEED_TYP: &str = "trustreg-feed+jwt";
/// The most items one page of the feed holds, and the default.
pub const MAX_FEED_LIMIT: usize = 100;

/// Payload of `POST /v1/devices/{regdevid}/evidence-requests`, signed by an administrator
/// over an `evidence-request` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRequestClaims {
    pub nonce: String,
    /// The device of the path: a signature for one device is no use on another.
    pub regdevid: String,
}

/// A pending evidence request as the registry shows it (its answer, and the feed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRequestView {
    pub regdevid: String,
    /// What the device's report carries as `evidence_challenge`.
    pub challenge: String,
    /// RFC 3339.
    pub requested_at: String,
    /// RFC 3339: past it, unanswered, the device is `unverified` (`evidence_not_provided`).
    pub due_at: String,
}

/// Payload of `POST /v1/devices/{regdevid}/feed`, signed by the device over a `feed` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedClaims {
    pub nonce: String,
    pub regdevid: String,
    /// The `next` of the previous page; absent: from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most `MAX_FEED_LIMIT` items (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// The answer to a feed request: `feed`, a compact JWS of `FEED_TYP` whose payload is a
/// `Feed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedResponse {
    pub feed: String,
}

/// What concerns the device now and since its registration, signed by the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feed {
    /// The registry (its path), as in statements.
    pub iss: String,
    /// Seconds since the epoch.
    pub iat: u64,
    /// The device the feed is of: a device takes no other device's feed for its own.
    pub regdevid: String,
    pub status: TrustStatus,
    /// The registry's pending request for fresh evidence, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_request: Option<EvidenceRequestView>,
    /// The device's open vulnerabilities, by id.
    #[serde(default)]
    pub vulnerabilities: Vec<FeedVulnerability>,
    /// Its status transitions, oldest first, from `after`.
    pub items: Vec<FeedItem>,
    /// The cursor of the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedVulnerability {
    pub id: String,
    pub severity: f32,
}

/// One change of the device's status, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedItem {
    /// RFC 3339.
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TrustStatus>,
    pub to: TrustStatus,
    pub reasons: Vec<Reason>,
    /// What caused it (`report`, `evidence-requested`, `vulnerability:<id>`, `evaluate`...).
    pub cause: String,
}

/// Verifies a device's feed with the registry's published key at `now_ms`, and that it is the
/// feed of `regdevid`: the device acts only on what the registry said about it.
pub fn verify_feed(
    compact: &str,
    registry_key: &VerifyingKey,
    regdevid: &str,
    now_ms: u64,
) -> Result<Feed, RegistryError> {
    let jws = jose::parse_up_to(compact, MAX_STATEMENT_LEN).map_err(RegistryError::MalformedJws)?;
    if jws.header().typ.as_deref() != Some(FEED_TYP) {
        return Err(RegistryError::Malformed("not a device feed".into()));
    }
    let feed: Feed = jws.claims().map_err(RegistryError::MalformedJws)?;
    verify_delegated(&jws, registry_key, &feed.iss, feed.iat, now_ms / 1000)?;
    if feed.regdevid != regdevid {
        return Err(RegistryError::Malformed(format!(
            "the feed is of {}, not of {regdevid}",
            feed.regdevid
        )));
    }
    Ok(feed)
}
