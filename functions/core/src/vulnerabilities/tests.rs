//! Vulnerabilities and holds on the in-memory fakes.
#![allow(clippy::unwrap_used)]

use p256::ecdsa::SigningKey;
use serde_json::{Value, json};

use crate::error::RegistryError;
use crate::fakes::{FakeRegistry, TrustedDevice};
use crate::identifier::{Identifier, RegDevId, Scheme};
use crate::messages::Purpose;
use crate::ports::DeviceStore;
use crate::records::{DeviceRecord, Outcome, VulnerabilityState};
use crate::status::{Reason, TrustStatus};
use crate::virtual_ids::tests::Fixture;

const PATH: &str = "IN1.HLT.P07";
const NOW: u64 = 1_800_000_000_000;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

/// The domain's fixture, its administrator `alice`, the clock at `NOW`.
fn harness() -> Fixture {
    let admin = key(0x41);
    Fixture::on(
        FakeRegistry::builder()
            .path(PATH)
            .admin("alice", &admin)
            .key_seed(3)
            .clock_at(NOW),
        admin,
    )
}

/// What the vulnerability tests ask of the fixture.
impl Fixture {
    /// A trusted device of `model` on `firmware`, with a key of its own, stored directly:
    /// registration is not what these tests are about.
    async fn device_on(&self, model: &str, firmware: &str) -> (RegDevId, SigningKey) {
        let n = self.store.snapshot().devices.len() as u64 + 1;
        let body = format!("35{n:012}");
        let check = crate::identifier::luhn_check_digit(&body).unwrap();
        let identifier = Identifier::parse(Scheme::Imei, &format!("{body}{check}")).unwrap();
        let signing = key(u8::try_from(n % 200).unwrap() + 1);
        let regdevid = TrustedDevice::new(
            RegDevId::new(PATH.parse().unwrap(), identifier),
            signing.verifying_key(),
            NOW,
        )
        .model(model)
        .firmware(firmware)
        .store_in(&self.store)
        .await;
        (regdevid, signing)
    }

    async fn as_admin(&self, purpose: Purpose, claims: Value) -> String {
        self.signed(&self.admin, Some("admin:alice"), purpose, claims)
            .await
    }

    async fn status(&self, regdevid: &RegDevId) -> DeviceRecord {
        self.store.get_device(regdevid).await.unwrap().unwrap()
    }

    fn last_audit(&self) -> crate::records::AuditRecord {
        self.store.snapshot().audit.last().cloned().unwrap()
    }
}

fn report(severity: f32, target: Value) -> Value {
    json!({"severity": severity, "summary": "remote code execution", "target": target})
}

fn range(below: &str) -> Value {
    json!({"make": "ACME", "model": "sensor-1", "firmware_from": "1.0", "firmware_below": below})
}

// Y.3059 9.3 ii b
// Y.3059 7 iv d
#[tokio::test]
async fn a_vulnerability_by_regdevid_makes_the_device_unreliable() {
    let h = harness();
    let (dev, _) = h.device_on("Sensor-1", "1.0.0").await;
    let other = h.device_on("Sensor-1", "1.0.0").await.0;
    let jws = h
        .as_admin(
            Purpose::Vulnerability,
            report(9.8, json!({"regdevids": [dev.to_string()]})),
        )
        .await;
    let progress = h.registry.report_vulnerability(&jws, 25).await.unwrap();
    assert_eq!(progress.affected_so_far, 1);
    assert!(progress.complete);
    let device = h.status(&dev).await;
    assert_eq!(device.status, TrustStatus::Unreliable);
    assert_eq!(device.reasons, vec![Reason::VulnerabilityOpen]);
    assert_eq!(h.status(&other).await.status, TrustStatus::Trusted);
    let snapshot = h.store.snapshot();
    let t = snapshot.transitions.last().unwrap();
    assert_eq!(
        (t.to, t.actor.as_str()),
        (TrustStatus::Unreliable, "admin:alice")
    );
    assert_eq!(t.reasons, vec![Reason::VulnerabilityOpen]);
    let stored = snapshot.vulnerabilities.get(&progress.id).unwrap();
    assert_eq!(stored.reported_at_ms, NOW);
    assert_eq!(stored.source.actor(), "admin:alice");
    let link = &snapshot.vulnerability_links[&(dev.to_string(), progress.id.clone())];
    assert_eq!(link.state, VulnerabilityState::Open);
    // Every device change is audited under its RegDevID.
    assert!(
        snapshot
            .audit
            .iter()
            .any(|a| a.target.as_deref() == Some(&dev.to_string())
                && a.action == "vulnerability"
                && a.outcome == Outcome::Accepted)
    );
}

// Y.3059 9.3 ii b
#[tokio::test]
async fn a_range_affects_only_matching_firmware_of_the_model() {
    let h = harness();
    let old = h.device_on("Sensor-1", "1.9").await.0;
    let inside = h.device_on("Sensor-1", "1.10.2").await.0;
    let fixed = h.device_on("Sensor-1", "2.0").await.0;
    let before = h.device_on("Sensor-1", "0.9").await.0;
    let other_model = h.device_on("Sensor-2", "1.5").await.0;
    let jws = h
        .as_admin(Purpose::Vulnerability, report(8.0, range("2.0")))
        .await;
    let progress = h.registry.report_vulnerability(&jws, 25).await.unwrap();
    assert_eq!(progress.affected_so_far, 2);
    assert!(progress.complete);
    for (dev, want) in [
        (&old, TrustStatus::Unreliable),
        (&inside, TrustStatus::Unreliable),
        (&fixed, TrustStatus::Trusted),
        (&before, TrustStatus::Trusted),
        (&other_model, TrustStatus::Trusted),
    ] {
        assert_eq!(h.status(dev).await.status, want, "{dev}");
    }
}

// Y.3059 7 iv d
#[tokio::test]
async fn a_big_range_is_applied_in_bounded_batches_that_resume() {
    let h = harness();
    let mut devices = Vec::new();
    for _ in 0..7 {
        devices.push(h.device_on("Sensor-1", "1.2").await.0);
    }
    let jws = h
        .as_admin(Purpose::Vulnerability, report(9.0, range("2")))
        .await;
    let first = h.registry.report_vulnerability(&jws, 3).await.unwrap();
    assert_eq!((first.affected_so_far, first.complete), (3, false));
    let unreliable = |h: &Fixture| {
        h.store
            .snapshot()
            .devices
            .values()
            .filter(|d| d.status == TrustStatus::Unreliable)
            .count()
    };
    assert_eq!(unreliable(&h), 3);
    let second = h.registry.apply_vulnerability(&first.id, 3).await.unwrap();
    assert_eq!((second.affected_so_far, second.complete), (6, false));
    let third = h.registry.apply_vulnerability(&first.id, 3).await.unwrap();
    assert_eq!((third.affected_so_far, third.complete), (7, true));
    assert_eq!(unreliable(&h), 7);
    // Once complete, another call changes nothing.
    let again = h.registry.apply_vulnerability(&first.id, 3).await.unwrap();
    assert_eq!(again, third);
    assert_eq!(h.store.snapshot().transitions.len(), 7 + 7);
}

// Y.3059 9.3 ii b
#[tokio::test]
async fn severity_below_the_threshold_leaves_the_device_trusted() {
    let h = harness();
    let dev = h.device_on("Sensor-1", "1.0").await.0;
    let jws = h
        .as_admin(
            Purpose::Vulnerability,
            report(4.3, json!({"regdevids": [dev.to_string()]})),
        )
        .await;
    let progress = h.registry.report_vulnerability(&jws, 25).await.unwrap();
    assert_eq!(progress.affected_so_far, 1);
    let device = h.status(&dev).await;
    assert_eq!(device.status, TrustStatus::Trusted);
    assert_eq!(device.facts.open_vulnerabilities.len(), 1);
}

// Y.3059 9.3 ii b
#[tokio::test]
async fn fixed_by_an_admin_restores_trusted_and_removes_only_that_vulnerability() {
    let h = harness();
    let dev = h.device_on("Sensor-1", "1.0").await.0;
    let target = json!({"regdevids": [dev.to_string()]});
    let first = h
        .as_admin(Purpose::Vulnerability, report(9.0, target.clone()))
        .await;
    let first = h.registry.report_vulnerability(&first, 25).await.unwrap();
    let second = h
        .as_admin(Purpose::Vulnerability, report(7.5, target))
        .await;
    let second = h.registry.report_vulnerability(&second, 25).await.unwrap();
    let fix = |id: String| json!({"id": id});
    let jws = h
        .as_admin(Purpose::Vulnerability, fix(first.id.clone()))
        .await;
    let done = h
        .registry
        .fix_vulnerability_signed(&first.id, &jws, 25)
        .await
        .unwrap();
    assert!(done.complete);
    let device = h.status(&dev).await;
    assert_eq!(
        device.status,
        TrustStatus::Unreliable,
        "the second is still open"
    );
    assert_eq!(device.facts.open_vulnerabilities.len(), 1);
    assert_eq!(device.facts.open_vulnerabilities[0].id, second.id);
    let jws = h
        .as_admin(Purpose::Vulnerability, fix(second.id.clone()))
        .await;
    h.registry
        .fix_vulnerability_signed(&second.id, &jws, 25)
        .await
        .unwrap();
    let device = h.status(&dev).await;
    assert_eq!(device.status, TrustStatus::Trusted);
    let snapshot = h.store.snapshot();
    let link = &snapshot.vulnerability_links[&(dev.to_string(), second.id.clone())];
    assert_eq!(link.state, VulnerabilityState::Fixed);
    assert_eq!(
        snapshot.vulnerabilities[&second.id].state,
        VulnerabilityState::Fixed
    );
    assert_eq!(
        snapshot.transitions.last().unwrap().to,
        TrustStatus::Trusted
    );
}

// Y.3059 9.3 ii b
// Y.3059 9.3 i c
#[tokio::test]
async fn a_device_reporting_the_fixed_firmware_is_restored() {
    let h = harness();
    let dev = h.device_on("Sensor-1", "1.4").await.0;
    let mut claims = report(9.0, range("9"));
    claims["fixed_in_firmware"] = json!("1.5");
    let jws = h.as_admin(Purpose::Vulnerability, claims).await;
    let progress = h.registry.report_vulnerability(&jws, 25).await.unwrap();
    assert_eq!(h.status(&dev).await.status, TrustStatus::Unreliable);
    let still = h
        .registry
        .firmware_changed(&dev, "1.4.9", "device:x")
        .await
        .unwrap();
    assert!(still.is_empty());
    assert_eq!(h.status(&dev).await.status, TrustStatus::Unreliable);
    let cleared = h
        .registry
        .firmware_changed(&dev, "1.5.0", &format!("device:{dev}"))
        .await
        .unwrap();
    assert_eq!(cleared, vec![progress.id.clone()]);
    let device = h.status(&dev).await;
    assert_eq!(device.status, TrustStatus::Trusted);
    assert!(device.facts.open_vulnerabilities.is_empty());
    let snapshot = h.store.snapshot();
    assert_eq!(
        snapshot.vulnerability_links[&(dev.to_string(), progress.id)].state,
        VulnerabilityState::Fixed
    );
}

// Y.3059 9.3 ii b
// Y.3059 7 iv c
// The whole path: a vulnerability makes the device unreliable, the device's own signed report
// of the fixed firmware restores it.
#[tokio::test]
async fn a_signed_report_of_the_fixed_firmware_restores_the_device() {
    let h = harness();
    let (dev, key) = h.device_on("Sensor-1", "1.4").await;
    let mut claims = report(9.0, range("9"));
    claims["fixed_in_firmware"] = json!("1.5");
    let jws = h.as_admin(Purpose::Vulnerability, claims).await;
    h.registry.report_vulnerability(&jws, 25).await.unwrap();
    assert_eq!(h.status(&dev).await.status, TrustStatus::Unreliable);
    let fixed =
        json!({"firmware_version": "1.5.0", "software_version": "1.0", "communication": []});
    let jws = h
        .signed(&key, Some(&dev.to_string()), Purpose::Report, fixed)
        .await;
    let answer = h.registry.report(&dev.to_string(), &jws).await.unwrap();
    assert_eq!(answer.status, TrustStatus::Trusted);
    assert_eq!(h.status(&dev).await.status, TrustStatus::Trusted);
}

// Y.3059 9.3 ii b
#[tokio::test]
async fn a_device_reports_against_itself_only() {
    let h = harness();
    let (dev, key) = h.device_on("Sensor-1", "1.0").await;
    let other = h.device_on("Sensor-1", "1.0").await.0;
    let kid = dev.to_string();
    let claims = report(9.0, json!({"regdevids": [other.to_string()]}));
    let jws = h
        .signed(&key, Some(&kid), Purpose::Vulnerability, claims)
        .await;
    let err = h.registry.report_vulnerability(&jws, 25).await.unwrap_err();
    assert!(matches!(err, RegistryError::Forbidden(_)), "{err}");
    assert_eq!(h.status(&other).await.status, TrustStatus::Trusted);
    let audit = h.last_audit();
    assert_eq!(
        (audit.outcome, audit.code.as_deref()),
        (Outcome::Rejected, Some("forbidden"))
    );
    let range = h
        .signed(
            &key,
            Some(&kid),
            Purpose::Vulnerability,
            report(9.0, range("2")),
        )
        .await;
    assert!(matches!(
        h.registry.report_vulnerability(&range, 25).await,
        Err(RegistryError::Forbidden(_))
    ));

    let own = report(9.0, json!({"regdevids": [kid.clone()]}));
    let jws = h
        .signed(&key, Some(&kid), Purpose::Vulnerability, own)
        .await;
    h.registry.report_vulnerability(&jws, 25).await.unwrap();
    let device = h.status(&dev).await;
    assert_eq!(device.status, TrustStatus::Unreliable);
    let stored = h
        .store
        .snapshot()
        .vulnerabilities
        .into_values()
        .next()
        .unwrap();
    assert_eq!(stored.source.actor(), format!("device:{kid}"));
}

// Y.3059 7 i c
// Y.3059 9.1 iii
#[tokio::test]
async fn unknown_signers_and_non_admins_are_refused_and_audited() {
    let h = harness();
    let (dev, key) = h.device_on("Sensor-1", "1.0").await;
    let target = json!({"regdevids": [dev.to_string()]});
    let mallory = self::key(0x66);
    let jws = h
        .signed(
            &mallory,
            Some("admin:mallory"),
            Purpose::Vulnerability,
            report(9.0, target.clone()),
        )
        .await;
    let err = h.registry.report_vulnerability(&jws, 25).await.unwrap_err();
    assert!(matches!(err, RegistryError::BadSignature), "{err}");
    assert_eq!(h.last_audit().code.as_deref(), Some("bad-signature"));
    // An admin name with somebody else's key.
    let jws = h
        .signed(
            &mallory,
            Some("admin:alice"),
            Purpose::Vulnerability,
            report(9.0, target),
        )
        .await;
    assert!(matches!(
        h.registry.report_vulnerability(&jws, 25).await,
        Err(RegistryError::BadSignature)
    ));
    assert_eq!(h.last_audit().outcome, Outcome::Rejected);
    assert!(h.store.snapshot().vulnerabilities.is_empty());

    // A device may not apply, fix or hold.
    let kid = dev.to_string();
    let jws = h
        .signed(&key, Some(&kid), Purpose::Vulnerability, json!({"id": "x"}))
        .await;
    let err = h
        .registry
        .apply_vulnerability_signed("x", &jws, 25)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Forbidden(_)), "{err}");
    assert_eq!(h.last_audit().action, "apply-vulnerability");
    let jws = h
        .signed(
            &key,
            Some(&kid),
            Purpose::Hold,
            json!({"regdevid": kid, "kind": "stolen"}),
        )
        .await;
    let err = h.registry.place_hold(&kid, &jws).await.unwrap_err();
    assert!(matches!(err, RegistryError::Forbidden(_)), "{err}");
    let audit = h.last_audit();
    assert_eq!(
        (audit.action.as_str(), audit.target.as_deref()),
        ("hold", Some(kid.as_str()))
    );
    assert_eq!(h.status(&dev).await.status, TrustStatus::Trusted);
}

// Y.3059 9.3 ii b
#[tokio::test]
async fn reports_are_bounded_and_a_nonce_of_another_purpose_fails() {
    let h = harness();
    let dev = h.device_on("Sensor-1", "1.0").await.0;
    let target = json!({"regdevids": [dev.to_string()]});
    for bad in [
        report(10.5, target.clone()),
        report(-1.0, target.clone()),
        json!({"severity": 5.0, "summary": "", "target": target.clone()}),
        report(5.0, json!({"regdevids": []})),
        report(5.0, json!({"regdevids": ["not a regdevid"]})),
    ] {
        let jws = h.as_admin(Purpose::Vulnerability, bad.clone()).await;
        let err = h.registry.report_vulnerability(&jws, 25).await.unwrap_err();
        assert!(!err.is_internal(), "{bad}: {err}");
    }
    let jws = h.as_admin(Purpose::Hold, report(5.0, target)).await;
    assert!(matches!(
        h.registry.report_vulnerability(&jws, 25).await,
        Err(RegistryError::NonceInvalid)
    ));
    assert!(h.store.snapshot().vulnerabilities.is_empty());
    let err = h
        .registry
        .apply_vulnerability("missing", 25)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::VulnerabilityNotFound(_)));
    // A path id no store key could hold is answered as unknown, not as a storage failure.
    let long = "x".repeat(5000);
    let err = h.registry.apply_vulnerability(&long, 25).await.unwrap_err();
    assert!(matches!(err, RegistryError::VulnerabilityNotFound(_)));
}

// Y.3059 6.1 e
#[tokio::test]
async fn a_stolen_hold_makes_the_device_unreliable_until_released() {
    let h = harness();
    let dev = h.device_on("Sensor-1", "1.0").await.0;
    let id = dev.to_string();
    let hold = json!({"regdevid": id, "kind": "stolen", "note": "reported by the police"});
    let jws = h.as_admin(Purpose::Hold, hold).await;
    let held = h.registry.place_hold(&id, &jws).await.unwrap();
    assert_eq!(held.status, TrustStatus::Unreliable);
    assert_eq!(held.holds, vec!["stolen".to_owned()]);
    let t = h.store.snapshot().transitions.last().cloned().unwrap();
    assert_eq!(
        (t.reasons, t.cause.as_str()),
        (vec![Reason::Hold], "hold:stolen")
    );

    // Releasing a hold the device does not hold is refused.
    let jws = h
        .as_admin(
            Purpose::Hold,
            json!({"regdevid": id, "kind": "compromised"}),
        )
        .await;
    let err = h
        .registry
        .release_hold(&id, "compromised", &jws)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::HoldNotFound(..)), "{err}");
    // The path's kind and the signed kind must agree.
    let jws = h
        .as_admin(Purpose::Hold, json!({"regdevid": id, "kind": "stolen"}))
        .await;
    assert!(matches!(
        h.registry.release_hold(&id, "compromised", &jws).await,
        Err(RegistryError::Malformed(_))
    ));

    let jws = h
        .as_admin(Purpose::Hold, json!({"regdevid": id, "kind": "stolen"}))
        .await;
    let released = h.registry.release_hold(&id, "stolen", &jws).await.unwrap();
    assert_eq!(released.status, TrustStatus::Trusted);
    assert!(released.holds.is_empty());
    let t = h.store.snapshot().transitions.last().cloned().unwrap();
    assert_eq!(
        (t.to, t.cause.as_str()),
        (TrustStatus::Trusted, "release-hold:stolen")
    );
}

// Y.3059 6.1 e
#[tokio::test]
async fn a_hold_signed_for_one_device_does_not_apply_to_another() {
    let h = harness();
    let a = h.device_on("Sensor-1", "1.0").await.0;
    let b = h.device_on("Sensor-1", "1.0").await.0;
    let jws = h
        .as_admin(
            Purpose::Hold,
            json!({"regdevid": a.to_string(), "kind": "compromised"}),
        )
        .await;
    let err = h
        .registry
        .place_hold(&b.to_string(), &jws)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Malformed(_)), "{err}");
    assert_eq!(h.status(&b).await.status, TrustStatus::Trusted);
}

#[test]
fn firmware_compares_by_numeric_parts() {
    use super::{compare_firmware, in_range};
    use std::cmp::Ordering::*;
    assert_eq!(compare_firmware("1.10", "1.9"), Greater);
    assert_eq!(compare_firmware("1.2", "1.2.0"), Equal);
    assert_eq!(compare_firmware("v2.0", "2"), Equal);
    assert_eq!(compare_firmware("1.2.1", "1.2"), Greater);
    assert!(in_range("1.0", Some("1.0"), Some("2.0")));
    assert!(!in_range("2.0", Some("1.0"), Some("2.0")));
    assert!(!in_range("0.9.9", Some("1.0"), None));
    assert!(in_range("0.9.9", None, None));
}
