//! Interrogation end to end on LocalStack, through API Gateway and the `interrogate` and
//! `admin` Lambdas: enquirers sign up, are approved, log in by challenge-response and look
//! devices up; every answer's statement verifies offline with the published key.
// card C6
// card C1
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use trustreg_core::jose::{self, JwsHeader};
use trustreg_core::messages::{IdentifierClaim, RegistrationClaims};
use trustreg_core::ports::{Clock, RegistryKeys};
use trustreg_tests::{
    Answer, Manufacturer, Stack, challenge, imei, localstack, post, post_signed, random_imei, send,
    sensor_info, signed_request, test_admin,
};

const JOSE: &str = "application/jose";

async fn get(api: &str, path: &str, token: Option<&str>) -> Answer {
    send("GET", format!("{api}{path}"), token, None).await
}

fn new_key() -> SigningKey {
    let mut bytes = [0u8; 32];
    trustreg_core::ports::Rng::fill(&trustreg_aws::OsRng, &mut bytes);
    SigningKey::from_bytes(&bytes.into()).unwrap()
}

/// Logs `kid` in with `key`: the access token.
async fn login(api: &str, key: &SigningKey, kid: &str) -> Answer {
    let nonce = challenge(api, "login").await;
    post_signed(
        api,
        "/v1/sessions",
        key,
        kid,
        &json!({"nonce": nonce, "enquirer_id": kid}),
    )
    .await
}

async fn token(api: &str, key: &SigningKey, kid: &str) -> String {
    let answer = login(api, key, kid).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["token_type"], "Bearer");
    answer.body["access_token"].as_str().unwrap().to_owned()
}

async fn admin_token(api: &str) -> String {
    let (name, key) = test_admin();
    token(api, &key, &format!("admin:{name}")).await
}

/// An approved enquirer of `role`: its key and kid.
async fn approved_enquirer(api: &str, role: &str) -> (SigningKey, String) {
    let key = new_key();
    let signed_up = post(
        api,
        "/v1/enquirers",
        "application/json",
        json!({"name": "Ada", "organisation": "Example Health", "contact": "ada@example.org",
               "role": role, "public_key": jose::jwk_from_key(key.verifying_key())})
        .to_string(),
    )
    .await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    assert_eq!(signed_up.body["state"], "pending");
    let id = signed_up.body["enquirer_id"].as_str().unwrap().to_owned();
    let kid = format!("enquirer:{id}");

    // Y.3059 9.3 i a: a pending enquirer cannot log in.
    let pending = login(api, &key, &kid).await;
    assert_eq!(pending.status, 403, "{pending:?}");

    let decided = decide(api, &id, "approve").await;
    assert_eq!(decided.status, 200, "{decided:?}");
    assert_eq!(decided.body["state"], "approved");
    (key, kid)
}

async fn decide(api: &str, id: &str, decision: &str) -> Answer {
    let (name, admin) = test_admin();
    let nonce = challenge(api, "enquirer-decision").await;
    post_signed(
        api,
        &format!("/v1/admin/enquirers/{id}/decision"),
        &admin,
        &format!("admin:{name}"),
        &json!({"nonce": nonce, "decision": decision}),
    )
    .await
}

/// A registered device with an owner that holds `owner_key`: (RegDevID, owner id).
async fn device_with_owner(
    api: &str,
    maker: &Manufacturer,
    owner_key: &SigningKey,
    make: &str,
) -> String {
    let id = imei(&random_imei());
    let se = maker.device(&id);
    let mut device = sensor_info();
    device.make = make.to_owned();
    let claims = RegistrationClaims {
        tpm: None,
        nonce: challenge(api, "register").await,
        identifier: IdentifierClaim {
            scheme: id.scheme(),
            value: id.value().to_owned(),
        },
        device,
        owner: Some(
            json!({"attributes": {"name": "Grace Hopper", "email": "grace@example.org"},
                           "public_key": jose::jwk_from_key(owner_key.verifying_key())}),
        ),
        trust_domains: vec![],
    };
    let jws = trustreg_device::client::registration_jws(&se, &claims).unwrap();
    let registered = post(api, "/v1/registrations", JOSE, jws).await;
    assert_eq!(registered.status, 201, "{registered:?}");
    registered.body["regdevid"].as_str().unwrap().to_owned()
}

fn published_key(document: &Value) -> p256::ecdsa::VerifyingKey {
    jose::key_from_jwk(&document["public_key"]).unwrap()
}

fn now_ms() -> u64 {
    trustreg_aws::SystemClock.now_ms()
}

fn segment(id: &str) -> String {
    id.replace('/', "%2F")
}

// Y.3059 9.3 i a
// Y.3059 9.3 iii
// Y.3059 9.3 ii c
// Y.3059 9.1 iv
// Y.3059 7 i b
// From sign-up to lookups by role: public sees the status only, an approved enquirer the
// details, the owner and an administrator the owner's PII; the statement verifies offline.
#[tokio::test]
async fn enquirers_sign_up_log_in_and_look_devices_up_by_role() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let owner_key = new_key();
    let make = format!("Make{}", random_imei());
    let regdevid = device_with_owner(&api, &maker, &owner_key, &make).await;
    let document = get(&api, "/v1/registry", None).await.body;
    let key = published_key(&document);

    let public = get(&api, &format!("/v1/devices/{}", segment(&regdevid)), None).await;
    assert_eq!(public.status, 200, "{public:?}");
    assert_eq!(public.body["status"], "unverified");
    assert!(public.body.get("make").is_none() && public.body.get("owner").is_none());
    let said: trustreg_core::statements::Statement<Value> =
        trustreg_core::statements::verify_statement(
            public.body["statement"].as_str().unwrap(),
            &key,
            now_ms(),
        )
        .unwrap();
    assert_eq!(said.answer["status"], "unverified");

    let (enquirer_key, enquirer_kid) = approved_enquirer(&api, "enquirer").await;
    let enquirer = token(&api, &enquirer_key, &enquirer_kid).await;
    let details = get(
        &api,
        &format!("/v1/devices/{}", segment(&regdevid)),
        Some(&enquirer),
    )
    .await;
    assert_eq!(details.status, 200, "{details:?}");
    assert_eq!(details.body["make"], make.as_str());
    assert!(details.body.get("owner").is_none(), "{details:?}");
    assert!(!details.body.to_string().contains("Grace"));

    let history = get(
        &api,
        &format!("/v1/devices/{}/history", segment(&regdevid)),
        Some(&enquirer),
    )
    .await;
    assert_eq!(history.status, 200, "{history:?}");
    let vulnerabilities = get(
        &api,
        &format!("/v1/devices/{}/vulnerabilities", segment(&regdevid)),
        Some(&enquirer),
    )
    .await;
    assert_eq!(vulnerabilities.status, 200, "{vulnerabilities:?}");

    // Y.3059 8: search served by the indexes.
    let found = get(&api, &format!("/v1/devices?make={make}"), Some(&enquirer)).await;
    assert_eq!(found.status, 200, "{found:?}");
    let devices = found.body["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{found:?}");
    assert_eq!(devices[0]["regdevid"], regdevid.as_str());
    trustreg_core::statements::verify_statement::<Value>(
        found.body["statement"].as_str().unwrap(),
        &key,
        now_ms(),
    )
    .unwrap();
    let anonymous_search = get(&api, &format!("/v1/devices?make={make}"), None).await;
    assert_eq!(anonymous_search.status, 401, "{anonymous_search:?}");

    // Y.3059 9.1 iii: the owner reads its own device with its PII.
    let device = trustreg_core::ports::DeviceStore::get_device(
        &stack.store(&sdk),
        &regdevid.parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let owner_id = device.owner_id.unwrap();
    let owner = token(&api, &owner_key, &format!("owner:{owner_id}")).await;
    let own = get(
        &api,
        &format!("/v1/devices/{}", segment(&regdevid)),
        Some(&owner),
    )
    .await;
    assert_eq!(own.status, 200, "{own:?}");
    assert!(own.body.to_string().contains("Grace Hopper"), "{own:?}");

    let admin = admin_token(&api).await;
    let full = get(
        &api,
        &format!("/v1/devices/{}", segment(&regdevid)),
        Some(&admin),
    )
    .await;
    assert!(
        full.body.to_string().contains("grace@example.org"),
        "{full:?}"
    );

    // Y.3059 7 i c: the PII reads are in the audit trail, which admins read.
    let audit = get(
        &api,
        &format!("/v1/audit?target={}", segment(&regdevid)),
        Some(&admin),
    )
    .await;
    assert_eq!(audit.status, 200, "{audit:?}");
    let pii_reads = audit.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "read-pii")
        .count();
    assert!(pii_reads >= 2, "{audit:?}");
    let refused = get(&api, "/v1/audit", Some(&enquirer)).await;
    assert_eq!(refused.status, 403, "{refused:?}");

    // A revoked enquirer logs in no more.
    let id = enquirer_kid.strip_prefix("enquirer:").unwrap();
    assert_eq!(decide(&api, id, "revoke").await.status, 200);
    assert_eq!(login(&api, &enquirer_key, &enquirer_kid).await.status, 403);
}

// Y.3059 9.3 iii
// Y.3059 9.1 iv
// Tokens: one signed by another key, an expired one (signed by the registry's own KMS key),
// a garbage one; a replayed login nonce.
#[tokio::test]
async fn forged_expired_and_replayed_credentials_are_refused() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let (name, admin_key) = test_admin();
    let kid = format!("admin:{name}");
    let valid = token(&api, &admin_key, &kid).await;
    let audit = |token: String| {
        let api = api.clone();
        async move { get(&api, "/v1/audit", Some(&token)).await }
    };
    assert_eq!(audit(valid.clone()).await.status, 200);

    // The same claims signed by another key.
    let parts: Vec<&str> = valid.split('.').collect();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[0])
            .unwrap(),
    )
    .unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1])
            .unwrap(),
    )
    .unwrap();
    let jws_header: JwsHeader = serde_json::from_value(header.clone()).unwrap();
    let forged = jose::sign_with(&new_key(), &jws_header, claims.to_string().as_bytes());
    let answer = audit(forged).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(answer.problem(), "unauthenticated");

    // Expired, yet signed by the registry's KMS key.
    let keys = trustreg_aws::KmsKeys::new(
        aws_sdk_kms::Client::new(&sdk),
        stack.output("SigningKeyId"),
        stack.output("PiiKeyId"),
        stack.output("RegistryPath"),
    );
    let mut old = claims.clone();
    let now = (now_ms() / 1000) as i64;
    old["iat"] = json!(now - 7200);
    old["exp"] = json!(now - 3600);
    let input = jose::signing_input(&jws_header, old.to_string().as_bytes());
    let expired = jose::assemble(&input, &keys.sign(input.as_bytes()).await.unwrap());
    let answer = audit(expired).await;
    assert_eq!(answer.status, 401, "{answer:?}");

    assert_eq!(audit("not.a.token".into()).await.status, 401);

    let nonce = challenge(&api, "login").await;
    let jws = signed_request(
        &admin_key,
        &kid,
        "POST",
        "/v1/sessions",
        &json!({"nonce": nonce, "enquirer_id": kid}),
    );
    assert_eq!(
        post(&api, "/v1/sessions", JOSE, jws.clone()).await.status,
        200
    );
    let replayed = post(&api, "/v1/sessions", JOSE, jws).await;
    assert_eq!(replayed.status, 401, "{replayed:?}");
    assert_eq!(replayed.problem(), "nonce-invalid");
}

// Y.3059 9.2 i f
// Y.3059 9.3 ii c
// A public lookup by virtual ID tells the status, and neither the RegDevID nor any PII.
#[tokio::test]
async fn a_public_lookup_by_virtual_id_reveals_neither_regdevid_nor_pii() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let owner_key = new_key();
    let regdevid = device_with_owner(&api, &maker, &owner_key, "Acme").await;
    let device = trustreg_core::ports::DeviceStore::get_device(
        &stack.store(&sdk),
        &regdevid.parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let owner_id = device.owner_id.unwrap();
    let nonce = challenge(&api, "virtual-id").await;
    let issued = post_signed(
        &api,
        &format!("/v1/devices/{}/virtual-ids", segment(&regdevid)),
        &owner_key,
        &format!("owner:{owner_id}"),
        &json!({"nonce": nonce, "ttl_seconds": 600, "single_use": false}),
    )
    .await;
    assert_eq!(issued.status, 201, "{issued:?}");
    let virtual_id = issued.body["virtual_id"].as_str().unwrap();

    let answer = get(&api, &format!("/v1/devices/{virtual_id}"), None).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let text = answer.body.to_string();
    let (_, inherent) = regdevid.rsplit_once(':').unwrap();
    assert!(!text.contains(inherent), "{text}");
    assert!(
        !text.contains("Grace") && !text.contains("grace@"),
        "{text}"
    );
    assert_eq!(answer.body["id"], virtual_id);
    // Nor does the statement's payload.
    let parts: Vec<&str> = answer.body["statement"]
        .as_str()
        .unwrap()
        .split('.')
        .collect();
    let payload =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1])
            .unwrap();
    assert!(!String::from_utf8_lossy(&payload).contains(inherent));
}

// Y.3059 9.3 ii d
// Bulk lookup: administrators only, one result per id, in order.
#[tokio::test]
async fn administrators_look_devices_up_in_bulk() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(device_with_owner(&api, &maker, &new_key(), "Bulkco").await);
    }
    let unknown = format!("{}:imei:{}", stack.output("RegistryPath"), random_imei());
    let mut asked = ids.clone();
    asked.insert(1, unknown.clone());
    asked.push("nonsense".into());
    let admin = admin_token(&api).await;
    let body = json!({ "ids": asked }).to_string();
    let answer = send(
        "POST",
        format!("{api}/v1/bulk/lookups"),
        Some(&admin),
        Some(("application/json", body.clone())),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0]["regdevid"], ids[0].as_str());
    assert_eq!(results[1]["error"], "device-not-found");
    assert_eq!(results[2]["regdevid"], ids[1].as_str());
    assert_eq!(results[4]["error"], "invalid-identifier");

    let (key, kid) = approved_enquirer(&api, "enquirer").await;
    let enquirer = token(&api, &key, &kid).await;
    let refused = send(
        "POST",
        format!("{api}/v1/bulk/lookups"),
        Some(&enquirer),
        Some(("application/json", body)),
    )
    .await;
    assert_eq!(refused.status, 403, "{refused:?}");
}

// Y.3059 7 ii
// Removing a root of trust through the admin API makes its devices unreliable.
#[tokio::test]
async fn removing_a_root_makes_its_devices_unreliable() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let (name, admin) = test_admin();
    let kid = format!("admin:{name}");
    let maker = Manufacturer::unaccepted();
    let der = maker.ca.cert_der().to_vec();
    let root_id = trustreg_core::rot::root_id_for(&der);
    let certificate = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der);
    let put = send(
        "PUT",
        format!("{api}/v1/admin/roots/{root_id}"),
        None,
        Some((
            JOSE,
            signed_request(
                &admin,
                &kid,
                "PUT",
                &format!("/v1/admin/roots/{root_id}"),
                &json!({"nonce": challenge(&api, "root").await, "name": maker.ca.name(),
                        "certificate": certificate, "rot_types": ["secure-element"],
                        "identifier_scopes": trustreg_core::fakes::broad_identifier_scopes()}),
            ),
        )),
    )
    .await;
    assert!(put.status == 200 || put.status == 201, "{put:?}");
    let regdevid = device_with_owner(&api, &maker, &new_key(), "Rootco").await;

    let removed = send(
        "DELETE",
        format!("{api}/v1/admin/roots/{root_id}"),
        None,
        Some((
            JOSE,
            signed_request(
                &admin,
                &kid,
                "DELETE",
                &format!("/v1/admin/roots/{root_id}"),
                &json!({"nonce": challenge(&api, "root").await}),
            ),
        )),
    )
    .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    let answer = get(&api, &format!("/v1/devices/{}", segment(&regdevid)), None).await;
    assert_eq!(answer.body["status"], "unreliable", "{answer:?}");
    let document = get(&api, "/v1/registry", None).await.body;
    assert!(!document.to_string().contains(&root_id));
}
