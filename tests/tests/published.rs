//! The published documents through API Gateway and the `interrogate` Lambda.
// card C6
// card C1
#![allow(clippy::unwrap_used)]

use trustreg_core::bulk::verify_batch_credential;
use trustreg_core::jose;
use trustreg_core::statements;
use trustreg_tests::{
    Manufacturer, Stack, challenge, imei, localstack, post, random_imei, registration,
};

// Y.3059 9.1 vi
// Y.3059 9.3 i b
// card C3
// Anyone reads the registry's key and accepted roots; the published key verifies the
// credential a device got through the device-facing API of the same stack.
#[tokio::test]
async fn the_published_key_verifies_what_the_registry_issued() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let registry = stack.registry(&sdk, std::sync::Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;

    let response = reqwest::get(format!("{api}/v1/registry")).await.unwrap();
    assert_eq!(response.status(), 200);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["path"], stack.output("RegistryPath"));
    assert!(
        doc["accepted_roots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == maker.ca.name())
    );
    let key = jose::key_from_jwk(&doc["public_key"]).unwrap();

    let id = imei(&random_imei());
    let se = maker.device(&id);
    let body = registration(&se, &id, challenge(&api, "register").await);
    let registered = post(&api, "/v1/registrations", "application/jose", body).await;
    assert_eq!(registered.status, 201, "{registered:?}");
    // Signed like a statement (API.md): the published key verifies its delegation, the
    // delegated key the credential, made within the delegation's hour.
    let credential = jose::parse(registered.body["credential"].as_str().unwrap()).unwrap();
    let claims: serde_json::Value = credential.claims().unwrap();
    let iat = claims["iat"].as_u64().unwrap();
    statements::verify_delegated(&credential, &key, doc["path"].as_str().unwrap(), iat, iat)
        .unwrap();
    let path = doc["path"].as_str().unwrap();
    assert!(statements::verify_delegated(&credential, &se.public_key(), path, iat, iat).is_err());
    assert!(verify_batch_credential("{}", &key).is_err());

    let statement = reqwest::get(format!("{api}/v1/registry/practice-statement"))
        .await
        .unwrap();
    assert_eq!(statement.status(), 200);
    assert!(
        statement
            .text()
            .await
            .unwrap()
            .contains(stack.output("RegistryPath"))
    );
}
