//! Which firmware a vulnerability affects. Versions compare numerically by dot-separated
//! parts ("1.10" is after "1.9"; "1.2" equals "1.2.0"; a leading "v" is ignored); a part that
//! is not a number sorts after every number, and as text among its kind. Pure.

use std::cmp::Ordering;

use crate::messages::VulnerabilityTarget;
use crate::records::{VulnerabilityRecord, VulnerabilityState};

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Part<'a> {
    Number(u64),
    Text(&'a str),
}

fn parts(version: &str) -> Vec<Part<'_>> {
    let mut parts: Vec<Part<'_>> = version
        .trim()
        .trim_start_matches(['v', 'V'])
        .split('.')
        .map(|p| p.parse().map(Part::Number).unwrap_or(Part::Text(p)))
        .collect();
    // Trailing zeros say nothing: 1.2 == 1.2.0.
    while parts.len() > 1 && parts.last() == Some(&Part::Number(0)) {
        parts.pop();
    }
    parts
}

pub fn compare_firmware(a: &str, b: &str) -> Ordering {
    parts(a).cmp(&parts(b))
}

/// `from` inclusive, `below` exclusive; a missing bound does not limit.
pub fn in_range(firmware: &str, from: Option<&str>, below: Option<&str>) -> bool {
    from.is_none_or(|f| compare_firmware(firmware, f) != Ordering::Less)
        && below.is_none_or(|b| compare_firmware(firmware, b) == Ordering::Less)
}

/// Whether a device running `firmware` is (still) affected by `vulnerability`: it is open, the
/// firmware is in the target's range, and not at or after the fixing firmware.
pub fn still_affected(vulnerability: &VulnerabilityRecord, firmware: &str) -> bool {
    if vulnerability.state == VulnerabilityState::Fixed {
        return false;
    }
    let ranged = match &vulnerability.target {
        VulnerabilityTarget::Devices { .. } => true,
        VulnerabilityTarget::Range {
            firmware_from,
            firmware_below,
            ..
        } => in_range(
            firmware,
            firmware_from.as_deref(),
            firmware_below.as_deref(),
        ),
    };
    ranged && in_range(firmware, None, vulnerability.fixed_in_firmware.as_deref())
}
