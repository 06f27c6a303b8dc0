//! A device's whole life through API Gateway: register, acknowledge, report, a vulnerability
//! makes it unreliable, its report of the fixed firmware makes it trusted again.
// card C6
#![allow(clippy::unwrap_used)]

use serde_json::json;
use trustreg_core::identifier::RegDevId;
use trustreg_core::ports::{DeviceStore, ReportStore};
use trustreg_core::status::{Reason, TrustStatus};
use trustreg_device::RegistryClient;
use trustreg_device::client::ReportParams;
use trustreg_tests::{
    Manufacturer, Stack, challenge, imei, localstack, post_signed, random_imei, sensor_info,
    test_admin,
};

fn firmware(version: &str) -> ReportParams {
    ReportParams {
        firmware_version: version.into(),
        software_version: "1.0.0".into(),
        communication: vec!["lte".into()],
        configuration: Some(json!({"tls": "1.3"})),
    }
}

// Y.3059 7 iv a
// Y.3059 7 iv b
// Y.3059 7 iv c
// Y.3059 9.3 i c
// Y.3059 9.3 ii a
// Y.3059 9.3 ii b
// Y.3059 9.3 iv
// Y.3059 6.1 e
#[tokio::test]
async fn register_acknowledge_report_vulnerable_fixed_trusted() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let registry = stack.registry(&sdk, std::sync::Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let id = imei(&random_imei());
    let se = maker.device(&id);
    let client = RegistryClient::new(&api).unwrap();
    // A model of its own, so the range below reaches this device only.
    let model = format!("Lifecycle-{}", random_imei());
    let mut info = sensor_info();
    info.model = model.clone();
    info.firmware_version = "1.4.0".into();

    let registered = client.register(&se, &id, info, vec![]).await.unwrap();
    assert_eq!(registered.status, TrustStatus::Unverified);
    assert_eq!(
        client.acknowledge(&se).await.unwrap().status,
        TrustStatus::Trusted
    );
    let reported = client.report(&se, firmware("1.4.2")).await.unwrap();
    assert_eq!(reported.status, TrustStatus::Trusted);

    let (admin, key) = test_admin();
    let claims = json!({
        "nonce": challenge(&api, "vulnerability").await,
        "severity": 9.1, "summary": "authentication bypass",
        "target": {"make": "Acme", "model": model, "firmware_below": "1.5"},
        "fixed_in_firmware": "1.5"
    });
    let accepted = post_signed(
        &api,
        "/v1/vulnerabilities",
        &key,
        &format!("admin:{admin}"),
        &claims,
    )
    .await;
    assert_eq!(accepted.status, 202, "{accepted:?}");
    let regdevid: RegDevId = registered.regdevid.parse().unwrap();
    let store = stack.store(&sdk);
    let device = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(device.status, TrustStatus::Unreliable);
    assert!(device.reasons.contains(&Reason::VulnerabilityOpen));

    let fixed = client.report(&se, firmware("1.5.0")).await.unwrap();
    assert_eq!(fixed.status, TrustStatus::Trusted);
    let device = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(device.status, TrustStatus::Trusted);
    assert_eq!(device.info.firmware_version, "1.5.0");

    // The whole life stays on record, in order (9.3 ii a, 9.3 iv).
    let statuses: Vec<_> = store
        .transitions_of(&regdevid)
        .await
        .unwrap()
        .iter()
        .map(|t| t.to)
        .collect();
    assert_eq!(
        statuses,
        vec![
            TrustStatus::Unverified,
            TrustStatus::Trusted,
            TrustStatus::Unreliable,
            TrustStatus::Trusted
        ]
    );
    let history = store.history_of(&regdevid).await.unwrap();
    assert!(history.len() >= 6, "reports and transitions: {history:?}");
}
