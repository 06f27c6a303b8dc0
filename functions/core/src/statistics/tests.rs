//! The dashboard's statistics on the in-memory fakes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use serde_json::{Value, json};

use super::*;
use crate::identifier::RegDevId;
use crate::lookups::tests::device;
use crate::ports::Clock as _;
use crate::records::{MirrorRecord, Transition};
use crate::sessions::tests::{admin, enquirer, principal};
use crate::statements::{Statement, verify_statement};
use crate::virtual_ids::tests::{Fixture, T0};

const HOUR_MS: u64 = 60 * 60 * 1000;

fn mirror(regdevid: &str, status: TrustStatus, domains: &[&str]) -> MirrorRecord {
    let regdevid: RegDevId = regdevid.parse().unwrap();
    MirrorRecord {
        root_id: None,
        origin: regdevid.path.to_string(),
        regdevid,
        status,
        status_since_ms: T0,
        make: "Acme".into(),
        model: "Pump".into(),
        trust_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        origin_seq: 1,
        received_at_ms: T0,
        via: "IN1.HLT.P07".into(),
    }
}

fn change(
    regdevid: &RegDevId,
    at_ms: u64,
    from: Option<TrustStatus>,
    to: TrustStatus,
) -> Transition {
    Transition {
        regdevid: regdevid.clone(),
        at_ms,
        from,
        to,
        reasons: vec![],
        actor: "owner:secret-owner".into(),
        cause: "report".into(),
    }
}

// card C5
// Y.3059 6.1 f
// Counts by status, and by domain with a device of two domains in both, and every hosted
// domain listed even when empty, so the chart shows all of them.
#[tokio::test]
async fn a_primary_counts_its_devices_by_status_and_domain() {
    let f = Fixture::with_config(|c| c.trust_domains = vec!["health".into(), "energy".into()]);
    device(&f, 1, None, |_| {}).await;
    device(&f, 2, None, |d| {
        d.trust_domains = vec!["health".into(), "finance".into()];
    })
    .await;
    device(&f, 3, None, |d| d.status = TrustStatus::Unreliable).await;
    device(&f, 4, None, |d| d.status = TrustStatus::Unverified).await;
    // A primary holds no mirrors; one there is not its own device, and not counted.
    f.store.lock().mirrors.insert(
        "IN1.HLT.P08:imei:356938035643809".into(),
        mirror(
            "IN1.HLT.P08:imei:356938035643809",
            TrustStatus::Trusted,
            &["health"],
        ),
    );
    let answer = f.registry.statistics(Some(&enquirer())).await.unwrap();
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(
        json["by_status"],
        json!({"trusted": 2, "unverified": 1, "unreliable": 1, "deregistered": 0})
    );
    assert_eq!(
        json["by_domain"],
        json!({
            "energy": {"trusted": 0, "unverified": 0, "unreliable": 0, "deregistered": 0},
            "finance": {"trusted": 1, "unverified": 0, "unreliable": 0, "deregistered": 0},
            "health": {"trusted": 2, "unverified": 1, "unreliable": 1, "deregistered": 0},
        })
    );
    assert_eq!(
        json["as_of"],
        json!(crate::service::rfc3339(f.clock.now_ms()))
    );
}

// card C5
// Y.3059 6.1 c
// Above the primaries the devices mirrored from below are counted, as lookups answer them.
#[tokio::test]
async fn a_sectoral_registry_counts_the_devices_mirrored_from_below() {
    let f = Fixture::with_config(|c| {
        c.path = "IN1.HLT".parse().unwrap();
        c.kind = RegistryKind::Sectoral;
    });
    {
        let mut s = f.store.lock();
        for (id, status, domains) in [
            (
                "IN1.HLT.P07:imei:356938035643809",
                TrustStatus::Trusted,
                &["health"][..],
            ),
            (
                "IN1.HLT.P08:imei:356938035643809",
                TrustStatus::Unreliable,
                &["health", "energy"][..],
            ),
            (
                "IN1.HLT.P08:mac:001a2b3c4d5e",
                TrustStatus::Unverified,
                &[][..],
            ),
        ] {
            s.mirrors.insert(id.into(), mirror(id, status, domains));
        }
    }
    let answer = f.registry.statistics(Some(&admin())).await.unwrap();
    let s = &answer.statistics;
    assert_eq!(
        s.by_status,
        StatusCounts {
            trusted: 1,
            unverified: 1,
            unreliable: 1,
            deregistered: 0
        }
    );
    assert_eq!(
        s.by_domain["health"],
        StatusCounts {
            trusted: 1,
            unverified: 0,
            unreliable: 1,
            deregistered: 0
        }
    );
    assert_eq!(s.by_domain["energy"].unreliable, 1);
}

// card C5
// Y.3059 9.3 ii a
// The newest changes first, at most twenty, from today back over the previous days; a
// registration's first status is no change. Each says device, from, to and when: not who
// changed it or why (the actor may name an owner).
#[tokio::test]
async fn recent_transitions_are_the_newest_status_changes_without_actors() {
    let f = Fixture::new();
    let a = device(&f, 1, None, |_| {}).await;
    let b = device(&f, 2, None, |_| {}).await;
    let now = f.clock.now_ms();
    {
        let mut s = f.store.lock();
        // 15 today, 10 yesterday, one eight days ago (too old), registrations in between.
        for i in 0..15 {
            s.transitions.push(change(
                &a,
                now - i * 60_000,
                Some(TrustStatus::Trusted),
                TrustStatus::Unverified,
            ));
        }
        for i in 0..10 {
            s.transitions.push(change(
                &b,
                now - 24 * HOUR_MS - i * 60_000,
                Some(TrustStatus::Unverified),
                TrustStatus::Unreliable,
            ));
        }
        s.transitions
            .push(change(&b, now - 1000, None, TrustStatus::Unverified));
    }
    let answer = f.registry.statistics(Some(&enquirer())).await.unwrap();
    let recent = &answer.statistics.recent_transitions;
    assert_eq!(recent.len(), RECENT_TRANSITIONS);
    assert!(recent.windows(2).all(|w| w[0].at >= w[1].at), "{recent:?}");
    assert_eq!(recent[0].at, crate::service::rfc3339(now));
    assert_eq!(recent[0].regdevid, a.to_string());
    assert_eq!(recent[0].from, TrustStatus::Trusted);
    assert_eq!(recent[0].to, TrustStatus::Unverified);
    assert_eq!(recent[15].regdevid, b.to_string());
    assert_eq!(recent[15].to, TrustStatus::Unreliable);
    let json = serde_json::to_value(&answer).unwrap();
    let mut keys: Vec<&str> = json["recent_transitions"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["at", "from", "regdevid", "to"]);
    assert!(!json.to_string().contains("secret-owner"));

    // Changes older than the window are not recent.
    let f = Fixture::new();
    let c = device(&f, 3, None, |_| {}).await;
    let old = f.clock.now_ms() - (RECENT_DAYS + 1) * 24 * HOUR_MS;
    f.store.lock().transitions.push(change(
        &c,
        old,
        Some(TrustStatus::Trusted),
        TrustStatus::Unreliable,
    ));
    let answer = f.registry.statistics(Some(&enquirer())).await.unwrap();
    assert!(answer.statistics.recent_transitions.is_empty());
}

// card C5
// Y.3059 9.3 iii
// Enquirers, agencies and administrators only; the others are refused, and the refusal is
// audited (7 i c).
#[tokio::test]
async fn statistics_need_an_enquirer_agency_or_admin() {
    let f = Fixture::new();
    for who in [
        enquirer(),
        admin(),
        principal("enquirer:agency-1", crate::actors::Role::Agency),
    ] {
        f.registry.statistics(Some(&who)).await.unwrap();
    }
    assert!(matches!(
        f.registry.statistics(None).await,
        Err(RegistryError::Unauthenticated(_))
    ));
    let owner = principal("owner:o1", crate::actors::Role::Owner);
    assert!(matches!(
        f.registry.statistics(Some(&owner)).await,
        Err(RegistryError::Forbidden(_))
    ));
    let refusals: Vec<_> = f
        .store
        .snapshot()
        .audit
        .into_iter()
        .filter(|a| a.action == "read-statistics")
        .map(|a| a.actor)
        .collect();
    assert_eq!(refusals, ["public", "owner:o1"]);
}

// card C5
// Y.3059 10
// The statement is the registry's signature over exactly the answer.
#[tokio::test]
async fn the_statement_signs_the_statistics() {
    let f = Fixture::new();
    device(&f, 1, None, |_| {}).await;
    let answer = f.registry.statistics(Some(&enquirer())).await.unwrap();
    let public = f.registry.keys.public_key().await.unwrap();
    let said: Statement<Value> =
        verify_statement(&answer.statement, &public, f.clock.now_ms()).unwrap();
    assert_eq!(
        said.answer,
        serde_json::to_value(&answer.statistics).unwrap()
    );
    assert_eq!(said.iss, "IN1.HLT.P07");
    assert!(T0 <= f.clock.now_ms());
}
