//! Lambda `exchange`: the registry's inbox in the hierarchy (Y.3059 7 iv d-f, 9.1 v, 9.4 i b);
//! each SQS batch is handled by `trustreg_aws::inbox`.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use trustreg_aws::{DeadLetters, Redelivery, handle_inbox_batch};

/// The inbox's dead-letter queue (the stack's `InboxDeadLetters`).
const INBOX_DEAD_LETTERS_URL: &str = "INBOX_DEAD_LETTERS_URL";

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    trustreg_aws::init_tracing();
    let sdk = trustreg_aws::sdk_config().await;
    let registry = Arc::new(trustreg_aws::registry_from(&sdk, |name| {
        std::env::var(name).ok()
    })?);
    let redelivery = Arc::new(Redelivery::new(&sdk));
    let dead_letters = Arc::new(
        std::env::var(INBOX_DEAD_LETTERS_URL)
            .ok()
            .filter(|url| !url.trim().is_empty())
            .map(|url| DeadLetters::new(&sdk, url)),
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let registry = registry.clone();
        let redelivery = redelivery.clone();
        let dead_letters = dead_letters.clone();
        async move {
            let dead_letters = dead_letters.as_ref().as_ref();
            handle_inbox_batch(&registry, &redelivery, dead_letters, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}
