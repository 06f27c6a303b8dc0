//! Vulnerabilities and holds against LocalStack: the make/model range found through gsi2 on the
//! real table and applied in bounded batches, and end to end through API Gateway with an
//! admin-signed request.
// card C6
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::json;
use trustreg_aws::SystemClock;
use trustreg_core::Registry;
use trustreg_core::identifier::RegDevId;
use trustreg_core::messages::{Purpose, RegistrationClaims, SourceKind, VulnerabilityTarget};
use trustreg_core::ports::{DeviceStore, VulnerabilityStore};
use trustreg_core::records::{
    AuditRecord, Outcome, VulnerabilityRecord, VulnerabilitySource, VulnerabilityState,
};
use trustreg_core::status::{Reason, TrustStatus};
use trustreg_tests::{
    Manufacturer, Stack, challenge, imei, localstack, post_signed, random_imei, sensor_info,
    test_admin,
};

/// Registers a device of `model` running `firmware` directly on the stack's registry.
async fn register(
    registry: &Registry,
    manufacturer: &Manufacturer,
    model: &str,
    firmware: &str,
) -> RegDevId {
    let identifier = imei(&random_imei());
    let se = manufacturer.device(&identifier);
    let mut device = sensor_info();
    device.model = model.to_owned();
    device.firmware_version = firmware.to_owned();
    let claims = RegistrationClaims {
        tpm: None,
        nonce: registry.challenge(Purpose::Register).await.unwrap().nonce,
        identifier: trustreg_core::messages::IdentifierClaim {
            scheme: identifier.scheme(),
            value: identifier.value().to_owned(),
        },
        device,
        owner: None,
        trust_domains: vec![],
    };
    let jws = trustreg_device::client::registration_jws(&se, &claims).unwrap();
    let done = registry.register(&jws).await.unwrap();
    done.response.regdevid.parse().unwrap()
}

// Y.3059 9.3 ii b
// Y.3059 7 iv d
// card C2
// A range is found through gsi2 (a Query on the model's partition, never a scan), filtered by
// firmware in code, and applied a bounded batch per call from the stored cursor.
#[tokio::test]
async fn a_range_is_applied_through_the_model_index_in_bounded_batches() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(SystemClock));
    let store = stack.store(&sdk);
    let manufacturer = Manufacturer::accepted_by(&registry).await;
    // A model of its own: the partition holds exactly this test's devices.
    let model = format!("Range-{}", random_imei());
    let mut devices = Vec::new();
    for firmware in ["0.9", "1.0", "1.2.3", "1.10", "2.0"] {
        devices.push((
            register(&registry, &manufacturer, &model, firmware).await,
            firmware,
        ));
    }
    let id = format!("it-{}", random_imei());
    let record = VulnerabilityRecord {
        id: id.clone(),
        source: VulnerabilitySource {
            kind: SourceKind::Agency,
            name: "cert-in".into(),
        },
        reported_at_ms: trustreg_core::ports::Clock::now_ms(&SystemClock),
        severity: 9.1,
        cve: Some("CVE-2026-0001".into()),
        summary: "integration test".into(),
        target: VulnerabilityTarget::Range {
            make: "ACME".into(),
            model: model.to_uppercase(),
            firmware_from: Some("1.0".into()),
            firmware_below: Some("2".into()),
        },
        state: VulnerabilityState::Open,
        fixed_in_firmware: None,
        fixed_at_ms: None,
        fixed_by: None,
        cursor: None,
        affected: 0,
        complete: false,
        version: 1,
    };
    let audit = AuditRecord {
        id: format!("{:013}-{id}", record.reported_at_ms),
        at_ms: record.reported_at_ms,
        actor: "agency:cert-in".into(),
        action: "report-vulnerability".into(),
        target: Some(format!("vulnerability:{id}")),
        outcome: Outcome::Accepted,
        code: None,
    };
    store.create_vulnerability(&record, &audit).await.unwrap();

    let first = registry.apply_vulnerability(&id, 2).await.unwrap();
    assert!(!first.complete, "{first:?}");
    let mut calls = 1;
    let mut last = first;
    while !last.complete {
        calls += 1;
        assert!(
            calls <= 4,
            "5 devices in batches of 2 take 3 calls (4 with an empty page)"
        );
        last = registry.apply_vulnerability(&id, 2).await.unwrap();
    }
    assert_eq!(last.affected_so_far, 3);
    let stored = store.get_vulnerability(&id).await.unwrap().unwrap();
    assert!(stored.complete);
    for (regdevid, firmware) in &devices {
        let device = store.get_device(regdevid).await.unwrap().unwrap();
        let affected = matches!(*firmware, "1.0" | "1.2.3" | "1.10");
        assert_eq!(
            device.reasons.contains(&Reason::VulnerabilityOpen),
            affected,
            "{firmware}"
        );
        if affected {
            assert_eq!(device.status, TrustStatus::Unreliable);
            let links = store.links_of(regdevid).await.unwrap();
            assert_eq!(links.len(), 1);
            assert_eq!(links[0].vulnerability_id, id);
            let transitions = store.transitions_of(regdevid).await.unwrap();
            let t = transitions.last().unwrap();
            assert_eq!(
                (t.to, t.actor.as_str()),
                (TrustStatus::Unreliable, "agency:cert-in")
            );
        }
    }

    // The device updates to a firmware at or after the range's end: restored.
    let (updated, _) = &devices[2];
    let cleared = registry
        .firmware_changed(updated, "2.0.1", &format!("device:{updated}"))
        .await
        .unwrap();
    assert_eq!(cleared, vec![id.clone()]);
    let device = store.get_device(updated).await.unwrap().unwrap();
    assert!(!device.reasons.contains(&Reason::VulnerabilityOpen));
    assert_eq!(
        store.links_of(updated).await.unwrap()[0].state,
        VulnerabilityState::Fixed
    );
}

// Y.3059 9.3 ii b
// Y.3059 7 i c
// card C6
// End to end through API Gateway: an admin-signed report against a registered device makes
// it unreliable; an unknown admin is refused and audited; a hold is placed and released.
#[tokio::test]
async fn an_admin_signed_vulnerability_through_the_api_makes_a_device_unreliable() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let registry = stack.registry(&sdk, Arc::new(SystemClock));
    let store = stack.store(&sdk);
    let manufacturer = Manufacturer::accepted_by(&registry).await;
    // Registered in-process: registration through the API has tests of its own, and this
    // one is about the vulnerability routes.
    let regdevid = register(&registry, &manufacturer, "Sensor-1", "1.0.0").await;
    let regdevid_text = regdevid.to_string();

    let (admin, key) = test_admin();
    let kid = format!("admin:{admin}");
    let report = |nonce: String| {
        json!({"nonce": nonce, "severity": 9.8, "summary": "hard-coded credentials",
               "cve": "CVE-2026-0002", "target": {"regdevids": [regdevid_text.clone()]}})
    };

    // A key no administrator of the stack holds.
    let stranger = p256::ecdsa::SigningKey::from_bytes(&[0x5a; 32].into()).unwrap();
    let refused = post_signed(
        &api,
        "/v1/vulnerabilities",
        &stranger,
        "admin:stranger",
        &report(challenge(&api, "vulnerability").await),
    )
    .await;
    assert_eq!(refused.status, 401, "{refused:?}");
    // An unknown signer is refused as a bad signature: nothing says whether the name exists.
    assert_eq!(refused.problem(), "bad-signature");

    let accepted = post_signed(
        &api,
        "/v1/vulnerabilities",
        &key,
        &kid,
        &report(challenge(&api, "vulnerability").await),
    )
    .await;
    assert_eq!(accepted.status, 202, "{accepted:?}");
    assert_eq!(accepted.body["affected_so_far"], 1);
    assert_eq!(accepted.body["complete"], true);
    let device = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(device.status, TrustStatus::Unreliable);
    assert!(device.reasons.contains(&Reason::VulnerabilityOpen));
    let audit = store.audit_of(&regdevid_text).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "vulnerability" && a.actor == kid)
    );

    let id = accepted.body["id"].as_str().unwrap().to_owned();
    let fix = json!({"nonce": challenge(&api, "vulnerability").await, "id": id});
    let fixed = post_signed(
        &api,
        &format!("/v1/vulnerabilities/{id}/fixed"),
        &key,
        &kid,
        &fix,
    )
    .await;
    assert_eq!(fixed.status, 200, "{fixed:?}");
    let device = store.get_device(&regdevid).await.unwrap().unwrap();
    assert!(!device.reasons.contains(&Reason::VulnerabilityOpen));

    // Y.3059 6.1 e
    let hold = json!({"nonce": challenge(&api, "hold").await, "regdevid": regdevid_text, "kind": "stolen"});
    let held = post_signed(
        &api,
        &format!("/v1/devices/{regdevid_text}/holds"),
        &key,
        &kid,
        &hold,
    )
    .await;
    assert_eq!(held.status, 200, "{held:?}");
    assert_eq!(held.body["status"], "unreliable");
    let release = json!({"nonce": challenge(&api, "hold").await, "regdevid": regdevid_text, "kind": "stolen"});
    let released = post_signed(
        &api,
        &format!("/v1/devices/{regdevid_text}/holds/stolen/release"),
        &key,
        &kid,
        &release,
    )
    .await;
    assert_eq!(released.status, 200, "{released:?}");
    assert_eq!(released.body["holds"], json!([]));
    let device = store.get_device(&regdevid).await.unwrap().unwrap();
    assert!(!device.reasons.contains(&Reason::Hold));
}

/// An approved enquirer that signed up asking for `role`: its key and kid.
async fn approved_enquirer(api: &str, role: &str) -> (p256::ecdsa::SigningKey, String) {
    let key = trustreg_tests::new_signing_key();
    let signed_up = trustreg_tests::post(
        api,
        "/v1/enquirers",
        "application/json",
        json!({"name": "Ada", "organisation": "Example CERT", "contact": "ada@example.org",
               "role": role, "public_key": trustreg_core::jose::jwk_from_key(key.verifying_key())})
        .to_string(),
    )
    .await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    let id = signed_up.body["enquirer_id"].as_str().unwrap().to_owned();
    let (admin, admin_key) = test_admin();
    let decided = post_signed(
        api,
        &format!("/v1/admin/enquirers/{id}/decision"),
        &admin_key,
        &format!("admin:{admin}"),
        &json!({"nonce": challenge(api, "enquirer-decision").await, "decision": "approve"}),
    )
    .await;
    assert_eq!(decided.status, 200, "{decided:?}");
    assert_eq!(decided.body["role"], role, "{decided:?}");
    (key, format!("enquirer:{id}"))
}

fn report_on(nonce: String, target: serde_json::Value) -> serde_json::Value {
    json!({"nonce": nonce, "severity": 7.5, "summary": "debug port open", "target": target})
}

// Y.3059 9.3 ii b
// End to end through API Gateway: an owner reports a vulnerability of the device it owns, which
// is stored with the owner as its source and makes the device unreliable; the same owner
// reporting on a device it does not own, or on a make/model range, is refused and changes
// nothing.
#[tokio::test]
async fn an_owner_reports_on_its_own_devices_only() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let store = stack.store(&sdk);
    let owned = trustreg_tests::devices::owned_device(&stack).await;
    let other = trustreg_tests::devices::trusted_device(&stack).await;
    let kid = format!("owner:{}", owned.owner_id);

    let refused = post_signed(
        &api,
        "/v1/vulnerabilities",
        &owned.owner_key,
        &kid,
        &report_on(
            challenge(&api, "vulnerability").await,
            json!({"regdevids": [owned.regdevid.clone(), other.regdevid.clone()]}),
        ),
    )
    .await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(refused.problem(), "forbidden");
    let range = post_signed(
        &api,
        "/v1/vulnerabilities",
        &owned.owner_key,
        &kid,
        &report_on(
            challenge(&api, "vulnerability").await,
            json!({"make": "Acme", "model": "Sensor-1"}),
        ),
    )
    .await;
    assert_eq!(range.status, 403, "{range:?}");
    assert_eq!(range.problem(), "forbidden");
    // The refusals were answered before anything was stored: both devices stand as they were.
    for regdevid in [&owned.regdevid, &other.regdevid] {
        let device = store
            .get_device(&regdevid.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(device.status, TrustStatus::Trusted, "{regdevid}");
    }

    let accepted = post_signed(
        &api,
        "/v1/vulnerabilities",
        &owned.owner_key,
        &kid,
        &report_on(
            challenge(&api, "vulnerability").await,
            json!({"regdevids": [owned.regdevid.clone()]}),
        ),
    )
    .await;
    assert_eq!(accepted.status, 202, "{accepted:?}");
    let id = accepted.body["id"].as_str().unwrap();
    let stored = store.get_vulnerability(id).await.unwrap().unwrap();
    assert_eq!(
        stored.source,
        VulnerabilitySource {
            kind: SourceKind::Owner,
            name: owned.owner_id.clone(),
        }
    );
    let device = store
        .get_device(&owned.regdevid.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(device.status, TrustStatus::Unreliable);
    assert!(device.reasons.contains(&Reason::VulnerabilityOpen));
}

// Y.3059 9.3 ii b
// End to end through API Gateway: an enquirer approved with the agency role reports a
// vulnerability, stored with the agency as its source; an enquirer without that role is
// refused and the device it named stays as it was.
#[tokio::test]
async fn an_agency_reports_vulnerabilities_and_a_plain_enquirer_may_not() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let store = stack.store(&sdk);
    let device = trustreg_tests::devices::trusted_device(&stack).await;
    let target = json!({"regdevids": [device.regdevid.clone()]});

    let (enquirer_key, enquirer) = approved_enquirer(&api, "enquirer").await;
    let refused = post_signed(
        &api,
        "/v1/vulnerabilities",
        &enquirer_key,
        &enquirer,
        &report_on(challenge(&api, "vulnerability").await, target.clone()),
    )
    .await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(refused.problem(), "forbidden");
    let unchanged = store
        .get_device(&device.regdevid.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.status, TrustStatus::Trusted);

    let (agency_key, agency) = approved_enquirer(&api, "agency").await;
    let accepted = post_signed(
        &api,
        "/v1/vulnerabilities",
        &agency_key,
        &agency,
        &report_on(challenge(&api, "vulnerability").await, target),
    )
    .await;
    assert_eq!(accepted.status, 202, "{accepted:?}");
    let id = accepted.body["id"].as_str().unwrap();
    let stored = store.get_vulnerability(id).await.unwrap().unwrap();
    assert_eq!(stored.source.kind, SourceKind::Agency);
    assert_eq!(
        Some(stored.source.name.as_str()),
        agency.strip_prefix("enquirer:")
    );
    let changed = store
        .get_device(&device.regdevid.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.status, TrustStatus::Unreliable);
}
