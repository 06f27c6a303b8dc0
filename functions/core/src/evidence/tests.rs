//! The registry interrogating a device and the device's feed, on the in-memory fakes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use p256::ecdsa::SigningKey;
use serde_json::{Value, json};

use crate::error::RegistryError;
use crate::evidence::{EvidenceRequestView, Feed, verify_feed};
use crate::identifier::RegDevId;
use crate::jose;
use crate::messages::{Purpose, ReportResponse};
use crate::ports::{Clock, DeviceStore};
use crate::records::{DeviceRecord, Outcome};
use crate::status::{Policy, Reason, TrustStatus};
use crate::virtual_ids::tests::{Fixture, T0, key};

const IMEI: &str = "356938035643809";
const OTHER_IMEI: &str = "490154203237518";

/// A fixture whose `health` domain gives devices `window_s` seconds to answer.
async fn fixture(window_s: u64) -> Fixture {
    let f = Fixture::new();
    let policy = Policy {
        evidence_window_seconds: Some(window_s),
        ..Policy::default()
    };
    f.registry
        .set_domain_policy("health", policy, "admin:ops")
        .await
        .unwrap();
    f
}

async fn request(
    f: &Fixture,
    signer: &SigningKey,
    kid: &str,
    id: &RegDevId,
) -> Result<EvidenceRequestView, RegistryError> {
    let jws = f
        .signed(
            signer,
            Some(kid),
            Purpose::EvidenceRequest,
            json!({"regdevid": id.to_string()}),
        )
        .await;
    f.registry.request_evidence(&id.to_string(), &jws).await
}

async fn by_admin(f: &Fixture, id: &RegDevId) -> EvidenceRequestView {
    let admin = f.admin.clone();
    request(f, &admin, "admin:ops", id).await.unwrap()
}

/// The feed of `id` read with `signer` as `kid`, verified with the registry's key.
async fn feed(
    f: &Fixture,
    signer: &SigningKey,
    kid: &str,
    id: &RegDevId,
    page: Value,
) -> Result<Feed, RegistryError> {
    let mut claims = page;
    claims["regdevid"] = json!(id.to_string());
    let jws = f.signed(signer, Some(kid), Purpose::Feed, claims).await;
    let answer = f.registry.feed(&id.to_string(), &jws).await?;
    let public = f.registry.keys.public_key().await.unwrap();
    Ok(verify_feed(&answer.feed, &public, &id.to_string(), f.clock.now_ms()).unwrap())
}

async fn answer(
    f: &Fixture,
    device_key: &SigningKey,
    id: &RegDevId,
    challenge: &str,
) -> Result<ReportResponse, RegistryError> {
    let jws = f
        .signed(
            device_key,
            Some(&id.to_string()),
            Purpose::Report,
            json!({"firmware_version": "1", "software_version": "1",
                   "evidence_challenge": challenge}),
        )
        .await;
    f.registry.report(&id.to_string(), &jws).await
}

async fn stored(f: &Fixture, id: &RegDevId) -> DeviceRecord {
    f.store.get_device(id).await.unwrap().unwrap()
}

// Y.3059 9.2 note
// Y.3059 9.4 i b
// The administrator asks; the device reads the request in its feed, signed by the registry,
// and answers it with a signed report: the request is cleared and the device stays trusted.
#[tokio::test]
async fn the_device_reads_the_request_in_its_feed_and_answers_it() {
    let f = fixture(60).await;
    let id = f.device(IMEI, &key(0x21), None).await;
    let asked = by_admin(&f, &id).await;
    assert_eq!(asked.due_at, crate::service::rfc3339(T0 + 60_000));
    assert_eq!(
        stored(&f, &id).await.next_evaluation_at_ms,
        Some(T0 + 60_001)
    );
    assert_eq!(f.audited("evidence-requested", Outcome::Accepted), 1);

    let seen = feed(&f, &key(0x21), &id.to_string(), &id, json!({}))
        .await
        .unwrap();
    assert_eq!(seen.evidence_request, Some(asked.clone()));
    assert_eq!(seen.status, TrustStatus::Trusted);

    f.clock.advance(10_000);
    let done = answer(&f, &key(0x21), &id, &asked.challenge).await.unwrap();
    assert_eq!(done.status, TrustStatus::Trusted);
    let device = stored(&f, &id).await;
    assert_eq!(device.facts.evidence_request, None);
    assert_eq!(device.facts.last_report_at_ms, Some(T0 + 10_000));
    assert_eq!(f.audited("evidence-provided", Outcome::Accepted), 1);
    let after = feed(&f, &key(0x21), &id.to_string(), &id, json!({}))
        .await
        .unwrap();
    assert_eq!(after.evidence_request, None);
}

// Y.3059 9.2 note
// Unanswered, the scheduled evaluation makes the device unverified just after its due time
// (evidence_not_provided); its late answer makes it trusted again.
#[tokio::test]
async fn an_unanswered_request_makes_the_device_unverified_at_the_scheduled_evaluation() {
    let f = fixture(2).await;
    let id = f.device(IMEI, &key(0x21), None).await;
    let asked = by_admin(&f, &id).await;
    f.clock.advance(2_000);
    let run = f.registry.evaluate_due(T0 + 2_000, 10).await.unwrap();
    assert!(run.changed.is_empty(), "{run:?}");
    f.clock.advance(1);
    let run = f.registry.evaluate_due(T0 + 2_001, 10).await.unwrap();
    assert_eq!(run.changed, vec![(id.to_string(), TrustStatus::Unverified)]);
    let last = f.store.snapshot().transitions.last().cloned().unwrap();
    assert_eq!(last.reasons, vec![Reason::EvidenceNotProvided]);
    let seen = feed(&f, &key(0x21), &id.to_string(), &id, json!({}))
        .await
        .unwrap();
    assert_eq!(seen.status, TrustStatus::Unverified);
    assert_eq!(
        seen.items.last().unwrap().reasons,
        vec![Reason::EvidenceNotProvided]
    );

    let late = answer(&f, &key(0x21), &id, &asked.challenge).await.unwrap();
    assert_eq!(late.status, TrustStatus::Trusted);
}

// Y.3059 9.2 note
// Only an administrator asks: the owner, the device itself and another device are refused
// and audited, and the device is unchanged. One request at a time.
#[tokio::test]
async fn only_an_administrator_requests_evidence() {
    let f = fixture(60).await;
    let owner_key = key(0x31);
    let owner = f
        .signed(
            &owner_key,
            None,
            Purpose::Owner,
            json!({"kind": "owner", "attributes": {"name": "Ada"},
                   "public_key": jose::jwk_from_key(owner_key.verifying_key())}),
        )
        .await;
    let owner_id = f.registry.register_owner(&owner).await.unwrap().owner_id;
    let id = f.device(IMEI, &key(0x21), Some(&owner_id)).await;
    let other = f.device(OTHER_IMEI, &key(0x22), None).await;
    let before = stored(&f, &id).await;
    for (signer, kid) in [
        (key(0x31), format!("owner:{owner_id}")),
        (key(0x21), id.to_string()),
        (key(0x22), other.to_string()),
    ] {
        let refused = request(&f, &signer, &kid, &id).await;
        assert!(
            matches!(refused, Err(RegistryError::Forbidden(_))),
            "{kid}: {refused:?}"
        );
    }
    assert_eq!(stored(&f, &id).await, before);
    assert_eq!(f.audited("evidence-requested", Outcome::Rejected), 3);

    by_admin(&f, &id).await;
    let admin = f.admin.clone();
    let again = request(&f, &admin, "admin:ops", &id).await;
    assert!(matches!(again, Err(RegistryError::InvalidTransition(_))));
}

// Y.3059 9.4 i b
// A feed is the device's alone: another device's key, the owner's and the administrator's are
// refused, as is a device's own key on another device's path.
#[tokio::test]
async fn no_one_but_the_device_reads_its_feed() {
    let f = fixture(60).await;
    let id = f.device(IMEI, &key(0x21), None).await;
    let other = f.device(OTHER_IMEI, &key(0x22), None).await;
    by_admin(&f, &id).await;
    let admin = f.admin.clone();
    for (signer, kid) in [
        (key(0x22), other.to_string()),
        (admin, "admin:ops".to_owned()),
    ] {
        let refused = feed(&f, &signer, &kid, &id, json!({})).await;
        assert!(
            matches!(refused, Err(RegistryError::Forbidden(_))),
            "{kid}: {refused:?}"
        );
    }
    // Its own key with its kid, but another device's name: the path is not its own.
    let wrong = feed(&f, &key(0x21), &id.to_string(), &other, json!({})).await;
    assert!(
        matches!(wrong, Err(RegistryError::Forbidden(_))),
        "{wrong:?}"
    );
    assert_eq!(f.audited("feed", Outcome::Rejected), 3);
}

// Y.3059 9.2 note
// A report with a challenge the registry did not ask (or none pending) is refused and
// stores nothing: no report, no change to the device.
#[tokio::test]
async fn a_wrong_challenge_is_refused_and_changes_nothing() {
    let f = fixture(60).await;
    let id = f.device(IMEI, &key(0x21), None).await;
    let none_pending = answer(&f, &key(0x21), &id, "made-up").await;
    assert!(matches!(
        none_pending,
        Err(RegistryError::EvidenceChallengeMismatch(_))
    ));
    by_admin(&f, &id).await;
    let before = stored(&f, &id).await;
    let wrong = answer(&f, &key(0x21), &id, "made-up").await;
    assert!(matches!(
        wrong,
        Err(RegistryError::EvidenceChallengeMismatch(_))
    ));
    assert_eq!(stored(&f, &id).await, before);
    assert!(f.store.snapshot().reports.is_empty());
}

// Y.3059 9.4 i b
// The feed pages the device's transitions with a cursor, oldest first, `next` absent on the
// last page; limits outside 1 to 100 are refused.
#[tokio::test]
async fn the_feed_pages_with_a_cursor() {
    let f = fixture(1).await;
    let id = f.device(IMEI, &key(0x21), None).await;
    // Unverified when overdue, trusted when answered: two transitions a round.
    for _ in 0..2 {
        let asked = by_admin(&f, &id).await;
        f.clock.advance(1_001);
        f.registry.evaluate_due(f.clock.now_ms(), 10).await.unwrap();
        answer(&f, &key(0x21), &id, &asked.challenge).await.unwrap();
    }
    let k = key(0x21);
    let kid = id.to_string();
    let all = feed(&f, &k, &kid, &id, json!({})).await.unwrap();
    assert_eq!(all.next, None);
    let total = all.items.len();
    assert!(total >= 5, "{:?}", all.items);
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = feed(&f, &k, &kid, &id, json!({"after": after, "limit": 2}))
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        paged.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, all.items);
    for limit in [0, 101] {
        let refused = feed(&f, &k, &kid, &id, json!({"limit": limit})).await;
        assert!(matches!(refused, Err(RegistryError::Malformed(_))));
    }
}

// Y.3059 6.1 f
// A domain's evidence window is 1 s to 30 days; a deregistered device is asked nothing.
#[tokio::test]
async fn windows_are_bounded_and_a_deregistered_device_is_asked_nothing() {
    let f = Fixture::new();
    for window in [0, crate::status::MAX_EVIDENCE_WINDOW_SECONDS + 1] {
        let policy = Policy {
            evidence_window_seconds: Some(window),
            ..Policy::default()
        };
        let refused = f
            .registry
            .set_domain_policy("health", policy, "admin:ops")
            .await;
        assert!(
            matches!(refused, Err(RegistryError::Malformed(_))),
            "{window}"
        );
    }
    let id = f.device(IMEI, &key(0x21), None).await;
    let admin = f.admin.clone();
    let jws = f
        .signed(
            &admin,
            Some("admin:ops"),
            Purpose::Deregister,
            json!({"regdevid": id.to_string(), "reason": "decommissioned"}),
        )
        .await;
    f.registry.deregister(&id.to_string(), &jws).await.unwrap();
    let refused = request(&f, &admin, "admin:ops", &id).await;
    assert!(
        matches!(refused, Err(RegistryError::Deregistered(_))),
        "{refused:?}"
    );
    assert_eq!(stored(&f, &id).await.facts.evidence_request, None);
}
