//! The registry interrogating a device, and the device's feed, through API Gateway on the
//! deployed primary (docs/API.md, "Interrogating a device", "The device's feed"): an
//! administrator asks a device for fresh evidence, the device reads the request in its feed,
//! signed by the registry, and answers with a signed report; unanswered within its domain's
//! window, the deployed scheduled evaluation makes it `unverified`. Nobody but an
//! administrator asks, nobody but the device reads its feed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use trustreg_core::evidence::{Feed, verify_feed};
use trustreg_core::identifier::RegDevId;
use trustreg_core::jose::{self, JwsHeader};
use trustreg_core::ports::{Clock, DeviceStore};
use trustreg_core::status::{Policy, Reason, TrustStatus};
use trustreg_device::client::{ReportParams, bound, device_path};
use trustreg_device::feed::FeedPage;
use trustreg_device::{RegistryClient, SoftSecureElement};
use trustreg_model::routes::Op;
use trustreg_tests::devices::{TrustedDevice, certified_device, trusted_device};
use trustreg_tests::{
    Answer, Stack, admin_put, approved_enquirer, challenge, invoke_notify, localstack,
    new_signing_key, post, post_signed, registry_document, scheduled_event, sensor_info,
    test_admin,
};

/// This file's own trust domain, added at run time with a short evidence window, so no other
/// test's devices fall under it.
const DOMAIN: &str = "evidence-window";
/// Seconds a device of `DOMAIN` has to answer.
const WINDOW_S: u64 = 2;

fn evidence_requests(regdevid: &str) -> String {
    format!("/v1/devices/{regdevid}/evidence-requests")
}

/// `POST .../evidence-requests` for `regdevid`, signed by `key` as `kid`.
async fn request_as(api: &str, key: &p256::ecdsa::SigningKey, kid: &str, regdevid: &str) -> Answer {
    let claims = json!({"nonce": challenge(api, "evidence-request").await, "regdevid": regdevid});
    post_signed(api, &evidence_requests(regdevid), key, kid, &claims).await
}

/// The test administrator's request: answered 202 with the pending request.
async fn request_by_admin(api: &str, regdevid: &str) -> Value {
    let (admin, key) = test_admin();
    let asked = request_as(api, &key, &format!("admin:{admin}"), regdevid).await;
    assert_eq!(asked.status, 202, "{asked:?}");
    assert_eq!(asked.body["regdevid"], regdevid);
    asked.body
}

/// `POST .../feed` of `regdevid`, signed by the device of `se` (named by its own RegDevID).
async fn feed_signed_by(api: &str, se: &SoftSecureElement, signer: &str, regdevid: &str) -> Answer {
    let path = device_path(Op::Feed, regdevid);
    let claims = json!({"nonce": challenge(api, "feed").await, "regdevid": regdevid});
    let header = JwsHeader::es256().with_kid(signer);
    let jws = se.sign_jws(&header, &bound(&claims, "POST", &path).unwrap());
    post(api, &path, "application/jose", jws).await
}

/// The feed of `answer`, verified with the key `GET /v1/registry` publishes.
async fn verified(stack: &Stack, answer: &Answer, regdevid: &str) -> Feed {
    assert_eq!(answer.status, 200, "{answer:?}");
    let published = registry_document(stack).await;
    let key = jose::key_from_jwk(&published["public_key"]).unwrap();
    let compact = answer.body["feed"].as_str().expect("a feed");
    verify_feed(compact, &key, regdevid, trustreg_aws::SystemClock.now_ms())
        .expect("the registry signed the device's feed")
}

fn params() -> ReportParams {
    ReportParams {
        firmware_version: "1.0.0".into(),
        software_version: "1.0.0".into(),
        ..ReportParams::default()
    }
}

// Y.3059 9.2 note
// Y.3059 9.4 i b
// The administrator asks a registered device for fresh evidence; the device reads the request
// in its feed, which the registry's published key verifies, and answers it with a signed
// report: the request is cleared and the device stays trusted.
#[tokio::test]
async fn the_device_reads_the_request_in_its_feed_and_answers_it() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let TrustedDevice { regdevid, se, .. } = trusted_device(&stack).await;
    let asked = request_by_admin(&api, &regdevid).await;
    let challenge_text = asked["challenge"].as_str().unwrap().to_owned();

    let raw = feed_signed_by(&api, &se, &regdevid, &regdevid).await;
    let feed = verified(&stack, &raw, &regdevid).await;
    assert_eq!(feed.regdevid, regdevid);
    let pending = feed.evidence_request.expect("the pending request");
    assert_eq!(pending.challenge, challenge_text);
    assert_eq!(json!(pending.due_at), asked["due_at"]);

    // The device client does the same: it verifies the feed before it acts on it.
    let client = RegistryClient::new(api.clone()).unwrap();
    let read = client.fetch_feed(&se, FeedPage::default()).await.unwrap();
    assert_eq!(
        read.evidence_request.map(|r| r.challenge),
        Some(challenge_text.clone())
    );
    let answered = client
        .answer_evidence_request(&se, &challenge_text, params())
        .await
        .unwrap();
    assert_eq!(answered.status, TrustStatus::Trusted);

    let store = stack.store(&localstack().await);
    let id: RegDevId = regdevid.parse().unwrap();
    let device = store.get_device(&id).await.unwrap().unwrap();
    assert_eq!(device.facts.evidence_request, None);
    assert_eq!(device.status, TrustStatus::Trusted);
    let after = client.fetch_feed(&se, FeedPage::default()).await.unwrap();
    assert_eq!(after.evidence_request, None);
}

// Y.3059 9.2 note
// A device of a domain whose window is 2 s does not answer: the deployed scheduled evaluation
// makes it unverified (evidence_not_provided), and its feed says so; its late answer makes it
// trusted again.
#[tokio::test]
async fn an_unanswered_request_makes_the_device_unverified_on_schedule() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let policy = Policy {
        evidence_window_seconds: Some(WINDOW_S),
        ..Policy::default()
    };
    let put = admin_put(
        &api,
        &format!("/v1/admin/trust-domains/{DOMAIN}"),
        "trust-domain",
        json!({ "policy": policy }),
    )
    .await;
    assert!(matches!(put.status, 200 | 201), "{put:?}");
    let (_maker, id, se) = certified_device(&stack).await;
    let client = RegistryClient::new(api.clone()).unwrap();
    let registered = client
        .register(&se, &id, sensor_info(), vec![DOMAIN.into()])
        .await
        .unwrap();
    client.acknowledge(&se).await.unwrap();
    let regdevid = registered.regdevid;

    let asked = request_by_admin(&api, &regdevid).await;
    let store = stack.store(&localstack().await);
    let rid: RegDevId = regdevid.parse().unwrap();
    let device = store.get_device(&rid).await.unwrap().unwrap();
    let pending = device.facts.evidence_request.clone().unwrap();
    assert_eq!(pending.challenge, asked["challenge"]);
    // Due after the domain's window, and the scheduled evaluation looks at it then.
    let due = pending.due_at_ms;
    assert_eq!(due - pending.requested_at_ms, WINDOW_S * 1000);
    assert!(
        device.next_evaluation_at_ms.is_some_and(|at| at <= due + 1),
        "{device:?}"
    );

    // Waiting for the due time is the precondition; the outcome is then looked for.
    let wait = (due + 500).saturating_sub(trustreg_aws::SystemClock.now_ms());
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let mut device = device;
    // A backlog of other tests' due devices may come first: each run works some off.
    for _ in 0..5 {
        let run = invoke_notify(&stack, &scheduled_event()).await;
        assert!(run["evaluated"].is_u64(), "{run}");
        device = store.get_device(&rid).await.unwrap().unwrap();
        if device.status != TrustStatus::Trusted {
            break;
        }
    }
    assert_eq!(device.status, TrustStatus::Unverified);
    assert_eq!(device.reasons, [Reason::EvidenceNotProvided]);
    let last = store.transitions_of(&rid).await.unwrap().pop().unwrap();
    assert_eq!(last.actor, "registry:scheduler");
    assert_eq!(last.reasons, [Reason::EvidenceNotProvided]);
    let feed = client.fetch_feed(&se, FeedPage::default()).await.unwrap();
    assert_eq!(feed.status, TrustStatus::Unverified);
    assert_eq!(
        feed.items.last().map(|i| i.reasons.clone()),
        Some(vec![Reason::EvidenceNotProvided])
    );

    let late = client
        .answer_evidence_request(&se, asked["challenge"].as_str().unwrap(), params())
        .await
        .unwrap();
    assert_eq!(late.status, TrustStatus::Trusted);
}

// Y.3059 9.2 note
// Y.3059 9.4 i b
// Only an administrator asks for evidence, only the device reads its feed: another device and
// an enquirer are 403, an anonymous caller (a key nobody registered) 401, and nothing is asked
// of the device. A report with a challenge the registry did not ask is a 409.
#[tokio::test]
async fn nobody_else_asks_for_evidence_or_reads_the_feed() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let device = trusted_device(&stack).await;
    let other = trusted_device(&stack).await;
    let (enquirer_key, enquirer_kid) = approved_enquirer(&api).await;
    let anonymous = new_signing_key();

    let by_device = {
        let path = evidence_requests(&device.regdevid);
        let claims = json!({"nonce": challenge(&api, "evidence-request").await,
                            "regdevid": device.regdevid});
        let header = JwsHeader::es256().with_kid(other.regdevid.clone());
        let jws = other
            .se
            .sign_jws(&header, &bound(&claims, "POST", &path).unwrap());
        post(&api, &path, "application/jose", jws).await
    };
    assert_eq!(by_device.status, 403, "{by_device:?}");
    assert_eq!(by_device.problem(), "forbidden");
    let by_enquirer = request_as(&api, &enquirer_key, &enquirer_kid, &device.regdevid).await;
    assert_eq!(by_enquirer.status, 403, "{by_enquirer:?}");
    let by_anyone = request_as(&api, &anonymous, "enquirer:nobody", &device.regdevid).await;
    assert_eq!(by_anyone.status, 401, "{by_anyone:?}");

    // The administrator's request is the device's alone to read.
    request_by_admin(&api, &device.regdevid).await;
    let other_device = feed_signed_by(&api, &other.se, &other.regdevid, &device.regdevid).await;
    assert_eq!(other_device.status, 403, "{other_device:?}");
    assert_eq!(other_device.problem(), "forbidden");
    let feed_path = device_path(Op::Feed, &device.regdevid);
    let feed_claims = |nonce: String| json!({"nonce": nonce, "regdevid": device.regdevid});
    let enquirer_reads = post_signed(
        &api,
        &feed_path,
        &enquirer_key,
        &enquirer_kid,
        &feed_claims(challenge(&api, "feed").await),
    )
    .await;
    assert_eq!(enquirer_reads.status, 403, "{enquirer_reads:?}");
    let anyone_reads = post_signed(
        &api,
        &feed_path,
        &anonymous,
        "enquirer:nobody",
        &feed_claims(challenge(&api, "feed").await),
    )
    .await;
    assert_eq!(anyone_reads.status, 401, "{anyone_reads:?}");

    // A made-up challenge stores nothing.
    let store = stack.store(&localstack().await);
    let rid: RegDevId = device.regdevid.parse().unwrap();
    let before = store.get_device(&rid).await.unwrap().unwrap();
    let client = RegistryClient::new(api.clone()).unwrap();
    let wrong = client
        .answer_evidence_request(&device.se, "made-up-challenge", params())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &wrong,
            trustreg_device::ClientError::Problem { status: 409, problem_type, .. }
                if problem_type.ends_with("/evidence-challenge-mismatch")
        ),
        "{wrong:?}"
    );
    let after = store.get_device(&rid).await.unwrap().unwrap();
    assert_eq!(after.version, before.version, "{after:?}");
    assert!(after.facts.evidence_request.is_some(), "{after:?}");
}
