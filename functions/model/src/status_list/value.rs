//! The registry's trust statuses as the draft's Status Types (its section "Status Types").

use super::Bits;
use crate::status::TrustStatus;

/// The registry's lists hold 2 bits per device: the draft's three types plus one of its
/// application-specific values.
pub const REGISTRY_BITS: Bits = Bits::Two;

/// 0x00 "VALID": trusted.
pub const VALID: u8 = 0x00;
/// 0x01 "INVALID": unreliable (a vulnerability or a revoked root made it untrustworthy).
pub const INVALID: u8 = 0x01;
/// 0x02 "SUSPENDED": unverified, a status that may become valid again (acknowledgement, a
/// fresh report).
pub const SUSPENDED: u8 = 0x02;
/// 0x03, application-specific in the draft: deregistered, the end of the registration.
pub const DEREGISTERED: u8 = 0x03;

pub fn value_of(status: TrustStatus) -> u8 {
    match status {
        TrustStatus::Trusted => VALID,
        TrustStatus::Unreliable => INVALID,
        TrustStatus::Unverified => SUSPENDED,
        TrustStatus::Deregistered => DEREGISTERED,
    }
}

/// `None` for values the registry never writes (only reachable with more than 2 bits).
pub fn status_of(value: u8) -> Option<TrustStatus> {
    match value {
        VALID => Some(TrustStatus::Trusted),
        INVALID => Some(TrustStatus::Unreliable),
        SUSPENDED => Some(TrustStatus::Unverified),
        DEREGISTERED => Some(TrustStatus::Deregistered),
        _ => None,
    }
}
