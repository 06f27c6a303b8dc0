//! Benchmark: a change at the primary registry -> visible at the geographical registry (Y.3059
//! 9.4 i b; issue 6): an administrator's hold placed, then released, on one device through the
//! primary's API Gateway, each change timed until a lookup at the geographical registry answers
//! the new status (stream, notify, the sectoral inbox, exchange, its stream and notify, the
//! geographical inbox, exchange); p50/p99 over N changes. The sectoral registry is polled too
//! (one hop). Baselines measured in the same run, on the same LocalStack, reported as ratios so
//! the figures say what the hierarchy adds rather than how fast this machine is:
//! - the same change's notification at the primary (stream, notify, SNS, a subscriber's SQS
//!   queue): what every change costs before it leaves the primary;
//! - raw SQS through two queues (send, receive, send on, receive): the transport of the two
//!   inboxes alone.
//!
//! Run after the test command has deployed its stacks (`Hierarchy::deployed()`:
//! trustreg-test, -sec, -geo, -p08, -geo2): `source localstack/env`, then
//! `cargo run --release -p trustreg-tests --bin bench-hierarchy -- [N]` (N defaults to 30).

use std::error::Error;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use trustreg_device::RegistryClient;
use trustreg_tests::subscriber::{Subscriber, domains, topic_arn};
use trustreg_tests::{
    Hierarchy, Manufacturer, Stack, imei, localstack, random_imei, sensor_info, signed_request,
    test_admin,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// How long one change may take to reach the geographical registry before the run fails.
const WAIT: Duration = Duration::from_secs(60);
/// Between two lookups of the same registry: fine enough for changes that take hundreds of
/// milliseconds, coarse enough that polling does not take the CPU the functions need.
const POLL: Duration = Duration::from_millis(100);

#[tokio::main]
async fn main() -> Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(30);
    let hierarchy = Hierarchy::deployed();
    let sdk = localstack().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let primary = &hierarchy.primary;
    let api = primary.api_url();

    // The device: registered and acknowledged (trusted), then waited for at the top, which
    // also warms every function on the way before anything is measured.
    let registry = primary.registry(&sdk, std::sync::Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let id = imei(&random_imei());
    let se = maker.device(&id);
    let client = RegistryClient::new(&api)?;
    let regdevid = client
        .register(&se, &id, sensor_info(), vec![])
        .await?
        .regdevid;
    client.acknowledge(&se).await?;
    let warm = Instant::now();
    visible(&http, &hierarchy.geographical, &regdevid, "trusted", warm).await?;
    eprintln!(
        "bench-hierarchy: {regdevid} registered at {}, visible at {} after {:.1} s (warm-up)",
        primary.output("RegistryPath"),
        hierarchy.geographical.output("RegistryPath"),
        warm.elapsed().as_secs_f64()
    );

    let subscriber = Subscriber::subscribe(
        &sdk,
        &topic_arn(primary, &domains(primary)[0]),
        Some(json!({"event": ["status-changed"], "regdevid": [regdevid]})),
    )
    .await;
    let (admin, key) = test_admin();
    let kid = format!("admin:{admin}");
    let mut api_calls = Vec::with_capacity(n);
    let mut notified = Vec::with_capacity(n);
    let mut sectoral = Vec::with_capacity(n);
    let mut geographical = Vec::with_capacity(n);
    for i in 0..n {
        // Placed on even rounds, released on odd ones: each round changes the status.
        let (path, expected) = if i % 2 == 0 {
            (format!("/v1/devices/{regdevid}/holds"), "unreliable")
        } else {
            (
                format!("/v1/devices/{regdevid}/holds/stolen/release"),
                "trusted",
            )
        };
        let claims = json!({
            "nonce": nonce(&http, &api, "hold").await?,
            "regdevid": regdevid, "kind": "stolen"
        });
        let body = signed_request(&key, &kid, "POST", &path, &claims);
        let started = Instant::now();
        let answer = http
            .post(format!("{api}{path}"))
            .header("content-type", "application/jose")
            .body(body)
            .send()
            .await?;
        let status = answer.status();
        let answer: Value = answer.json().await?;
        if !status.is_success() || answer["status"] != expected {
            return Err(format!("{path}: {status} {answer}").into());
        }
        api_calls.push(started.elapsed());
        let (n_at, s_at, g_at) = tokio::join!(
            notification(&subscriber, &regdevid, expected, started),
            visible(&http, &hierarchy.sectoral, &regdevid, expected, started),
            visible(&http, &hierarchy.geographical, &regdevid, expected, started),
        );
        notified.push(n_at?);
        sectoral.push(s_at?);
        geographical.push(g_at?);
    }
    subscriber.remove().await;

    let raw = raw_two_queues(&sdk, n).await?;

    let row = |what: &str, samples: &[Duration]| {
        println!(
            "  {what:<48} p50 {:>7.1} ms  p99 {:>7.1} ms",
            ms(percentile(samples, 0.50)),
            ms(percentile(samples, 0.99))
        );
    };
    let ratio = |what: &str, of: &[Duration], to: &[Duration]| {
        println!(
            "  {what:<48} p50 {:>7.1} x   p99 {:>7.1} x",
            ms(percentile(of, 0.50)) / ms(percentile(to, 0.50)).max(0.001),
            ms(percentile(of, 0.99)) / ms(percentile(to, 0.99)).max(0.001)
        );
    };
    println!(
        "bench-hierarchy: {n} status changes at {} (hold placed/released via API), each waited \
         for before the next; lookups polled every {} ms",
        primary.output("RegistryPath"),
        POLL.as_millis()
    );
    row(
        "change -> visible at the geographical registry",
        &geographical,
    );
    row("change -> visible at the sectoral registry", &sectoral);
    row("  of which the API call (hold/release)", &api_calls);
    row("baseline: change -> notification at primary", &notified);
    row("baseline: raw SQS send->receive, two queues", &raw);
    ratio(
        "ratio geographical / notification",
        &geographical,
        &notified,
    );
    ratio("ratio sectoral / notification", &sectoral, &notified);
    ratio(
        "ratio geographical / raw SQS two queues",
        &geographical,
        &raw,
    );
    Ok(())
}

/// A fresh nonce from `api`.
async fn nonce(http: &reqwest::Client, api: &str, purpose: &str) -> Result<String> {
    let answer: Value = http
        .post(format!("{api}/v1/challenges"))
        .json(&json!({ "purpose": purpose }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    answer["nonce"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no nonce: {answer}").into())
}

/// How long after `started` an anonymous lookup at `stack` first answered `status` for
/// `regdevid` (a mirror there: the answer names the device's origin, not `stack`).
async fn visible(
    http: &reqwest::Client,
    stack: &Stack,
    regdevid: &str,
    status: &str,
    started: Instant,
) -> Result<Duration> {
    let url = format!("{}/v1/devices/{regdevid}", stack.api_url());
    loop {
        let answer = http.get(&url).send().await?;
        let at = Instant::now();
        if answer.status().is_success() {
            let body: Value = answer.json().await?;
            if body["status"] == status {
                return Ok(at.duration_since(started));
            }
        }
        if started.elapsed() > WAIT {
            return Err(format!(
                "{regdevid} not {status} at {} within {WAIT:?}",
                stack.output("RegistryPath")
            )
            .into());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// How long after `started` the primary's status-changed notification to `status` was taken
/// off the subscriber's queue.
async fn notification(
    subscriber: &Subscriber,
    regdevid: &str,
    status: &str,
    started: Instant,
) -> Result<Duration> {
    loop {
        for received in subscriber.receive(Duration::from_secs(1)).await {
            if received.attributes.get("regdevid").map(String::as_str) == Some(regdevid)
                && received.attributes.get("status").map(String::as_str) == Some(status)
            {
                return Ok(received.at.duration_since(started));
            }
        }
        if started.elapsed() > WAIT {
            return Err(format!("no notification of {regdevid} {status} within {WAIT:?}").into());
        }
    }
}

/// `n` rounds of: send to a first queue, receive it there (long poll), send it on to a second
/// queue, receive it there: the two inboxes' transport without anything in between.
async fn raw_two_queues(sdk: &aws_config::SdkConfig, n: usize) -> Result<Vec<Duration>> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut queues = Vec::new();
    for hop in ["a", "b"] {
        let url = sqs
            .create_queue()
            .queue_name(format!("trustreg-bench-hierarchy-{hop}-{}", random_imei()))
            .attributes(QueueAttributeName::ReceiveMessageWaitTimeSeconds, "1")
            .send()
            .await?
            .queue_url
            .ok_or("no queue URL")?;
        queues.push(url);
    }
    let rounds = raw_rounds(&sqs, &queues, n).await;
    for queue in &queues {
        // Best effort: a leftover queue holds nothing and costs nothing on LocalStack.
        let _ = sqs.delete_queue().queue_url(queue).send().await;
    }
    rounds
}

async fn raw_rounds(
    sqs: &aws_sdk_sqs::Client,
    queues: &[String],
    n: usize,
) -> Result<Vec<Duration>> {
    let mut rounds = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        let mut body = format!("baseline-{i}");
        let mut arrived = started;
        for queue in queues {
            (body, arrived) = hop(sqs, queue, &body, started).await?;
        }
        rounds.push(arrived.duration_since(started));
    }
    Ok(rounds)
}

/// Sends `body` to `queue` and receives it back (then deletes it): the body, and when it was
/// received.
async fn hop(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    body: &str,
    started: Instant,
) -> Result<(String, Instant)> {
    sqs.send_message()
        .queue_url(queue)
        .message_body(body)
        .send()
        .await?;
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(1)
            .wait_time_seconds(1)
            .send()
            .await?;
        let at = Instant::now();
        if let Some(m) = out.messages().first() {
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
            return Ok((m.body().unwrap_or_default().to_owned(), at));
        }
        if started.elapsed() > WAIT {
            return Err(format!("nothing received from {queue} within {WAIT:?}").into());
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
