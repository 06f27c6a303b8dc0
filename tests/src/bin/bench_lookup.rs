//! Benchmark: a single lookup (`Registry::lookup`, anonymous and as an enquirer) against a raw
//! GetItem of the same device item, on the same LocalStack, in one run; the KMS requests the
//! lookups cost; and the cold start of a function's registry and router (what a Lambda's
//! init does). Run after the test stack is deployed:
//! `cargo run --release -p trustreg-tests --bin bench-lookup -- [lookups] [rounds]`.
//! Figures are ratios against the baseline measured in the same run (machines here are noisy).

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use trustreg_aws::SystemClock;
use trustreg_core::actors::Role;
use trustreg_core::sessions::Principal;
use trustreg_tests::{
    CountingKeys, Manufacturer, Stack, challenge, imei, localstack, median, random_imei,
    registration,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let lookups: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let rounds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let stack = Stack::deployed();
    let sdk = localstack().await;

    // Init: what a function does before its first request, measured in-process.
    let started = Instant::now();
    let outputs = stack.outputs.clone();
    let cold = trustreg_aws::registry_from(&sdk, |env| {
        trustreg_aws::SETTINGS
            .iter()
            .find(|(name, _)| *name == env)
            .and_then(|(_, output)| outputs.get(*output).cloned())
    })?;
    let _router = trustreg_http::interrogate_router(Arc::new(cold));
    let init = started.elapsed();

    let plain = stack.registry(&sdk, Arc::new(SystemClock));
    let maker = Manufacturer::accepted_by(&plain).await;
    let id = imei(&random_imei());
    let se = maker.device(&id);
    let api = stack.api_url();
    let registered = plain
        .register(&registration(&se, &id, challenge(&api, "register").await))
        .await?;
    let regdevid = registered.response.regdevid;

    let counting = Arc::new(CountingKeys::of(&stack, &sdk));
    let registry = stack.registry_with(&sdk, counting.clone(), Arc::new(SystemClock));
    let enquirer = Principal {
        subject: "enquirer:bench".into(),
        role: Role::Enquirer,
        expires_at_ms: u64::MAX,
    };
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    // Warm both paths: connections, the cached public key, the statement key's delegation.
    registry.lookup(None, &regdevid).await?;
    let (mut raw, mut public, mut details) = (Vec::new(), Vec::new(), Vec::new());
    let before = counting.requests();
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..lookups {
            dynamo
                .get_item()
                .table_name(stack.table())
                .key("pk", AttributeValue::S(format!("DEV#{regdevid}")))
                .key("sk", AttributeValue::S("DEVICE".into()))
                .consistent_read(true)
                .send()
                .await?;
        }
        raw.push(started.elapsed() / lookups as u32);
        let started = Instant::now();
        for _ in 0..lookups {
            registry.lookup(None, &regdevid).await?;
        }
        public.push(started.elapsed() / lookups as u32);
        let started = Instant::now();
        for _ in 0..lookups {
            registry.lookup(Some(&enquirer), &regdevid).await?;
        }
        details.push(started.elapsed() / lookups as u32);
    }
    let kms = counting.requests() - before;
    let (raw, public, details) = (median(raw), median(public), median(details));
    println!("lookups per round: {lookups}, rounds: {rounds}");
    println!("raw GetItem: {raw:?} per item (baseline)");
    println!(
        "lookup, public: {public:?} = {:.2}x the baseline (target <= 1.3x)",
        public.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "lookup, enquirer: {details:?} = {:.2}x the baseline (target <= 1.3x)",
        details.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "KMS requests during {} lookups: {kms}",
        2 * lookups * rounds
    );
    println!("function init (registry + router, in-process): {init:?} (target < 30 ms)");
    Ok(())
}
