//! `StatisticsStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::ports::{StatisticsStore, Tally};
use crate::records::Transition;
use crate::service::utc_day;
use crate::status::TrustStatus;

fn tally<'a>(domains: impl Iterator<Item = &'a Vec<String>>) -> Tally {
    let mut tally = Tally::default();
    for domains in domains {
        tally.devices += 1;
        for domain in domains {
            *tally.by_domain.entry(domain.clone()).or_default() += 1;
        }
    }
    tally
}

#[async_trait]
impl StatisticsStore for MemoryStore {
    async fn tally_devices(&self, status: TrustStatus) -> Result<Tally, StoreError> {
        let s = self.lock();
        Ok(tally(
            s.devices
                .values()
                .filter(|d| d.status == status)
                .map(|d| &d.trust_domains),
        ))
    }

    async fn tally_mirrors(&self, status: TrustStatus) -> Result<Tally, StoreError> {
        let s = self.lock();
        Ok(tally(
            s.mirrors
                .values()
                .filter(|m| m.status == status)
                .map(|m| &m.trust_domains),
        ))
    }

    async fn transitions_on(&self, day: &str, limit: usize) -> Result<Vec<Transition>, StoreError> {
        let s = self.lock();
        let mut found: Vec<Transition> = s
            .transitions
            .iter()
            .filter(|t| t.from.is_some() && utc_day(t.at_ms) == day)
            .cloned()
            .collect();
        // As the index orders them: time, then RegDevID; newest first.
        found.sort_by_key(|t| std::cmp::Reverse((t.at_ms, t.regdevid.to_string())));
        found.truncate(limit);
        Ok(found)
    }
}
