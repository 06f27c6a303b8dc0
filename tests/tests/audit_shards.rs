//! A day's audit records spread over partitions (issue 14, step 6), deployed: the functions
//! write each record into one of the day's shards, and `GET /v1/audit` still lists a day and
//! a target whole, once each, in order, records written before sharding included.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use trustreg_core::records::{AuditRecord, Outcome};
use trustreg_device::RegistryClient;
use trustreg_device::client::ReportParams;
use trustreg_tests::devices::trusted_device;
use trustreg_tests::exchange::now_ms;
use trustreg_tests::{Stack, admin_token, localstack, send};

/// Reports the test device sends: with its registration and acknowledgement, enough records
/// that ten shards all but surely hold several (one shard would take them all with odds of
/// 10^-25).
const REPORTS: usize = 24;

/// Every page of `GET /v1/audit?<query>`, `limit` at a time, as the administrator reads it.
async fn listing(api: &str, token: &str, query: &str, limit: usize) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{api}/v1/audit?{query}&limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = send("GET", url, Some(token), None).await;
        assert_eq!(page.status, 200, "{page:?}");
        let records = page.body["records"].as_array().unwrap().clone();
        assert!(records.len() <= limit);
        pages.push(records);
        cursor = page.body["next"].as_str().map(str::to_owned);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 10_000, "the listing does not end");
    }
}

/// The ids of a listing, checked to be each once and in increasing (time) order.
fn ids_once_in_order(pages: &[Vec<Value>]) -> Vec<String> {
    let ids: Vec<String> = pages
        .iter()
        .flatten()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    for pair in ids.windows(2) {
        assert!(pair[0] < pair[1], "out of order or twice: {pair:?}");
    }
    ids
}

/// Which table partition holds each of `ids` among the partitions of `day`, read from the
/// table itself.
async fn partitions_of(
    stack: &Stack,
    day: &str,
    ids: &BTreeSet<String>,
) -> HashMap<String, String> {
    let sdk = localstack().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let mut found = HashMap::new();
    for pk in stack.store(&sdk).audit_day_partitions(day) {
        let mut start = None;
        loop {
            let out = client
                .query()
                .table_name(stack.table())
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            for item in out.items() {
                if let Some(AttributeValue::S(sk)) = item.get("sk")
                    && ids.contains(sk)
                {
                    found.insert(sk.clone(), pk.clone());
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
    }
    found
}

/// A record about `target` as the registry wrote it before sharding: in the day's one
/// partition (`AUDIT#<day>`), listed by target in gsi1. An operator upgrading has these.
async fn legacy_record(stack: &Stack, target: &str) -> AuditRecord {
    let sdk = localstack().await;
    let at_ms = now_ms();
    let record = AuditRecord {
        id: format!("{at_ms:013}-1e9acy{}", &trustreg_tests::random_imei()[..8]),
        at_ms,
        actor: "admin:before-sharding".into(),
        action: "place-hold".into(),
        target: Some(target.to_owned()),
        outcome: Outcome::Accepted,
        code: None,
    };
    let day = trustreg_core::service::utc_day(at_ms);
    let legacy = stack.store(&sdk).audit_day_partitions(&day)[0].clone();
    assert_eq!(legacy, format!("AUDIT#{day}"), "the unsharded partition");
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(&record).unwrap();
    for (name, value) in [
        ("pk", legacy),
        ("sk", record.id.clone()),
        ("gsi1pk", format!("AUDIT#{target}")),
        ("gsi1sk", record.id.clone()),
    ] {
        item.insert(name.into(), AttributeValue::S(value));
    }
    aws_sdk_dynamodb::Client::new(&sdk)
        .put_item()
        .table_name(stack.table())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    record
}

// Y.3059 7 i c
// The records of a device's transactions, spread over its day's shards, and one written
// before sharding: `?day=` pages list each once in order, `?target=` finds every one.
#[tokio::test]
async fn a_days_records_spread_over_shards_are_listed_once_each_in_order() {
    let stack = Stack::deployed();
    assert!(stack.audit_shards() > 1, "the stack spreads audit records");
    let api = stack.api_url();
    let sdk = localstack().await;
    let device = trusted_device(&stack).await;
    let client = RegistryClient::new(api.clone()).unwrap();
    for i in 0..REPORTS {
        client
            .report(
                &device.se,
                ReportParams {
                    firmware_version: format!("1.0.{i}"),
                    software_version: "1.0.0".into(),
                    communication: vec!["lte".into()],
                    configuration: None,
                },
            )
            .await
            .unwrap();
    }
    let legacy = legacy_record(&stack, &device.regdevid).await;
    let written: Vec<AuditRecord> = stack.store(&sdk).audit_of(&device.regdevid).await.unwrap();
    assert!(written.len() >= REPORTS + 3, "{} records", written.len());
    let mut by_day: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &written {
        by_day
            .entry(trustreg_core::service::utc_day(r.at_ms))
            .or_default()
            .insert(r.id.clone());
    }

    // In the table: one day's records in more than one shard, the old one where it was.
    let (day, ids) = by_day.iter().max_by_key(|(_, ids)| ids.len()).unwrap();
    let placed = partitions_of(&stack, day, ids).await;
    assert_eq!(
        placed.len(),
        ids.len(),
        "every record is in a partition of its day"
    );
    let shards: BTreeSet<&String> = placed
        .iter()
        .filter(|(id, _)| **id != legacy.id)
        .map(|(_, pk)| pk)
        .collect();
    assert!(shards.len() > 1, "{day}'s records all in {shards:?}");
    assert!(
        shards
            .iter()
            .all(|pk| pk.starts_with(&format!("AUDIT#{day}#")))
    );

    let token = admin_token(&api).await;
    // By day: the whole day, every record once, in order; this device's all among them.
    for (day, ids) in &by_day {
        let listed = ids_once_in_order(&listing(&api, &token, &format!("day={day}"), 250).await);
        let listed: BTreeSet<String> = listed.into_iter().collect();
        let missing: Vec<&String> = ids.difference(&listed).collect();
        assert!(missing.is_empty(), "{day}: not listed: {missing:?}");
    }
    // By target, a few at a time: exactly the device's records, the old one included.
    let pages = listing(&api, &token, &format!("target={}", device.regdevid), 5).await;
    assert!(pages.len() > 1, "several pages");
    let listed = ids_once_in_order(&pages);
    let expected: Vec<String> = written.iter().map(|r| r.id.clone()).collect();
    assert_eq!(listed, expected);
    assert!(listed.contains(&legacy.id));
}

/// A day of the past only this run writes to: 2001-01-01 plus up to about 27 years.
fn a_day_of_our_own() -> (String, u64) {
    let random: u64 = trustreg_tests::random_imei()[2..10].parse().unwrap();
    let at_ms = 978_307_200_000 + (random % 10_000) * 86_400_000 + 43_200_000;
    (trustreg_core::service::utc_day(at_ms), at_ms)
}

// Y.3059 7 i c
// Small pages of a day across its shards and its unsharded partition: each record once, in
// order, through cursors the client carries; a cursor altered by the client is refused.
#[tokio::test]
async fn small_pages_of_a_day_carry_every_partitions_position() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let (day, at_ms) = a_day_of_our_own();
    let partitions = store.audit_day_partitions(&day);
    // Records as the functions write them (each in its shard), and three in the partition of
    // the records written before sharding.
    let mut seeded = BTreeSet::new();
    let mut used = BTreeSet::new();
    for i in 0..43u64 {
        let record = AuditRecord {
            id: format!("{:013}-{i:016x}", at_ms + i % 5),
            at_ms: at_ms + i % 5,
            actor: "bench".into(),
            action: "paging".into(),
            target: None,
            outcome: Outcome::Accepted,
            code: None,
        };
        let (pk, sk) = if i % 15 == 0 {
            (partitions[0].clone(), record.id.clone())
        } else {
            store.audit_key(&record)
        };
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(&record).unwrap();
        item.insert("pk".into(), AttributeValue::S(pk.clone()));
        item.insert("sk".into(), AttributeValue::S(sk));
        client
            .put_item()
            .table_name(stack.table())
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
        seeded.insert(record.id);
        used.insert(pk);
    }
    assert!(used.len() > 3, "the day's records are in {used:?}");

    let token = admin_token(&api).await;
    for limit in [1, 3, 500] {
        let pages = listing(&api, &token, &format!("day={day}"), limit).await;
        let listed = ids_once_in_order(&pages);
        assert_eq!(
            listed,
            seeded.iter().cloned().collect::<Vec<_>>(),
            "pages of {limit}"
        );
    }

    // A cursor is opaque but checked: altered, it is a 400 problem, never a 5xx nor a read
    // of anything but this day's partitions.
    let first = send(
        "GET",
        format!("{api}/v1/audit?day={day}&limit=2"),
        Some(&token),
        None,
    )
    .await;
    let cursor = first.body["next"].as_str().unwrap();
    let b64 = |v: &Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            v.to_string(),
        )
    };
    let decoded: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, cursor).unwrap(),
    )
    .unwrap();
    let mut fewer = decoded.clone();
    fewer["m"].as_array_mut().unwrap().pop();
    let mut long_key = decoded.clone();
    long_key["m"][0] = serde_json::json!({"a": "9".repeat(300)});
    let other_listing = serde_json::json!({"p": 0, "k": {"pk": "DEVICE#x", "sk": "DEVICE"}});
    for bad in [
        b64(&fewer),
        b64(&long_key),
        b64(&other_listing),
        "not-a-cursor".to_owned(),
    ] {
        let answer = send(
            "GET",
            format!("{api}/v1/audit?day={day}&cursor={bad}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(
            (answer.status, answer.problem()),
            (400, "malformed-request"),
            "{bad}"
        );
    }
}
