//! Virtual RegDevIDs on the deployed stack: the DynamoDB adapter and the API Gateway route.
// card C6
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use trustreg_aws::SystemClock;
use trustreg_core::fakes::FixedClock;
use trustreg_core::identifier::RegDevId;
use trustreg_core::jose::JwsHeader;
use trustreg_core::messages::Purpose;
use trustreg_core::{Registry, RegistryError};
use trustreg_device::SoftSecureElement;
use trustreg_tests::{
    Manufacturer, Stack, challenge, imei, localstack, post, random_imei, registration,
};

/// A device registered on the stack, and its secure element.
async fn registered(registry: &Registry) -> (RegDevId, SoftSecureElement) {
    let maker = Manufacturer::accepted_by(registry).await;
    let identifier = imei(&random_imei());
    let se = maker.device(&identifier);
    let nonce = registry.challenge(Purpose::Register).await.unwrap().nonce;
    let done = registry
        .register(&registration(&se, &identifier, nonce))
        .await
        .unwrap();
    (done.response.regdevid.parse().unwrap(), se)
}

fn request(
    se: &SoftSecureElement,
    regdevid: &RegDevId,
    nonce: String,
    ttl: u64,
    single: bool,
) -> String {
    let claims = json!({"nonce": nonce, "ttl_seconds": ttl, "single_use": single});
    let path = trustreg_device::client::device_path(
        trustreg_model::routes::Op::CreateVirtualId,
        &regdevid.to_string(),
    );
    let claims = trustreg_core::binding::bind(claims, "POST", &path);
    se.sign_jws(
        &JwsHeader::es256().with_kid(regdevid.to_string()),
        claims.to_string().as_bytes(),
    )
}

// Y.3059 9.2 i f
// Twenty concurrent resolutions of one single-use virtual ID: exactly one finds the device.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_use_virtual_id_resolves_once_under_concurrency() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = Arc::new(stack.registry(&sdk, Arc::new(SystemClock)));
    let (regdevid, se) = registered(&registry).await;
    let nonce = registry.challenge(Purpose::VirtualId).await.unwrap().nonce;
    let issued = registry
        .issue_virtual_id(
            &regdevid.to_string(),
            &request(&se, &regdevid, nonce, 600, true),
        )
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let registry = registry.clone();
            let id = issued.virtual_id.clone();
            tokio::spawn(async move { registry.resolve(&id).await })
        })
        .collect();
    let (mut found, mut gone) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(id) => {
                assert_eq!(id, regdevid);
                found += 1;
            }
            Err(RegistryError::VirtualIdNotFound) => gone += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((found, gone), (1, 19));
}

// Y.3059 9.2 i f
// An expired virtual ID is not found although DynamoDB has not deleted it yet, and the
// item carries the TTL that will.
#[tokio::test]
async fn an_expired_virtual_id_is_not_found_before_dynamodb_deletes_it() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let clock = Arc::new(FixedClock::at(trustreg_core::ports::Clock::now_ms(
        &SystemClock,
    )));
    let registry = stack.registry(&sdk, clock.clone());
    let (regdevid, se) = registered(&registry).await;
    let nonce = registry.challenge(Purpose::VirtualId).await.unwrap().nonce;
    let issued = registry
        .issue_virtual_id(
            &regdevid.to_string(),
            &request(&se, &regdevid, nonce, 60, false),
        )
        .await
        .unwrap();
    assert_eq!(
        registry.resolve(&issued.virtual_id).await.unwrap(),
        regdevid
    );
    clock.advance(61_000);
    let err = registry.resolve(&issued.virtual_id).await.unwrap_err();
    assert!(matches!(err, RegistryError::VirtualIdNotFound));
    assert!(!err.to_string().contains(&regdevid.to_string()));
    let item = aws_sdk_dynamodb::Client::new(&sdk)
        .get_item()
        .table_name(stack.table())
        .key(
            "pk",
            AttributeValue::S(format!("VID#{}", issued.virtual_id)),
        )
        .key("sk", AttributeValue::S("VID".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("still stored");
    assert!(matches!(item.get("ttl"), Some(AttributeValue::N(_))));
}

// Y.3059 9.2 i f
// End to end through API Gateway: the device asks for a virtual ID and gets one that
// resolves to it; a stranger's request is refused.
#[tokio::test]
async fn a_device_gets_a_virtual_id_through_the_api() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(SystemClock));
    let (regdevid, se) = registered(&registry).await;
    let api = stack.api_url();
    let path = format!(
        "/v1/devices/{}/virtual-ids",
        regdevid.to_string().replace(':', "%3A")
    );
    let nonce = challenge(&api, "virtual-id").await;
    let answer = post(
        &api,
        &path,
        "application/jose",
        request(&se, &regdevid, nonce, 300, false),
    )
    .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let virtual_id = answer.body["virtual_id"].as_str().unwrap();
    assert!(answer.body["expires_at"].is_string());
    assert!(!answer.body.to_string().contains(&regdevid.to_string()));
    assert_eq!(registry.resolve(virtual_id).await.unwrap(), regdevid);

    let (_, stranger) = registered(&registry).await;
    let nonce = challenge(&api, "virtual-id").await;
    let answer = post(
        &api,
        &path,
        "application/jose",
        request(&stranger, &regdevid, nonce, 300, false),
    )
    .await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(answer.problem(), "bad-signature");
}

// Y.3059 9.2 i f
// Y.3059 9.2 ii a-d
// The device client registers through API Gateway, then asks for a single-use virtual ID
// naming itself by its stored RegDevID; the ID serves one lookup.
#[tokio::test]
async fn the_device_client_gets_a_single_use_virtual_id() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let identifier = imei(&random_imei());
    let se = maker.device(&identifier);
    let client = trustreg_device::client::RegistryClient::new(stack.api_url()).unwrap();
    let registered = client
        .register(&se, &identifier, trustreg_tests::sensor_info(), vec![])
        .await
        .unwrap();
    let issued = client.virtual_id(&se, 120, true).await.unwrap();
    let resolved = registry.resolve(&issued.virtual_id).await.unwrap();
    assert_eq!(resolved.to_string(), registered.regdevid);
    assert!(matches!(
        registry.resolve(&issued.virtual_id).await,
        Err(RegistryError::VirtualIdNotFound)
    ));
}
