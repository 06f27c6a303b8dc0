//! Times as the API and the records write them.

pub fn rfc3339(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The UTC day (`YYYY-MM-DD`) of a time: how the audit trail is partitioned for reading.
pub fn utc_day(ms: u64) -> String {
    let rfc = rfc3339(ms);
    rfc.get(..10).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod day_tests {
    #[test]
    fn utc_day_of_epoch_millis() {
        assert_eq!(super::utc_day(0), "1970-01-01");
        assert_eq!(super::utc_day(1_795_000_000_000), "2026-11-18");
    }
}
