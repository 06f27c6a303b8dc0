//! How times and ages read on the page.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the epoch of an RFC 3339 time, if it is one.
pub fn epoch_ms(rfc3339: &str) -> Option<u64> {
    let at = OffsetDateTime::parse(rfc3339, &Rfc3339).ok()?;
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// "just now", "42 s ago", "5 min ago", "3 h ago", "2 days ago".
pub fn ago(at_ms: u64, now_ms: u64) -> String {
    let s = now_ms.saturating_sub(at_ms) / 1000;
    match s {
        0..=4 => "just now".to_owned(),
        5..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        86_400..=172_799 => "1 day ago".to_owned(),
        _ => format!("{} days ago", s / 86_400),
    }
}

/// The age of an RFC 3339 time, or the text as it came when it is not one.
pub fn age_of(rfc3339: &str, now_ms: u64) -> String {
    epoch_ms(rfc3339).map_or_else(|| rfc3339.to_owned(), |at| ago(at, now_ms))
}

/// A UTC time to the second, from milliseconds since the epoch.
pub fn utc(at_ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map(|t| {
            t.replace('T', " ")
                .split('.')
                .next()
                .unwrap_or_default()
                .trim_end_matches('Z')
                .to_owned()
                + " UTC"
        })
        .unwrap_or_default()
}

/// A machine word (`rot-not-verified`, `report_overdue`) as words.
pub fn words(code: &str) -> String {
    let text = code.replace(['-', '_'], " ");
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.
mod tests {
    use super::*;

    // card C5: the age of the information is shown.
    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        let now = 1_800_000_000_000;
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now - 42_000, now), "42 s ago");
        assert_eq!(ago(now - 5 * 60_000, now), "5 min ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3 h ago");
        assert_eq!(ago(now - 50 * 3_600_000, now), "2 days ago");
        assert_eq!(ago(now + 10_000, now), "just now");
    }

    #[test]
    fn rfc3339_times_are_read_and_written() {
        let at = epoch_ms("2027-01-15T08:00:00.250Z").unwrap();
        assert_eq!(at % 1000, 250);
        assert_eq!(utc(at), "2027-01-15 08:00:00 UTC");
        assert_eq!(age_of("not a time", at), "not a time");
        assert_eq!(words("rot_not_verified"), "Rot not verified");
    }
}
