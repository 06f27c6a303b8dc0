//! Status lists across own and mirrored devices.

use super::*;
use crate::actors::Role;
use crate::sessions::tests::{enquirer, principal};

fn mirror(origin: &str, n: u32, status: TrustStatus) -> MirrorRecord {
    let d = device(origin, n, status);
    MirrorRecord {
        root_id: None,
        regdevid: d.regdevid,
        origin: origin.into(),
        status,
        status_since_ms: T0,
        make: "Acme".into(),
        model: "Pump".into(),
        trust_domains: vec!["health".into()],
        origin_seq: 1,
        received_at_ms: T0 - 60_000,
        via: origin.into(),
    }
}

// Y.3059 7 iv d
// A list holds the registry's own devices then the mirrored ones with that status, 100 per
// page, each once; a forged cursor is refused.
#[tokio::test]
async fn status_lists_page_through_own_then_mirrored_devices() {
    let node = Node::primary();
    for n in 0..150 {
        node.add_device(n, TrustStatus::Trusted);
    }
    node.add_device(500, TrustStatus::Unreliable);
    {
        let mut s = node.store.lock();
        for n in 0..60 {
            let m = mirror("IN1.HLT.P08", n, TrustStatus::Trusted);
            s.mirrors.insert(m.regdevid.to_string(), m);
        }
        let m = mirror("IN1.HLT.P08", 900, TrustStatus::Unreliable);
        s.mirrors.insert(m.regdevid.to_string(), m);
    }
    let caller = enquirer();
    let mut cursor = None;
    let mut pages = Vec::new();
    loop {
        let page = node
            .registry
            .status_list(Some(&caller), "trusted", cursor)
            .await
            .unwrap();
        assert!(!page.statement.is_empty());
        pages.push(page.devices.clone());
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 10]);
    let all: Vec<ListedDevice> = pages.concat();
    let mut ids: Vec<&str> = all.iter().map(|d| d.regdevid.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 210);
    assert_eq!(all.iter().filter(|d| d.origin == PRIMARY).count(), 150);
    assert!(all[..150].iter().all(|d| d.origin == PRIMARY));
    assert!(
        all[150..]
            .iter()
            .all(|d| d.origin == "IN1.HLT.P08" && d.as_of == crate::service::rfc3339(T0 - 60_000))
    );
    let unreliable = node
        .registry
        .status_list(Some(&caller), "unreliable", None)
        .await
        .unwrap();
    assert_eq!(unreliable.devices.len(), 2);
    assert_eq!(unreliable.next, None);
    for forged in ["!!", "eyJoYWxmIjoib3RoZXIifQ", &"A".repeat(2000)] {
        let e = node
            .registry
            .status_list(Some(&caller), "trusted", Some(forged.to_string()))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "malformed-request");
    }
    let e = node
        .registry
        .status_list(Some(&caller), "great", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "malformed-request");
}

// Y.3059 7 iv d
// Lists are for approved enquirers, agencies and administrators; owners (which need no
// approval), the public and devices are refused and audited.
#[tokio::test]
async fn status_lists_are_for_known_callers() {
    let node = Node::primary();
    for role in [Role::Enquirer, Role::Agency, Role::Admin] {
        let caller = principal("someone", role);
        node.registry
            .status_list(Some(&caller), "trusted", None)
            .await
            .unwrap();
    }
    let owner = principal("owner:o1", Role::Owner);
    let e = node
        .registry
        .status_list(Some(&owner), "trusted", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    let e = node
        .registry
        .status_list(None, "trusted", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unauthenticated");
    let device = principal("device:x", Role::Device);
    let e = node
        .registry
        .status_list(Some(&device), "trusted", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert_eq!(node.audited("status-list", Outcome::Rejected).len(), 3);
}
