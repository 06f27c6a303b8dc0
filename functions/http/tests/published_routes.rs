//! The published documents through the router of function `interrogate`, on the fakes.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::Request;
use trustreg_core::fakes::FakeRegistry;
use trustreg_core::jose;
use trustreg_core::ports::RegistryKeys;

mod support;
use support::Harness;

/// `method path` through the `interrogate` router: the status, content type and body.
async fn get(h: &Harness, method: &str, path: &str) -> (u16, String, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    let reply = h.send("interrogate", request).await;
    (
        reply.status.as_u16(),
        reply.content_type.unwrap_or_default(),
        reply.text.into_bytes(),
    )
}

// Y.3059 9.1 vi
// Y.3059 9.1 i
// Y.3059 9.1 ii
// Y.3059 9.3 i b
// The registry publishes who it is, its key, its accepted roots and domain policies, and a
// practice statement naming it; its key verifies what it signs.
#[tokio::test]
async fn the_registry_publishes_its_identity_key_roots_and_practice_statement() {
    let h = Harness::on(
        FakeRegistry::builder()
            .domains(&["health", "energy"])
            .key_seed(9)
            .clock_at(1_800_000_000_000),
    )
    .manufacturer("Published CA")
    .build()
    .await;
    let keys = h.keys.clone();

    let (status, content_type, body) = get(&h, "GET", "/v1/registry").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["reg_id"], "P07");
    assert_eq!(doc["path"], "IN1.HLT.P07");
    assert_eq!(doc["type"], "primary");
    assert_eq!(doc["parent"], "IN1.HLT");
    assert_eq!(doc["trust_domains"][1]["name"], "energy");
    assert!(doc["trust_domains"][0]["policy"]["require_acknowledgement"].is_boolean());
    assert_eq!(doc["accepted_roots"][0]["name"], "Published CA");
    assert_eq!(doc["accepted_roots"][0]["rot_types"][0], "secure-element");

    let published = jose::key_from_jwk(&doc["public_key"]).unwrap();
    assert_eq!(published, keys.public_key().await.unwrap());
    let input = jose::signing_input(&jose::JwsHeader::es256(), b"{}");
    let signature = keys.sign(input.as_bytes()).await.unwrap();
    let statement = jose::parse(&jose::assemble(&input, &signature)).unwrap();
    statement.verify(&published).unwrap();

    let (status, content_type, body) = get(&h, "GET", "/v1/registry/practice-statement").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/markdown; charset=utf-8")
    );
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("registry IN1.HLT.P07"));
    assert!(text.contains("health, energy"));
    // The statement shows JSON claims in braces too: only its own placeholders must be gone.
    for placeholder in ["{path}", "{type}", "{domains}"] {
        assert!(!text.contains(placeholder), "{placeholder} is filled");
    }

    let (status, content_type, _) = get(&h, "POST", "/v1/registry").await;
    assert_eq!(
        (status, content_type.as_str()),
        (405, "application/problem+json")
    );
    let (status, _, _) = get(&h, "GET", "/v1/registrations").await;
    assert_eq!(status, 404, "interrogate serves only its own routes");
}
