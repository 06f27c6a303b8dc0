//! Attacks on the audit log's routes through API Gateway (issue 14): `GET /v1/audit` is for
//! administrators, the log (`/v1/audit/checkpoint`, `/tile/...`, `/proofs/...`) for
//! enquirers, agencies and administrators (docs/API.md, "Who may call what"). Every other
//! caller is refused with the status and problem type the contract names, and the refusal is
//! itself in the audit trail; malformed proof queries are the client's mistake, never a 5xx.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use trustreg_core::jose::JwsHeader;
use trustreg_tests::devices::{self_made_owner, trusted_device};
use trustreg_tests::exchange::{audit_since, now_ms};
use trustreg_tests::{
    Answer, Manufacturer, Stack, admin_token, challenge, enquirer_token, eventually, localstack,
    new_signing_key, post, post_signed, send,
};

/// The log's routes, each with a query or path a reader would send.
const LOG_ROUTES: &[&str] = &[
    "/v1/audit/checkpoint",
    "/v1/audit/tile/0/000",
    "/v1/audit/proofs/inclusion?record=0000000000000-00",
    "/v1/audit/proofs/consistency?from=1&to=2",
];
/// The trail itself: administrators only.
const TRAIL: &str = "/v1/audit?day=2026-01-01";

async fn get(api: &str, path: &str, token: Option<&str>) -> Answer {
    send("GET", format!("{api}{path}"), token, None).await
}

/// The refusals audited since `since` by `actor` (any actor when `None`) with `code`: their
/// actions.
async fn refusals(stack: &Stack, since: u64, actor: Option<&str>, code: &str) -> Vec<String> {
    audit_since(stack, since)
        .await
        .into_iter()
        .filter(|r| {
            r["outcome"] == "rejected" && r["code"] == code && actor.is_none_or(|a| r["actor"] == a)
        })
        .map(|r| r["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A login attempt of `kid` signed with `key`.
async fn login(api: &str, key: &p256::ecdsa::SigningKey, kid: &str) -> Answer {
    let claims = json!({"nonce": challenge(api, "login").await, "enquirer_id": kid});
    post_signed(api, "/v1/sessions", key, kid, &claims).await
}

// Y.3059 9.1 iv
// Y.3059 7 i c
// An owner (anyone can become one) holds a token but may read neither the log nor the trail:
// each a 403 `forbidden`, each refusal audited under the owner's name.
#[tokio::test]
async fn an_owners_token_reads_neither_the_log_nor_the_trail() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let (id, key) = self_made_owner(&api).await;
    let session = login(&api, &key, &format!("owner:{id}")).await;
    assert_eq!(session.status, 200, "{session:?}");
    let token = session.body["access_token"].as_str().unwrap();
    let since = now_ms();
    for path in LOG_ROUTES.iter().chain([&TRAIL]) {
        let answer = get(&api, path, Some(token)).await;
        assert_eq!(
            (answer.status, answer.problem()),
            (403, "forbidden"),
            "{path}"
        );
    }
    let mut audited = refusals(&stack, since, Some(&format!("owner:{id}")), "forbidden").await;
    audited.sort();
    assert_eq!(
        audited,
        [
            "read-audit",
            "read-audit-log",
            "read-audit-log",
            "read-audit-log",
            "read-audit-log"
        ]
    );
}

// Y.3059 9.1 iv
// Y.3059 7 i c
// Devices, manufacturers and enquirers not (yet) approved hold no token: their logins are
// refused, and what they can sign or were given, sent as a bearer token, is a 401
// `unauthenticated` on every route of the log and on the trail, each refusal audited.
#[tokio::test]
async fn devices_manufacturers_and_unapproved_enquirers_get_no_read_of_the_log() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, std::sync::Arc::new(trustreg_aws::SystemClock));
    let device = trusted_device(&stack).await;
    let maker = Manufacturer::accepted_by(&registry).await;
    let enquirer_key = new_signing_key();
    let signed_up = post(
        &api,
        "/v1/enquirers",
        "application/json",
        json!({"name": "Pending", "organisation": "Example Health", "contact": "p@example.org",
               "role": "enquirer",
               "public_key": trustreg_core::jose::jwk_from_key(enquirer_key.verifying_key())})
        .to_string(),
    )
    .await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    let enquirer = format!(
        "enquirer:{}",
        signed_up.body["enquirer_id"].as_str().unwrap()
    );

    let since = now_ms();
    // No session for any of them (sessions admit enquirers, agencies, owners, admins).
    let pending = login(&api, &enquirer_key, &enquirer).await;
    assert_eq!((pending.status, pending.problem()), (403, "forbidden"));

    // What each can present instead of a token: its own signatures, the device's credential.
    let claims =
        json!({"nonce": challenge(&api, "login").await, "purpose": "read-audit-log"}).to_string();
    let device_jws = device.se.sign_jws(
        &JwsHeader::es256().with_kid(device.regdevid.clone()),
        claims.as_bytes(),
    );
    let maker_jws = maker.ca.sign_jws(claims.as_bytes()).unwrap();
    let enquirer_jws = trustreg_tests::signed_request(
        &enquirer_key,
        &enquirer,
        "GET",
        "/v1/audit/checkpoint",
        &json!({"nonce": challenge(&api, "login").await}),
    );
    let presented = [
        ("device signature", device_jws),
        ("device credential", device.credential.clone()),
        ("manufacturer signature", maker_jws),
        ("pending enquirer signature", enquirer_jws),
    ];
    let mut refused = 0;
    for (what, credential) in &presented {
        for path in LOG_ROUTES.iter().chain([&TRAIL]) {
            let answer = get(&api, path, Some(credential)).await;
            assert_eq!(
                (answer.status, answer.problem()),
                (401, "unauthenticated"),
                "{what} on {path}"
            );
            refused += 1;
        }
    }
    // The refused login is audited under the name it claimed; the bearer refusals, whose
    // token names nobody the registry can trust, as `unknown` on the route they tried.
    let logins = refusals(
        &stack,
        since,
        Some(&format!("unverified:{enquirer}")),
        "forbidden",
    )
    .await;
    assert_eq!(logins, ["login"]);
    let bearers = refusals(&stack, since, Some("unknown"), "unauthenticated").await;
    let on_audit = bearers
        .iter()
        .filter(|action| action.starts_with("/v1/audit"))
        .count();
    assert!(
        on_audit >= refused,
        "{on_audit} of {refused} refusals audited: {bearers:?}"
    );
}

/// The records of `regdevid` with their leaf indexes, once the sequencer gave them one.
async fn sequenced(api: &str, token: &str, regdevid: &str) -> Vec<Value> {
    eventually(Duration::from_secs(60), "records sequenced", || async {
        let page = get(api, &format!("/v1/audit?target={regdevid}"), Some(token)).await;
        let records = page.body["records"].as_array().cloned().unwrap_or_default();
        (!records.is_empty() && records.iter().all(|r| r["leaf"].is_u64())).then_some(records)
    })
    .await
}

// Y.3059 9.1 iv
// Malformed proof and tile requests from an approved enquirer are 400 `malformed-request`;
// sizes the log has not reached, and leaves outside the tree asked for, are 404
// `log-entry-not-found`; never a 5xx.
#[tokio::test]
async fn malformed_proof_queries_are_the_clients_mistake() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let admin = admin_token(&api).await;
    let token = enquirer_token(&api).await;
    let device = trusted_device(&stack).await;
    let record = sequenced(&api, &admin, &device.regdevid).await[0].clone();
    let id = record["id"].as_str().unwrap();
    let leaf = record["leaf"].as_u64().unwrap();
    let huge = "99999999999999999999999";
    let max = u64::MAX;
    let beyond = 1u64 << 50;

    let malformed = [
        format!("/v1/audit/proofs/inclusion?record={id}&size=-1"),
        format!("/v1/audit/proofs/inclusion?record={id}&size=abc"),
        format!("/v1/audit/proofs/inclusion?record={id}&size=1e3"),
        format!("/v1/audit/proofs/inclusion?record={id}&size={huge}"),
        format!("/v1/audit/proofs/inclusion?record={id}&size=1&size=2"),
        "/v1/audit/proofs/inclusion".to_owned(),
        "/v1/audit/proofs/inclusion?size=1".to_owned(),
        format!("/v1/audit/proofs/inclusion?record={id}&index=0"),
        "/v1/audit/proofs/consistency?from=-1&to=1".to_owned(),
        "/v1/audit/proofs/consistency?from=1&to=x".to_owned(),
        format!("/v1/audit/proofs/consistency?from=0&to={huge}"),
        "/v1/audit/proofs/consistency?from=2&to=1".to_owned(),
        format!("/v1/audit/proofs/consistency?from={max}&to=1"),
        "/v1/audit/proofs/consistency?from=1".to_owned(),
        "/v1/audit/proofs/consistency".to_owned(),
        "/v1/audit/proofs/consistency?from=1&to=2&root=x".to_owned(),
        "/v1/audit/tile/x".to_owned(),
        "/v1/audit/tile/0/-1".to_owned(),
        "/v1/audit/tile/0/1".to_owned(),
        "/v1/audit/tile/64/000".to_owned(),
        "/v1/audit/tile/0/000.p/0".to_owned(),
        "/v1/audit/tile/0/000.p/256".to_owned(),
        format!("/v1/audit/tile/0/{huge}"),
        "/v1/audit/tile/entries/x001".to_owned(),
    ];
    for path in &malformed {
        let answer = get(&api, path, Some(&token)).await;
        assert_eq!(
            (answer.status, answer.problem()),
            (400, "malformed-request"),
            "{path}: {answer:?}"
        );
    }
    let not_in_the_log = [
        // The record's leaf is not in a tree of `leaf` leaves (index >= size), nor of none.
        format!("/v1/audit/proofs/inclusion?record={id}&size={leaf}"),
        format!("/v1/audit/proofs/inclusion?record={id}&size=0"),
        // Trees larger than the log.
        format!("/v1/audit/proofs/inclusion?record={id}&size={beyond}"),
        format!("/v1/audit/proofs/inclusion?record={id}&size={max}"),
        format!("/v1/audit/proofs/consistency?from=1&to={beyond}"),
        format!("/v1/audit/proofs/consistency?from={max}&to={max}"),
        // No such record; a tile the log has not reached.
        "/v1/audit/proofs/inclusion?record=0000000000000-nosuchrecord".to_owned(),
        "/v1/audit/tile/0/x999/999".to_owned(),
    ];
    for path in &not_in_the_log {
        let answer = get(&api, path, Some(&token)).await;
        assert_eq!(
            (answer.status, answer.problem()),
            (404, "log-entry-not-found"),
            "{path}: {answer:?}"
        );
    }
    // The same record's proof in a tree that holds it is answered.
    let proof = get(
        &api,
        &format!("/v1/audit/proofs/inclusion?record={id}&size={}", leaf + 1),
        Some(&token),
    )
    .await;
    assert_eq!(proof.status, 200, "{proof:?}");
    assert_eq!(proof.body["leaf_index"], leaf);
}
