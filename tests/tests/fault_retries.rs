//! A function killed between its write and its answer (the `kill-after` fault of the
//! LocalStack plugin, helpers in `trustreg_tests::faults`): API Gateway answers 502, and what
//! the registry stored is whole. The client's retry, over a fresh nonce with the same intent
//! (and, for reports, holds and transfers, the same idempotency key), is recognised: answered
//! with the change already made, never a second one. Each scenario proves the kill fired, then
//! asserts the stored state, not only the answers.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use trustreg_aws::DynamoStore;
use trustreg_core::identifier::{Identifier, RegDevId};
use trustreg_core::ports::{DeviceStore, OwnerStore, ReportStore};
use trustreg_core::records::{AuditRecord, Outcome};
use trustreg_device::bulk::bulk_device;
use trustreg_device::client::device_path;
use trustreg_tests::devices::{owned_device, self_made_owner, trusted_device};
use trustreg_tests::faults::{
    arm, killed, new_device, post_bulk_tagged, post_tagged, regdevid_of, sign_bulk, tag,
};
use trustreg_tests::roles::function_name;
use trustreg_tests::{
    Answer, Stack, challenge, imei, localstack, random_imei, registration, sensor_info,
    signed_request, test_admin,
};

/// Arms a kill of the register function right after its `nth` DynamoDB transaction, for the
/// requests carrying the returned tag; the fault's id and the tag.
async fn kill_after_transaction(stack: &Stack, nth: u32) -> (String, String) {
    let tag = tag();
    let id = arm(
        json!({"function": function_name(stack, "register"), "service": "dynamodb",
        "operation": "TransactWriteItems", "nth": nth, "action": "kill-after", "tag": tag}),
    )
    .await;
    (id, tag)
}

async fn store() -> DynamoStore {
    Stack::deployed().store(&localstack().await)
}

/// The accepted audit records of `action` on `target`.
async fn audited(store: &DynamoStore, target: &str, action: &str) -> Vec<AuditRecord> {
    store
        .audit_of(target)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == action && a.outcome == Outcome::Accepted)
        .collect()
}

// ---------------------------------------------------------------- bulk registration

/// 30 devices: 25 per transaction, so the request writes them in two.
const BULK_DEVICES: usize = 30;
const DEVICES_PER_TRANSACTION: usize = 25;

/// Posts the bulk body signed afresh by the manufacturer (a new nonce each time).
async fn post_bulk(
    api: &str,
    maker: &trustreg_tests::Manufacturer,
    body: &[u8],
    tag: &str,
) -> Answer {
    let signature = sign_bulk(api, maker, body).await;
    post_bulk_tagged(api, &signature, body, tag).await.0
}

/// Whether the device is stored whole (device, uniqueness guard, one first transition, one
/// audit record of its creation) or not at all; panics on anything in between.
async fn whole_or_absent(store: &DynamoStore, regdevid: &RegDevId, id: &Identifier) -> bool {
    let device = store.get_device(regdevid).await.unwrap().is_some();
    let guard = store.holder_of(id).await.unwrap();
    let transitions = store.transitions_of(regdevid).await.unwrap();
    let audits = audited(store, &regdevid.to_string(), "register").await;
    let parts = (device, guard.is_some(), transitions.len(), audits.len());
    assert!(
        parts == (true, true, 1, 1) || parts == (false, false, 0, 0),
        "{regdevid} half written: (device, guard, transitions, audit records) = {parts:?}"
    );
    if device {
        assert_eq!(guard.as_ref(), Some(regdevid));
        assert_eq!(transitions[0].from, None, "its first transition");
    }
    device
}

// Y.3059 9.2 i g
// A bulk registration killed between its two transactions: 502, the first transaction's 25
// devices whole, the other 5 absent, none half written. The same body signed again completes
// the rest: 5 created, 25 answered as registered, each device stored once.
#[tokio::test]
async fn a_bulk_registration_killed_between_its_transactions_is_completed_by_its_retry() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let store = store().await;
    let (first, maker) = new_device(&stack).await;
    let ids: Vec<Identifier> = std::iter::once(first)
        .chain((1..BULK_DEVICES).map(|_| imei(&random_imei())))
        .collect();
    let lines: Vec<_> = ids
        .iter()
        .map(|id| bulk_device(&maker.device(id), id, sensor_info(), vec![]).unwrap())
        .collect();
    let body = serde_json::to_vec(&lines).unwrap();
    let (fid, tag) = kill_after_transaction(&stack, 1).await;
    let answer = post_bulk(&api, &maker, &body, &tag).await;
    killed(&fid).await;
    assert_eq!(answer.status, 502, "{answer:?}");

    let mut stored = Vec::new();
    for id in &ids {
        stored.push(whole_or_absent(&store, &regdevid_of(&stack, id), id).await);
    }
    let written = stored.iter().filter(|s| **s).count();
    assert_eq!(
        written, DEVICES_PER_TRANSACTION,
        "the first transaction's devices, and only those: {stored:?}"
    );
    assert!(stored[..DEVICES_PER_TRANSACTION].iter().all(|s| *s));

    let retried = post_bulk(&api, &maker, &body, "no-fault").await;
    assert_eq!(retried.status, 207, "{retried:?}");
    assert_eq!(
        retried.body["summary"],
        json!({"created": BULK_DEVICES - DEVICES_PER_TRANSACTION,
               "existing": DEVICES_PER_TRANSACTION, "failed": 0})
    );
    for (i, id) in ids.iter().enumerate() {
        let result = &retried.body["results"][i];
        let expected = if i < DEVICES_PER_TRANSACTION {
            200
        } else {
            201
        };
        assert_eq!(result["status"], expected, "{result}");
        let regdevid = regdevid_of(&stack, id);
        assert_eq!(result["regdevid"], regdevid.to_string());
        // Y.3059 7 i c
        assert!(
            whole_or_absent(&store, &regdevid, id).await,
            "{regdevid} registered once"
        );
    }
}

// ---------------------------------------------------------------- registration

// Y.3059 7 iv a
// A registration killed after its transaction: 502, the device stored. The retry over a
// fresh nonce (same device key) is answered 200 with the same RegDevID and credential, and
// stores no second transition nor creation record (the repeat is audited as
// `register-again`); the first body stays refused, its nonce spent.
#[tokio::test]
async fn a_registration_killed_after_its_write_is_answered_again_on_retry() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let store = store().await;
    let (id, maker) = new_device(&stack).await;
    let se = maker.device(&id);
    let regdevid = regdevid_of(&stack, &id);
    let (fid, tag) = kill_after_transaction(&stack, 1).await;
    let body = registration(&se, &id, challenge(&api, "register").await);
    let (answer, _) = post_tagged(&api, "/v1/registrations", &tag, body.clone()).await;
    killed(&fid).await;
    assert_eq!(answer.status, 502, "{answer:?}");
    let device = store.get_device(&regdevid).await.unwrap().unwrap();

    let fresh = registration(&se, &id, challenge(&api, "register").await);
    let (retried, _) = post_tagged(&api, "/v1/registrations", "no-fault", fresh).await;
    assert_eq!(retried.status, 200, "{retried:?}");
    assert_eq!(retried.body["regdevid"], regdevid.to_string());
    assert_eq!(retried.body["credential"], device.credential);
    assert!(whole_or_absent(&store, &regdevid, &id).await);
    assert_eq!(
        audited(&store, &regdevid.to_string(), "register-again")
            .await
            .len(),
        1
    );
    let (replayed, _) = post_tagged(&api, "/v1/registrations", "no-fault", body).await;
    assert_eq!(replayed.status, 401, "{replayed:?}");
    assert_eq!(replayed.problem(), "nonce-invalid");
}

// ---------------------------------------------------------------- reports

fn report_claims(nonce: String, firmware: &str, key: &str) -> Value {
    json!({"nonce": nonce, "firmware_version": firmware, "software_version": "1.0.0",
           "communication": ["lte"], "idempotency_key": key})
}

/// A report of the device signed with its registered key (`kid` = RegDevID).
fn report_jws(se: &trustreg_device::SoftSecureElement, regdevid: &str, claims: Value) -> String {
    let claims: trustreg_core::messages::ReportClaims = serde_json::from_value(claims).unwrap();
    trustreg_device::client::report_jws(se, regdevid, &claims).unwrap()
}

// Y.3059 9.3 ii a
// A report killed after its transaction: 502, the report stored. Its retry (fresh nonce, same
// idempotency key) is answered 201 with the first answer, and adds no history entry nor audit
// record; the first body stays refused; the same key over another report is refused 422.
#[tokio::test]
async fn a_report_killed_after_its_write_is_recognised_on_retry() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let store = store().await;
    let device = trusted_device(&stack).await;
    let regdevid: RegDevId = device.regdevid.parse().unwrap();
    let history = store.history_of(&regdevid).await.unwrap().len();
    let path = device_path(trustreg_model::routes::Op::Report, &device.regdevid);
    let key = format!("report-{}", random_imei());
    let (fid, tag) = kill_after_transaction(&stack, 1).await;
    let first = report_jws(
        &device.se,
        &device.regdevid,
        report_claims(challenge(&api, "report").await, "7.7.7", &key),
    );
    let (answer, _) = post_tagged(&api, &path, &tag, first.clone()).await;
    killed(&fid).await;
    assert_eq!(answer.status, 502, "{answer:?}");
    let stored = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(
        stored.info.firmware_version, "7.7.7",
        "the report was stored"
    );
    let after_kill = store.history_of(&regdevid).await.unwrap().len();
    assert_eq!(after_kill, history + 1);

    let retry = report_jws(
        &device.se,
        &device.regdevid,
        report_claims(challenge(&api, "report").await, "7.7.7", &key),
    );
    let (retried, _) = post_tagged(&api, &path, "no-fault", retry).await;
    assert_eq!(retried.status, 201, "{retried:?}");
    assert_eq!(retried.body["changed"], json!(["firmware_version"]));
    assert_eq!(store.history_of(&regdevid).await.unwrap().len(), after_kill);
    let after = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(
        after.version, stored.version,
        "the device was not changed again"
    );
    // Y.3059 7 i c
    assert_eq!(audited(&store, &device.regdevid, "report").await.len(), 1);

    let (replayed, _) = post_tagged(&api, &path, "no-fault", first).await;
    assert_eq!(replayed.problem(), "nonce-invalid", "{replayed:?}");
    let other = report_jws(
        &device.se,
        &device.regdevid,
        report_claims(challenge(&api, "report").await, "8.8.8", &key),
    );
    let (refused, _) = post_tagged(&api, &path, "no-fault", other).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert_eq!(refused.problem(), "idempotency-key-reused");
    assert_eq!(store.history_of(&regdevid).await.unwrap().len(), after_kill);
}

// ---------------------------------------------------------------- holds

fn hold_claims(nonce: String, regdevid: &str, key: &str) -> Value {
    json!({"nonce": nonce, "regdevid": regdevid, "kind": "stolen", "idempotency_key": key})
}

// A hold killed after its transaction: 502, the hold placed. Its retry (fresh nonce, same
// key) is answered 200 as placed, with no second transition or audit record.
#[tokio::test]
async fn a_hold_killed_after_its_write_is_recognised_on_retry() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let store = store().await;
    let device = trusted_device(&stack).await;
    let regdevid: RegDevId = device.regdevid.parse().unwrap();
    let (admin, admin_key) = test_admin();
    let kid = format!("admin:{admin}");
    let path = format!("/v1/devices/{}/holds", device.regdevid);
    let key = format!("hold-{}", random_imei());
    let sign = |claims: Value| signed_request(&admin_key, &kid, "POST", &path, &claims);
    let (fid, tag) = kill_after_transaction(&stack, 1).await;
    let first = sign(hold_claims(
        challenge(&api, "hold").await,
        &device.regdevid,
        &key,
    ));
    let (answer, _) = post_tagged(&api, &path, &tag, first).await;
    killed(&fid).await;
    assert_eq!(answer.status, 502, "{answer:?}");
    let held = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(held.facts.holds, ["stolen"], "the hold was stored");
    let transitions = store.transitions_of(&regdevid).await.unwrap().len();

    let retry = sign(hold_claims(
        challenge(&api, "hold").await,
        &device.regdevid,
        &key,
    ));
    let (retried, _) = post_tagged(&api, &path, "no-fault", retry).await;
    assert_eq!(retried.status, 200, "{retried:?}");
    assert_eq!(
        (&retried.body["status"], &retried.body["holds"]),
        (&json!("unreliable"), &json!(["stolen"]))
    );
    let after = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(
        after.version, held.version,
        "the device was not changed again"
    );
    assert_eq!(
        store.transitions_of(&regdevid).await.unwrap().len(),
        transitions
    );
    // Y.3059 7 i c
    assert_eq!(
        audited(&store, &device.regdevid, "hold:stolen").await.len(),
        1
    );
}

// ---------------------------------------------------------------- transfers

// Y.3059 9.2 i d
// An owner's transfer offer killed after its transaction: 502, the offer stored. Its retry
// (fresh nonce, same key) is answered 202 with the offer, and records no second offer.
#[tokio::test]
async fn a_transfer_killed_after_its_write_is_recognised_on_retry() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let store = store().await;
    let owned = owned_device(&stack).await;
    let regdevid: RegDevId = owned.regdevid.parse().unwrap();
    let (to, _) = self_made_owner(&api).await;
    let kid = format!("owner:{}", owned.owner_id);
    let path = format!("/v1/devices/{}/transfer", owned.regdevid);
    let key = format!("transfer-{}", random_imei());
    let sign = |nonce: String| {
        let claims = json!({"nonce": nonce, "new_owner_id": to, "idempotency_key": key});
        signed_request(&owned.owner_key, &kid, "POST", &path, &claims)
    };
    let (fid, tag) = kill_after_transaction(&stack, 1).await;
    let (answer, _) = post_tagged(&api, &path, &tag, sign(challenge(&api, "transfer").await)).await;
    killed(&fid).await;
    assert_eq!(answer.status, 502, "{answer:?}");
    let offered = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(
        offered.transfer_offer.as_ref().map(|o| o.to.as_str()),
        Some(to.as_str()),
        "the offer was stored"
    );

    let (retried, _) = post_tagged(
        &api,
        &path,
        "no-fault",
        sign(challenge(&api, "transfer").await),
    )
    .await;
    assert_eq!(retried.status, 202, "the offer's own status: {retried:?}");
    assert_eq!(retried.body["offered_to"], to);
    let after = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(
        after.version, offered.version,
        "the offer was not made again"
    );
    assert!(store.custody_of(&regdevid).await.unwrap().len() <= 1);
    // Y.3059 7 i c
    assert_eq!(
        audited(&store, &owned.regdevid, "offer-transfer")
            .await
            .len(),
        1
    );
}
