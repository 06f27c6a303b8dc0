//! TPM registration through API Gateway on the deployed primary (issue 18): the
//! `tpm-activation` challenge (its credential kept with the nonce in DynamoDB) and the evidence
//! in the registration. The TPM is the software one of `model::rot::tpm::soft`, since the
//! deployment's tests run without a TPM; trustreg-device's `tpm` tests drive swtpm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand_core::OsRng;
use serde_json::json;
use trustreg_core::identifier::Identifier;
use trustreg_core::jose::JwsHeader;
use trustreg_core::messages::{IdentifierClaim, RegistrationClaims, TpmEvidence};
use trustreg_core::ports::DeviceStore;
use trustreg_core::rot::tpm::certify_qualifying_data;
use trustreg_core::rot::tpm::soft::{EkCa, FIXED_SIGNING_KEY, SoftTpm};
use trustreg_core::status::{Reason, TrustStatus};
use trustreg_device::client::REGISTRATION_TYP;
use trustreg_tests::{
    Manufacturer, Stack, admin_put, imei, localstack, random_imei, send, sensor_info,
    signed_request, test_admin,
};

/// A TPM manufacturer root (a fresh name, so runs do not collide) and an EK certificate under
/// it for `tpm`.
fn ek_pki(tpm: &SoftTpm) -> (Vec<u8>, Vec<u8>) {
    let ca = EkCa::new(&format!("Test TPM EK Root {}", random_imei()));
    let ek = ca.ek_certificate(tpm);
    (ca.root_der, ek)
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn register(
    api: &str,
    key: &p256::ecdsa::SigningKey,
    maker: &Manufacturer,
    id: &Identifier,
    nonce: String,
    tpm: Option<TpmEvidence>,
) -> trustreg_tests::Answer {
    let cert = maker
        .ca
        .issue_device_cert(key.verifying_key(), id, 365)
        .unwrap();
    let mut device = sensor_info();
    device.rot.kind = "tpm".into();
    let claims = RegistrationClaims {
        nonce,
        identifier: IdentifierClaim {
            scheme: id.scheme(),
            value: id.value().to_owned(),
        },
        device,
        owner: None,
        trust_domains: vec![],
        tpm,
    };
    let header = JwsHeader::es256()
        .with_typ(REGISTRATION_TYP)
        .with_x5c_der(&[cert.der]);
    let payload = trustreg_device::client::bound(&claims, "POST", "/v1/registrations").unwrap();
    let jws = trustreg_core::jose::sign_with(key, &header, &payload);
    send(
        "POST",
        format!("{api}/v1/registrations"),
        None,
        Some(("application/jose", jws)),
    )
    .await
}

// Issue 18: a device with a TPM registers with its EK certificate, an activated credential and
// a certification of its key; the same device without the evidence is a 403.
#[tokio::test]
async fn a_tpm_device_registers_with_its_evidence_and_not_without() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::unaccepted();
    registry
        .accept_root(
            maker.ca.cert_der(),
            maker.ca.name(),
            vec!["secure-element".into(), "tpm".into()],
            trustreg_core::fakes::broad_identifier_scopes(),
            "admin:tests",
        )
        .await
        .unwrap();
    let tpm = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (ek_root, ek_certificate) = ek_pki(&tpm);
    registry
        .accept_root(
            &ek_root,
            "Test TPM EK Root",
            vec!["tpm".into()],
            vec!["serial:test-tpm-maker".into()],
            "admin:tests",
        )
        .await
        .unwrap();
    let id = imei(&random_imei());

    // Without evidence: refused, nothing stored.
    let nonce = trustreg_tests::challenge(&api, "register").await;
    let refused = register(&api, tpm.key(), &maker, &id, nonce, None).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(
        refused.body["type"]
            .as_str()
            .unwrap()
            .ends_with("/tpm-evidence-invalid"),
        "{refused:?}"
    );

    // The challenge: the registry's credential for this EK and AK.
    let answer = send(
        "POST",
        format!("{api}/v1/challenges"),
        None,
        Some((
            "application/json",
            json!({
                "purpose": "tpm-activation",
                "tpm": {
                    "ek_certificates": [STANDARD.encode(&ek_certificate)],
                    "ek_public": b64url(&tpm.ek_public()),
                    "ak_public": b64url(&tpm.ak_public()),
                }
            })
            .to_string(),
        )),
    )
    .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let nonce = answer.body["nonce"].as_str().unwrap().to_owned();
    let field = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(answer.body["tpm"][name].as_str().unwrap())
            .unwrap()
    };
    let secret = tpm
        .activate(&field("credential_blob"), &field("encrypted_secret"))
        .expect("the credential opens in the TPM it was made for");
    let (attest, signature) = tpm.certify(&certify_qualifying_data(&nonce));
    let evidence = TpmEvidence {
        ak_public: b64url(&tpm.ak_public()),
        activation: b64url(&secret),
        key_public: b64url(&tpm.key_public()),
        certify_info: b64url(&attest),
        certify_signature: b64url(&signature),
    };
    let registered = register(&api, tpm.key(), &maker, &id, nonce, Some(evidence)).await;
    assert_eq!(registered.status, 201, "{registered:?}");
    let regdevid = registered.body["regdevid"].as_str().unwrap();
    let stored = stack
        .store(&sdk)
        .get_device(&regdevid.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.facts.rot_type.as_deref(), Some("tpm"));
    let ek_root_id = trustreg_core::rot::root_id_for(&ek_root);
    assert_eq!(stored.facts.ek_root.as_deref(), Some(ek_root_id.as_str()));

    // Y.3059 7 ii: the device depends on its EK's root too. An administrator withdrawing
    // `tpm` from that root's types makes it unverified; removing the root, unreliable.
    let path = format!("/v1/admin/roots/{ek_root_id}");
    let put = admin_put(
        &api,
        &path,
        "root",
        json!({"name": "Test TPM EK Root", "certificate": STANDARD.encode(&ek_root),
               "rot_types": ["secure-element"], "identifier_scopes": ["serial:test-tpm-maker"]}),
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    let device = |sdk| {
        let stack = &stack;
        let regdevid = regdevid.to_owned();
        async move {
            stack
                .store(sdk)
                .get_device(&regdevid.parse().unwrap())
                .await
                .unwrap()
                .unwrap()
        }
    };
    let withdrawn = device(&sdk).await;
    assert_eq!(withdrawn.status, TrustStatus::Unverified, "{withdrawn:?}");
    assert!(withdrawn.reasons.contains(&Reason::RotTypeWithdrawn));
    let (name, admin) = test_admin();
    let removed = send(
        "DELETE",
        format!("{api}{path}"),
        None,
        Some((
            "application/jose",
            signed_request(
                &admin,
                &format!("admin:{name}"),
                "DELETE",
                &path,
                &json!({"nonce": trustreg_tests::challenge(&api, "root").await}),
            ),
        )),
    )
    .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    let revoked = device(&sdk).await;
    assert_eq!(revoked.status, TrustStatus::Unreliable, "{revoked:?}");
    assert!(revoked.reasons.contains(&Reason::RootRevoked));
}
