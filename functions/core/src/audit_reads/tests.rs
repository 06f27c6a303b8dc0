//! Audit reads on the in-memory fakes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use serde_json::{Value, json};

use super::*;
use crate::records::Outcome;
use crate::sessions::tests::{admin, enquirer};
use crate::virtual_ids::tests::{Fixture, T0};

async fn read(
    f: &Fixture,
    caller: Option<&Principal>,
    params: Value,
) -> Result<Page<AuditRecord>, RegistryError> {
    let params: AuditParams = serde_json::from_value(params).unwrap();
    f.registry.read_audit(caller, params).await
}

/// A refusal recorded now about `target`.
async fn refuse(f: &Fixture, target: &str) {
    let refusal = RegistryError::Forbidden("test".into());
    f.registry
        .audit_refusal("public", "test", Some(target.into()), &refusal)
        .await;
}

// Y.3059 7 i c
// Administrators read the trail of a day (today by default) or of a target, in order and by
// pages; each read is itself audited.
#[tokio::test]
async fn administrators_read_the_trail_by_day_or_target() {
    let f = Fixture::new();
    let today = utc_day(T0);
    for _ in 0..3 {
        refuse(&f, "enquirer:a").await;
    }
    refuse(&f, "enquirer:b").await;
    f.clock.advance(86_400_000);
    refuse(&f, "enquirer:a").await;
    let by_day = read(&f, Some(&admin()), json!({"day": today}))
        .await
        .unwrap();
    assert_eq!(by_day.items.len(), 4);
    assert!(by_day.items.windows(2).all(|w| w[0].id < w[1].id));
    let now = read(&f, Some(&admin()), json!({})).await.unwrap();
    assert_eq!(
        now.items.len(),
        3,
        "tomorrow's refusal, the first read and this one"
    );
    let first = read(
        &f,
        Some(&admin()),
        json!({"target": "enquirer:a", "limit": 2}),
    )
    .await
    .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = read(
        &f,
        Some(&admin()),
        json!({"target": "enquirer:a", "limit": 2, "cursor": first.next}),
    )
    .await
    .unwrap();
    assert_eq!(rest.items.len(), 2);
    assert_eq!(rest.next, None);
    let audit = f.store.snapshot().audit;
    let reads: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "read-audit" && a.outcome == Outcome::Accepted)
        .map(|a| (a.actor.as_str(), a.target.clone().unwrap()))
        .collect();
    let tomorrow = utc_day(T0 + 86_400_000);
    assert_eq!(
        reads,
        [
            ("admin:ops", format!("audit:{today}")),
            ("admin:ops", format!("audit:{tomorrow}")),
            ("admin:ops", "audit:enquirer:a".to_owned()),
            ("admin:ops", "audit:enquirer:a".to_owned()),
        ]
    );
}

// Y.3059 7 i c
// Y.3059 9.1 iii
// Only administrators read the trail, with a real day or a bounded target, not both, and a
// limit of 1 to 500; refusals are audited.
#[tokio::test]
async fn audit_reads_are_for_administrators_with_valid_criteria() {
    let f = Fixture::new();
    let refusals = [
        (None, json!({}), "unauthenticated"),
        (Some(enquirer()), json!({}), "forbidden"),
        (
            Some(admin()),
            json!({"day": "2026-13-01"}),
            "malformed-request",
        ),
        (
            Some(admin()),
            json!({"day": "2026-02-30"}),
            "malformed-request",
        ),
        (
            Some(admin()),
            json!({"day": "2026-1-01"}),
            "malformed-request",
        ),
        (
            Some(admin()),
            json!({"day": "2026-01-01", "target": "x"}),
            "malformed-request",
        ),
        (
            Some(admin()),
            json!({"target": "x".repeat(257)}),
            "malformed-request",
        ),
        (Some(admin()), json!({"limit": 0}), "malformed-request"),
        (Some(admin()), json!({"limit": 501}), "malformed-request"),
    ];
    let count = refusals.len();
    for (caller, params, code) in refusals {
        let refused = read(&f, caller.as_ref(), params.clone()).await.unwrap_err();
        assert_eq!(refused.code(), code, "{params}");
    }
    assert_eq!(f.audited("read-audit", Outcome::Rejected), count);
    assert!(
        read(
            &f,
            Some(&admin()),
            json!({"day": "2028-02-29", "limit": 500})
        )
        .await
        .is_ok()
    );
}
