//! Owners, transfers and virtual IDs through the router of function `register`, on the
//! in-memory fakes of trustreg-core: status codes and problem types.
#![allow(clippy::unwrap_used)]

use axum::http::StatusCode;
use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use trustreg_core::fakes::FakeRegistry;
use trustreg_core::jose;
use trustreg_core::messages::Purpose;

mod support;
use support::{Harness, Sendable, Unsent};

const PROBLEM: &str = "https://trustreg.dev/problems/";

fn key(seed: u8) -> SigningKey {
    let mut bytes = [seed; 32];
    bytes[0] = 0x01;
    SigningKey::from_bytes(&bytes.into()).unwrap()
}

/// The key of the administrator `ops`.
fn admin_key() -> SigningKey {
    key(0x0a)
}

async fn harness() -> Harness {
    Harness::on(
        FakeRegistry::builder()
            .admin("ops", &admin_key())
            .key_seed(3),
    )
    .build()
    .await
}

/// What the owner tests ask of the harness.
impl Harness {
    async fn post(&self, path: &str, body: impl Into<Sendable>) -> (StatusCode, Value) {
        let reply = self.post_jws("register", path, body).await;
        (reply.status, reply.json)
    }

    async fn self_registration(&self, k: &SigningKey) -> Unsent {
        self.unsent(
            k,
            None,
            Purpose::Owner,
            json!({"kind": "owner", "attributes": {"name": "Ada Lovelace", "email": "ada@example.org"},
                   "public_key": jose::jwk_from_key(k.verifying_key())}),
        )
        .await
    }
}

fn problem(body: &Value) -> &str {
    body["type"]
        .as_str()
        .and_then(|t| t.strip_prefix(PROBLEM))
        .unwrap_or("")
}

// Y.3059 9.2 i d
// Y.3059 9.1 iii
// Self-service registration: 201 with the owner id and no PII in the answer; its replay is 401.
#[tokio::test]
async fn an_owner_registers_itself() {
    let h = harness().await;
    let jws = h.self_registration(&key(0x31)).await;
    let (status, body) = h.post("/v1/owners", jws.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["verification"], "unverified");
    assert!(body["owner_id"].is_string());
    assert!(!body.to_string().contains("Ada"));
    let (status, body) = h.post("/v1/owners", jws).await;
    assert_eq!(
        (status, problem(&body)),
        (StatusCode::UNAUTHORIZED, "nonce-invalid")
    );
}

// Y.3059 9.2 i d
// Y.3059 7 i a
// Only an admin verifies an owner: the owner itself is 403, an unknown owner 404.
#[tokio::test]
async fn only_admins_verify_owners() {
    let h = harness().await;
    let k = key(0x31);
    let (_, body) = h.post("/v1/owners", h.self_registration(&k).await).await;
    let owner_id = body["owner_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/owners/{owner_id}/verification");
    let own = h
        .unsent(
            &k,
            Some(&format!("owner:{owner_id}")),
            Purpose::OwnerVerification,
            json!({"state": "verified"}),
        )
        .await;
    let (status, body) = h.post(&path, own).await;
    assert_eq!(
        (status, problem(&body)),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let admin = h
        .unsent(
            &admin_key(),
            Some("admin:ops"),
            Purpose::OwnerVerification,
            json!({"state": "verified"}),
        )
        .await;
    let (status, body) = h.post(&path, admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verification"], "verified");
    let admin = h
        .unsent(
            &admin_key(),
            Some("admin:ops"),
            Purpose::OwnerVerification,
            json!({"state": "verified"}),
        )
        .await;
    let (status, body) = h.post("/v1/owners/nobody/verification", admin).await;
    assert_eq!(
        (status, problem(&body)),
        (StatusCode::NOT_FOUND, "owner-not-found")
    );
}

// Y.3059 9.2 i f
// Y.3059 9.2 i d
// Client mistakes on virtual IDs and transfers are 4xx problems, never 5xx.
#[tokio::test]
async fn virtual_id_and_transfer_mistakes_are_client_errors() {
    let h = harness().await;
    let id = "IN1.HLT.P07:imei:356938035643809";
    let path = format!("/v1/devices/{id}/virtual-ids");
    let (status, body) = h.post(&path, "not a jws").await;
    assert_eq!(
        (status, problem(&body)),
        (StatusCode::BAD_REQUEST, "malformed-jws")
    );
    let unknown = h
        .unsent(
            &key(0x21),
            Some(id),
            Purpose::VirtualId,
            json!({"ttl_seconds": 60}),
        )
        .await;
    let (status, body) = h.post(&path, unknown).await;
    assert_eq!(
        (status, problem(&body)),
        (StatusCode::UNAUTHORIZED, "bad-signature")
    );
    let transfer = h
        .unsent(
            &admin_key(),
            Some("admin:ops"),
            Purpose::Transfer,
            json!({"new_owner_id": "nobody"}),
        )
        .await;
    let (status, body) = h
        .post(&format!("/v1/devices/{id}/transfer"), transfer)
        .await;
    assert_eq!(
        (status, problem(&body)),
        (StatusCode::NOT_FOUND, "owner-not-found")
    );
    let (status, body) = h.post("/v1/devices/not-an-id/transfer", "x.y.z").await;
    assert!(status.is_client_error(), "{status} {body}");
}
