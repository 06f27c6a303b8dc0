//! A device with a real TPM registers through API Gateway on the deployed primary: swtpm with
//! its own EK CA, driven through tss-esapi (trustreg-device's `tpm` feature), against the
//! registry's `tpm-activation` challenge and its check of the evidence. Built only with this
//! crate's `tpm` feature (`scripts/test`, step tpm); `tests/tpm.rs` covers the registry's
//! refusals with a software TPM in the default build.
#![cfg(feature = "tpm")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use trustreg_core::jose::JwsHeader;
use trustreg_core::messages::{AcknowledgementClaims, AcknowledgementResponse};
use trustreg_core::ports::DeviceStore;
use trustreg_core::status::TrustStatus;
use trustreg_device::RegistryClient;
use trustreg_device::client::{ACKNOWLEDGEMENT_TYP, bound, device_path};
use trustreg_device::tpm::TpmDevice;
use trustreg_device::tpm::swtpm::Swtpm;
use trustreg_model::routes::Op;
use trustreg_tests::{
    Manufacturer, Stack, challenge, imei, localstack, random_imei, send, sensor_info,
};

// Y.3059 9.2 i a
// Y.3059 7 ii
// Y.3059 7 iii
// A TPM's EK certificate chains to a root the registry publishes for `tpm`, its AK activates
// the registry's credential, and the AK certifies the registration key as fixed to the TPM:
// the device is registered with the RoT type `tpm`, and once it acknowledges with a signature
// made in the TPM it is trusted.
#[tokio::test]
async fn a_device_with_a_real_tpm_registers_and_is_trusted() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let swtpm = Swtpm::start();
    let (ek_root, ek_intermediate) = swtpm.ca_chain();
    registry
        .accept_root(
            &ek_root,
            &format!("swtpm EK root {}", random_imei()),
            vec!["tpm".into()],
            vec!["serial:test-tpm-maker".into()],
            "admin:tests",
        )
        .await
        .unwrap();
    let maker = Manufacturer::unaccepted();
    registry
        .accept_root(
            maker.ca.cert_der(),
            maker.ca.name(),
            vec!["tpm".into()],
            trustreg_core::fakes::broad_identifier_scopes(),
            "admin:tests",
        )
        .await
        .unwrap();

    let mut tpm = TpmDevice::open(&swtpm.tcti()).unwrap();
    let id = imei(&random_imei());
    let leaf = maker
        .ca
        .issue_device_cert(&tpm.verifying_key().unwrap(), &id, 365)
        .unwrap();
    let client = RegistryClient::new(api.clone()).unwrap();
    let (regdevid, registered) = client
        .register_tpm(
            &mut tpm,
            &[leaf.der],
            &[ek_intermediate],
            &id,
            sensor_info(),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(registered.status, TrustStatus::Unverified);
    let stored = stack
        .store(&sdk)
        .get_device(&regdevid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.facts.rot_type.as_deref(), Some("tpm"));
    assert!(stored.facts.rot_verified);
    assert_eq!(stored.info.rot.kind, "tpm");

    // The acknowledgement, signed in the TPM with the registered key.
    let regdevid = regdevid.to_string();
    let claims = AcknowledgementClaims {
        nonce: challenge(&api, "acknowledge").await,
        regdevid: regdevid.clone(),
    };
    let path = device_path(Op::Acknowledge, &regdevid);
    let header = JwsHeader::es256()
        .with_typ(ACKNOWLEDGEMENT_TYP)
        .with_kid(regdevid.clone());
    let jws = tpm
        .sign_jws(&header, &bound(&claims, "POST", &path).unwrap())
        .unwrap();
    let answer = send(
        "POST",
        format!("{api}{path}"),
        None,
        Some(("application/jose", jws)),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let acknowledged: AcknowledgementResponse = serde_json::from_value(answer.body).unwrap();
    assert_eq!(acknowledged.status, TrustStatus::Trusted);
}
