//! The enquirers' dashboard (card C5): device counts by trust status and trust domain, and
//! the latest status changes, as one registry-signed answer (`GET /v1/statistics`).
//!
//! Counts cover this registry's own devices and, above the primaries, the devices mirrored
//! from the registries below (6.1 c): what the registry answers lookups about. Recent
//! transitions are those of its own devices only: the exchange carries a mirror's current
//! status, not its changes.

use std::collections::BTreeMap;
use trustreg_model::routes::Op;

use crate::config::RegistryKind;
use crate::error::RegistryError;
use crate::ports::Tally;
use crate::service::{Registry, rfc3339, utc_day};
use crate::sessions::Principal;
use crate::status::TrustStatus;
pub use trustreg_model::answers::{RecentTransition, Statistics, StatisticsAnswer, StatusCounts};

/// The most recent transitions an answer lists.
pub const RECENT_TRANSITIONS: usize = 20;
/// How many UTC days back recent transitions are looked for (one indexed Query a day at most):
/// older changes are not "recent" on a dashboard, and a quiet registry must not read far.
pub const RECENT_DAYS: u64 = 7;
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

const STATUSES: [TrustStatus; 4] = [
    TrustStatus::Trusted,
    TrustStatus::Unverified,
    TrustStatus::Unreliable,
    TrustStatus::Deregistered,
];

impl Registry {
    /// `GET /v1/statistics` (card C5): counts by status and domain, recent transitions.
    pub async fn statistics(
        &self,
        caller: Option<&Principal>,
    ) -> Result<StatisticsAnswer, RegistryError> {
        self.require(caller, Op::Statistics, None).await?;
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
