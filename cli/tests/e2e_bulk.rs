//! Bulk registration end to end: files made and sent by the CLI through API Gateway.
// card C6
#![allow(clippy::unwrap_used)]

use std::process::Command;

use trustreg_core::ports::{BulkStore, DeviceStore};
use trustreg_device::{RegistryClient, SoftSecureElement};
use trustreg_model::identifier::RegDevId;
use trustreg_model::status::TrustStatus;
use trustreg_tests::{Manufacturer, Stack, imei, localstack, random_imei, scratch};

fn trustreg(args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trustreg"))
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    (
        out.status.success(),
        value,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Y.3059 9.2 i g
// Y.3059 9.2 ii a-d
// A manufacturer registers 60 devices from a file; sending it again, after a part was already
// registered, creates nothing twice; a device then acknowledges its RegDevID and is trusted.
#[tokio::test]
async fn a_manufacturer_registers_a_file_of_devices_through_api_gateway() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, std::sync::Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let dir = scratch("e2e-bulk");
    let ca_dir = maker.dir().join("ca");
    let first = format!(
        "{:014}",
        random_imei()[..14].parse::<u64>().unwrap() / 1000 * 1000
    );
    let file = dir.join("devices.ndjson");
    let (ok, _, err) = trustreg(&[
        "bulk",
        "make",
        "--ca",
        ca_dir.to_str().unwrap(),
        "--devices",
        dir.join("se").to_str().unwrap(),
        "--count",
        "60",
        "--first",
        &first,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");

    // A first request with the first 20 lines, as if an earlier run had stopped there.
    let text = std::fs::read_to_string(&file).unwrap();
    let head: Vec<&str> = text.lines().take(20).collect();
    let partial = dir.join("partial.ndjson");
    std::fs::write(&partial, head.join("\n")).unwrap();
    let api = stack.api_url();
    let (ok, summary, err) = trustreg(&[
        "bulk",
        "register",
        partial.to_str().unwrap(),
        "--api",
        &api,
        "--ca",
        ca_dir.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(summary["created"], 20);

    let (ok, summary, err) = trustreg(&[
        "bulk",
        "register",
        file.to_str().unwrap(),
        "--api",
        &api,
        "--ca",
        ca_dir.to_str().unwrap(),
        "--chunk",
        "25",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        (summary["created"].as_u64(), summary["existing"].as_u64()),
        (Some(40), Some(20))
    );

    let store = stack.store(&sdk);
    let identifiers: Vec<_> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            imei(v["identifier"]["value"].as_str().unwrap())
        })
        .collect();
    let held = store.devices_holding(&identifiers).await.unwrap();
    assert!(
        held.iter().all(Option::is_some),
        "every device is registered once"
    );

    // The device acknowledges with its own key: now it is trusted (7 iv b).
    let id = identifiers[42].clone();
    let se = SoftSecureElement::open(dir.join("se").join(id.value())).unwrap();
    let regdevid = RegDevId::new(stack.output("RegistryPath").parse().unwrap(), id);
    se.store_registration(&trustreg_device::StoredRegistration {
        regdevid: regdevid.clone(),
        credential: String::new(),
        acknowledged: false,
    })
    .unwrap();
    let ack = RegistryClient::new(&api)
        .unwrap()
        .acknowledge(&se)
        .await
        .unwrap();
    assert_eq!(ack.status, TrustStatus::Trusted);
    let device = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(device.status, TrustStatus::Trusted);
}
