//! The table's key layout: one table per registry, items told apart by `pk`/`sk` prefixes.
//!
//! Three overloaded global secondary indexes (`gsiNpk`/`gsiNsk`) serve the lookups that are not
//! by primary key; every request path queries, none scans:
//! - gsi1: audit records by target (`AUDIT#<target>`, record id).
//! - gsi2: devices by make and model (`MODEL#<make>#<model>`, firmware and RegDevID), for
//!   vulnerabilities that target a range.
//! - gsi3: devices by when their next security report is due (`DUE#<shard>`, due time), for
//!   the scheduled evaluation.

use trustreg_core::identifier::{Identifier, RegDevId};
use trustreg_core::records::{AuditRecord, DeviceRecord};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1PK: &str = "gsi1pk";
pub const GSI1SK: &str = "gsi1sk";
pub const GSI2PK: &str = "gsi2pk";
pub const GSI2SK: &str = "gsi2sk";
pub const GSI3PK: &str = "gsi3pk";
pub const GSI3SK: &str = "gsi3sk";
/// DynamoDB TTL attribute (epoch seconds).
pub const TTL: &str = "ttl";

pub fn device(regdevid: &RegDevId) -> (String, String) {
    (format!("DEV#{regdevid}"), "DEVICE".into())
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
    (format!("DEV#{regdevid}"), format!("VULN#{id}"))
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
    (format!("DUE#{shard}"), format!("{due_ms:013}#{regdevid}"))
}

pub fn history(regdevid: &RegDevId, at_ms: u64, salt: &str) -> (String, String) {
    (
        format!("DEV#{regdevid}"),
        format!("HIST#{at_ms:013}#{salt}"),
    )
}

/// A security-parameter report, in the device's partition next to its transitions.
pub fn report(regdevid: &RegDevId, at_ms: u64, salt: &str) -> (String, String) {
    (
        format!("DEV#{regdevid}"),
        format!("REPORT#{at_ms:013}#{salt}"),
    )
}

/// The gsi3 sort-key bound below which every device due at or before `now_ms` sorts.
pub fn due_until(now_ms: u64) -> String {
    format!("{:013}", now_ms.saturating_add(1))
}

/// A trust domain's status policy (6.1 f), next to the roots of trust.
pub fn domain_policy(name: &str) -> (String, String) {
    (ROOTS_PK.into(), format!("DOMAIN#{name}"))
}

pub fn nonce(value: &str) -> (String, String) {
    (format!("NONCE#{value}"), "NONCE".into())
}

pub const ROOTS_PK: &str = "REGISTRY";

pub fn root(id: &str) -> (String, String) {
    (ROOTS_PK.into(), format!("ROOT#{id}"))
}

/// Audit records are partitioned by day; the GSI lists one target's records in time order.
pub fn audit(record: &AuditRecord) -> (String, String) {
    (format!("AUDIT#{}", day(record.at_ms)), record.id.clone())
}

pub fn audit_by_target(target: &str) -> String {
    format!("AUDIT#{target}")
}

pub fn day(ms: u64) -> String {
    let days = (ms / 86_400_000) as i64;
    let date = time::Date::from_julian_day(2_440_588 + days as i32).unwrap_or(time::Date::MIN);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A virtual RegDevID (9.2 i f); the item carries a DynamoDB `ttl` as well.
pub fn virtual_id(id: &str) -> (String, String) {
    (format!("VID#{id}"), "VID".into())
}

/// An owner or custodian (9.2 i d); its PII is a sealed blob on the item.
pub fn owner(owner_id: &str) -> (String, String) {
    (format!("OWNER#{owner_id}"), "OWNER".into())
}

/// An owner's link to a device it holds, in the owner's partition: its devices are one Query.
pub fn owner_device(owner_id: &str, regdevid: &RegDevId) -> (String, String) {
    (format!("OWNER#{owner_id}"), format!("DEV#{regdevid}"))
}

/// One link of a device's custody chain, in the device's partition next to its history.
pub fn custody(regdevid: &RegDevId, at_ms: u64, salt: &str) -> (String, String) {
    (
        format!("DEV#{regdevid}"),
        format!("CUSTODY#{at_ms:013}#{salt}"),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_of_epoch_millis() {
        assert_eq!(super::day(0), "1970-01-01");
        assert_eq!(super::day(1_795_000_000_000), "2026-11-18");
    }
}
