//! Security-parameter reports through the router of function `register`, domain policies
//! (function `admin`) and the scheduled evaluation, on the in-memory fakes of trustreg-core.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use trustreg_core::fakes::FakeRegistry;
use trustreg_core::identifier::{Identifier, RegDevId, Scheme};
use trustreg_core::jose::JwsHeader;
use trustreg_core::messages::{
    AcknowledgementClaims, DomainPolicyClaims, IdentifierClaim, Purpose, RegistrationClaims,
    ReportClaims,
};
use trustreg_core::records::{HistoryEntry, Outcome};
use trustreg_core::status::{Policy, Reason, TrustStatus};
use trustreg_device::SoftSecureElement;
use trustreg_device::client::{ACKNOWLEDGEMENT_TYP, REPORT_TYP, registration_jws, report_jws};
use trustreg_device::client::{bound, device_path};

mod support;
use support::{Harness, Reply, now_ms};

const JOSE: &str = "application/jose";

struct Device {
    se: SoftSecureElement,
    regdevid: String,
}

/// A primary of `health` and `energy` accepting the harness CA; certificates are checked
/// against its clock, which starts at the real time.
async fn harness() -> Harness {
    Harness::on(
        FakeRegistry::builder()
            .domains(&["health", "energy"])
            .admin("alice", &admin_key())
            .key_seed(7)
            .clock_at(now_ms()),
    )
    .manufacturer("Acme Devices CA")
    .build()
    .await
}

/// What the report tests ask of the harness.
impl Harness {
    async fn post(&self, uri: &str, content_type: &str, body: String) -> Reply {
        self.post_body("register", uri, Some(content_type), body)
            .await
    }

    /// A secure element certified by the harness CA for `imei`.
    fn element(&self, imei: &str) -> (SoftSecureElement, Identifier) {
        let identifier = Identifier::parse(Scheme::Imei, imei).unwrap();
        let se = SoftSecureElement::create(self.scratch("se")).unwrap();
        let leaf = self
            .ca()
            .issue_device_cert(&se.public_key(), &identifier, 30)
            .unwrap();
        se.store_chain(&[leaf.der]).unwrap();
        (se, identifier)
    }

    /// Registers (into `domains`) and acknowledges; the answer of the registration.
    async fn register(&self, imei: &str, rot: &str, domains: &[&str]) -> (Reply, Option<Device>) {
        let (se, identifier) = self.element(imei);
        let mut device = info();
        device.rot.kind = rot.into();
        let claims = RegistrationClaims {
            tpm: None,
            nonce: self.challenge(Purpose::Register).await,
            identifier: IdentifierClaim {
                scheme: identifier.scheme(),
                value: identifier.value().to_owned(),
            },
            device,
            owner: None,
            trust_domains: domains.iter().map(|d| d.to_string()).collect(),
        };
        let reply = self
            .post(
                "/v1/registrations",
                JOSE,
                registration_jws(&se, &claims).unwrap(),
            )
            .await;
        if reply.status != StatusCode::CREATED {
            return (reply, None);
        }
        let regdevid = reply.json["regdevid"].as_str().unwrap().to_owned();
        let ack = AcknowledgementClaims {
            nonce: self.challenge(Purpose::Acknowledge).await,
            regdevid: regdevid.clone(),
        };
        let header = JwsHeader::es256()
            .with_typ(ACKNOWLEDGEMENT_TYP)
            .with_kid(regdevid.clone());
        let path = device_path(trustreg_model::routes::Op::Acknowledge, &regdevid);
        let jws = se.sign_jws(&header, &bound(&ack, "POST", &path).unwrap());
        let acked = self
            .post(
                &format!("/v1/devices/{regdevid}/acknowledgement"),
                JOSE,
                jws,
            )
            .await;
        assert_eq!(acked.status, StatusCode::OK, "{acked:?}");
        (reply, Some(Device { se, regdevid }))
    }

    async fn device(&self, imei: &str) -> Device {
        let (reply, device) = self.register(imei, "secure-element", &["health"]).await;
        device.unwrap_or_else(|| panic!("registration refused: {reply:?}"))
    }

    async fn report(
        &self,
        device: &Device,
        firmware: &str,
        configuration: serde_json::Value,
    ) -> Reply {
        let claims = report_claims(
            self.challenge(Purpose::Report).await,
            firmware,
            configuration,
        );
        let jws = report_jws(&device.se, &device.regdevid, &claims).unwrap();
        self.post_report(&device.regdevid, jws).await
    }

    async fn post_report(&self, regdevid: &str, jws: String) -> Reply {
        self.post(&format!("/v1/devices/{regdevid}/reports"), JOSE, jws)
            .await
    }

    /// The administrator's policy for `energy`: root-of-trust type `trustzone` only (not
    /// `tpm`, whose devices register with TPM evidence: functions/http/tests/tpm_routes.rs).
    async fn energy_accepts_only_trustzone(&self) {
        let tpm_only = Policy {
            accepted_rot_types: vec!["trustzone".into()],
            ..Policy::default()
        };
        self.registry
            .set_domain_policy("energy", tpm_only, "admin:test")
            .await
            .unwrap();
    }

    /// A device claiming the first RoT type of `types` into `domains` is a 403 `code` and
    /// nothing is stored; another claiming the second registers.
    async fn refused_then_admitted(&self, types: (&str, &str), domains: &[&str], code: &str) {
        let (reply, device) = self.register("356938035643809", types.0, domains).await;
        assert!(device.is_none());
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
        assert_eq!(reply.problem(), code);
        assert!(self.store.snapshot().devices.is_empty());
        let (ok, _) = self.register("490154203237518", types.1, domains).await;
        assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
    }

    fn stored(&self, device: &Device) -> trustreg_core::records::DeviceRecord {
        self.store.snapshot().devices[&device.regdevid].clone()
    }
}

fn admin_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_bytes(&[0x42u8; 32].into()).unwrap()
}

fn info() -> trustreg_core::messages::DeviceInfo {
    serde_json::from_value(serde_json::json!({
        "make": "Acme", "model": "Pulse Oximeter 3", "firmware_version": "1.4.2",
        "software_version": "2024.11", "rot": {"type": "secure-element"},
        "communication": ["lte-m"], "power": {"source": "battery"}, "protocols": ["mqtt"]
    }))
    .unwrap()
}

fn report_claims(nonce: String, firmware: &str, configuration: serde_json::Value) -> ReportClaims {
    ReportClaims {
        nonce,
        firmware_version: firmware.into(),
        software_version: "2024.11".into(),
        communication: vec!["lte-m".into()],
        configuration: Some(configuration),
        idempotency_key: None,
        evidence_challenge: None,
    }
}

// Y.3059 7 iv c
// Y.3059 9.3 ii a
// Y.3059 9.3 i c
#[tokio::test]
async fn a_signed_report_is_stored_and_updates_the_device() {
    let h = harness().await;
    let device = h.device("356938035643809").await;
    h.clock.advance(60_000);
    let reply = h
        .report(&device, "1.5.0", serde_json::json!({"telnet": false}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.json["status"], "trusted");
    assert_eq!(
        reply.json["changed"],
        serde_json::json!(["firmware_version", "configuration"])
    );
    let stored = h.stored(&device);
    assert_eq!(stored.info.firmware_version, "1.5.0");
    assert_eq!(
        stored.facts.last_report_at_ms,
        Some(h.clock.0.load(Ordering::SeqCst))
    );
    let state = h.store.snapshot();
    assert_eq!(state.reports.len(), 1);
    assert_eq!(state.reports[0].regdevid.to_string(), device.regdevid);
    let audit = state.audit.last().unwrap();
    assert_eq!(
        (audit.action.as_str(), audit.outcome),
        ("report", Outcome::Accepted)
    );
}

// Y.3059 9.3 iv
// Y.3059 9.3 ii a
#[tokio::test]
async fn history_holds_the_initial_values_then_every_change_in_order() {
    let h = harness().await;
    let device = h.device("490154203237518").await;
    for (firmware, telnet) in [("1.5.0", false), ("1.6.0", false), ("1.6.0", true)] {
        h.clock.advance(1_000);
        let reply = h
            .report(&device, firmware, serde_json::json!({"telnet": telnet}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    }
    let regdevid: RegDevId = device.regdevid.parse().unwrap();
    let history = h.registry.history(&regdevid).await.unwrap();
    assert_eq!(history.initial, info());
    let reports: Vec<_> = history
        .entries
        .iter()
        .filter_map(|e| match e {
            HistoryEntry::Report(r) => Some(r),
            HistoryEntry::Transition(_) => None,
        })
        .collect();
    let firmware: Vec<_> = reports
        .iter()
        .map(|r| r.firmware_version.as_str())
        .collect();
    assert_eq!(firmware, ["1.5.0", "1.6.0", "1.6.0"]);
    let changed: Vec<Vec<&str>> = reports
        .iter()
        .map(|r| r.changes.iter().map(|c| c.field.as_str()).collect())
        .collect();
    assert_eq!(
        changed,
        [
            vec!["firmware_version", "configuration"],
            vec!["firmware_version"],
            vec!["configuration"]
        ]
    );
    assert_eq!(reports[1].changes[0].from, "1.5.0");
    let times: Vec<u64> = history.entries.iter().map(HistoryEntry::at_ms).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(matches!(history.entries[0], HistoryEntry::Transition(_)));
}

// Y.3059 7 iv c
// Y.3059 9.3 ii a
#[tokio::test]
async fn a_report_from_a_second_certified_device_is_refused_and_a_possible_clone() {
    let h = harness().await;
    let device = h.device("356938035643809").await;
    // Another secure element the same manufacturer certified for the same identifier.
    let (clone, _) = h.element("356938035643809");
    let claims = report_claims(
        h.challenge(Purpose::Report).await,
        "6.6.6",
        serde_json::json!({}),
    );
    let header = JwsHeader::es256()
        .with_typ(REPORT_TYP)
        .with_kid(device.regdevid.clone())
        .with_x5c_der(&clone.chain_der().unwrap());
    let path = device_path(trustreg_model::routes::Op::Report, &device.regdevid);
    let jws = clone.sign_jws(&header, &bound(&claims, "POST", &path).unwrap());
    let reply = h.post_report(&device.regdevid, jws.clone()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(reply.problem(), "bad-signature");
    // Replayed, it is refused again but counted once.
    let replayed = h.post_report(&device.regdevid, jws).await;
    assert_eq!(replayed.problem(), "bad-signature");
    let stored = h.stored(&device);
    assert_eq!(stored.facts.clone_reports, 1);
    assert_eq!(stored.status, TrustStatus::Unreliable);
    assert_eq!(stored.info.firmware_version, "1.4.2");
    let state = h.store.snapshot();
    let last = state.transitions.last().unwrap();
    assert_eq!(last.to, TrustStatus::Unreliable);
    assert!(last.reasons.contains(&Reason::PossibleClone));
    let refusals: Vec<_> = state
        .audit
        .iter()
        .filter(|a| a.action == "report")
        .collect();
    assert_eq!(refusals.len(), 2);
    assert!(
        refusals
            .iter()
            .all(|a| a.outcome == Outcome::Rejected && a.code.as_deref() == Some("bad-signature"))
    );
    assert!(state.reports.is_empty());
}

// Y.3059 7 iv c
#[tokio::test]
async fn a_report_from_an_unknown_key_without_a_chain_records_nothing() {
    let h = harness().await;
    let device = h.device("356938035643809").await;
    let (stranger, _) = h.element("490154203237518");
    let claims = report_claims(
        h.challenge(Purpose::Report).await,
        "6.6.6",
        serde_json::json!({}),
    );
    let jws = report_jws(&stranger, &device.regdevid, &claims).unwrap();
    let reply = h.post_report(&device.regdevid, jws).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(reply.problem(), "bad-signature");
    let stored = h.stored(&device);
    assert_eq!(stored.facts.clone_reports, 0);
    assert_eq!(stored.status, TrustStatus::Trusted);
    let audit = h.store.snapshot().audit.last().unwrap().clone();
    assert_eq!(
        (audit.action.as_str(), audit.outcome),
        ("report", Outcome::Rejected)
    );
}

// Y.3059 7 iv c
#[tokio::test]
async fn a_replayed_report_is_refused() {
    let h = harness().await;
    let device = h.device("356938035643809").await;
    let claims = report_claims(
        h.challenge(Purpose::Report).await,
        "1.5.0",
        serde_json::json!({}),
    );
    let jws = report_jws(&device.se, &device.regdevid, &claims).unwrap();
    let first = h.post_report(&device.regdevid, jws.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let again = h.post_report(&device.regdevid, jws).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{again:?}");
    assert_eq!(again.problem(), "nonce-invalid");
    assert_eq!(h.store.snapshot().reports.len(), 1);
}

// Y.3059 7 iv c
#[tokio::test]
async fn an_oversized_configuration_is_a_client_error() {
    let h = harness().await;
    let device = h.device("356938035643809").await;
    let big = serde_json::json!({"blob": "x".repeat(5000)});
    let reply = h.report(&device, "1.5.0", big).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert_eq!(reply.problem(), "malformed-request");
    assert!(h.store.snapshot().reports.is_empty());
}

// Y.3059 6.1 f
#[tokio::test]
async fn the_worst_domain_policy_decides_the_status() {
    let h = harness().await;
    let owner_required = Policy {
        require_owner_verified: true,
        ..Policy::default()
    };
    h.registry
        .set_domain_policy("energy", owner_required, "admin:test")
        .await
        .unwrap();
    let (_, both) = h
        .register("356938035643809", "secure-element", &["health", "energy"])
        .await;
    let both = h.stored(&both.unwrap());
    assert_eq!(both.status, TrustStatus::Unverified);
    assert_eq!(both.reasons, vec![Reason::OwnerNotVerified]);
    let health = h.device("490154203237518").await;
    assert_eq!(h.stored(&health).status, TrustStatus::Trusted);
    let audit = h.store.snapshot().audit;
    assert!(
        audit.iter().any(
            |a| a.action == "set-domain-policy" && a.target.as_deref() == Some("domain:energy")
        )
    );
}

// Y.3059 6.1 f
#[tokio::test]
async fn a_policy_for_a_domain_that_cannot_be_hosted_is_refused_and_audited() {
    let h = harness().await;
    let refused = h
        .registry
        .set_domain_policy("Finance!", Policy::default(), "admin:test")
        .await;
    assert_eq!(refused.unwrap_err().code(), "malformed-request");
    let audit = h.store.snapshot().audit.last().unwrap().clone();
    assert_eq!(audit.outcome, Outcome::Rejected);
    assert!(h.store.snapshot().domain_policies.is_empty());
}

// Y.3059 6.1 f
#[tokio::test]
async fn a_rot_type_a_domain_does_not_accept_is_refused_at_registration() {
    let h = harness().await;
    h.energy_accepts_only_trustzone().await;
    h.refused_then_admitted(
        ("secure-element", "trustzone"),
        &["energy"],
        "rot-type-not-accepted",
    )
    .await;
}

// Y.3059 7 ii
// Y.3059 9.2 i a
// A device may claim only a root-of-trust type its manufacturer root is published for: any
// other is a 403 `rot-type-not-published` and nothing is stored, whatever the domains accept.
#[tokio::test]
async fn a_rot_type_the_devices_root_is_not_published_for_is_refused() {
    let h = harness().await;
    h.refused_then_admitted(
        ("optee", "trustzone"),
        &["health"],
        "rot-type-not-published",
    )
    .await;
}

// Y.3059 7 ii
// Y.3059 6.1 f
// A domain that stops accepting a device's root-of-trust type makes the device unverified,
// with the reason, by the policy change itself (its first batch) and at every evaluation
// after it (a report here); the domain's other devices stay.
#[tokio::test]
async fn a_rot_type_a_domain_stops_accepting_makes_its_devices_unverified_when_evaluated() {
    let h = harness().await;
    let (_, se_device) = h
        .register("356938035643809", "secure-element", &["energy"])
        .await;
    let (_, tpm_device) = h
        .register("490154203237518", "trustzone", &["energy"])
        .await;
    let (se_device, tpm_device) = (se_device.unwrap(), tpm_device.unwrap());
    assert_eq!(h.stored(&se_device).status, TrustStatus::Trusted);
    h.energy_accepts_only_trustzone().await;
    assert_eq!(h.stored(&se_device).status, TrustStatus::Unverified);
    for device in [&se_device, &tpm_device] {
        let reply = h.report(device, "1.4.2", serde_json::json!({})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    }
    let stored = h.stored(&se_device);
    assert_eq!(stored.status, TrustStatus::Unverified);
    assert_eq!(stored.reasons, vec![Reason::RotTypeNotAccepted]);
    assert_eq!(h.stored(&tpm_device).status, TrustStatus::Trusted);
}

// Y.3059 9.3 i c
// Y.3059 6.1 f
#[tokio::test]
async fn an_overdue_report_makes_the_device_unverified_on_the_scheduled_evaluation() {
    let h = harness().await;
    let hourly = Policy {
        max_report_age_seconds: Some(3600),
        ..Policy::default()
    };
    h.registry
        .set_domain_policy("health", hourly, "admin:test")
        .await
        .unwrap();
    let late = h.device("356938035643809").await;
    let punctual = h.device("490154203237518").await;
    assert_eq!(h.stored(&late).status, TrustStatus::Trusted);
    h.clock.advance(3_000_000);
    assert_eq!(
        h.report(&punctual, "1.4.2", serde_json::json!({}))
            .await
            .status,
        StatusCode::CREATED
    );
    h.clock.advance(700_000);
    let now = h.clock.0.load(Ordering::SeqCst);
    let run = h.registry.evaluate_due(now, 10).await.unwrap();
    assert_eq!(run.evaluated, 1);
    assert_eq!(
        run.changed,
        vec![(late.regdevid.clone(), TrustStatus::Unverified)]
    );
    let stored = h.stored(&late);
    assert_eq!(stored.status, TrustStatus::Unverified);
    assert_eq!(stored.reasons, vec![Reason::ReportOverdue]);
    // Overdue, it leaves the due index until its certificate expires.
    let expiry = stored.facts.certificate_not_after_ms.unwrap();
    assert_eq!(stored.next_evaluation_at_ms, Some(expiry + 1));
    let state = h.store.snapshot();
    let t = state.transitions.last().unwrap();
    assert_eq!(t.regdevid.to_string(), late.regdevid);
    assert_eq!(t.actor, "registry:scheduler");
    assert_eq!(t.reasons, vec![Reason::ReportOverdue]);
    assert_eq!(h.stored(&punctual).status, TrustStatus::Trusted);
    // Nothing is due any more: the overdue device left the due index.
    let again = h.registry.evaluate_due(now, 10).await.unwrap();
    assert_eq!(again.evaluated, 0);
    // A report brings it back.
    assert_eq!(
        h.report(&late, "1.4.2", serde_json::json!({})).await.json["status"],
        "trusted"
    );
}

impl Harness {
    /// Trust domains are administration: function `admin` serves them.
    async fn put_policy(&self, name: &str, jws: String) -> Reply {
        let request = Request::builder()
            .method(Method::PUT)
            .uri(format!("/v1/admin/trust-domains/{name}"))
            .header(header::CONTENT_TYPE, JOSE)
            .body(Body::from(jws))
            .unwrap();
        self.send("admin", request).await
    }
}

// Y.3059 6.1 f
#[tokio::test]
async fn an_administrator_sets_a_domain_policy_and_a_device_may_not() {
    let h = harness().await;
    let policy = Policy {
        accepted_rot_types: vec!["tpm".into()],
        max_report_age_seconds: Some(86_400),
        ..Policy::default()
    };
    let claims = DomainPolicyClaims {
        nonce: h.challenge(Purpose::TrustDomain).await,
        policy: policy.clone(),
    };
    let header = JwsHeader::es256().with_kid("admin:alice");
    let jws = trustreg_core::jose::sign_with(
        &admin_key(),
        &header,
        &bound(&claims, "PUT", "/v1/admin/trust-domains/energy").unwrap(),
    );
    let reply = h.put_policy("energy", jws).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(h.store.snapshot().domain_policies["energy"].policy, policy);
    let audit = h.store.snapshot().audit.last().unwrap().clone();
    assert_eq!(audit.actor, "admin:alice");
    assert_eq!(audit.outcome, Outcome::Accepted);

    // A device's key is no administrator's.
    let device = h.device("356938035643809").await;
    let claims = DomainPolicyClaims {
        nonce: h.challenge(Purpose::TrustDomain).await,
        policy: Policy::default(),
    };
    let header = JwsHeader::es256().with_kid(device.regdevid.clone());
    let jws = device.se.sign_jws(
        &header,
        &bound(&claims, "PUT", "/v1/admin/trust-domains/energy").unwrap(),
    );
    let refused = h.put_policy("energy", jws).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{refused:?}");
    assert_eq!(refused.problem(), "forbidden");
    assert_eq!(h.store.snapshot().domain_policies["energy"].policy, policy);
    let audit = h.store.snapshot().audit.last().unwrap().clone();
    assert_eq!(audit.outcome, Outcome::Rejected);
    assert_eq!(audit.target.as_deref(), Some("domain:energy"));
}
