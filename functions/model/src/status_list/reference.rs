//! How a referenced token points into a status list (the draft's section "Referenced Token"):
//! `"status": {"status_list": {"idx": 0, "uri": "https://..."}}`. Registrations, lookups and
//! statements will carry a device's reference; a verifier needs nothing else to check it.

use serde::{Deserialize, Serialize};

/// `idx`: the device's index in the list; `uri`: the list token's URL, equal to its `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusListReference {
    pub idx: u64,
    pub uri: String,
}

/// The `status` claim, which the draft makes an object so other status mechanisms can sit
/// beside `status_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusClaim {
    pub status_list: StatusListReference,
}

impl std::fmt::Display for StatusListReference {
    /// `idx@uri`, as `trustreg status check` takes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.idx, self.uri)
    }
}
