//! The periodic digest of each trust domain (Y.3059 9.4 i c): counts by status, the devices
//! whose status changed since the last digest, the open vulnerabilities; one `digest`
//! notification per domain topic.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::json;

use super::{DIGEST, no_notifier, publish_all};
use crate::error::RegistryError;
use crate::ports::{DeviceQuery, Notification};
use crate::service::{Registry, rfc3339};
use crate::status::TrustStatus;

/// Devices read per page of the status index.
const PAGE: usize = 100;
/// Devices one digest reads per domain at most, so a run stays within the function's time; a
/// larger domain's digest says it is incomplete.
pub const MAX_DIGEST_DEVICES: u64 = 20_000;
/// Open vulnerability ids listed at most (the count is always whole).
const MAX_LISTED_VULNERABILITIES: usize = 100;

const STATUSES: [TrustStatus; 4] = [
    TrustStatus::Trusted,
    TrustStatus::Unverified,
    TrustStatus::Unreliable,
    TrustStatus::Deregistered,
];

/// The digest of one trust domain, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainDigest {
    pub domain: String,
    /// RFC 3339 time of this digest.
    pub at: String,
    /// RFC 3339 time of the previous digest; absent for the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Devices by trust status.
    pub counts: BTreeMap<String, u64>,
    /// Devices whose status changed since the previous digest (for the first: all).
    pub changed: u64,
    /// Devices with at least one open vulnerability.
    pub devices_with_open_vulnerabilities: u64,
    /// The distinct open vulnerabilities of the domain's devices (at most 100 listed).
    pub open_vulnerabilities: Vec<String>,
    /// False when the domain has more devices than one digest reads.
    pub complete: bool,
}

/// What the digest of one domain came to.
#[derive(Debug)]
pub struct DigestOutcome {
    pub domain: String,
    pub result: Result<DomainDigest, RegistryError>,
}

impl Registry {
    /// Publishes the digest of every trust domain as of `now_ms`. A domain whose digest could
    /// not be published keeps its previous digest time, so the next run covers its changes.
    pub async fn digest(&self, now_ms: u64) -> Vec<DigestOutcome> {
        let mut outcomes = Vec::new();
        // The store unreadable, the deployed domains are still known: their digests fail
        // (and are reported) on the same store, the next run covers them.
        let domains = self
            .hosted_domains()
            .await
            .unwrap_or_else(|_| self.config.trust_domains.clone());
        for domain in domains {
            let result = self.digest_domain(&domain, now_ms).await;
            outcomes.push(DigestOutcome { domain, result });
        }
        outcomes
    }

    async fn digest_domain(
        &self,
        domain: &str,
        now_ms: u64,
    ) -> Result<DomainDigest, RegistryError> {
        let notifier = self
            .notifier
            .clone()
            .ok_or_else(|| RegistryError::Notify(no_notifier()))?;
        let since = self.store.last_digest(domain).await?;
        let digest = self.compute_digest(domain, since, now_ms).await?;
        let registry = self.config.path.to_string();
        let id = format!("{DIGEST}#{domain}#{now_ms}");
        let mut message = serde_json::to_value(&digest)
            .map_err(|e| RegistryError::Malformed(format!("digest: {e}")))?;
        message["id"] = json!(id);
        message["event"] = json!(DIGEST);
        message["registry"] = json!(registry);
        let note = Notification {
            domain: domain.to_owned(),
            id,
            attributes: BTreeMap::from([
                ("event".to_owned(), DIGEST.to_owned()),
                ("registry".to_owned(), registry),
            ]),
            message,
        };
        for result in publish_all(notifier.as_ref(), &[note]).await {
            result.map_err(RegistryError::Notify)?;
        }
        self.store.set_last_digest(domain, now_ms).await?;
        Ok(digest)
    }

    /// Reads the domain's devices through the status index (never a scan of the table).
    async fn compute_digest(
        &self,
        domain: &str,
        since: Option<u64>,
        now_ms: u64,
    ) -> Result<DomainDigest, RegistryError> {
        let mut counts = BTreeMap::new();
        let mut changed = 0;
        let mut vulnerable = 0;
        let mut open = BTreeSet::new();
        let mut read = 0u64;
        let mut complete = true;
        'statuses: for status in STATUSES {
            let query = DeviceQuery {
                status: Some(status),
                domain: Some(domain.to_owned()),
                ..DeviceQuery::default()
            };
            let mut count = 0u64;
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .store
                    .search_devices(&query, cursor.as_deref(), PAGE)
                    .await?;
                for device in &page.items {
                    count += 1;
                    read += 1;
                    if since.is_none_or(|s| device.status_since_ms > s) {
                        changed += 1;
                    }
                    if !device.facts.open_vulnerabilities.is_empty() {
                        vulnerable += 1;
                        open.extend(
                            device
                                .facts
                                .open_vulnerabilities
                                .iter()
                                .map(|v| v.id.clone()),
                        );
                    }
                }
                cursor = page.next;
                if read >= MAX_DIGEST_DEVICES && cursor.is_some() {
                    complete = false;
                    counts.insert(status.as_str().to_owned(), count);
                    break 'statuses;
                }
                if cursor.is_none() {
                    break;
                }
            }
            counts.insert(status.as_str().to_owned(), count);
        }
        Ok(DomainDigest {
            domain: domain.to_owned(),
            at: rfc3339(now_ms),
            since: since.map(rfc3339),
            counts,
            changed,
            devices_with_open_vulnerabilities: vulnerable,
            open_vulnerabilities: open.into_iter().take(MAX_LISTED_VULNERABILITIES).collect(),
            complete,
        })
    }
}
