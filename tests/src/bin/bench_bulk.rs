//! Benchmark: bulk registration against raw BatchWriteItem of the same items, on the same
//! LocalStack, in one run, with the spread of both across rounds (the raw baseline's spread is
//! the emulator's own variance); and KMS requests per device, in bulk and for single
//! registrations. Run after the test stack is deployed:
//! `cargo run --release -p trustreg-tests --bin bench-bulk -- [devices] [rounds] [singles]`.
//! Figures are ratios against the baseline measured in the same run (machines here are noisy).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use trustreg_aws::SystemClock;
use trustreg_core::identifier::RegDevId;
use trustreg_core::messages::Purpose;
use trustreg_core::ports::{DeviceStore, NewDevice};
use trustreg_core::records::Transition;
use trustreg_device::bulk::{body_claims, bulk_device};
use trustreg_tests::{
    CountingKeys, Manufacturer, Stack, imei, localstack, median, random_imei, registration,
    sensor_info,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let devices: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(500);
    let rounds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let singles: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let counting = Arc::new(CountingKeys::of(&stack, &sdk));
    let plain = stack.registry(&sdk, Arc::new(SystemClock));
    let store = Arc::new(stack.store(&sdk));
    let registry = stack.registry_with(&sdk, counting.clone(), Arc::new(SystemClock));
    let maker = Manufacturer::accepted_by(&plain).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let (mut bulk_times, mut raw_times) = (Vec::new(), Vec::new());
    let mut kms_requests = 0;
    for round in 0..rounds {
        // Bulk: one signed request of `devices` fresh devices, through the registry's flow.
        let lines: Vec<String> = (0..devices)
            .map(|_| {
                let id = imei(&random_imei());
                let se = maker.device(&id);
                serde_json::to_string(&bulk_device(&se, &id, sensor_info(), vec![]).expect("line"))
                    .expect("json")
            })
            .collect();
        let body = lines.join("\n");
        let nonce = registry.challenge(Purpose::Bulk).await?.nonce;
        let signature = maker
            .ca
            .sign_jws(&serde_json::to_vec(&body_claims(nonce, body.as_bytes()))?)?;
        let parsed = lines
            .iter()
            .map(|l| serde_json::from_str(l).map_err(|e| e.to_string()))
            .collect();
        let before = counting.requests();
        let started = Instant::now();
        let outcomes = registry
            .register_bulk(&signature, body.as_bytes(), parsed)
            .await?;
        bulk_times.push(started.elapsed());
        kms_requests += counting.requests() - before;
        let first = outcomes
            .iter()
            .find_map(|o| o.as_ref().ok())
            .ok_or("no device registered")?;
        assert!(outcomes.iter().all(Result::is_ok), "every device registers");

        // Baseline: the same items (device, guard, transition, audit) for as many fresh
        // identifiers, written with raw BatchWriteItem, 25 a request.
        let template = store
            .get_device(&first.response.regdevid.parse::<RegDevId>()?)
            .await?
            .ok_or("template device")?;
        let mut items = Vec::new();
        for _ in 0..devices {
            let mut device = template.clone();
            device.regdevid = RegDevId::new(device.regdevid.path.clone(), imei(&random_imei()));
            let new = NewDevice {
                transition: Transition {
                    regdevid: device.regdevid.clone(),
                    at_ms: device.registered_at_ms,
                    from: None,
                    to: device.status,
                    reasons: device.reasons.clone(),
                    actor: "bench".into(),
                    cause: "bench".into(),
                },
                audit: trustreg_core::records::AuditRecord {
                    id: format!("{:013}-{}", device.registered_at_ms, random_imei()),
                    at_ms: device.registered_at_ms,
                    actor: "bench".into(),
                    action: "register".into(),
                    target: Some(device.regdevid.to_string()),
                    outcome: trustreg_core::records::Outcome::Accepted,
                    code: None,
                },
                device,
            };
            items.extend(store.creation_item_maps(&new)?);
        }
        let started = Instant::now();
        for chunk in items.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item.clone()))
                                .build()
                                .expect("item"),
                        )
                        .build()
                })
                .collect();
            while !requests.is_empty() {
                let out = client
                    .batch_write_item()
                    .request_items(store.table(), requests)
                    .send()
                    .await?;
                requests = out
                    .unprocessed_items()
                    .and_then(|u| u.get(store.table()))
                    .cloned()
                    .unwrap_or_default();
            }
        }
        raw_times.push(started.elapsed());
        eprintln!(
            "round {round}: bulk {:?}, raw BatchWriteItem {:?}",
            bulk_times[round], raw_times[round]
        );
    }
    let single_kms = single_registrations_kms(&registry, &counting, &maker, singles).await?;
    let ratios: Vec<f64> = bulk_times
        .iter()
        .zip(&raw_times)
        .map(|(b, r)| r.as_secs_f64() / b.as_secs_f64())
        .collect();
    let spread = |d: &[Duration]| {
        let per: Vec<f64> = d.iter().map(|d| devices as f64 / d.as_secs_f64()).collect();
        let min = per.iter().copied().fold(f64::INFINITY, f64::min);
        let max = per.iter().copied().fold(0.0, f64::max);
        format!("{min:.0} to {max:.0}")
    };
    let (bulk_spread, raw_spread) = (spread(&bulk_times), spread(&raw_times));
    let (bulk, raw) = (median(bulk_times), median(raw_times));
    let per_s = |d: Duration| devices as f64 / d.as_secs_f64();
    println!("devices per request: {devices}, rounds: {rounds}");
    println!(
        "bulk registration:      {:.0} devices/s (median)",
        per_s(bulk)
    );
    println!(
        "raw BatchWriteItem:     {:.0} devices/s (median, same items)",
        per_s(raw)
    );
    println!(
        "ratio bulk / raw:       {:.2} (target >= 0.80)",
        per_s(bulk) / per_s(raw)
    );
    println!("spread, bulk:           {bulk_spread} devices/s over {rounds} rounds");
    println!("spread, raw (emulator): {raw_spread} devices/s over {rounds} rounds");
    println!(
        "ratio per round:        {}",
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "KMS requests per device: {:.4} (target <= 0.05)",
        kms_requests as f64 / (devices * rounds) as f64
    );
    println!(
        "KMS requests per 1,000 single registrations: {:.1} (target <= 5; {singles} registered)",
        single_kms as f64 * 1000.0 / singles.max(1) as f64
    );
    Ok(())
}

/// KMS requests made by `singles` single registrations through the registry's flow (the
/// instance's first one signs its session key's delegation; no request per device after it).
async fn single_registrations_kms(
    registry: &trustreg_core::Registry,
    counting: &CountingKeys,
    maker: &Manufacturer,
    singles: usize,
) -> Result<u64, Box<dyn std::error::Error>> {
    let before = counting.requests();
    for _ in 0..singles {
        let id = imei(&random_imei());
        let nonce = registry.challenge(Purpose::Register).await?.nonce;
        registry
            .register(&registration(&maker.device(&id), &id, nonce))
            .await?;
    }
    Ok(counting.requests() - before)
}
