//! A registry wired from its settings: the Lambda's environment (set by the stack template),
//! or a deployed stack's outputs for the operator's CLI.

use std::sync::Arc;

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
pub const SETTINGS: [(&str, &str); 6] = [
    ("REGISTRY_PATH", "RegistryPath"),
    ("REGISTRY_TYPE", "RegistryType"),
    ("TRUST_DOMAINS", "TrustDomains"),
    ("TABLE_NAME", "TableName"),
    ("SIGNING_KEY_ID", "SigningKeyId"),
    ("PII_KEY_ID", "PiiKeyId"),
];

/// The SDK configuration from the environment (LocalStack sets `AWS_ENDPOINT_URL`).
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
    let domains = var("TRUST_DOMAINS")?
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    let table = var("TABLE_NAME")?;
    let signing_key = var("SIGNING_KEY_ID")?;
    let pii_key = var("PII_KEY_ID")?;
    Ok(Registry::new(
        RegistryConfig::new(path, kind, domains),
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table)),
        Arc::new(KmsKeys::new(
            aws_sdk_kms::Client::new(sdk),
            signing_key,
            pii_key,
        )),
        Arc::new(SystemClock),
        Arc::new(OsRng),
    ))
}
