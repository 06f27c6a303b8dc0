//! `StatisticsStore` on DynamoDB, from indexes only:
//! - counts: the status partitions of gsi4 (`STATUS#<status>` for own devices,
//!   `MIRSTATUS#<status>` for mirrors), read whole with only `trust_domains` projected. A
//!   `Select=COUNT` would read (and bill) the same items and could not tell domains apart; one
//!   pass per partition gives both counts;
//! - recent transitions: gsi1 `TRANS#<day>`, newest first, `Limit` as asked.
//!
//! The counts cost reads in proportion to the devices (about one read unit per 4 KB of index
//! items, eventually consistent): cheap for a dashboard of thousands or tens of thousands of
//! devices. Far beyond that, counters kept in the devices' write transactions (sharded, as
//! one counter item would make concurrent registrations conflict) would replace the reads.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use trustreg_core::error::StoreError;
use trustreg_core::ports::{StatisticsStore, Tally};
use trustreg_core::records::Transition;
use trustreg_core::status::TrustStatus;

use super::{DynamoStore, Item, record, s, sdk};
use crate::keys::{self, GSI1PK, GSI4PK};

const DOMAINS: &str = "trust_domains";

impl DynamoStore {
    /// Every item of gsi4 partition `partition`, counted with the domains they name.
    async fn tally_partition(&self, partition: String) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi4")
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", GSI4PK)
                .expression_attribute_names("#d", DOMAINS)
                .expression_attribute_values(":pk", s(partition.clone()))
                .select(Select::SpecificAttributes)
                .projection_expression("#d")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            for item in out.items() {
                tally.devices += 1;
                for domain in domains_of(item) {
                    *tally.by_domain.entry(domain).or_default() += 1;
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(tally);
            }
        }
    }
}

/// The trust domains an item names: serde_dynamo writes a list of strings, an empty one too.
fn domains_of(item: &Item) -> Vec<String> {
    match item.get(DOMAINS) {
        Some(AttributeValue::L(values)) => values
            .iter()
            .filter_map(|v| v.as_s().ok().cloned())
            .collect(),
        Some(AttributeValue::Ss(values)) => values.clone(),
        _ => Vec::new(),
    }
}

#[async_trait]
impl StatisticsStore for DynamoStore {
    async fn tally_devices(&self, status: TrustStatus) -> Result<Tally, StoreError> {
        self.tally_partition(keys::status_partition(status)).await
    }

    async fn tally_mirrors(&self, status: TrustStatus) -> Result<Tally, StoreError> {
        self.tally_partition(keys::mirror_status_partition(status))
            .await
    }

    async fn transitions_on(&self, day: &str, limit: usize) -> Result<Vec<Transition>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1PK)
            .expression_attribute_values(":pk", s(keys::transitions_partition(day)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(sdk)?;
        out.items().iter().cloned().map(record).collect()
    }
}
