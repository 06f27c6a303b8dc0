//! The enquirers' dashboard (card C5): device counts by trust status and trust domain, and
//! the latest status changes, as one registry-signed answer (`GET /v1/statistics`).
//!
//! Counts cover this registry's own devices and, above the primaries, the devices mirrored
//! from the registries below (6.1 c): what the registry answers lookups about. Recent
//! transitions are those of its own devices only: the exchange carries a mirror's current
//! status, not its changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::actors::Role;
use crate::config::RegistryKind;
use crate::error::RegistryError;
use crate::ports::Tally;
use crate::service::{Registry, rfc3339, utc_day};
use crate::sessions::Principal;
use crate::status::TrustStatus;

/// The most recent transitions an answer lists.
pub const RECENT_TRANSITIONS: usize = 20;
/// How many UTC days back recent transitions are looked for (one indexed Query a day at most):
/// older changes are not "recent" on a dashboard, and a quiet registry must not read far.
pub const RECENT_DAYS: u64 = 7;
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Who reads the dashboard: those who search devices, but not owners, whose view is limited to
/// their own devices.
const READERS: [Role; 3] = [Role::Enquirer, Role::Agency, Role::Admin];

const STATUSES: [TrustStatus; 3] = [
    TrustStatus::Trusted,
    TrustStatus::Unverified,
    TrustStatus::Unreliable,
];

/// Devices per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub trusted: u64,
    pub unverified: u64,
    pub unreliable: u64,
}

impl StatusCounts {
    fn add(&mut self, status: TrustStatus, n: u64) {
        let slot = match status {
            TrustStatus::Trusted => &mut self.trusted,
            TrustStatus::Unverified => &mut self.unverified,
            TrustStatus::Unreliable => &mut self.unreliable,
        };
        *slot += n;
    }
}

/// One status change: which device, from what to what, when. No actor, reasons or owner: the
/// device's history (`GET /v1/devices/{id}/history`) has those for who may read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentTransition {
    pub regdevid: String,
    pub from: TrustStatus,
    pub to: TrustStatus,
    /// RFC 3339.
    pub at: String,
}

/// What the statement says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    /// RFC 3339: when the counts were read.
    pub as_of: String,
    pub by_status: StatusCounts,
    /// Every domain the registry hosts (zero counts included) and any other a device names;
    /// a device of several domains counts in each.
    pub by_domain: BTreeMap<String, StatusCounts>,
    /// Newest first, at most `RECENT_TRANSITIONS`, from the last `RECENT_DAYS` UTC days.
    pub recent_transitions: Vec<RecentTransition>,
}

/// `GET /v1/statistics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatisticsAnswer {
    #[serde(flatten)]
    pub statistics: Statistics,
    /// Compact JWS of the statistics with the time they were said (`statements`).
    pub statement: String,
}

impl Registry {
    /// `GET /v1/statistics` (card C5): counts by status and domain, recent transitions.
    pub async fn statistics(
        &self,
        caller: Option<&Principal>,
    ) -> Result<StatisticsAnswer, RegistryError> {
        self.require(caller, &READERS, "read-statistics", None)
            .await?;
        let now = self.clock.now_ms();
        let mut by_status = StatusCounts::default();
        let mut by_domain: BTreeMap<String, StatusCounts> = self
            .hosted_domains()
            .await?
            .into_iter()
            .map(|d| (d, StatusCounts::default()))
            .collect();
        // Primaries hold no mirrors (6.1 c): their three mirror partitions are not read.
        let mirrors = self.config.kind != RegistryKind::Primary;
        for status in STATUSES {
            let mut tallies = vec![self.store.tally_devices(status).await?];
            if mirrors {
                tallies.push(self.store.tally_mirrors(status).await?);
            }
            for Tally {
                devices,
                by_domain: domains,
            } in tallies
            {
                by_status.add(status, devices);
                for (domain, n) in domains {
                    by_domain.entry(domain).or_default().add(status, n);
                }
            }
        }
        let statistics = Statistics {
            as_of: rfc3339(now),
            by_status,
            by_domain,
            recent_transitions: self.recent_transitions(now).await?,
        };
        let statement = self.statement(&statistics).await?;
        Ok(StatisticsAnswer {
            statistics,
            statement,
        })
    }

    /// Today's status changes, newest first, then the days before, until there are enough.
    async fn recent_transitions(&self, now: u64) -> Result<Vec<RecentTransition>, RegistryError> {
        let mut recent = Vec::new();
        for days_back in 0..RECENT_DAYS {
            let missing = RECENT_TRANSITIONS - recent.len();
            if missing == 0 {
                break;
            }
            let Some(at) = now.checked_sub(days_back * DAY_MS) else {
                break;
            };
            let day = self.store.transitions_on(&utc_day(at), missing).await?;
            recent.extend(day.into_iter().filter_map(|t| {
                // Registrations are not stored in the index; a first status is not a change.
                Some(RecentTransition {
                    regdevid: t.regdevid.to_string(),
                    from: t.from?,
                    to: t.to,
                    at: rfc3339(t.at_ms),
                })
            }));
        }
        recent.truncate(RECENT_TRANSITIONS);
        Ok(recent)
    }
}

#[cfg(test)]
mod tests;
