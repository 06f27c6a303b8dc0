//! The roles of API.md and the administrators' keys.

use p256::ecdsa::VerifyingKey;

use crate::jose;

/// The roles of API.md (anonymous `public` is the absence of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Device,
    Admin,
    /// An owner or custodian that registered a signing key (kid `owner:<owner_id>`).
    Owner,
    /// A manufacturer, signing with the key of its CA that the registry accepts as a root of
    /// trust (kid `manufacturer:<root id>`): it vouches for the devices it certified.
    Manufacturer,
    /// An approved enquirer (kid `enquirer:<enquirer_id>`): reads device details (9.3 ii c).
    Enquirer,
    /// An approved enquirer acting for an agency: an enquirer that also reports vulnerabilities.
    Agency,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Admin => "admin",
            Self::Owner => "owner",
            Self::Manufacturer => "manufacturer",
            Self::Enquirer => "enquirer",
            Self::Agency => "agency",
        }
    }
}

/// An administrator's public key, from the stack's configuration.
#[derive(Debug, Clone)]
pub struct AdminKey {
    pub name: String,
    pub key: VerifyingKey,
}

/// Longest `kid` a signed request may name: longer than any RegDevID, `admin:` name or id, and
/// far below DynamoDB's key limits (a partition key is at most 2,048 bytes:
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html), so an
/// oversized `kid` is refused as unknown before it reaches a key read.
pub const MAX_KID: usize = 128;

/// How a refused request's audit record names its signer: the `kid` it claims, marked as
/// unverified (the refusal may have come before or instead of the signature's check), or
/// `unknown` when it names none or one too long to record.
pub fn unverified_actor(compact: &str) -> String {
    match unverified_kid(compact) {
        Some(kid) if kid.len() <= MAX_KID => format!("unverified:{kid}"),
        _ => "unknown".into(),
    }
}

/// The signed claims without verifying anything: only to name the target of a refused request
/// in its audit record.
pub fn unverified_kid(compact: &str) -> Option<String> {
    jose::parse(compact).ok()?.header().kid.clone()
}
