//! Security-parameter reports, domain policies and the scheduled evaluation on the deployed
//! stack: the core flows against the real table, the device client through API Gateway, and
//! the notify function invoked through LocalStack's Lambda API.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use trustreg_aws::SystemClock;
use trustreg_core::Registry;
use trustreg_core::fakes::FixedClock;
use trustreg_core::identifier::RegDevId;
use trustreg_core::messages::{
    AcknowledgementClaims, IdentifierClaim, Purpose, RegistrationClaims, ReportClaims,
};
use trustreg_core::ports::{Clock, DeviceStore, ReportStore};
use trustreg_core::records::HistoryEntry;
use trustreg_core::status::{Policy, Reason, TrustStatus};
use trustreg_device::RegistryClient;
use trustreg_device::client::{ReportParams, acknowledgement_jws, registration_jws, report_jws};
use trustreg_tests::{
    Manufacturer, Stack, admin_put, imei, invoke_notify, localstack, random_imei, scheduled_event,
    sensor_info,
};

/// The domain whose policy these tests change: their own, added at run time, so no other
/// test's devices fall under a policy made to expire them.
const DOMAIN: &str = "overdue-reports";

/// `DOMAIN` hosted by the stack (its topic made the first time) under `policy`, through the
/// admin route as an operator adds a domain.
async fn own_domain(stack: &Stack, policy: &Policy) {
    let path = format!("/v1/admin/trust-domains/{DOMAIN}");
    let claims = serde_json::json!({"policy": policy});
    let put = admin_put(&stack.api_url(), &path, "trust-domain", claims).await;
    assert!(matches!(put.status, 200 | 201), "{put:?}");
}

/// A device registered into `domains` (none: the default) and acknowledged.
async fn registered(
    registry: &Registry,
    manufacturer: &Manufacturer,
    domains: Vec<String>,
) -> (trustreg_device::SoftSecureElement, RegDevId) {
    let identifier = imei(&random_imei());
    let se = manufacturer.device(&identifier);
    let claims = RegistrationClaims {
        tpm: None,
        nonce: registry.challenge(Purpose::Register).await.unwrap().nonce,
        identifier: IdentifierClaim {
            scheme: identifier.scheme(),
            value: identifier.value().to_owned(),
        },
        device: sensor_info(),
        owner: None,
        trust_domains: domains,
    };
    let jws = registration_jws(&se, &claims).unwrap();
    let regdevid = registry.register(&jws).await.unwrap().response.regdevid;
    let ack = AcknowledgementClaims {
        nonce: registry
            .challenge(Purpose::Acknowledge)
            .await
            .unwrap()
            .nonce,
        regdevid: regdevid.clone(),
    };
    let jws = acknowledgement_jws(&se, &ack).unwrap();
    registry.acknowledge(&regdevid, &jws).await.unwrap();
    (se, regdevid.parse().unwrap())
}

async fn report(
    registry: &Registry,
    se: &trustreg_device::SoftSecureElement,
    regdevid: &RegDevId,
    firmware: &str,
) -> trustreg_core::messages::ReportResponse {
    let claims = ReportClaims {
        nonce: registry.challenge(Purpose::Report).await.unwrap().nonce,
        firmware_version: firmware.into(),
        software_version: "1.0.0".into(),
        communication: vec!["lte".into(), "nb-iot".into()],
        configuration: Some(serde_json::json!({"ports": [443]})),
        idempotency_key: None,
        evidence_challenge: None,
    };
    let jws = report_jws(se, &regdevid.to_string(), &claims).unwrap();
    registry.report(&regdevid.to_string(), &jws).await.unwrap()
}

// Y.3059 9.3 ii a
// Y.3059 9.3 iv
// Y.3059 7 iv c
// Reports are stored in the device's partition and read back with the transitions, in order.
#[tokio::test]
async fn reports_are_stored_and_read_back_in_order() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(SystemClock));
    let manufacturer = Manufacturer::accepted_by(&registry).await;
    let (se, regdevid) = registered(&registry, &manufacturer, vec![]).await;
    let first = report(&registry, &se, &regdevid, "1.1.0").await;
    assert_eq!(
        first.changed,
        ["firmware_version", "communication", "configuration"]
    );
    let second = report(&registry, &se, &regdevid, "1.2.0").await;
    assert_eq!(second.changed, ["firmware_version"]);

    let history = registry.history(&regdevid).await.unwrap();
    assert_eq!(history.initial, sensor_info());
    let firmware: Vec<&str> = history
        .entries
        .iter()
        .filter_map(|e| match e {
            HistoryEntry::Report(r) => Some(r.firmware_version.as_str()),
            HistoryEntry::Transition(_) => None,
        })
        .collect();
    assert_eq!(firmware, ["1.1.0", "1.2.0"]);
    assert!(matches!(history.entries[0], HistoryEntry::Transition(_)));
    let device = stack
        .store(&sdk)
        .get_device(&regdevid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(device.info.firmware_version, "1.2.0");
    let latest = stack
        .store(&sdk)
        .latest_report(&regdevid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.firmware_version, "1.2.0");
    let audit = stack
        .store(&sdk)
        .audit_of(&regdevid.to_string())
        .await
        .unwrap();
    assert_eq!(audit.iter().filter(|a| a.action == "report").count(), 2);
}

// Y.3059 7 iv c
// Y.3059 9.3 ii a
// Y.3059 9.2 ii a-d: d, the registered device provides its information
// Y.3059 9.2 note: once registered, the registry interrogates the device: every report answers
// a fresh challenge of the registry, signed with the key the device registered, through the
// API Gateway endpoint (TLS-only on AWS).
// End to end: the device client reports through API Gateway and the function.
#[tokio::test]
async fn the_device_reports_through_the_api() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(SystemClock));
    let manufacturer = Manufacturer::accepted_by(&registry).await;
    let identifier = imei(&random_imei());
    let se = manufacturer.device(&identifier);
    let client = RegistryClient::new(stack.api_url()).unwrap();
    let registered = client
        .register(&se, &identifier, sensor_info(), vec![])
        .await
        .unwrap();
    client.acknowledge(&se).await.unwrap();
    let params = ReportParams {
        firmware_version: "2.0.0".into(),
        software_version: "1.0.0".into(),
        communication: vec!["lte".into()],
        configuration: None,
    };
    let done = client.report(&se, params.clone()).await.unwrap();
    assert_eq!(done.regdevid, registered.regdevid);
    assert_eq!(done.status, TrustStatus::Trusted);
    assert_eq!(done.changed, ["firmware_version"]);
    let regdevid: RegDevId = registered.regdevid.parse().unwrap();
    let entries = stack.store(&sdk).history_of(&regdevid).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| matches!(e, HistoryEntry::Report(r) if r.firmware_version == "2.0.0"))
    );
    // The client signs a fresh nonce each time: the same parameters again are a new report.
    let again = client.report(&se, params).await.unwrap();
    assert!(again.changed.is_empty());
    let entries = stack.store(&sdk).history_of(&regdevid).await.unwrap();
    let reports = entries
        .iter()
        .filter(|e| matches!(e, HistoryEntry::Report(_)))
        .count();
    assert_eq!(reports, 2);
}

// Y.3059 9.3 i c
// Y.3059 6.1 f
// A device whose report is overdue under its domain's policy becomes `unverified` without
// anyone touching it: by the core flow on the real table, and by the deployed function.
#[tokio::test]
async fn overdue_devices_become_unverified_on_schedule() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let clock = Arc::new(FixedClock::at(SystemClock.now_ms()));
    let registry = stack.registry(&sdk, clock.clone());
    let store = stack.store(&sdk);
    // Long enough for registration and acknowledgement to happen before it falls due.
    let short_age = Policy {
        max_report_age_seconds: Some(4),
        ..Policy::default()
    };
    own_domain(&stack, &short_age).await;
    let manufacturer = Manufacturer::accepted_by(&registry).await;

    // The core flow, with the registry's clock moved past the due time.
    let (_, by_flow) = registered(&registry, &manufacturer, vec![DOMAIN.into()]).await;
    let due = store.get_device(&by_flow).await.unwrap().unwrap();
    assert_eq!(due.next_evaluation_at_ms, Some(clock.now_ms() + 4000));
    assert_eq!(due.status, TrustStatus::Trusted);
    clock.advance(5000);
    registry.evaluate_due(clock.now_ms(), 100).await.unwrap();
    let device = store.get_device(&by_flow).await.unwrap().unwrap();
    assert_eq!(device.status, TrustStatus::Unverified);
    assert!(device.reasons.contains(&Reason::ReportOverdue));
    // Overdue, it leaves the due index until its certificate expires.
    let expiry = device.facts.certificate_not_after_ms.unwrap();
    assert_eq!(device.next_evaluation_at_ms, Some(expiry + 1));
    let transitions = store.transitions_of(&by_flow).await.unwrap();
    let last = transitions.last().unwrap();
    assert_eq!(last.actor, "registry:scheduler");
    assert_eq!(last.to, TrustStatus::Unverified);
    assert!(last.reasons.contains(&Reason::ReportOverdue));

    // The deployed function, on real time. Registered and acknowledged at one fixed instant,
    // so a slow LocalStack cannot make the device overdue before the function sees it.
    let registered_at = Arc::new(FixedClock::at(SystemClock.now_ms()));
    let at_once = stack.registry(&sdk, registered_at.clone());
    let (_, by_lambda) = registered(&at_once, &manufacturer, vec![DOMAIN.into()]).await;
    let due_at = registered_at.now_ms() + 4000;
    let wait = (due_at + 1000).saturating_sub(SystemClock.now_ms());
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    let mut status = TrustStatus::Trusted;
    // A backlog of earlier runs' devices may come first: each invocation works some off.
    for _ in 0..5 {
        let run = invoke_notify(&stack, &scheduled_event()).await;
        assert!(run["evaluated"].is_u64(), "{run}");
        status = store.get_device(&by_lambda).await.unwrap().unwrap().status;
        if status == TrustStatus::Unverified {
            break;
        }
    }
    registry
        .set_domain_policy(DOMAIN, Policy::default(), "admin:tests")
        .await
        .unwrap();
    assert_eq!(status, TrustStatus::Unverified);
    let last = store
        .transitions_of(&by_lambda)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.actor, "registry:scheduler");
    assert!(last.reasons.contains(&Reason::ReportOverdue));
}
