//! A policy change reaching a domain's devices in batches, on the in-memory fakes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use super::*;
use crate::lookups::tests::device;
use crate::ports::PolicyStore;
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

// Y.3059 6.1 f
// Four domains changed at once: a scheduled run reads at most its budget across all of them,
// the oldest changes first, and the runs that follow finish every domain.
#[tokio::test]
async fn a_scheduled_run_shares_its_budget_across_the_domains_oldest_change_first() {
    const DOMAINS: [&str; 4] = ["water", "gas", "air", "soil"];
    const PER_DOMAIN: u32 = 40;
    let f = Fixture::with_config(|c| {
        c.trust_domains = std::iter::once("health")
            .chain(DOMAINS)
            .map(str::to_owned)
            .collect();
    });
    // Changed in this order, a millisecond apart, before their devices are stored (as if the
    // first batch of each had failed), so the scheduled runs do all the work.
    for domain in DOMAINS {
        let mut record = f
            .registry
            .set_domain_policy(domain, tpm_only(), "admin:ops")
            .await
            .unwrap()
            .record;
        record.reevaluation = Some(Reevaluation {
            by: "admin:ops".into(),
            cursor: None,
            changed: 0,
            complete: false,
        });
        f.store.put_reevaluation(&record).await.unwrap();
        f.clock.advance(1);
    }
    for (i, domain) in DOMAINS.iter().enumerate() {
        for n in 0..PER_DOMAIN {
            let n = i as u32 * 1000 + n;
            device(&f, n, None, |d| d.trust_domains = vec![(*domain).into()]).await;
        }
    }
    let changed = |f: &Fixture| -> Vec<u64> {
        let state = f.store.snapshot();
        DOMAINS
            .iter()
            .map(|d| {
                state.domain_policies[*d]
                    .reevaluation
                    .as_ref()
                    .unwrap()
                    .changed
            })
            .collect()
    };
    let budget = 60;
    f.registry.continue_reevaluations(budget).await.unwrap();
    // Every device changes, so what changed is what was read: 25 for each of the two oldest,
    // the rest of the budget for the third, none for the newest.
    assert_eq!(changed(&f), vec![25, 25, 10, 0]);
    let mut runs = 1;
    while !f
        .registry
        .continue_reevaluations(budget)
        .await
        .unwrap()
        .is_empty()
    {
        runs += 1;
        assert!(runs < 10, "{:?}", changed(&f));
    }
    assert_eq!(changed(&f), vec![u64::from(PER_DOMAIN); 4]);
    let unverified = f
        .store
        .snapshot()
        .devices
        .values()
        .filter(|d| d.reasons.contains(&Reason::RotTypeNotAccepted))
        .count();
    assert_eq!(unverified, DOMAINS.len() * PER_DOMAIN as usize);
}
