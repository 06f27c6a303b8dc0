//! The root of trust through API Gateway on the deployed primary: a device claims only a
//! type its manufacturer root is published for (the accepted root's `rot_types`), and its
//! certificate chain proves it only until the chain expires.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use time::OffsetDateTime;
use trustreg_core::identifier::{Identifier, RegDevId};
use trustreg_core::ports::{Clock, DeviceStore};
use trustreg_core::rot::intermediate_id;
use trustreg_core::status::{Reason, TrustStatus};
use trustreg_device::{ClientError, ManufacturerCa, RegistryClient, SoftSecureElement};
use trustreg_tests::devices::certified_device;
use trustreg_tests::{
    Manufacturer, Stack, admin_put, imei, invoke_notify, localstack, random_imei, scheduled_event,
    send, sensor_info,
};

// Y.3059 7 ii
// Y.3059 9.2 i a
// The test manufacturer's root is published for `secure-element` only: its device claiming a
// `tpm` is a 403 problem (`rot-type-not-published`) and nothing is stored; the same device
// claiming `secure-element` then registers, so the type was what was refused.
#[tokio::test]
async fn a_rot_type_the_devices_root_is_not_published_for_is_refused() {
    let stack = Stack::deployed();
    let (_maker, id, se) = certified_device(&stack).await;
    let client = RegistryClient::new(stack.api_url()).unwrap();
    let mut tpm = sensor_info();
    tpm.rot.kind = "tpm".into();
    let refused = client.register(&se, &id, tpm, vec![]).await.unwrap_err();
    forbidden(&refused, "rot-type-not-published");
    let regdevid = format!("{}:{id}", stack.output("RegistryPath"));
    let store = stack.store(&localstack().await);
    let stored = store.get_device(&regdevid.parse().unwrap()).await.unwrap();
    assert!(stored.is_none(), "stored after the refusal: {stored:?}");

    let registered = client
        .register(&se, &id, sensor_info(), vec![])
        .await
        .expect("the published type registers");
    assert_eq!(registered.regdevid, regdevid);
}

// Y.3059 7 ii
// A device whose certificate expires becomes `unverified` (reason `certificate_expired`) at
// its expiry, by the deployed scheduled evaluation, without anyone touching it; the same key
// registering again with a renewed certificate is trusted again.
#[tokio::test]
async fn an_expired_certificate_is_no_longer_trusted_until_renewed() {
    let stack = Stack::deployed();
    let store = stack.store(&localstack().await);
    let (maker, id, se) = certified_device(&stack).await;
    // Long enough to register and acknowledge on a slow emulator.
    let now = OffsetDateTime::now_utc();
    let not_after = now + time::Duration::seconds(20);
    let short = maker
        .ca
        .issue_device_cert_for_period(
            &se.public_key(),
            &id,
            now - time::Duration::hours(1),
            not_after,
        )
        .unwrap();
    se.store_chain(&[short.der]).unwrap();
    let client = RegistryClient::new(stack.api_url()).unwrap();
    let regdevid = trusted(&client, &se, &id).await;
    let device = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(device.status, TrustStatus::Trusted);
    let last_ms = u64::try_from(not_after.unix_timestamp()).unwrap() * 1000 + 999;
    assert_eq!(device.facts.certificate_not_after_ms, Some(last_ms));
    assert!(
        device.next_evaluation_at_ms <= Some(last_ms + 1),
        "{device:?}"
    );

    let wait = (last_ms + 500).saturating_sub(trustreg_aws::SystemClock.now_ms());
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let mut device = device;
    // A backlog of other tests' due devices may come first: each run works some off.
    for _ in 0..5 {
        let run = invoke_notify(&stack, &scheduled_event()).await;
        assert!(run["evaluated"].is_u64(), "{run}");
        device = store.get_device(&regdevid).await.unwrap().unwrap();
        if device.status != TrustStatus::Trusted {
            break;
        }
    }
    assert_eq!(device.status, TrustStatus::Unverified);
    assert_eq!(device.reasons, [Reason::CertificateExpired]);
    let last = store
        .transitions_of(&regdevid)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.actor, "registry:scheduler");
    assert_eq!(last.reasons, [Reason::CertificateExpired]);

    // The manufacturer renews the certificate of the same key: registering again moves the
    // expiry, and the device is trusted again.
    let renewed = maker
        .ca
        .issue_device_cert(&se.public_key(), &id, 30)
        .unwrap();
    se.store_chain(&[renewed.der]).unwrap();
    let again = client
        .register(&se, &id, sensor_info(), vec![])
        .await
        .unwrap();
    assert_eq!(again.regdevid, regdevid.to_string());
    assert_eq!(again.status, TrustStatus::Trusted);
    let device = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(device.status, TrustStatus::Trusted);
    assert!(device.facts.certificate_not_after_ms > Some(last_ms + 29 * 86_400_000));
}

/// The root-of-trust types the test manufacturers' roots are accepted for.
const SE: &[&str] = &["secure-element"];

/// The device registered (no domain) and acknowledged through the API: its RegDevID.
async fn trusted(client: &RegistryClient, se: &SoftSecureElement, id: &Identifier) -> RegDevId {
    let registered = client
        .register(se, id, sensor_info(), vec![])
        .await
        .unwrap();
    client.acknowledge(se).await.unwrap();
    registered.regdevid.parse().unwrap()
}

/// The refusal is a 403 problem of type `code`.
fn forbidden(refused: &ClientError, code: &str) {
    let ClientError::Problem {
        status,
        problem_type,
        ..
    } = refused
    else {
        panic!("not a problem: {refused:?}");
    };
    assert_eq!(*status, 403, "{refused:?}");
    assert_eq!(
        *problem_type,
        format!("https://trustreg.dev/problems/{code}")
    );
}

/// A new device certified by `ca`, an intermediate CA under `maker`'s root: its chain is the
/// leaf, then `ca`.
fn device_under(maker: &Manufacturer, ca: &ManufacturerCa) -> (Identifier, SoftSecureElement) {
    let id = imei(&random_imei());
    let se = SoftSecureElement::create(maker.dir().join(format!("se-{}", random_imei()))).unwrap();
    let leaf = ca.issue_device_cert(&se.public_key(), &id, 30).unwrap();
    se.store_chain(&[leaf.der, ca.cert_der().to_vec()]).unwrap();
    (id, se)
}

/// `PUT /v1/admin/roots/{id}` of `maker`'s root, signed by the test administrator.
async fn put_root(
    stack: &Stack,
    maker: &Manufacturer,
    rot_types: &[&str],
    revoked: &[String],
) -> serde_json::Value {
    let path = format!(
        "/v1/admin/roots/{}",
        trustreg_core::rot::root_id_for(maker.ca.cert_der())
    );
    let mut claims = json!({
        "name": maker.ca.name(),
        "certificate": STANDARD.encode(maker.ca.cert_der()),
        "rot_types": rot_types,
        "identifier_scopes": trustreg_core::fakes::broad_identifier_scopes(),
    });
    if !revoked.is_empty() {
        claims["revoked_intermediates"] = json!(revoked);
    }
    let put = admin_put(&stack.api_url(), &path, "root", claims).await;
    assert_eq!(put.status, 200, "{put:?}");
    put.body
}

// Y.3059 7 ii
// An administrator revokes an intermediate CA under an accepted root (the root put again
// with `revoked_intermediates`): the registered device whose chain goes through it becomes
// unreliable (reason `intermediate_revoked`) by that request, a device of another
// intermediate of the same root stays trusted, and a new registration through the revoked
// one is a 403 `intermediate-revoked` with nothing stored. The root is published with the
// revocation, which a later put without it keeps.
#[tokio::test]
async fn a_revoked_intermediate_ca_ends_the_trust_of_its_devices() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let store = stack.store(&localstack().await);
    let (maker, _, _) = certified_device(&stack).await;
    let factory = |n: u8| {
        maker
            .ca
            .create_intermediate(
                maker.dir().join(format!("factory-{n}")),
                &format!("{} Factory {n}", maker.ca.name()),
            )
            .unwrap()
    };
    let (revoked_ca, kept_ca) = (factory(1), factory(2));
    let client = RegistryClient::new(api.clone()).unwrap();
    let mut regdevids = Vec::new();
    for ca in [&revoked_ca, &kept_ca] {
        let (id, se) = device_under(&maker, ca);
        regdevids.push(trusted(&client, &se, &id).await);
    }
    for regdevid in &regdevids {
        let device = store.get_device(regdevid).await.unwrap().unwrap();
        assert_eq!(device.status, TrustStatus::Trusted, "{device:?}");
    }

    let revoked = intermediate_id(revoked_ca.cert_der());
    let root = put_root(&stack, &maker, SE, std::slice::from_ref(&revoked)).await;
    assert_eq!(root["revoked_intermediates"], json!([revoked]), "{root}");
    let cut = store.get_device(&regdevids[0]).await.unwrap().unwrap();
    assert_eq!(cut.status, TrustStatus::Unreliable, "{cut:?}");
    assert_eq!(cut.reasons, [Reason::IntermediateRevoked]);
    let kept = store.get_device(&regdevids[1]).await.unwrap().unwrap();
    assert_eq!(kept.status, TrustStatus::Trusted, "{kept:?}");

    let (id, se) = device_under(&maker, &revoked_ca);
    let refused = client
        .register(&se, &id, sensor_info(), vec![])
        .await
        .unwrap_err();
    forbidden(&refused, "intermediate-revoked");
    let regdevid = format!("{}:{id}", stack.output("RegistryPath"));
    let stored = store.get_device(&regdevid.parse().unwrap()).await.unwrap();
    assert!(stored.is_none(), "stored after the refusal: {stored:?}");

    let again = put_root(&stack, &maker, SE, &[]).await;
    assert_eq!(again["revoked_intermediates"], json!([revoked]), "{again}");
    let document = send("GET", format!("{api}/v1/registry"), None, None).await;
    let published = document.body["accepted_roots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == root["id"])
        .cloned()
        .unwrap();
    assert_eq!(published["revoked_intermediates"], json!([revoked]));
}

// Y.3059 7 ii
// An administrator puts a root again without the root-of-trust type its registered device
// claims: the device is unverified (reason `rot_type_withdrawn`) by that request; put back
// with the type, it is trusted again.
#[tokio::test]
async fn a_root_type_withdrawn_makes_the_devices_that_claim_it_unverified() {
    let stack = Stack::deployed();
    let store = stack.store(&localstack().await);
    let (maker, id, se) = certified_device(&stack).await;
    let client = RegistryClient::new(stack.api_url()).unwrap();
    let regdevid = trusted(&client, &se, &id).await;
    let status = || async {
        let device = store.get_device(&regdevid).await.unwrap().unwrap();
        (device.status, device.reasons)
    };
    assert_eq!(status().await, (TrustStatus::Trusted, vec![]));

    put_root(&stack, &maker, &["tpm"], &[]).await;
    assert_eq!(
        status().await,
        (TrustStatus::Unverified, vec![Reason::RotTypeWithdrawn])
    );
    put_root(&stack, &maker, &["tpm", "secure-element"], &[]).await;
    assert_eq!(status().await, (TrustStatus::Trusted, vec![]));
}
