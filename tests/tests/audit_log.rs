//! The audit log as a transparency log, deployed (issue 14): the sequencer turns the audit
//! records the functions write into leaves, stores the tiles and signs checkpoints with the
//! registry's KMS key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use trustreg_core::merkle;
use trustreg_core::ports::AuditLogStore;
use trustreg_core::records::{AuditRecord, Outcome};
use trustreg_core::tlog::{Checkpoint, SignedNote, TileKind, leaf, tiles};
use trustreg_tests::devices::trusted_device;
use trustreg_tests::{Stack, localstack};

/// The sequencer's batching window is a second; a cold start of its function on LocalStack
/// takes a few more.
const WITHIN: Duration = Duration::from_secs(60);

/// Waits until the stored checkpoint covers every one of `ids`; their leaf indexes.
async fn sequenced(stack: &Stack, ids: &[String]) -> HashMap<String, u64> {
    let store = stack.store(&localstack().await);
    let started = Instant::now();
    loop {
        let leaves = store.leaf_indexes(ids).await.expect("leaf indexes");
        let size = store
            .checkpoint()
            .await
            .expect("checkpoint")
            .map_or(0, |c| c.size);
        if leaves.len() == ids.len() && leaves.values().all(|i| *i < size) {
            return leaves;
        }
        assert!(
            started.elapsed() < WITHIN,
            "{} of {} records sequenced, checkpoint size {size}",
            leaves.len(),
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The checkpoint as stored, its signature verified with the registry's KMS public key.
async fn verified_checkpoint(stack: &Stack) -> Checkpoint {
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let stored = store
        .checkpoint()
        .await
        .expect("read")
        .expect("a checkpoint");
    let note = SignedNote::parse(&stored.note).expect("a signed note");
    registry
        .log_key()
        .await
        .expect("the registry's key")
        .verify(&note)
        .expect("signed by the registry's key");
    let checkpoint = Checkpoint::parse(&note.text).expect("a checkpoint");
    assert_eq!(checkpoint.origin, stack.output("RegistryPath"));
    checkpoint
}

/// Every leaf of a tree of `size`, read from the stored entries tiles.
async fn stored_leaves(stack: &Stack, size: u64) -> Vec<Vec<u8>> {
    let store = stack.store(&localstack().await);
    let mut leaves = Vec::new();
    for tile in tiles::tiles_for(size) {
        if tile.kind == TileKind::Entries {
            let bytes = store
                .tile(&tile)
                .await
                .expect("read")
                .unwrap_or_else(|| panic!("{} missing", tile.path()));
            leaves.extend(tiles::parse_entries(&bytes, tile.width).expect("an entries tile"));
        }
    }
    leaves
}

// Y.3059 7 i c
#[tokio::test]
async fn every_audited_transaction_becomes_a_leaf_under_a_signed_checkpoint() {
    let stack = Stack::deployed();
    let store = stack.store(&localstack().await);
    let device = trusted_device(&stack).await;
    let records = store.audit_of(&device.regdevid).await.expect("audit");
    assert!(records.len() >= 2, "registration and acknowledgement");
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let leaves = sequenced(&stack, &ids).await;

    let checkpoint = verified_checkpoint(&stack).await;
    let all = stored_leaves(&stack, checkpoint.size).await;
    let hashes: Vec<merkle::Hash> = all.iter().map(|l| merkle::leaf_hash(l)).collect();
    assert_eq!(
        merkle::root(&hashes),
        checkpoint.root,
        "the tiles make the signed head"
    );
    for record in &records {
        let at = leaves[&record.id] as usize;
        assert_eq!(all[at], leaf::audit_leaf(record), "leaf {at}");
        // The leaf names the record, not the device: the log is read by enquirers.
        let text = String::from_utf8_lossy(&all[at]).into_owned();
        assert!(!text.contains(&device.regdevid), "leaf {at} holds {text}");
    }
}

/// An audit record's item as the functions write it, in its day's shard.
fn audit_item(
    store: &trustreg_aws::DynamoStore,
    record: &AuditRecord,
) -> HashMap<String, AttributeValue> {
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(record).expect("an item");
    let (pk, sk) = store.audit_key(record);
    item.insert("pk".into(), AttributeValue::S(pk));
    item.insert("sk".into(), AttributeValue::S(sk));
    item
}

/// How many checkpoints the sequencer has signed (the checkpoint item's counter).
async fn signatures(stack: &Stack) -> u64 {
    trustreg_tests::audit_log::signed(stack).await.0
}

/// A burst of audit records as the functions write them: how many checkpoints cover it, and
/// how long after its write each record was covered (polled every 50 ms).
#[tokio::test]
async fn a_burst_of_a_thousand_records_is_covered_by_few_signed_checkpoints() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let store = stack.store(&sdk);
    let now = trustreg_tests::exchange::now_ms();
    let tag = trustreg_tests::random_imei();
    let records: Vec<AuditRecord> = (0..1000)
        .map(|i| AuditRecord {
            id: format!("{now:016}-burst{tag}{i:04}"),
            at_ms: now,
            actor: "bench".into(),
            action: "burst".into(),
            target: None,
            outcome: Outcome::Accepted,
            code: None,
        })
        .collect();
    let before = signatures(&stack).await;
    let started = Instant::now();
    let mut written_at = Vec::new();
    for chunk in records.chunks(25) {
        let writes = chunk
            .iter()
            .map(|r| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(audit_item(&store, r)))
                            .build()
                            .expect("a put"),
                    )
                    .build()
            })
            .collect();
        let out = client
            .batch_write_item()
            .request_items(stack.table(), writes)
            .send()
            .await
            .expect("written");
        assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
        written_at.push(started.elapsed());
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    // Checkpoint sizes seen, with when: each new size is one KMS signature at least.
    let mut seen: Vec<(u64, Duration)> = Vec::new();
    let leaves = loop {
        let size = store
            .checkpoint()
            .await
            .expect("read")
            .map_or(0, |c| c.size);
        if seen.last().is_none_or(|(s, _)| *s != size) {
            seen.push((size, started.elapsed()));
        }
        let leaves = store.leaf_indexes(&ids).await.expect("leaves");
        if leaves.len() == ids.len() && leaves.values().all(|i| *i < size) {
            break leaves;
        }
        assert!(
            started.elapsed() < WITHIN,
            "sequenced {} of 1000",
            leaves.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut lags: Vec<Duration> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let covered = seen
                .iter()
                .find(|(s, _)| *s > leaves[&r.id])
                .map(|(_, at)| *at)
                .expect("covered");
            covered.saturating_sub(written_at[i / 25])
        })
        .collect();
    lags.sort();
    let signatures = signatures(&stack).await - before;
    println!(
        "1000 records written in {:?}; {signatures} checkpoint(s) signed; lag p50 {:?} p99 {:?}",
        written_at.last().expect("written"),
        lags[500],
        lags[990]
    );
    // Batches of up to 1,000 over a second's window: a burst is a few signatures, not one
    // per record (the budget: 2 per 1,000 at a sustained rate).
    assert!(
        signatures <= 5,
        "{signatures} signatures; sizes seen {seen:?}"
    );
}

async fn get_bytes(url: String, token: Option<&str>) -> (u16, String, Vec<u8>) {
    // Tiles are binary: API Gateway decodes them for a client that accepts the type.
    let mut request = reqwest::Client::new()
        .get(url)
        .header("accept", "application/octet-stream, text/plain, */*");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (
        status,
        content_type,
        response.bytes().await.expect("a body").to_vec(),
    )
}

fn hashes_of(proof: &serde_json::Value) -> Vec<merkle::Hash> {
    use base64::Engine;
    proof["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| {
            base64::engine::general_purpose::STANDARD
                .decode(h.as_str().expect("base64"))
                .expect("base64")
                .try_into()
                .expect("32 bytes")
        })
        .collect()
}

// Y.3059 9.1 iv
#[tokio::test]
async fn an_enquirer_reads_the_log_through_the_api_and_its_proofs_verify() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let device = trusted_device(&stack).await;
    let store = stack.store(&localstack().await);
    let records = store.audit_of(&device.regdevid).await.expect("audit");
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let leaves = sequenced(&stack, &ids).await;

    // Not without a token.
    let (status, ..) = get_bytes(format!("{api}/v1/audit/checkpoint"), None).await;
    assert_eq!(status, 401);
    let token = trustreg_tests::enquirer_token(&api).await;
    let (status, content_type, note) =
        get_bytes(format!("{api}/v1/audit/checkpoint"), Some(&token)).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let sdk = localstack().await;
    let key = stack
        .registry(&sdk, Arc::new(trustreg_aws::SystemClock))
        .log_key()
        .await
        .expect("key");
    let checkpoint =
        trustreg_core::tlog::verify::open_checkpoint(&String::from_utf8_lossy(&note), &key)
            .expect("a checkpoint signed by the registry");

    // A tile at its C2SP path, as stored.
    let tile = tiles::tiles_for(checkpoint.size)[0];
    let (status, _, bytes) =
        get_bytes(format!("{api}/v1/audit/{}", tile.path()), Some(&token)).await;
    assert_eq!(status, 200, "{}", tile.path());
    assert_eq!(Some(bytes), store.tile(&tile).await.expect("read"));
    let (status, content_type, _) =
        get_bytes(format!("{api}/v1/audit/tile/0/1"), Some(&token)).await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/problem+json")
    );

    // The record's inclusion in the signed tree.
    let record = &records[0];
    let index = leaves[&record.id];
    let proof = trustreg_tests::send(
        "GET",
        format!(
            "{api}/v1/audit/proofs/inclusion?record={}&size={}",
            record.id, checkpoint.size
        ),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(proof.status, 200, "{proof:?}");
    assert_eq!(proof.body["leaf_index"], index);
    let leaf_hash = merkle::leaf_hash(&leaf::audit_leaf(record));
    assert!(merkle::verify(
        &leaf_hash,
        index as usize,
        checkpoint.size as usize,
        &hashes_of(&proof.body),
        &checkpoint.root
    ));

    // The tree just after the record is a prefix of the signed one.
    let all = stored_leaves(&stack, checkpoint.size).await;
    let from = index + 1;
    let old: Vec<merkle::Hash> = all[..from as usize]
        .iter()
        .map(|l| merkle::leaf_hash(l))
        .collect();
    let proof = trustreg_tests::send(
        "GET",
        format!(
            "{api}/v1/audit/proofs/consistency?from={from}&to={}",
            checkpoint.size
        ),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(proof.status, 200, "{proof:?}");
    assert!(trustreg_core::tlog::proofs::verify_consistency(
        from,
        checkpoint.size,
        &merkle::root(&old),
        &checkpoint.root,
        &hashes_of(&proof.body)
    ));
}

// Y.3059 7 i c
// Reads of the log by an authenticated caller are audited like any transaction: an
// enquirer's checkpoint, inclusion and consistency reads are in the trail, under its name.
#[tokio::test]
async fn an_enquirers_reads_of_the_log_are_in_the_trail() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let device = trusted_device(&stack).await;
    let store = stack.store(&localstack().await);
    let records = store.audit_of(&device.regdevid).await.expect("audit");
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    sequenced(&stack, &ids).await;
    let token = trustreg_tests::enquirer_token(&api).await;
    let record = &ids[0];
    for path in [
        "/v1/audit/checkpoint".to_owned(),
        format!("/v1/audit/proofs/inclusion?record={record}"),
    ] {
        let (status, ..) = get_bytes(format!("{api}{path}"), Some(&token)).await;
        assert_eq!(status, 200, "{path}");
    }
    // The read of this record's inclusion, found by what it read.
    let admin = trustreg_tests::admin_token(&api).await;
    let trail = trustreg_tests::send(
        "GET",
        format!("{api}/v1/audit?target=audit-log:inclusion/{record}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(trail.status, 200, "{trail:?}");
    let reads = trail.body["records"].as_array().expect("records");
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0]["action"], "read-audit-log");
    assert_eq!(reads[0]["outcome"], "accepted");
    assert!(
        reads[0]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("enquirer:")),
        "{reads:?}"
    );
}
