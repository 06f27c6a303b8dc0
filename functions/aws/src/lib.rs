//! trustreg-aws: the ports of trustreg-core on DynamoDB and KMS, and the wiring of a registry
//! from a Lambda's environment.

mod dynamo;
mod env;
mod inbox;
mod keys;
mod kms;
mod sns;
mod sns_subscriptions;
mod sqs;
mod system;

pub use dynamo::DynamoStore;
pub use env::{
    AUDIT_SHARDS, EXCHANGE_ENABLED, EnvError, SETTINGS, TOPIC_ARN_PREFIX, registry_from,
    registry_from_env, sdk_config,
};
pub use inbox::{NotAnSqsBatch, handle_inbox_batch};
pub use kms::KmsKeys;
pub use sns::SnsNotifier;
pub use sns_subscriptions::SnsSubscriptions;
pub use sqs::{
    DeadLetters, REFUSAL_ATTRIBUTE, Redelivery, SqsOutbox, queue_region, queue_url_of_arn,
};
pub use system::{OsRng, SystemClock};

mod telemetry;
pub use telemetry::init_tracing;
