//! A policy change reaching a domain's devices in batches, on the in-memory fakes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use super::*;
use crate::lookups::tests::device;
use crate::records::Outcome;
use crate::status::{Policy, Reason, TrustStatus};
use crate::virtual_ids::tests::Fixture;

/// A registry hosting `water` from its deployment, next to `health` (the fake devices').
fn fixture() -> Fixture {
    Fixture::with_config(|c| c.trust_domains = vec!["health".into(), "water".into()])
}

fn tpm_only() -> Policy {
    Policy {
        accepted_rot_types: vec!["tpm".into()],
        ..Policy::default()
    }
}

// Y.3059 6.1 f
// Y.3059 7 ii
// A domain that stops accepting its devices' root-of-trust type: the change itself
// re-evaluates a first batch, each scheduled run the next, until every device of the domain
// is unverified with the reason; devices of other domains and deregistered ones are not
// touched, and a device whose evaluation does not change is not written.
#[tokio::test]
async fn a_policy_change_reaches_every_device_of_its_domain_in_batches() {
    let f = fixture();
    let in_water = |d: &mut crate::records::DeviceRecord| d.trust_domains = vec!["water".into()];
    let mut members = Vec::new();
    for n in 0..(FIRST_BATCH as u32 + 10) {
        members.push(device(&f, n, None, in_water).await);
    }
    let tpm = device(&f, 500, None, |d| {
        in_water(d);
        d.facts.rot_type = Some("tpm".into());
    })
    .await;
    let ended = device(&f, 501, None, |d| {
        in_water(d);
        d.facts.deregistration = Some(crate::status::Deregistration {
            reason: crate::status::DeregistrationReason::Decommissioned,
            by: "admin:ops".into(),
        });
        d.status = TrustStatus::Deregistered;
        d.reasons = vec![Reason::Deregistered];
    })
    .await;
    let elsewhere = device(&f, 900, None, |_| {}).await;

    let set = f
        .registry
        .set_domain_policy("water", tpm_only(), "admin:ops")
        .await
        .unwrap();
    let first = set.record.reevaluation.unwrap();
    assert!(!first.complete, "{first:?}");
    assert!(
        first.changed > 0 && first.changed <= FIRST_BATCH as u64,
        "{first:?}"
    );
    assert_eq!(first.by, "admin:ops");

    let mut runs = 0;
    loop {
        let progress = f.registry.continue_reevaluations(10).await.unwrap();
        runs += 1;
        if progress.is_empty() {
            break;
        }
        assert!(runs < 10, "{progress:?}");
    }
    assert!(runs > 2, "the rest took several scheduled batches: {runs}");
    let state = f.store.snapshot();
    let stored = &state.domain_policies["water"];
    let done = stored.reevaluation.as_ref().unwrap();
    assert!(done.complete && done.cursor.is_none(), "{done:?}");
    assert_eq!(done.changed, members.len() as u64);
    for regdevid in &members {
        let d = &state.devices[&regdevid.to_string()];
        assert_eq!(d.status, TrustStatus::Unverified, "{regdevid}");
        assert_eq!(d.reasons, [Reason::RotTypeNotAccepted]);
    }
    for (unchanged, status) in [
        (&tpm, TrustStatus::Trusted),
        (&ended, TrustStatus::Deregistered),
        (&elsewhere, TrustStatus::Trusted),
    ] {
        let d = &state.devices[&unchanged.to_string()];
        assert_eq!((d.status, d.version), (status, 1), "{unchanged}");
    }
    assert_eq!(
        f.audited("policy-changed", Outcome::Accepted),
        members.len()
    );
}

// Y.3059 6.1 f
// A newer policy takes over: the older change's batch does not overwrite it, and only the
// newer one's re-evaluation goes on.
#[tokio::test]
async fn a_newer_policy_is_not_overwritten_by_an_older_ones_progress() {
    let f = fixture();
    let mut older = f
        .registry
        .set_domain_policy("water", tpm_only(), "admin:ops")
        .await
        .unwrap()
        .record;
    older.reevaluation = Some(Reevaluation {
        by: "admin:ops".into(),
        cursor: None,
        changed: 0,
        complete: false,
    });
    f.clock.advance(1);
    f.registry
        .set_domain_policy("water", Policy::default(), "admin:other")
        .await
        .unwrap();
    f.registry.reevaluate_domain(&mut older, 10).await.unwrap();
    let stored = &f.store.snapshot().domain_policies["water"];
    assert_eq!(stored.policy, Policy::default());
    assert_eq!(stored.reevaluation.as_ref().unwrap().by, "admin:other");
}
