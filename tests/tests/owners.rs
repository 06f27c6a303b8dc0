//! Owners and envelope-encrypted PII on the deployed stack: KMS data keys, the DynamoDB
//! adapter, and the API Gateway routes.
// card C6
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use p256::ecdsa::SigningKey;
use serde_json::json;
use trustreg_aws::{KmsKeys, SystemClock};
use trustreg_core::actors::Actor;
use trustreg_core::jose::{self, JwsHeader};
use trustreg_core::messages::{Purpose, RegistrationClaims};
use trustreg_core::ports::{OwnerStore, RegistryKeys};
use trustreg_tests::{
    Manufacturer, Stack, challenge, imei, localstack, post, random_imei, sensor_info,
};

const NAME: &str = "Grace Hopper";
const EMAIL: &str = "grace@example.org";

fn keys(stack: &Stack, sdk: &aws_config::SdkConfig) -> KmsKeys {
    KmsKeys::new(
        aws_sdk_kms::Client::new(sdk),
        stack.output("SigningKeyId"),
        stack.output("PiiKeyId"),
        stack.output("RegistryPath"),
    )
}

fn owner_key() -> SigningKey {
    let mut bytes = [0u8; 32];
    trustreg_core::ports::Rng::fill(&trustreg_aws::OsRng, &mut bytes);
    SigningKey::from_bytes(&bytes.into()).unwrap()
}

/// Every attribute of a stored item, as text: what the table (and its stream) holds.
async fn raw_item(stack: &Stack, sdk: &aws_config::SdkConfig, pk: String, sk: &str) -> String {
    let item = aws_sdk_dynamodb::Client::new(sdk)
        .get_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("stored");
    format!("{item:?}")
}

// card C3
// Y.3059 9.1 iii
// Envelope encryption: a blob opens with its context only, also in a cold instance, holds
// no clear text, and forty seals cost two KMS data keys.
#[tokio::test]
async fn envelope_encryption_round_trips_and_batches_data_keys() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let keys = keys(&stack, &sdk);
    let mut blobs = Vec::new();
    for i in 0..40 {
        let clear = format!("{NAME} {i}");
        blobs.push(
            keys.seal(&format!("owner-{i}"), clear.as_bytes())
                .await
                .unwrap(),
        );
    }
    assert_eq!(keys.data_key_requests(), 2);
    let cold = self::keys(&stack, &sdk);
    for (i, blob) in blobs.iter().enumerate() {
        assert!(!blob.windows(5).any(|w| w == b"Grace"));
        let opened = cold.open(&format!("owner-{i}"), blob).await.unwrap();
        assert_eq!(opened, format!("{NAME} {i}").into_bytes());
    }
    assert!(cold.open("owner-1", &blobs[0]).await.is_err());
    assert!(
        keys.open("owner-0", &blobs[0][..blobs[0].len() - 1])
            .await
            .is_err()
    );
}

// Y.3059 9.2 i d
// Y.3059 9.1 iii
// A self-registered owner is stored with sealed PII only: the raw item (what the stream
// carries onward) holds no name or e-mail, and an admin reads them back in clear.
#[tokio::test]
async fn the_stored_owner_item_holds_no_clear_pii() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(SystemClock));
    let k = owner_key();
    let nonce = registry.challenge(Purpose::Owner).await.unwrap().nonce;
    let claims = json!({"nonce": nonce, "kind": "owner",
        "attributes": {"name": NAME, "email": EMAIL},
        "public_key": jose::jwk_from_key(k.verifying_key())});
    let jws = jose::sign_with(&k, &JwsHeader::es256(), claims.to_string().as_bytes());
    let owner = registry.register_owner(&jws).await.unwrap();
    let raw = raw_item(&stack, &sdk, format!("OWNER#{}", owner.owner_id), "OWNER").await;
    assert!(!raw.contains("Grace") && !raw.contains(EMAIL), "{raw}");
    let details = registry
        .owner_details(&owner.owner_id, &Actor::Admin("tests".into()))
        .await
        .unwrap();
    assert_eq!(details.attributes.email.as_deref(), Some(EMAIL));
}

// Y.3059 9.2 i d
// Y.3059 9.2 i g
// End to end through API Gateway: an owner registers itself, a device registers naming a
// new owner, and that owner transfers the device to the first; the custody chain keeps it.
#[tokio::test]
async fn owners_register_and_transfer_devices_through_the_api() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(SystemClock));
    let api = stack.api_url();

    let buyer = owner_key();
    let nonce = challenge(&api, "owner").await;
    let claims = json!({"nonce": nonce, "kind": "owner",
        "attributes": {"name": NAME, "email": EMAIL},
        "public_key": jose::jwk_from_key(buyer.verifying_key())});
    let claims = trustreg_core::binding::bind(claims, "POST", "/v1/owners");
    let jws = jose::sign_with(&buyer, &JwsHeader::es256(), claims.to_string().as_bytes());
    let answer = post(&api, "/v1/owners", "application/jose", jws).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.body["verification"], "unverified");
    assert!(!answer.body.to_string().contains("Grace"));
    let buyer_id = answer.body["owner_id"].as_str().unwrap().to_owned();

    // The seller is named by the device at registration.
    let seller = owner_key();
    let maker = Manufacturer::accepted_by(&registry).await;
    let identifier = imei(&random_imei());
    let se = maker.device(&identifier);
    let nonce = registry.challenge(Purpose::Register).await.unwrap().nonce;
    let claims = RegistrationClaims {
        tpm: None,
        nonce,
        identifier: trustreg_core::messages::IdentifierClaim {
            scheme: identifier.scheme(),
            value: identifier.value().to_owned(),
        },
        device: sensor_info(),
        owner: Some(json!({"attributes": {"organisation": "Seller Ltd"},
            "public_key": jose::jwk_from_key(seller.verifying_key())})),
        trust_domains: vec![],
    };
    let jws = trustreg_device::client::registration_jws(&se, &claims).unwrap();
    let regdevid = registry.register(&jws).await.unwrap().response.regdevid;
    let store = stack.store(&sdk);
    let device = trustreg_core::ports::DeviceStore::get_device(&store, &regdevid.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let seller_id = device.owner_id.clone().expect("owner linked");
    let raw = raw_item(&stack, &sdk, format!("OWNER#{seller_id}"), "OWNER").await;
    assert!(!raw.contains("Seller Ltd"), "{raw}");

    let path = format!("/v1/devices/{}/transfer", regdevid.replace(':', "%3A"));
    let transfer = |key: &SigningKey, kid: String, nonce: String| {
        let claims = json!({"nonce": nonce, "new_owner_id": buyer_id});
        let claims = trustreg_core::binding::bind(claims, "POST", &path);
        jose::sign_with(
            key,
            &JwsHeader::es256().with_kid(kid),
            claims.to_string().as_bytes(),
        )
    };
    // The buyer cannot take the device; the seller can give it.
    let nonce = challenge(&api, "transfer").await;
    let answer = post(
        &api,
        &path,
        "application/jose",
        transfer(&buyer, format!("owner:{buyer_id}"), nonce),
    )
    .await;
    assert_eq!(answer.status, 403, "{answer:?}");
    let nonce = challenge(&api, "transfer").await;
    let answer = post(
        &api,
        &path,
        "application/jose",
        transfer(&seller, format!("owner:{seller_id}"), nonce),
    )
    .await;
    // An offer: the device is the seller's until the buyer accepts it.
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(answer.body["owner_id"], seller_id.as_str());
    assert_eq!(answer.body["offered_to"], buyer_id.as_str());
    assert!(store.devices_of_owner(&buyer_id).await.unwrap().is_empty());
    let accepted = trustreg_tests::post_signed(
        &api,
        &format!("{path}/accept"),
        &buyer,
        &format!("owner:{buyer_id}"),
        &json!({"nonce": challenge(&api, "transfer").await}),
    )
    .await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    assert_eq!(accepted.body["owner_id"], buyer_id.as_str());
    let chain = store.custody_of(&regdevid.parse().unwrap()).await.unwrap();
    assert_eq!(chain.len(), 1);
    assert_eq!(chain[0].from.as_deref(), Some(seller_id.as_str()));
    assert_eq!(store.devices_of_owner(&buyer_id).await.unwrap().len(), 1);
    assert!(store.devices_of_owner(&seller_id).await.unwrap().is_empty());
}
