//! The table's key layout: one table per registry, items told apart by `pk`/`sk` prefixes.
//!
//! Four overloaded global secondary indexes (`gsiNpk`/`gsiNsk`, all attributes projected) serve
//! the lookups that are not by primary key; every request path queries, none scans:
//! - gsi1: audit records by target (`AUDIT#<target>`, record id), and devices by the root of
//!   trust they chain to (`ROOTDEV#<root id>`, RegDevID), for re-evaluating them when a root
//!   is withdrawn; status changes by UTC day (`TRANS#<day>`, time and RegDevID), for the
//!   dashboard's recent transitions.
//! - gsi2: devices by make and model (`MODEL#<make>#<model>`, firmware and RegDevID), for
//!   vulnerabilities that target a range.
//! - gsi3: devices by when their next security report is due (`DUE#<shard>`, due time), for
//!   the scheduled evaluation.
//! - gsi4: devices by trust status (`STATUS#<status>`, make, model and RegDevID), for device
//!   search (8); enquirers by state (`ENQSTATE#<state>`, creation time and id), for the
//!   administrators' approval queue.
//!
//! The hierarchy (Y.3059 6.1 c, 7 iv d-f): links to other registries sit next to the roots
//! (`REGISTRY`, `LINK#<kind>#<reg_id>`) with the counter of the sequence numbers this registry
//! originates (`REGISTRY`, `SEQUENCE`); each origin's last applied sequence number has an item
//! of its own (`SEQ#<origin>`), as has each mirrored device (`MIRROR#<regdevid>`). Mirrors are
//! in gsi4 by status (`MIRSTATUS#<status>`, RegDevID) for the status lists, and in gsi1 by
//! origin (`MIRORIGIN#<origin>`, RegDevID) for snapshots; origins' sequence items are in gsi1
//! too (`ORIGINS`, origin), listing the registries whose messages were applied.

use trustreg_core::identifier::{Identifier, RegDevId};
use trustreg_core::records::{AuditRecord, DeviceRecord, EnquirerRecord, EnquirerState, LinkKind};
use trustreg_core::status::TrustStatus;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1PK: &str = "gsi1pk";
pub const GSI1SK: &str = "gsi1sk";
pub const GSI2PK: &str = "gsi2pk";
pub const GSI2SK: &str = "gsi2sk";
pub const GSI3PK: &str = "gsi3pk";
pub const GSI3SK: &str = "gsi3sk";
pub const GSI4PK: &str = "gsi4pk";
pub const GSI4SK: &str = "gsi4sk";
/// DynamoDB TTL attribute (epoch seconds).
pub const TTL: &str = "ttl";

/// Sort-key prefixes: a Query of a partition by one of them reads one kind of item.
/// In a device's partition (`DEV#<regdevid>`): its status transitions, reports, links to the
/// vulnerabilities that affect it, and custody changes.
pub const HISTORY_PREFIX: &str = "HIST#";
pub const REPORT_PREFIX: &str = "REPORT#";
pub const VULNERABILITY_PREFIX: &str = "VULN#";
pub const CUSTODY_PREFIX: &str = "CUSTODY#";
/// In the registry's partition (`ROOTS_PK`): accepted roots and trust-domain policies.
pub const ROOT_PREFIX: &str = "ROOT#";
pub const DOMAIN_PREFIX: &str = "DOMAIN#";
/// A device's own partition key prefix; also the sort-key prefix of an owner's links to its
/// devices (`owner_device`).
pub const DEVICE_PREFIX: &str = "DEV#";

pub fn device(regdevid: &RegDevId) -> (String, String) {
    (format!("{DEVICE_PREFIX}{regdevid}"), "DEVICE".into())
}

/// The uniqueness guard: one item per inherent identifier, whatever the RegDevID around it.
pub fn guard(identifier: &Identifier) -> (String, String) {
    (
        format!(
            "IDENT#{}:{}",
            identifier.scheme().as_str(),
            identifier.value()
        ),
        "IDENT".into(),
    )
}

/// gsi2: a device under its make and model, sorted by firmware. Make and model are compared
/// case-insensitively, as vulnerability reports name them however their source writes them.
pub fn by_model(device: &DeviceRecord) -> (String, String) {
    (
        format!(
            "MODEL#{}#{}",
            device.info.make.to_lowercase(),
            device.info.model.to_lowercase()
        ),
        format!("{}#{}", device.info.firmware_version, device.regdevid),
    )
}

/// The gsi2 partition of a make and model, as `by_model` writes it: what a vulnerability that
/// targets a range queries.
pub fn model_partition(make: &str, model: &str) -> String {
    format!("MODEL#{}#{}", make.to_lowercase(), model.to_lowercase())
}

/// A vulnerability report.
pub fn vulnerability(id: &str) -> (String, String) {
    (format!("VULN#{id}"), "VULN".into())
}

/// A device's link to a vulnerability that affects it: in the device's partition, so its
/// vulnerabilities are one Query.
pub fn vulnerability_link(regdevid: &RegDevId, id: &str) -> (String, String) {
    (
        format!("{DEVICE_PREFIX}{regdevid}"),
        format!("{VULNERABILITY_PREFIX}{id}"),
    )
}

/// How many partitions the due-time index is spread over, so no one partition is hot.
pub const DUE_SHARDS: u64 = 8;

/// gsi3: a device under the time its next evaluation falls due, in one of `DUE_SHARDS`.
pub fn by_due_time(regdevid: &RegDevId, due_ms: u64) -> (String, String) {
    // FNV-1a: stable across builds, unlike std's DefaultHasher.
    let shard = regdevid
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
        % DUE_SHARDS;
    (due_partition(shard), format!("{due_ms:013}#{regdevid}"))
}

/// The gsi3 partition of one shard of the due times.
pub fn due_partition(shard: u64) -> String {
    format!("DUE#{shard}")
}

/// gsi4: a device under its trust status, sorted by make and model (lowercase, as `by_model`)
/// so a search by make, or make and model, is a sort-key prefix.
pub fn by_status(device: &DeviceRecord) -> (String, String) {
    (
        status_partition(device.status),
        format!(
            "{}{}",
            make_model_prefix(&device.info.make, Some(&device.info.model)),
            device.regdevid
        ),
    )
}

pub fn status_partition(status: TrustStatus) -> String {
    format!("STATUS#{}", status.as_str())
}

/// The gsi4 sort-key prefix of the devices of a make, or of a make and model.
pub fn make_model_prefix(make: &str, model: Option<&str>) -> String {
    match model {
        Some(model) => format!("{}#{}#", make.to_lowercase(), model.to_lowercase()),
        None => format!("{}#", make.to_lowercase()),
    }
}

/// gsi1: a device under the root of trust it chains to.
pub fn by_root(device: &DeviceRecord) -> (String, String) {
    (
        root_devices_partition(&device.root_id),
        device.regdevid.to_string(),
    )
}

pub fn root_devices_partition(root_id: &str) -> String {
    format!("ROOTDEV#{root_id}")
}

/// An enquirer or beneficiary (9.3 i a).
pub fn enquirer(enquirer_id: &str) -> (String, String) {
    (format!("ENQ#{enquirer_id}"), "ENQUIRER".into())
}

/// gsi4: an enquirer under its state, oldest first.
pub fn enquirer_by_state(enquirer: &EnquirerRecord) -> (String, String) {
    (
        enquirer_state_partition(enquirer.state),
        format!("{:013}#{}", enquirer.created_at_ms, enquirer.enquirer_id),
    )
}

pub fn enquirer_state_partition(state: EnquirerState) -> String {
    let name = match state {
        EnquirerState::Pending => "pending",
        EnquirerState::Approved => "approved",
        EnquirerState::Rejected => "rejected",
        EnquirerState::Revoked => "revoked",
    };
    format!("ENQSTATE#{name}")
}

pub fn history(regdevid: &RegDevId, at_ms: u64, salt: &str) -> (String, String) {
    (
        format!("{DEVICE_PREFIX}{regdevid}"),
        format!("{HISTORY_PREFIX}{at_ms:013}#{salt}"),
    )
}

/// gsi1: a status change (not a registration's first status) under its UTC day, in time
/// order. A day per partition: the newest are one Query of today's, then of the days before.
pub fn by_transition_time(regdevid: &RegDevId, at_ms: u64) -> (String, String) {
    (
        transitions_partition(&trustreg_core::service::utc_day(at_ms)),
        format!("{at_ms:013}#{regdevid}"),
    )
}

pub fn transitions_partition(day: &str) -> String {
    format!("TRANS#{day}")
}

/// A security-parameter report, in the device's partition next to its transitions.
pub fn report(regdevid: &RegDevId, at_ms: u64, salt: &str) -> (String, String) {
    (
        format!("{DEVICE_PREFIX}{regdevid}"),
        format!("{REPORT_PREFIX}{at_ms:013}#{salt}"),
    )
}

/// The gsi3 sort-key bound below which every device due at or before `now_ms` sorts.
pub fn due_until(now_ms: u64) -> String {
    format!("{:013}", now_ms.saturating_add(1))
}

/// A trust domain's status policy (6.1 f), next to the roots of trust.
pub fn domain_policy(name: &str) -> (String, String) {
    (ROOTS_PK.into(), format!("{DOMAIN_PREFIX}{name}"))
}

pub fn nonce(value: &str) -> (String, String) {
    (format!("NONCE#{value}"), "NONCE".into())
}

pub const ROOTS_PK: &str = "REGISTRY";

pub fn root(id: &str) -> (String, String) {
    (ROOTS_PK.into(), format!("{ROOT_PREFIX}{id}"))
}

/// How many partitions one day's audit records are spread over when the stack does not say
/// (`AuditShards` in infra/template.yaml, `AUDIT_SHARDS` in the functions' environment).
/// DynamoDB limits each partition's reads and writes per second whatever the table's capacity
/// ("Key range throughput exceeded (hot partitions)", docs.aws.amazon.com/amazondynamodb/
/// latest/developerguide/throttling-key-range-limit-exceeded-mitigation.html): 3,000 read
/// and 1,000 write units (AWS re:Post, "hot partition hard limit of 3000 RCU and 1000 WCU",
/// even with adaptive capacity), and an audit record, under 1 KB, is one write unit. One
/// partition a day would cap a registry's audited writes near 1,000 a second. Ten take about
/// 10,000 a second, what the account's default 1,000 concurrent Lambda executions can send
/// at about 100 ms a transaction; a `?day=` page then queries eleven partitions (the legacy
/// one too) in parallel.
pub const DEFAULT_AUDIT_SHARDS: u32 = 10;
/// The stack's parameter bounds it too: 32 partitions take some 32,000 audited writes a
/// second, beyond the default Lambda concurrency's reach, and a page's cursor holds one
/// position per partition (about 1.5 KB at 33).
pub const MAX_AUDIT_SHARDS: u32 = 32;

/// The prefix of every audit record's partition key (the day partitions, sharded or not):
/// the sequencer takes the stream's new images under it (infra/template.yaml filters on it).
pub const AUDIT_PREFIX: &str = "AUDIT#";

/// Whether a table partition key is an audit record's.
pub fn is_audit_record(pk: &str) -> bool {
    pk.starts_with(AUDIT_PREFIX)
}

/// Audit records are partitioned by day and, within the day, spread over `shards` partitions
/// by a stable hash of their id (`AUDIT#<day>#<shard>`, write sharding with a calculated
/// suffix): the id alone finds its record's key again, and a record written twice lands on
/// the same key, where its `attribute_not_exists` condition holds. The GSI lists one target's
/// records in time order.
pub fn audit(record: &AuditRecord, shards: u32) -> (String, String) {
    let day = trustreg_core::service::utc_day(record.at_ms);
    (
        audit_shard(&day, audit_shard_of(&record.id, shards)),
        record.id.clone(),
    )
}

/// The shard of the record `id` among `shards` (at least one).
pub fn audit_shard_of(id: &str, shards: u32) -> u32 {
    // FNV-1a: stable across builds, unlike std's DefaultHasher; ids end in random hex, so
    // records spread evenly.
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    u32::try_from(hash % u64::from(shards.max(1))).unwrap_or(0)
}

/// One shard's partition of a UTC day's audit records (`YYYY-MM-DD`).
pub fn audit_shard(day: &str, shard: u32) -> String {
    format!("{AUDIT_PREFIX}{day}#{shard}")
}

/// Every partition that may hold records of `day`, in a fixed order: the unsharded partition
/// that records written before sharding are in (`AUDIT#<day>`), then each shard's.
pub fn audit_day_partitions(day: &str, shards: u32) -> Vec<String> {
    std::iter::once(format!("{AUDIT_PREFIX}{day}"))
        .chain((0..shards.max(1)).map(|shard| audit_shard(day, shard)))
        .collect()
}

pub fn audit_by_target(target: &str) -> String {
    format!("{AUDIT_PREFIX}{target}")
}

/// A virtual RegDevID (9.2 i f); the item carries a DynamoDB `ttl` as well.
pub fn virtual_id(id: &str) -> (String, String) {
    (format!("VID#{id}"), "VID".into())
}

/// The receipt of a change a client named with an idempotency key (`id` is a digest of who
/// asked what of which target under which key); the item carries a DynamoDB `ttl`.
pub fn receipt(id: &str) -> (String, String) {
    (format!("IDEM#{id}"), "IDEM".into())
}

/// An owner or custodian (9.2 i d); its PII is a sealed blob on the item.
pub fn owner(owner_id: &str) -> (String, String) {
    (format!("OWNER#{owner_id}"), "OWNER".into())
}

/// An owner's link to a device it holds, in the owner's partition: its devices are one Query.
pub fn owner_device(owner_id: &str, regdevid: &RegDevId) -> (String, String) {
    (
        format!("OWNER#{owner_id}"),
        format!("{DEVICE_PREFIX}{regdevid}"),
    )
}

/// One link of a device's custody chain, in the device's partition next to its history.
pub fn custody(regdevid: &RegDevId, at_ms: u64, salt: &str) -> (String, String) {
    (
        format!("{DEVICE_PREFIX}{regdevid}"),
        format!("{CUSTODY_PREFIX}{at_ms:013}#{salt}"),
    )
}

/// A link to another registry, next to the roots: all links are one Query.
pub fn link(kind: LinkKind, reg_id: &str) -> (String, String) {
    let kind = match kind {
        LinkKind::Parent => "parent",
        LinkKind::Child => "child",
        LinkKind::Peer => "peer",
    };
    (ROOTS_PK.into(), format!("{LINK_PREFIX}{kind}#{reg_id}"))
}

pub const LINK_PREFIX: &str = "LINK#";

/// The counter of the sequence numbers of the exchange messages this registry originates.
pub fn sequence_counter() -> (String, String) {
    (ROOTS_PK.into(), "SEQUENCE".into())
}

/// The last sequence number applied from one origin: a partition of its own, so origins never
/// contend for one item.
pub fn origin_sequence(origin: &str) -> (String, String) {
    (format!("SEQ#{origin}"), "SEQ".into())
}

/// gsi1: every origin's sequence item, by origin: the registries a snapshot of everything this
/// registry holds covers.
pub const ORIGINS_PARTITION: &str = "ORIGINS";

/// The mirrored status of a device registered below this registry.
pub fn mirror(regdevid: &RegDevId) -> (String, String) {
    (format!("MIRROR#{regdevid}"), "MIRROR".into())
}

/// gsi4: mirrors by status, for the status lists.
pub fn mirror_status_partition(status: TrustStatus) -> String {
    format!("MIRSTATUS#{}", status.as_str())
}

/// gsi1: mirrors by origin, for snapshots.
pub fn mirror_origin_partition(origin: &str) -> String {
    format!("MIRORIGIN#{origin}")
}

/// The mark that a device change's notification was published (deduplication, with a TTL).
pub fn notified(id: &str) -> (String, String) {
    (format!("NOTIFIED#{id}"), "NOTIFIED".into())
}

/// A trust domain's pending digest of changes.
pub fn digest(domain: &str) -> (String, String) {
    (format!("DIGEST#{domain}"), "DIGEST".into())
}

/// A subscription by its id.
pub fn subscription(id: &str) -> (String, String) {
    (format!("SUB#{id}"), "SUBSCRIPTION".into())
}

/// The partition of a subscriber's subscriptions.
pub fn subscriber_partition(owner: &str) -> String {
    format!("SUBOWNER#{owner}")
}

#[cfg(test)]
mod tests {
    use trustreg_core::records::EnquirerState;

    // The partition names the state as the record stores it, so the table reads alike to
    // both.
    #[test]
    fn enquirer_partitions_name_states_as_serde_does() {
        for state in [
            EnquirerState::Pending,
            EnquirerState::Approved,
            EnquirerState::Rejected,
            EnquirerState::Revoked,
        ] {
            let name = serde_json::to_value(state).unwrap_or_default();
            assert_eq!(
                super::enquirer_state_partition(state),
                format!("ENQSTATE#{}", name.as_str().unwrap_or("?"))
            );
        }
    }
}
