//! A device's feed (Y.3059 9.4 i b: devices and registries exchange updates both ways): what
//! concerns the device (its status and transitions, its open vulnerabilities, the registry's
//! pending evidence request), which the device fetches with a signed request and verifies with
//! the registry's published key. Fetched rather than pushed: a device has no endpoint an SNS
//! subscription could reach, and one subscription per device would not scale.

use crate::actors::{Actor, Role};
use crate::error::RegistryError;
use crate::evidence::{
    FEED_TYP, Feed, FeedClaims, FeedItem, FeedResponse, FeedVulnerability, MAX_FEED_LIMIT, view_of,
};
use crate::messages::{Purpose, check_signed_device};
use crate::records::HistoryEntry;
use crate::service::{Registry, parse_regdevid, rfc3339};

impl Registry {
    /// `POST /v1/devices/{regdevid}/feed`.
    pub async fn feed(&self, regdevid: &str, compact: &str) -> Result<FeedResponse, RegistryError> {
        let result = self.feed_inner(regdevid, compact).await;
        self.audit_device_refusal(regdevid, compact, "feed", &result)
            .await;
        result
    }

    async fn feed_inner(
        &self,
        regdevid_text: &str,
        compact: &str,
    ) -> Result<FeedResponse, RegistryError> {
        let regdevid = parse_regdevid(regdevid_text)?;
        let signed = self
            .verify_signed::<FeedClaims>(compact, &[Role::Device], Purpose::Feed)
            .await?;
        // The device itself only: its feed tells what the registry asks of it.
        let device = match signed.actor {
            Actor::Device(d) if d.regdevid == regdevid => d,
            other => {
                return Err(RegistryError::Forbidden(format!(
                    "{} may not read the feed of {regdevid}",
                    other.audit_name()
                )));
            }
        };
        check_signed_device(&signed.claims.regdevid, &regdevid, regdevid_text)?;
        let limit = signed.claims.limit.unwrap_or(MAX_FEED_LIMIT);
        if !(1..=MAX_FEED_LIMIT).contains(&limit) {
            return Err(RegistryError::Malformed(format!(
                "limit must be within 1 to {MAX_FEED_LIMIT}"
            )));
        }
        let after = match &signed.claims.after {
            None => 0,
            Some(cursor) => cursor.parse::<usize>().map_err(|_| {
                RegistryError::Malformed("after is not a cursor of this feed".into())
            })?,
        };
        let mut entries = self.store.history_of(&regdevid).await?;
        crate::reports::sort_history(&mut entries);
        // The history only grows, in time order: a position in it stays a stable cursor.
        let transitions: Vec<FeedItem> = entries
            .into_iter()
            .filter_map(|e| match e {
                HistoryEntry::Transition(t) => Some(FeedItem {
                    at: rfc3339(t.at_ms),
                    from: t.from,
                    to: t.to,
                    reasons: t.reasons,
                    cause: t.cause,
                }),
                HistoryEntry::Report(_) => None,
            })
            .collect();
        let end = after.saturating_add(limit).min(transitions.len());
        let items = transitions
            .get(after.min(end)..end)
            .unwrap_or_default()
            .to_vec();
        let next = (end < transitions.len()).then(|| end.to_string());
        let now = self.clock.now_ms();
        let feed = Feed {
            iss: self.config.path.to_string(),
            iat: now / 1000,
            regdevid: regdevid.to_string(),
            status: device.status,
            evidence_request: view_of(&device),
            vulnerabilities: device
                .facts
                .open_vulnerabilities
                .iter()
                .map(|v| FeedVulnerability {
                    id: v.id.clone(),
                    severity: v.severity,
                })
                .collect(),
            items,
            next,
        };
        Ok(FeedResponse {
            feed: self.delegated(FEED_TYP, &feed, now).await?,
        })
    }
}
