//! Who this registry is (Y.3059 9.1 i, ii) and the settings its flows follow.

use serde::{Deserialize, Serialize};

use crate::actors::AdminKey;
use crate::identifier::RegistryPath;
use crate::status::Policy;

/// Y.3059 6.1 a, 9.1 ii.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryKind {
    Primary,
    Sectoral,
    Geographical,
}

impl std::str::FromStr for RegistryKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "primary" => Ok(Self::Primary),
            "sectoral" => Ok(Self::Sectoral),
            "geographical" => Ok(Self::Geographical),
            other => Err(format!("unknown registry type {other:?}")),
        }
    }
}

impl RegistryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Sectoral => "sectoral",
            Self::Geographical => "geographical",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub path: RegistryPath,
    pub kind: RegistryKind,
    /// The trust domains this registry hosts (6.1 f); the first is the default.
    pub trust_domains: Vec<String>,
    /// Challenges are single-use and expire after 5 minutes (API.md).
    pub nonce_ttl_ms: u64,
    pub policy: Policy,
    /// Administrators' public keys (the stack's `AdminPublicKeys`); they sign admin requests.
    pub admin_keys: Vec<AdminKey>,
    /// Lifetime of a login's access token (9.3 iii): short, as a token cannot be recalled.
    pub access_token_ttl_ms: u64,
    /// Whether subscriptions may name loopback endpoints: only stacks deployed for tests
    /// (`AllowLoopbackEndpoints`), where the tests' subscriber listens on loopback.
    pub loopback_endpoints: bool,
}

impl RegistryConfig {
    pub fn new(path: RegistryPath, kind: RegistryKind, trust_domains: Vec<String>) -> Self {
        Self {
            path,
            kind,
            trust_domains,
            nonce_ttl_ms: 5 * 60 * 1000,
            policy: Policy::default(),
            admin_keys: Vec::new(),
            access_token_ttl_ms: 15 * 60 * 1000,
            loopback_endpoints: false,
        }
    }
}
