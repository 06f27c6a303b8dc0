//! Bulk registration through the router of function `register`, on the in-memory fakes.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;

use axum::http::{Request, header};
use trustreg_core::bulk::verify_batch_credential;
use trustreg_core::fakes::FakeRegistry;
use trustreg_core::identifier::{Identifier, Scheme, luhn_check_digit};
use trustreg_core::ports::RegistryKeys;
use trustreg_device::bulk::{body_claims, bulk_device};
use trustreg_device::{ManufacturerCa, SoftSecureElement};

mod support;
use support::{Harness, now_ms};

/// A primary accepting the bulk manufacturer's CA, its clock at the real time (certificates
/// are checked against it).
async fn setup() -> Harness {
    Harness::on(FakeRegistry::builder().key_seed(3).clock_at(now_ms()))
        .manufacturer("Bulk Devices CA")
        .build()
        .await
}

fn imei(n: u64) -> Identifier {
    let body = format!("{:014}", 35_100_000_000_000 + n);
    let check = luhn_check_digit(&body).unwrap();
    Identifier::parse(Scheme::Imei, &format!("{body}{check}")).unwrap()
}

fn info() -> trustreg_core::messages::DeviceInfo {
    serde_json::from_value(serde_json::json!({
        "make": "Acme", "model": "Bulk-1", "firmware_version": "2.0.0",
        "software_version": "2.0.0", "rot": {"type": "secure-element"}
    }))
    .unwrap()
}

/// A line for a device certified by `ca`.
fn line(s: &Harness, ca: &ManufacturerCa, id: &Identifier) -> String {
    let se = SoftSecureElement::create(s.dir().join(format!("se-{}-{}", id.value(), ca.name())))
        .unwrap();
    let leaf = ca.issue_device_cert(&se.public_key(), id, 30).unwrap();
    se.store_chain(&[leaf.der]).unwrap();
    serde_json::to_string(&bulk_device(&se, id, info(), vec![]).unwrap()).unwrap()
}

async fn nonce(s: &Harness) -> String {
    s.registry
        .challenge(trustreg_core::messages::Purpose::Bulk)
        .await
        .unwrap()
        .nonce
}

async fn post(
    s: &Harness,
    content_type: &str,
    body: String,
    auth: Option<String>,
) -> (u16, serde_json::Value) {
    let mut request =
        Request::post("/v1/bulk/registrations").header(header::CONTENT_TYPE, content_type);
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, format!("TrustReg-JWS {auth}"));
    }
    let reply = s.send("register", request.body(body.into()).unwrap()).await;
    (reply.status.as_u16(), reply.json)
}

/// The manufacturer's signature over `body`.
async fn signed(s: &Harness, body: &str) -> String {
    let claims = serde_json::to_vec(&body_claims(nonce(s).await, body.as_bytes())).unwrap();
    s.ca().sign_jws(&claims).unwrap()
}

// Y.3059 9.2 i g
// card C3
// A bulk file with bad items: every good device is created, every bad one has its own
// problem, in order; one KMS signature covers them all and each credential verifies offline.
#[tokio::test]
async fn bad_items_never_fail_the_others_and_one_signature_covers_all() {
    let s = setup().await;
    let stranger = ManufacturerCa::create(s.dir().join("other-ca"), "Other CA").unwrap();
    let mut lines: Vec<String> = (0..30).map(|n| line(&s, s.ca(), &imei(n))).collect();
    lines[3] = "{not json".into();
    lines[7] = line(&s, &stranger, &imei(7));
    let mut wrong = serde_json::from_str::<serde_json::Value>(&lines[11]).unwrap();
    wrong["identifier"]["value"] = imei(99).value().into();
    lines[11] = wrong.to_string();
    lines[20] = lines[19].clone();
    let body = lines.join("\n");
    let before = s.keys.sign_calls.load(Ordering::SeqCst);
    let (status, answer) = post(
        &s,
        "application/x-ndjson",
        body.clone(),
        Some(signed(&s, &body).await),
    )
    .await;
    assert_eq!(status, 207, "{answer}");
    assert_eq!(s.keys.sign_calls.load(Ordering::SeqCst) - before, 1);
    assert_eq!(answer["summary"]["created"], 26);
    assert_eq!(answer["summary"]["failed"], 4);
    let results = answer["results"].as_array().unwrap();
    let code = |i: usize| {
        results[i]["problem"]["type"]
            .as_str()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(code(3), "malformed-request");
    assert_eq!(code(7), "untrusted-root");
    assert_eq!(code(11), "identifier-mismatch");
    assert_eq!(code(20), "malformed-request");
    let key = s.keys.public_key().await.unwrap();
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i);
        if [3, 7, 11, 20].contains(&i) {
            assert!(r.get("regdevid").is_none());
            continue;
        }
        assert_eq!(r["status"], 201);
        let claims = verify_batch_credential(r["credential"].as_str().unwrap(), &key).unwrap();
        assert_eq!(claims["sub"], r["regdevid"]);
        assert_eq!(
            r["regdevid"],
            format!("IN1.HLT.P07:imei:{}", imei(i as u64).value())
        );
    }
    let state = s.store.snapshot();
    assert_eq!(state.devices.len(), 26);
    assert_eq!(state.guards.len(), 26);
}

// Y.3059 9.2 i g
// Sending the same file again registers nothing twice and signs nothing: every device is
// answered 200 with its RegDevID and its credential.
#[tokio::test]
async fn a_repeated_request_is_idempotent() {
    let s = setup().await;
    let body: String = (0..10)
        .map(|n| line(&s, s.ca(), &imei(n)))
        .collect::<Vec<_>>()
        .join("\n");
    let (_, first) = post(
        &s,
        "application/x-ndjson",
        body.clone(),
        Some(signed(&s, &body).await),
    )
    .await;
    let calls = s.keys.sign_calls.load(Ordering::SeqCst);
    let (status, again) = post(
        &s,
        "application/x-ndjson",
        body.clone(),
        Some(signed(&s, &body).await),
    )
    .await;
    assert_eq!(status, 207);
    assert_eq!(again["summary"]["existing"], 10);
    assert_eq!(s.keys.sign_calls.load(Ordering::SeqCst), calls);
    for (a, b) in first["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(again["results"].as_array().unwrap())
    {
        assert_eq!(b["status"], 200);
        assert_eq!(a["regdevid"], b["regdevid"]);
        assert_eq!(a["credential"], b["credential"]);
    }
    assert_eq!(s.store.snapshot().devices.len(), 10);
}

// Y.3059 9.2 i g
// A JSON array works as NDJSON does.
#[tokio::test]
async fn a_json_array_is_accepted() {
    let s = setup().await;
    let items: Vec<String> = (0..3).map(|n| line(&s, s.ca(), &imei(n))).collect();
    let body = format!("[{}]", items.join(","));
    let (status, answer) = post(
        &s,
        "application/json",
        body.clone(),
        Some(signed(&s, &body).await),
    )
    .await;
    assert_eq!(
        (status, answer["summary"]["created"].as_u64()),
        (207, Some(3))
    );
}

// Y.3059 7 i a
// Y.3059 7 i c
// Unsigned requests, signatures over another body, replayed nonces and a manufacturer
// registering another's devices are refused; nothing is stored.
#[tokio::test]
async fn bulk_requests_must_be_signed_by_the_devices_manufacturer() {
    let s = setup().await;
    let body: String = (0..2)
        .map(|n| line(&s, s.ca(), &imei(n)))
        .collect::<Vec<_>>()
        .join("\n");
    let (status, answer) = post(&s, "application/x-ndjson", body.clone(), None).await;
    assert_eq!(
        (status, answer["type"].as_str().unwrap()),
        (401, "https://trustreg.dev/problems/unauthenticated")
    );

    let other_body = format!("{body}\n");
    let (status, answer) = post(
        &s,
        "application/x-ndjson",
        other_body,
        Some(signed(&s, &body).await),
    )
    .await;
    assert_eq!(
        (status, answer["type"].as_str().unwrap()),
        (401, "https://trustreg.dev/problems/bad-signature")
    );

    let signature = signed(&s, &body).await;
    let (status, _) = post(
        &s,
        "application/x-ndjson",
        body.clone(),
        Some(signature.clone()),
    )
    .await;
    assert_eq!(status, 207);
    let (status, answer) = post(&s, "application/x-ndjson", body.clone(), Some(signature)).await;
    assert_eq!(
        (status, answer["type"].as_str().unwrap()),
        (401, "https://trustreg.dev/problems/nonce-invalid")
    );

    // A second accepted manufacturer may not register the first one's devices.
    let other = ManufacturerCa::create(s.dir().join("ca2"), "Second CA").unwrap();
    s.accept(&other).await;
    let theirs = line(&s, s.ca(), &imei(50));
    let claims = serde_json::to_vec(&body_claims(nonce(&s).await, theirs.as_bytes())).unwrap();
    let (status, answer) = post(
        &s,
        "application/x-ndjson",
        theirs,
        Some(other.sign_jws(&claims).unwrap()),
    )
    .await;
    assert_eq!(status, 207);
    assert_eq!(
        answer["results"][0]["problem"]["type"],
        "https://trustreg.dev/problems/forbidden"
    );
    assert_eq!(s.store.snapshot().devices.len(), 2);
    let rejected = s
        .store
        .snapshot()
        .audit
        .iter()
        .filter(|a| a.action == "bulk-register" && a.code.is_some())
        .count();
    assert_eq!(
        rejected, 3,
        "the unsigned request, the bad signature and the replay are audited"
    );
}

// Y.3059 9.2 i g
// More than 1000 items is refused whole, before anything is checked.
#[tokio::test]
async fn more_than_a_thousand_items_is_too_many() {
    let s = setup().await;
    let body = "{}\n".repeat(1001);
    let (status, answer) = post(
        &s,
        "application/x-ndjson",
        body.clone(),
        Some(signed(&s, &body).await),
    )
    .await;
    assert_eq!(
        (status, answer["type"].as_str().unwrap()),
        (413, "https://trustreg.dev/problems/too-many-items")
    );
}

// Y.3059 9.2 i g
// Y.3059 9.2 i d
// Owners come in the same file as their devices: each device is created linked to its owner,
// whose attributes are stored sealed.
#[tokio::test]
async fn devices_and_their_owners_register_in_one_file() {
    let s = setup().await;
    let mut with_owner: serde_json::Value =
        serde_json::from_str(&line(&s, s.ca(), &imei(1))).unwrap();
    with_owner["owner"] =
        serde_json::json!({"attributes": {"name": "Grace Hopper", "email": "grace@example.org"}});
    let body = [line(&s, s.ca(), &imei(0)), with_owner.to_string()].join("\n");
    let (status, answer) = post(
        &s,
        "application/x-ndjson",
        body.clone(),
        Some(signed(&s, &body).await),
    )
    .await;
    assert_eq!(
        (status, answer["summary"]["created"].as_u64()),
        (207, Some(2)),
        "{answer}"
    );
    let state = s.store.snapshot();
    let owned = &state.devices[answer["results"][1]["regdevid"].as_str().unwrap()];
    let owner_id = owned.owner_id.clone().expect("linked to its owner");
    let owner = &state.owners[&owner_id];
    assert!(!owner.attributes_sealed.contains("Grace"));
    assert!(
        state.devices[answer["results"][0]["regdevid"].as_str().unwrap()]
            .owner_id
            .is_none()
    );
}
