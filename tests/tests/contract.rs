//! The response-conformance check itself (tests/src/contract.rs), against the served document:
//! a real answer passes it, and the same answer fails it once the document has drifted, so the
//! check that every other e2e test runs cannot pass silently.
#![allow(clippy::unwrap_used)]

use trustreg_tests::contract::{Contract, served};
use trustreg_tests::{Stack, devices, send};

#[tokio::test]
async fn a_drifted_document_fails_the_answer_that_shows_it() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let device = devices::trusted_device(&stack).await;
    let path = format!(
        "/v1/devices/{}",
        trustreg_device::client::encode_path_segment(&device.regdevid)
    );
    let url = format!("{api}{path}");
    // Checked by `send` against the served document: no drift.
    let answer = send("GET", url.clone(), None, None).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let body = serde_json::to_vec(&answer.body).unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("content-type", answer.content_type.parse().unwrap());

    let served = served(&api);
    served.check("GET", &path, 200, &headers, &body).unwrap();

    let document: serde_json::Value = reqwest::get(format!("{api}/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The schema the document gives the lookup's answer.
    let schema = document
        .pointer(
            "/paths/~1v1~1devices~1{id}/get/responses/200/content/application~1json/schema/$ref",
        )
        .and_then(|r| r.as_str())
        .and_then(|r| r.strip_prefix('#'))
        .unwrap()
        .to_owned();
    assert!(document.pointer(&schema).is_some(), "no {schema}");

    // A member the answer carries, no longer in the document.
    let mut drifted = document.clone();
    let properties = drifted
        .pointer_mut(&format!("{schema}/properties"))
        .and_then(|p| p.as_object_mut())
        .unwrap();
    assert!(properties.remove("status").is_some());
    let err = Contract::new(drifted)
        .check("GET", &path, 200, &headers, &body)
        .unwrap_err();
    assert!(err.contains("GET /v1/devices/{id} answered 200"), "{err}");
    assert!(err.contains("at /:") && err.contains("status"), "{err}");

    // A member's type changed: the pointer names it.
    let mut drifted = document.clone();
    *drifted
        .pointer_mut(&format!("{schema}/properties/registry"))
        .unwrap() = serde_json::json!({"type": "integer"});
    let err = Contract::new(drifted)
        .check("GET", &path, 200, &headers, &body)
        .unwrap_err();
    assert!(err.contains("at /registry"), "{err}");

    // The status no longer documented.
    let mut drifted = document;
    drifted
        .pointer_mut("/paths/~1v1~1devices~1{id}/get/responses")
        .and_then(|r| r.as_object_mut())
        .unwrap()
        .remove("200");
    let err = Contract::new(drifted)
        .check("GET", &path, 200, &headers, &body)
        .unwrap_err();
    assert!(
        err.contains("answered 200, a status it does not document"),
        "{err}"
    );
}
