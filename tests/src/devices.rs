//! Devices and owners made through the API of a deployed stack, as the end-to-end tests and
//! the attacks on them need them.

use std::sync::Arc;

use p256::ecdsa::SigningKey;
use trustreg_core::identifier::Identifier;
use trustreg_device::{RegistryClient, SoftSecureElement};

use crate::{
    Manufacturer, Stack, challenge, imei, localstack, new_signing_key, post, random_imei,
    sensor_info,
};

/// A device registered and acknowledged through the API (so `trusted`), by a manufacturer of
/// its own that the stack accepts.
pub struct TrustedDevice {
    pub regdevid: String,
    /// Its registration credential.
    pub credential: String,
    pub maker: Manufacturer,
    pub se: SoftSecureElement,
}

/// A new device with a random IMEI, certified by a manufacturer of its own that `stack`
/// accepts (for the `secure-element` root-of-trust type): not registered yet.
pub async fn certified_device(stack: &Stack) -> (Manufacturer, Identifier, SoftSecureElement) {
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let id = imei(&random_imei());
    let se = maker.device(&id);
    (maker, id, se)
}

pub async fn trusted_device(stack: &Stack) -> TrustedDevice {
    let (maker, id, se) = certified_device(stack).await;
    let client = RegistryClient::new(stack.api_url()).expect("a client");
    let registered = client
        .register(&se, &id, sensor_info(), vec![])
        .await
        .expect("registered");
    client.acknowledge(&se).await.expect("acknowledged");
    TrustedDevice {
        regdevid: registered.regdevid,
        credential: registered.credential,
        maker,
        se,
    }
}

/// A trusted device with an owner named at its registration, and that owner's key.
pub struct OwnedDevice {
    pub regdevid: String,
    pub owner_id: String,
    pub owner_key: SigningKey,
}

pub async fn owned_device(stack: &Stack) -> OwnedDevice {
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let owner_key = new_signing_key();
    let id = imei(&random_imei());
    let se = maker.device(&id);
    let client = RegistryClient::new(stack.api_url()).expect("a client");
    let owner = serde_json::json!({"attributes": {"name": "Owner"},
        "public_key": trustreg_core::jose::jwk_from_key(owner_key.verifying_key())});
    let registered = client
        .register_with_owner(&se, &id, sensor_info(), Some(owner), vec![])
        .await
        .expect("registered");
    client.acknowledge(&se).await.expect("acknowledged");
    let regdevid = registered.regdevid;
    let device = trustreg_core::ports::DeviceStore::get_device(
        &stack.store(&sdk),
        &regdevid.parse().expect("a RegDevID"),
    )
    .await
    .expect("the store answers")
    .expect("the device is stored");
    OwnedDevice {
        regdevid,
        owner_id: device.owner_id.expect("an owner"),
        owner_key,
    }
}

/// An owner that signed itself up (`POST /v1/owners`, no administrator involved): its id and
/// key.
pub async fn self_made_owner(api: &str) -> (String, SigningKey) {
    let key = new_signing_key();
    let claims = serde_json::json!({"nonce": challenge(api, "owner").await, "kind": "owner",
        "attributes": {"name": "Self Made", "email": "self@example.org"},
        "public_key": trustreg_core::jose::jwk_from_key(key.verifying_key())});
    let claims = trustreg_core::binding::bind(claims, "POST", "/v1/owners");
    let jws = trustreg_core::jose::sign_with(
        &key,
        &trustreg_core::jose::JwsHeader::es256(),
        claims.to_string().as_bytes(),
    );
    let created = post(api, "/v1/owners", "application/jose", jws).await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.body["owner_id"]
        .as_str()
        .expect("an owner id")
        .to_owned();
    (id, key)
}

/// The test administrator's hold (`stolen`) on `regdevid` through `stack`'s API: the device
/// becomes unreliable.
pub async fn admin_hold(stack: &Stack, regdevid: &str) {
    let api = stack.api_url();
    let (admin, key) = crate::test_admin();
    let claims = serde_json::json!({"nonce": crate::challenge(&api, "hold").await,
                                    "regdevid": regdevid, "kind": "stolen"});
    let held = crate::post_signed(
        &api,
        &format!("/v1/devices/{regdevid}/holds"),
        &key,
        &format!("admin:{admin}"),
        &claims,
    )
    .await;
    assert_eq!(held.status, 200, "{held:?}");
    assert_eq!(held.body["status"], "unreliable");
}
