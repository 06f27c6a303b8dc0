//! The CLI when the `register` function dies under it (issue 19): the real `trustreg` binary
//! against the deployed stack, the function SIGKILLed by LocalStack's fault switch
//! (localstack/README.md, `faults.py`) right after DynamoDB served its write, so API Gateway
//! answers 502 for a request whose devices were in fact registered.
//!
//! Faults carry a tag: the CLI sends it as a header (`TRUSTREG_EXTRA_HEADERS`), and the switch
//! counts only the calls of invocations carrying it, so tests sharing the stack are not hit and
//! the calls a run makes can be counted on the server's side.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use trustreg_core::ports::{BulkStore, ReportStore};
use trustreg_model::identifier::{Identifier, RegDevId};
use trustreg_model::records::HistoryEntry;
use trustreg_tests::roles::function_name;
use trustreg_tests::{Manufacturer, Stack, eventually, imei, localstack, random_imei, scratch};

// ---------------------------------------------------------------- the fault switch

fn faults_url() -> String {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    format!("{endpoint}/_trustreg/faults")
}

/// Arms a fault on the register function's DynamoDB transactions (where a registration writes
/// its devices), for invocations carrying `tag`; its id.
async fn arm(stack: &Stack, tag: &str, nth: u64, times: u64, action: &str) -> String {
    arm_on(stack, "TransactWriteItems", tag, nth, times, action).await
}

async fn arm_on(
    stack: &Stack,
    operation: &str,
    tag: &str,
    nth: u64,
    times: u64,
    action: &str,
) -> String {
    let fault = json!({"function": function_name(stack, "register"), "service": "dynamodb",
        "operation": operation, "nth": nth, "times": times, "action": action, "tag": tag});
    let response = reqwest::Client::new()
        .post(faults_url())
        .json(&fault)
        .send()
        .await
        .expect("the fault switch answers (host-mode LocalStack with the fidelity layer)");
    assert_eq!(response.status(), 201, "{fault}");
    let armed: Value = response.json().await.unwrap();
    armed["id"].as_str().unwrap().to_owned()
}

/// A fault that never fires (its `nth` is out of reach) on the DeleteItem that takes a signed
/// request's nonce: `seen` counts the signed requests the tagged invocations served, the
/// server's own tally of the chunks a run sent.
async fn request_counter(stack: &Stack, tag: &str) -> String {
    arm_on(stack, "DeleteItem", tag, 1_000_000, 1, "throttle").await
}

async fn fault(id: &str) -> Value {
    reqwest::get(format!("{}/{id}", faults_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn disarm(id: &str) {
    reqwest::Client::new()
        .delete(format!("{}/{id}", faults_url()))
        .send()
        .await
        .unwrap();
}

/// The pids the fault killed, once each firing recorded one.
async fn killed(id: &str, times: usize) -> Vec<u64> {
    eventually(Duration::from_secs(30), "the kill fault fired", || async {
        let f = fault(id).await;
        let pids: Vec<u64> = f["fired"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["killed"].as_u64())
            .collect();
        (pids.len() == times).then_some(pids)
    })
    .await
}

fn new_tag() -> String {
    format!("fault-tag-{}", random_imei())
}

// ---------------------------------------------------------------- the binary

struct Run {
    ok: bool,
    /// The last line of stdout as JSON (the summary), Null in text mode.
    summary: Value,
    stdout: String,
    stderr: String,
}

fn trustreg(tag: &str, json: bool, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trustreg"));
    if json {
        command.arg("--json");
    }
    let out = command
        .args(args)
        .env(
            "TRUSTREG_EXTRA_HEADERS",
            format!("x-trustreg-fault-tag: {tag}"),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    Run {
        ok: out.status.success(),
        summary,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A manufacturer accepted by the stack and a bulk file of `count` of its devices.
struct BulkFile {
    ca: PathBuf,
    file: PathBuf,
    identifiers: Vec<Identifier>,
}

async fn bulk_file(stack: &Stack, count: u32) -> BulkFile {
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, std::sync::Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let dir = scratch("bulk-faults");
    let ca = maker.dir().join("ca");
    let first = format!(
        "{:014}",
        random_imei()[..14].parse::<u64>().unwrap() / 1000 * 1000
    );
    let file = dir.join("devices.ndjson");
    let run = trustreg(
        "none",
        true,
        &[
            "bulk",
            "make",
            "--ca",
            s(&ca),
            "--devices",
            s(&dir.join("se")),
            "--count",
            &count.to_string(),
            "--first",
            &first,
            "--out",
            s(&file),
        ],
    );
    assert!(run.ok, "{}", run.stderr);
    let identifiers = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            imei(v["identifier"]["value"].as_str().unwrap())
        })
        .collect();
    BulkFile {
        ca,
        file,
        identifiers,
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn register_args<'a>(stack_api: &'a str, bulk: &'a BulkFile, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "bulk",
        "register",
        s(&bulk.file),
        "--api",
        stack_api,
        "--ca",
        s(&bulk.ca),
        "--retry-delay-ms",
        "200",
    ];
    args.extend_from_slice(extra);
    args
}

/// Every device of the file is registered, each exactly once: one device holds each
/// identifier, and its history has the one transition its creation wrote.
async fn registered_once(stack: &Stack, identifiers: &[Identifier]) {
    let store = stack.store(&localstack().await);
    let held = store.devices_holding(identifiers).await.unwrap();
    for (id, holder) in identifiers.iter().zip(&held) {
        let holder = holder
            .as_ref()
            .unwrap_or_else(|| panic!("{id} is not registered"));
        let history = store.history_of(&holder.regdevid).await.unwrap();
        let created = history
            .iter()
            .filter(|e| matches!(e, HistoryEntry::Transition(t) if t.from.is_none()))
            .count();
        assert_eq!(created, 1, "{id} created once: {history:?}");
    }
}

fn counts(summary: &Value) -> [u64; 5] {
    ["total", "created", "existing", "failed", "not_sent"].map(|k| summary[k].as_u64().unwrap())
}

// ---------------------------------------------------------------- bulk

// Y.3059 9.2 i g
// The function dies after writing the second chunk's devices: the CLI retries the chunk with
// a fresh signature, the repeat answers them "existing", and the run completes with every
// device registered once.
#[tokio::test]
async fn a_bulk_run_retries_the_chunk_whose_function_was_killed_and_completes() {
    let stack = Stack::deployed();
    let bulk = bulk_file(&stack, 20).await;
    let api = stack.api_url();
    let tag = new_tag();
    // One transaction per chunk of 5 (25 devices fit in one): the second is chunk 2's.
    let kill = arm(&stack, &tag, 2, 1, "kill-after").await;
    let run = trustreg(&tag, true, &register_args(&api, &bulk, &["--chunk", "5"]));
    disarm(&kill).await;
    assert_eq!(killed(&kill, 1).await.len(), 1, "the function was killed");
    assert!(run.ok, "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stderr.contains("lines 6-10: attempt 1 failed") && run.stderr.contains("502"),
        "the retry is told: {}",
        run.stderr
    );
    // Chunk 2 was written before the kill: its repeat finds its devices registered.
    assert_eq!(counts(&run.summary), [20, 15, 5, 0, 0], "{}", run.summary);
    assert_eq!(
        (
            run.summary["retries"].as_u64(),
            run.summary["sent"].as_u64()
        ),
        (Some(1), Some(20))
    );
    assert!(run.summary["gave_up"].is_null());
    registered_once(&stack, &bulk.identifiers).await;
}

// Y.3059 9.2 i g
// Retries exhausted: the function dies before writing chunk 2, on the first attempt and on the
// retry; the run stops there, says so in its summary (text), and the counts add up to the file.
#[tokio::test]
async fn a_bulk_run_that_runs_out_of_retries_prints_a_summary_that_adds_up() {
    let stack = Stack::deployed();
    let bulk = bulk_file(&stack, 20).await;
    let api = stack.api_url();
    let tag = new_tag();
    // Chunk 2 and its one retry are killed before their write (after it, the retry would
    // find the devices registered and write nothing).
    let kill = arm(&stack, &tag, 2, 2, "kill-before").await;
    let run = trustreg(
        &tag,
        false,
        &register_args(&api, &bulk, &["--chunk", "5", "--retries", "1"]),
    );
    disarm(&kill).await;
    assert_eq!(killed(&kill, 2).await.len(), 2, "both attempts were killed");
    assert!(!run.ok, "gave up: non-zero exit");
    assert!(
        run.stdout
            .contains("20 devices: 5 registered, 0 already registered, 0 failed, 15 not sent"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("gave up at lines 6-10 after 2 attempts")
            && run.stdout.contains("--resume"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("error: gave up at lines 6-10"),
        "{}",
        run.stderr
    );
}

// Y.3059 9.2 i g
// No retries: the run gives up at once with a summary (JSON) and a progress file; `--resume`
// then sends only the chunks that were not answered, which the server's own count of the
// run's writes proves, and every device ends registered once.
#[tokio::test]
async fn a_resumed_bulk_run_sends_only_what_the_stopped_run_did_not_get_answered() {
    let stack = Stack::deployed();
    let bulk = bulk_file(&stack, 20).await;
    let api = stack.api_url();
    let tag = new_tag();
    let kill = arm(&stack, &tag, 2, 1, "kill-after").await;
    let run = trustreg(
        &tag,
        true,
        &register_args(&api, &bulk, &["--chunk", "5", "--retries", "0"]),
    );
    disarm(&kill).await;
    assert_eq!(killed(&kill, 1).await.len(), 1);
    assert!(!run.ok, "gave up: non-zero exit");
    let [total, created, existing, failed, not_sent] = counts(&run.summary);
    assert_eq!(
        created + existing + failed + not_sent,
        total,
        "{}",
        run.summary
    );
    assert_eq!([total, created, not_sent], [20, 5, 15], "{}", run.summary);
    assert_eq!(run.summary["gave_up"]["first_line"], 6, "{}", run.summary);
    assert_eq!(run.summary["gave_up"]["attempts"], 1, "{}", run.summary);
    let progress_path = PathBuf::from(run.summary["progress"].as_str().unwrap());
    let progress: Value =
        serde_json::from_str(&std::fs::read_to_string(&progress_path).unwrap()).unwrap();
    assert_eq!(
        progress["done"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["index"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0],
        "only chunk 1 was answered: {progress}"
    );

    // The resumed run, counted on the server's side under a tag of its own.
    let resume_tag = new_tag();
    let count = request_counter(&stack, &resume_tag).await;
    let resumed = trustreg(
        &resume_tag,
        true,
        &register_args(&api, &bulk, &["--resume"]),
    );
    let seen = fault(&count).await["seen"].as_u64().unwrap();
    disarm(&count).await;
    assert!(resumed.ok, "{}\n{}", resumed.stderr, resumed.stdout);
    // Chunk 2 had been written before the kill: it answers "existing".
    assert_eq!(
        counts(&resumed.summary),
        [20, 15, 5, 0, 0],
        "{}",
        resumed.summary
    );
    assert_eq!(
        (
            resumed.summary["sent"].as_u64(),
            resumed.summary["resumed"].as_u64()
        ),
        (Some(15), Some(5)),
        "{}",
        resumed.summary
    );
    assert_eq!(seen, 3, "the resumed run sent chunks 2-4 only");
    registered_once(&stack, &bulk.identifiers).await;
}

// ---------------------------------------------------------------- one device

// Y.3059 7 iv a
// Y.3059 7 iv b
// `trustreg device register`: the function dies after storing the device; the retry (fresh
// nonce, same key) answers the same RegDevID, the device acknowledges it, and it exists once.
#[tokio::test]
async fn a_device_registration_is_retried_after_the_function_was_killed() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, std::sync::Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let dir = scratch("device-faults").join("se");
    let id = random_imei();
    let init = trustreg(
        "none",
        true,
        &[
            "device",
            "init",
            "--dir",
            s(&dir),
            "--ca",
            s(&maker.dir().join("ca")),
            "--scheme",
            "imei",
            "--id",
            &id,
        ],
    );
    assert!(init.ok, "{}", init.stderr);
    let tag = new_tag();
    let kill = arm(&stack, &tag, 1, 1, "kill-after").await;
    let api = stack.api_url();
    let run = trustreg(
        &tag,
        true,
        &[
            "device",
            "register",
            "--dir",
            s(&dir),
            "--api",
            &api,
            "--retry-delay-ms",
            "200",
        ],
    );
    disarm(&kill).await;
    assert_eq!(killed(&kill, 1).await.len(), 1, "the function was killed");
    assert!(run.ok, "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stderr.contains("registration: attempt 1 failed"),
        "{}",
        run.stderr
    );
    assert_eq!(run.summary["attempts"]["register"], 2, "{}", run.summary);
    assert_eq!(run.summary["status"], "trusted", "{}", run.summary);
    let regdevid = RegDevId::new(stack.output("RegistryPath").parse().unwrap(), imei(&id));
    assert_eq!(run.summary["regdevid"], regdevid.to_string());
    registered_once(&stack, &[imei(&id)]).await;
}
