//! A registry wired from its settings: the Lambda's environment (set by the stack template),
//! or a deployed stack's outputs for the operator's CLI.

use std::sync::Arc;

use trustreg_core::actors::AdminKey;
use trustreg_core::identifier::RegistryPath;
use trustreg_core::{Registry, RegistryConfig, RegistryKind};

use crate::{DynamoStore, KmsKeys, OsRng, SystemClock};

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("setting {0} is missing")]
    Missing(&'static str),
    #[error("setting {name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
}

/// The environment variables a registry function reads, and the stack outputs that hold the
/// same values.
pub const SETTINGS: &[(&str, &str)] = &[
    ("REGISTRY_PATH", "RegistryPath"),
    ("REGISTRY_TYPE", "RegistryType"),
    ("TRUST_DOMAINS", "TrustDomains"),
    ("TABLE_NAME", "TableName"),
    ("SIGNING_KEY_ID", "SigningKeyId"),
    ("PII_KEY_ID", "PiiKeyId"),
    ("ADMIN_PUBLIC_KEYS", "AdminPublicKeys"),
    (AUDIT_SHARDS, "AuditShards"),
];

/// How many partitions a day's audit records are spread over (`AuditShards`); optional, the
/// default being `keys::DEFAULT_AUDIT_SHARDS`, the template's too.
pub const AUDIT_SHARDS: &str = "AUDIT_SHARDS";

/// The ARN of the trust domains' topics without the domain (`...:trustreg-<suffix>-`): set for
/// the functions that publish notifications or hold subscriptions.
pub const TOPIC_ARN_PREFIX: &str = "TOPIC_ARN_PREFIX";

/// `true` where the stack is deployed for tests (`AllowLoopbackEndpoints`): subscriptions may
/// then name loopback endpoints, where the tests' subscriber listens, and links an http inbox
/// of the emulator.
pub const LOOPBACK_ENDPOINTS: &str = "LOOPBACK_ENDPOINTS";

/// The abuse limits per caller (`RateLimits`, `challenges=120,sign_ups=10,...`), from the
/// stack's `RateLimits`; the defaults when unset.
pub const RATE_LIMITS: &str = "RATE_LIMITS";

/// Set (to anything but empty) for the functions that send to other registries' inboxes (the
/// exchange of the hierarchy: notify sends updates up, exchange forwards and answers).
pub const EXCHANGE_ENABLED: &str = "EXCHANGE_ENABLED";

/// The SDK configuration from the environment (LocalStack sets `AWS_ENDPOINT_URL`).
///
/// Retries are the SDK's defaults on purpose: standard mode, 3 attempts, exponential backoff
/// with jitter from 1 s, so a throttled KMS or DynamoDB call (ThrottlingException,
/// ProvisionedThroughputExceededException, RequestLimitExceeded) gives up within about 3 s,
/// well inside the API functions' 29 s; the route then answers 503 with `Retry-After`
/// (`trustreg_http::problem`), and the writes, each one transaction, leave nothing behind.
/// tests/tests/faults.rs throttles the deployed functions to prove both outcomes.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

pub async fn registry_from_env() -> Result<Registry, EnvError> {
    registry_from(&sdk_config().await, |name| std::env::var(name).ok())
}

/// `lookup` answers the environment variable names of `SETTINGS`.
pub fn registry_from(
    sdk: &aws_config::SdkConfig,
    lookup: impl Fn(&'static str) -> Option<String>,
) -> Result<Registry, EnvError> {
    let var = |name: &'static str| {
        lookup(name)
            .filter(|v| !v.is_empty())
            .ok_or(EnvError::Missing(name))
    };
    let path: RegistryPath = var("REGISTRY_PATH")?
        .parse()
        .map_err(|e| EnvError::Invalid {
            name: "REGISTRY_PATH",
            why: format!("{e}"),
        })?;
    let kind: RegistryKind = var("REGISTRY_TYPE")?
        .parse()
        .map_err(|why| EnvError::Invalid {
            name: "REGISTRY_TYPE",
            why,
        })?;
    // An ICANN country code is a geographical registry's RegID only (Y.3059 9.1 i, its note).
    if path.own_id().is_country_code() && kind != RegistryKind::Geographical {
        return Err(EnvError::Invalid {
            name: "REGISTRY_PATH",
            why: format!("{path}: a country-code RegID names a geographical registry"),
        });
    }
    let domains = var("TRUST_DOMAINS")?
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    let table = var("TABLE_NAME")?;
    let signing_key = var("SIGNING_KEY_ID")?;
    let pii_key = var("PII_KEY_ID")?;
    let registry = path.to_string();
    let mut config = RegistryConfig::new(path, kind, domains);
    // Optional: a registry without administrators refuses every admin request.
    config.admin_keys = match lookup("ADMIN_PUBLIC_KEYS").filter(|v| !v.trim().is_empty()) {
        Some(text) => admin_keys(&text)?,
        None => Vec::new(),
    };
    config.loopback_endpoints = lookup(LOOPBACK_ENDPOINTS).is_some_and(|v| v == "true");
    if let Some(text) = lookup(RATE_LIMITS).filter(|v| !v.trim().is_empty()) {
        config.rate_limits = text.parse().map_err(|why| EnvError::Invalid {
            name: RATE_LIMITS,
            why,
        })?;
    }
    let shards = match lookup(AUDIT_SHARDS).filter(|v| !v.trim().is_empty()) {
        Some(text) => audit_shards(&text)?,
        None => crate::keys::DEFAULT_AUDIT_SHARDS,
    };
    let registry = Registry::new(
        config,
        Arc::new(
            DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table).with_audit_shards(shards),
        ),
        Arc::new(KmsKeys::new(
            aws_sdk_kms::Client::new(sdk),
            signing_key,
            pii_key,
            registry,
        )),
        Arc::new(SystemClock),
        Arc::new(OsRng),
    );
    // Functions given the domain topics' ARN prefix hold subscriptions to them.
    let registry = match lookup(TOPIC_ARN_PREFIX).filter(|v| !v.trim().is_empty()) {
        Some(prefix) => registry.with_broker(Arc::new(crate::SnsSubscriptions::new(
            aws_sdk_sns::Client::new(sdk),
            prefix,
        ))),
        None => registry,
    };
    // ... and publish notifications on them (notify's fan-out, admin's bulk notifications).
    let registry = match lookup(TOPIC_ARN_PREFIX).filter(|v| !v.trim().is_empty()) {
        Some(prefix) => registry.with_notifier(Arc::new(crate::SnsNotifier::new(
            aws_sdk_sns::Client::new(sdk),
            prefix,
        ))),
        None => registry,
    };
    let registry = match lookup(EXCHANGE_ENABLED).filter(|v| !v.trim().is_empty()) {
        Some(_) => registry.with_outbox(Arc::new(crate::SqsOutbox::new(sdk))),
        None => registry,
    };
    Ok(registry)
}

/// The stack's `AuditShards`: 1 to `keys::MAX_AUDIT_SHARDS`.
pub fn audit_shards(text: &str) -> Result<u32, EnvError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=crate::keys::MAX_AUDIT_SHARDS).contains(n))
        .ok_or_else(|| EnvError::Invalid {
            name: AUDIT_SHARDS,
            why: format!("{text:?}: expected 1 to {}", crate::keys::MAX_AUDIT_SHARDS),
        })
}

/// The stack's `AdminPublicKeys`: a JSON object `{"<name>": <P-256 public JWK>}`.
pub fn admin_keys(text: &str) -> Result<Vec<AdminKey>, EnvError> {
    let invalid = |why: String| EnvError::Invalid {
        name: "ADMIN_PUBLIC_KEYS",
        why,
    };
    let keys: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    keys.into_iter()
        .map(|(name, jwk)| {
            if name.is_empty() || name.contains(':') {
                return Err(invalid(format!("admin name {name:?}")));
            }
            let key = trustreg_core::jose::key_from_jwk(&jwk)
                .map_err(|e| invalid(format!("key of {name}: {e}")))?;
            Ok(AdminKey { name, key })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Y.3059 7 i a
    #[test]
    fn admin_keys_are_read_from_a_jwk_object() {
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
        });
        let keys = admin_keys(&serde_json::json!({ "alice": jwk }).to_string()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].name, "alice");
        assert!(admin_keys("{}").unwrap().is_empty());
        assert!(admin_keys("[]").is_err());
        assert!(admin_keys(r#"{"a:b": {}}"#).is_err());
        assert!(admin_keys(r#"{"bob": {"kty": "EC"}}"#).is_err());
    }

    // Y.3059 9.1 i
    #[test]
    fn a_country_code_regid_is_a_geographical_registrys_only() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let settings = |path: &'static str, kind: &'static str| {
            move |name: &'static str| match name {
                "REGISTRY_PATH" => Some(path.to_owned()),
                "REGISTRY_TYPE" => Some(kind.to_owned()),
                "TRUST_DOMAINS" => Some("health".to_owned()),
                "TABLE_NAME" | "SIGNING_KEY_ID" | "PII_KEY_ID" => Some("x".to_owned()),
                _ => None,
            }
        };
        assert!(registry_from(&sdk, settings("IN", "geographical")).is_ok());
        assert!(registry_from(&sdk, settings("IN.HLT.P07", "primary")).is_ok());
        for (path, kind) in [("IN", "primary"), ("DE", "sectoral")] {
            assert!(
                matches!(
                    registry_from(&sdk, settings(path, kind)),
                    Err(EnvError::Invalid {
                        name: "REGISTRY_PATH",
                        ..
                    })
                ),
                "{path} as {kind}"
            );
        }
    }
}
