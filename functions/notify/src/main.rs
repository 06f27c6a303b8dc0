//! Lambda `notify` (card C1): the table's stream fanned out to the trust domains' topics
//! (Y.3059 7 iv e, card C4); on the stack's schedules, the evaluation of devices whose status
//! time alone changes (9.3 i c; 6.1 f) and the digest of each trust domain (9.4 i c).

mod events;
mod schedules;
mod sequencer;
mod stream;

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    trustreg_aws::init_tracing();
    let registry = Arc::new(trustreg_aws::registry_from_env().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let registry = registry.clone();
        async move { events::handle(&registry, event.payload).await }
    }))
    .await
}
