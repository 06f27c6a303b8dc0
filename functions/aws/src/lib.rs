//! trustreg-aws: the ports of trustreg-core on DynamoDB and KMS, and the wiring of a registry
//! from a Lambda's environment.

mod dynamo;
mod env;
mod keys;
mod kms;
mod system;

pub use dynamo::DynamoStore;
pub use env::{EnvError, SETTINGS, registry_from, registry_from_env, sdk_config};
pub use kms::KmsKeys;
pub use system::{OsRng, SystemClock};
