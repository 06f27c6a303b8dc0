//! Benchmark: the audit log at a sustained rate (issue 14). An enquirer's reads of the log's
//! checkpoint through API Gateway (`GET /v1/audit/checkpoint`, each one audited:
//! `read-audit-log`) at RATE per second for SECONDS; meanwhile the stored checkpoint is polled
//! every 50 ms (from the table, so the polling adds no record). Reported: the checkpoint lag of
//! each audited read (from the record's time to the first checkpoint covering its leaf), p50
//! and p99; the KMS signatures (checkpoints signed) per 1,000 leaves appended in the window;
//! and the audited read's latency. Run after the test stack is deployed, on a LocalStack of its own (it adds
//! thousands of records to the log the suite verifies):
//! `cargo run --release -p trustreg-tests --bin bench-audit -- [rate] [seconds]`
//! (default 20/s for 30 s; targets: lag p50 ≤ 2 s on LocalStack, ≤ 2 KMS requests per 1,000).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use trustreg_core::ports::{AuditLogStore, AuditQuery, LookupStore};
use trustreg_tests::audit_log::signed;
use trustreg_tests::{Stack, enquirer_token, localstack, send};

/// The audit target of a checkpoint read (API.md, "The audit log").
const TARGET: &str = "audit-log:checkpoint";

fn now_ms() -> u64 {
    trustreg_tests::exchange::now_ms()
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(30);
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let api = stack.api_url();
    let token = enquirer_token(&api).await;
    let url = format!("{api}/v1/audit/checkpoint");
    // Warm the function and the sequencer.
    assert_eq!(
        send("GET", url.clone(), Some(&token), None).await.status,
        200
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    let (signatures_before, size_before) = signed(&stack).await;
    let start_ms = now_ms();
    let started = Instant::now();
    // Checkpoint sizes seen, with when (ms since the epoch).
    let seen: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let polling = {
        let (seen, stack) = (seen.clone(), stack.clone());
        tokio::spawn(async move {
            loop {
                let (_, size) = signed(&stack).await;
                let mut seen = seen.lock().await;
                if seen.last().is_none_or(|(s, _)| *s != size) {
                    seen.push((size, now_ms()));
                }
                drop(seen);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut requests = Vec::new();
    for _ in 0..rate * seconds {
        ticker.tick().await;
        let (url, token) = (url.clone(), token.clone());
        requests.push(tokio::spawn(async move {
            let at = Instant::now();
            let answer = send("GET", url, Some(&token), None).await;
            (answer.status, at.elapsed())
        }));
    }
    // Answers other than 200 are counted, not fatal: past its capacity the emulator answers
    // 502-504 (a Lambda timed out), which says nothing of the log.
    let mut latencies = Vec::new();
    let mut others: HashMap<u16, usize> = HashMap::new();
    for request in requests {
        let (status, latency) = request.await?;
        if status == 200 {
            latencies.push(latency);
        } else {
            *others.entry(status).or_default() += 1;
        }
    }
    let load = started.elapsed();

    // The audited lookups of the window, and their leaves once sequenced.
    let mut records = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .audit_records(&AuditQuery::Target(TARGET.into()), cursor.as_deref(), 500)
            .await?;
        records.extend(
            page.items
                .into_iter()
                .filter(|r| r.at_ms >= start_ms && r.action == "read-audit-log"),
        );
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let leaves: HashMap<String, u64> = loop {
        let leaves = store.leaf_indexes(&ids).await?;
        let size = seen.lock().await.last().map_or(0, |(s, _)| *s);
        if leaves.len() == ids.len() && leaves.values().all(|i| *i < size) {
            break leaves;
        }
        assert!(Instant::now() < deadline, "not sequenced within 120 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    polling.abort();
    let (signatures_after, size_after) = signed(&stack).await;
    let seen = seen.lock().await.clone();
    let mut lags: Vec<Duration> = records
        .iter()
        .map(|r| {
            let covered = seen
                .iter()
                .find(|(size, _)| *size > leaves[&r.id])
                .map(|(_, at)| *at)
                .expect("covered");
            Duration::from_millis(covered.saturating_sub(r.at_ms))
        })
        .collect();
    lags.sort();
    latencies.sort();
    let appended = size_after - size_before;
    let signatures = signatures_after - signatures_before;
    println!(
        "{} audited reads at {rate}/s sent in {load:?}: {} answered 200, others {others:?}; {} records found",
        rate * seconds,
        latencies.len(),
        records.len()
    );
    println!(
        "audited read's latency through API Gateway: p50 {:?} p99 {:?}",
        percentile(&latencies, 50),
        percentile(&latencies, 99)
    );
    println!(
        "checkpoint lag (record written -> first checkpoint covering its leaf): p50 {:?} p99 {:?} (target p50 <= 2 s)",
        percentile(&lags, 50),
        percentile(&lags, 99)
    );
    println!(
        "checkpoints signed (KMS Sign): {signatures} for {appended} leaves appended = {:.2} per 1,000 (target <= 2)",
        signatures as f64 * 1000.0 / appended.max(1) as f64
    );
    Ok(())
}
