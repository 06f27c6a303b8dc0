//! Who this registry is (Y.3059 9.1 i, ii) and the settings its flows follow.

use serde::{Deserialize, Serialize};

use crate::identifier::RegistryPath;
use crate::status::Policy;
use trustreg_model::roles::AdminKey;

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
    /// Whether subscriptions may name loopback endpoints, and links an http inbox of the
    /// emulator: only stacks deployed for tests (`AllowLoopbackEndpoints`), where the tests'
    /// subscriber listens on loopback and LocalStack's queues answer plain http.
    pub loopback_endpoints: bool,
    /// Abuse limits per caller (the stack's `RateLimits`).
    pub rate_limits: RateLimits,
}

/// How many requests of each kind one caller (one source address) may make per minute, in
/// each function instance (API.md, "Abuse limits"). No counter is shared between instances:
/// a shared one would be a write, and a hot item, on every lookup. API Gateway's stage
/// throttling bounds the whole registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub challenges: u32,
    pub sign_ups: u32,
    pub logins: u32,
    pub anonymous_lookups: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            challenges: 120,
            sign_ups: 10,
            logins: 30,
            anonymous_lookups: 300,
        }
    }
}

impl std::str::FromStr for RateLimits {
    type Err = String;

    /// `challenges=120,sign_ups=10,logins=30,anonymous_lookups=300`; a kind left out keeps
    /// its default.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut limits = Self::default();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?} is not name=number"))?;
            let value: u32 = value
                .trim()
                .parse()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| format!("{name}: not a positive number"))?;
            match name.trim() {
                "challenges" => limits.challenges = value,
                "sign_ups" => limits.sign_ups = value,
                "logins" => limits.logins = value,
                "anonymous_lookups" => limits.anonymous_lookups = value,
                other => return Err(format!("unknown rate limit {other:?}")),
            }
        }
        Ok(limits)
    }
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
            rate_limits: RateLimits::default(),
        }
    }
}
