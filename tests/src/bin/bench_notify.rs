//! Benchmark: a status change through the API -> its notification in a subscriber's SQS queue
//! (API Gateway, register function, DynamoDB transaction, stream, notify function, SNS filter
//! policy, SQS), p50/p99 over N changes; against a baseline measured in the same run: SNS
//! Publish straight to the same topic -> the same queue. Reported as a ratio, so the figure
//! says what the fan-out adds rather than how fast this machine is.
//!
//!     source localstack/env
//!     cargo run -p trustreg-tests --bin bench-notify -- [N]   (default 30)
//!
//! Uses the stack of `TRUSTREG_STACK_OUTPUTS` (default: the test stack).
// card C6
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::json;
use trustreg_device::RegistryClient;
use trustreg_tests::subscriber::{Subscriber, domains, topic_arn};
use trustreg_tests::{
    Manufacturer, Stack, challenge, imei, localstack, post, random_imei, sensor_info,
    signed_request, test_admin,
};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let topic = topic_arn(&stack, &domains(&stack)[0]);
    let registry_path = stack.output("RegistryPath").to_owned();
    let subscriber = Subscriber::subscribe(
        &sdk,
        &topic,
        Some(json!({"status": ["unreliable"], "event": ["status-changed", "baseline"]})),
    )
    .await;

    // Devices to change, registered and acknowledged (trusted) beforehand.
    let registry = stack.registry(&sdk, std::sync::Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let client = RegistryClient::new(&api).unwrap();
    let mut devices = Vec::with_capacity(n);
    for _ in 0..n {
        let id = imei(&random_imei());
        let se = maker.device(&id);
        let registered = client
            .register(&se, &id, sensor_info(), vec![])
            .await
            .unwrap();
        client.acknowledge(&se).await.unwrap();
        devices.push(registered.regdevid);
    }
    eprintln!(
        "bench-notify: {n} devices registered on {}",
        stack.output("StackName")
    );

    let (admin, key) = test_admin();
    let kid = format!("admin:{admin}");
    let mut fan_out = Vec::with_capacity(n);
    let mut api_calls = Vec::with_capacity(n);
    for regdevid in &devices {
        let claims =
            json!({"nonce": challenge(&api, "hold").await, "regdevid": regdevid, "kind": "stolen"});
        let body = signed_request(
            &key,
            &kid,
            "POST",
            &format!("/v1/devices/{regdevid}/holds"),
            &claims,
        );
        let started = Instant::now();
        let held = post(
            &api,
            &format!("/v1/devices/{regdevid}/holds"),
            "application/jose",
            body,
        )
        .await;
        api_calls.push(started.elapsed());
        assert_eq!(held.status, 200, "{held:?}");
        fan_out.push(arrival(&subscriber, started, "status-changed", regdevid).await);
    }

    let sns = aws_sdk_sns::Client::new(&sdk);
    let mut baseline = Vec::with_capacity(n);
    for i in 0..n {
        let regdevid = format!("baseline-{i}-{}", random_imei());
        let attribute = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .unwrap()
        };
        let started = Instant::now();
        sns.publish()
            .topic_arn(&topic)
            .message(json!({"event": "baseline", "regdevid": regdevid}).to_string())
            .message_attributes("event", attribute("baseline"))
            .message_attributes("status", attribute("unreliable"))
            .message_attributes("regdevid", attribute(&regdevid))
            .message_attributes("registry", attribute(&registry_path))
            .send()
            .await
            .unwrap();
        baseline.push(arrival(&subscriber, started, "baseline", &regdevid).await);
    }
    subscriber.remove().await;

    let (f50, f99) = (percentile(&fan_out, 0.50), percentile(&fan_out, 0.99));
    let (b50, b99) = (percentile(&baseline, 0.50), percentile(&baseline, 0.99));
    let (a50, a99) = (percentile(&api_calls, 0.50), percentile(&api_calls, 0.99));
    println!("bench-notify: {n} status changes, each waited for before the next");
    println!(
        "  status change via API -> SQS subscriber  p50 {:>7.1} ms  p99 {:>7.1} ms",
        ms(f50),
        ms(f99)
    );
    println!(
        "    of which the API call (hold)          p50 {:>7.1} ms  p99 {:>7.1} ms",
        ms(a50),
        ms(a99)
    );
    println!(
        "  baseline SNS Publish -> SQS subscriber   p50 {:>7.1} ms  p99 {:>7.1} ms",
        ms(b50),
        ms(b99)
    );
    println!(
        "  ratio fan-out / baseline                 p50 {:>7.1} x   p99 {:>7.1} x",
        ms(f50) / ms(b50).max(0.001),
        ms(f99) / ms(b99).max(0.001)
    );
}

/// How long after `started` the message of `event` about `regdevid` was taken off the queue.
async fn arrival(
    subscriber: &Subscriber,
    started: Instant,
    event: &str,
    regdevid: &str,
) -> Duration {
    loop {
        assert!(
            started.elapsed() < WAIT,
            "no {event} message for {regdevid} within {WAIT:?}"
        );
        for received in subscriber.receive(Duration::from_secs(1)).await {
            if received.attributes.get("event").map(String::as_str) == Some(event)
                && received.attributes.get("regdevid").map(String::as_str) == Some(regdevid)
            {
                return received.at.duration_since(started);
            }
        }
    }
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
