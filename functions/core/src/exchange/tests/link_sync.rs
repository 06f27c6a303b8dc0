//! A new link starts from the other side's current state: devices registered before it are
//! known above at once, whichever side records the link first.

use super::peers::PEER;
use super::*;
use crate::ports::HierarchyStore;

fn regdevid(path: &str, n: u32) -> String {
    format!("{path}:imei:{}", imei(n))
}

// Y.3059 7 iv d
// Y.3059 6.1 c
// A primary with devices (and no number taken yet) is linked child side first: its word that
// it linked the sectoral registry is refused there (unknown), the sectoral registry's link
// then pulls a snapshot, which is mirrored and forwarded up to the geographical registry.
#[tokio::test]
async fn devices_registered_before_the_link_are_pulled_when_the_parent_links_second() {
    let (primary, sectoral, geo) = (Node::primary(), Node::sectoral(), Node::geographical());
    wire(&geo, &sectoral).await;
    for n in 1..=3 {
        primary.add_device(n, TrustStatus::Trusted);
    }
    let nodes = [&primary, &sectoral, &geo];
    primary.link_live(&sectoral, "parent").await.unwrap();
    let first = pump(&nodes).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1.as_ref().unwrap_err().code(), "unknown-signer");
    sectoral.link_live(&primary, "child").await.unwrap();
    let results = pump(&nodes).await;
    let outcomes: Vec<(&str, &Received)> = results
        .iter()
        .map(|(to, r)| (to.as_str(), r.as_ref().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (PRIMARY, &Received::SnapshotSent { messages: 1 }),
            (SECTORAL, &Received::SnapshotApplied { items: 3 }),
            (GEOGRAPHICAL, &Received::SnapshotApplied { items: 3 }),
        ]
    );
    for node in [&sectoral, &geo] {
        let mirrors = node.store.snapshot().mirrors;
        assert_eq!(mirrors.len(), 3, "{}", node.path);
        assert_eq!(mirrors[&regdevid(PRIMARY, 2)].origin, PRIMARY);
    }
    // The snapshot took the primary's first number: its next update follows it everywhere.
    assert_eq!(sectoral.store.last_sequence(PRIMARY).await.unwrap(), 1);
    let d = primary.add_device(4, TrustStatus::Trusted);
    primary.registry.send_updates(&[d]).await.unwrap();
    let next = pump(&nodes).await;
    assert!(
        next.iter()
            .all(|(_, r)| matches!(r, Ok(Received::Applied { .. }))),
        "{next:?}"
    );
    assert_eq!(geo.store.snapshot().mirrors.len(), 4);
}

// Y.3059 7 iv d
// Linked parent side first: the pull is refused at the primary (it does not know the parent
// yet); the primary's link then tells the parent, which pulls.
#[tokio::test]
async fn devices_registered_before_the_link_are_pulled_when_the_child_links_second() {
    let (primary, sectoral) = (Node::primary(), Node::sectoral());
    primary.add_device(1, TrustStatus::Unreliable);
    let nodes = [&primary, &sectoral];
    sectoral.link_live(&primary, "child").await.unwrap();
    let first = pump(&nodes).await;
    assert_eq!(first[0].1.as_ref().unwrap_err().code(), "unknown-signer");
    assert_eq!(
        primary.audited("receive-exchange", Outcome::Rejected).len(),
        1
    );
    primary.link_live(&sectoral, "parent").await.unwrap();
    let results = pump(&nodes).await;
    let outcomes: Vec<&Received> = results.iter().map(|(_, r)| r.as_ref().unwrap()).collect();
    assert_eq!(
        outcomes,
        vec![
            &Received::SnapshotRequested,
            &Received::SnapshotSent { messages: 1 },
            &Received::SnapshotApplied { items: 1 },
        ]
    );
    let mirror = sectoral.store.snapshot().mirrors[&regdevid(PRIMARY, 1)].clone();
    assert_eq!(mirror.status, TrustStatus::Unreliable);
}

// Y.3059 7 iv d
// Y.3059 7 iv f
// A sectoral registry linked late to its geographical parent hands over what it mirrors of
// each primary below it; a geographical registry linked late to a peer gets, and gives, what
// each holds of its own branch, and nothing of a third registry's.
#[tokio::test]
async fn a_late_link_hands_over_everything_held_below() {
    let (primary, sectoral, geo) = (Node::primary(), Node::sectoral(), Node::geographical());
    let p08 = Node::new("IN1.HLT.P08", RegistryKind::Primary, 4);
    let peer = Node::new(PEER, RegistryKind::Geographical, 9);
    wire(&sectoral, &primary).await;
    wire(&sectoral, &p08).await;
    for node in [&primary, &p08] {
        let devices = [
            node.add_device(1, TrustStatus::Trusted),
            node.add_device(2, TrustStatus::Unverified),
        ];
        node.registry.send_updates(&devices).await.unwrap();
    }
    pump(&[&primary, &p08, &sectoral]).await;
    assert_eq!(sectoral.store.snapshot().mirrors.len(), 4);

    let nodes = [&primary, &p08, &sectoral, &geo, &peer];
    sectoral.link_live(&geo, "parent").await.unwrap();
    geo.link_live(&sectoral, "child").await.unwrap();
    pump(&nodes).await;
    let held = geo.store.snapshot();
    assert_eq!(held.mirrors.len(), 4);
    assert_eq!(
        held.mirrors[&regdevid("IN1.HLT.P08", 2)].origin,
        "IN1.HLT.P08"
    );
    assert_eq!(held.last_sequences.get("IN1.HLT.P08"), Some(&1));

    // A device of the peer's own branch, mirrored there before the link.
    let eu_device = device("IN2.FIN.P01", 5, TrustStatus::Trusted);
    let mirror = MirrorRecord {
        root_id: None,
        regdevid: eu_device.regdevid.clone(),
        origin: "IN2.FIN.P01".into(),
        status: TrustStatus::Trusted,
        status_since_ms: T0,
        make: "Acme".into(),
        model: "Pump".into(),
        trust_domains: vec!["health".into()],
        origin_seq: 7,
        received_at_ms: T0,
        via: "IN2.FIN".into(),
    };
    peer.store
        .lock()
        .mirrors
        .insert(mirror.regdevid.to_string(), mirror);
    peer.store
        .lock()
        .last_sequences
        .insert("IN2.FIN.P01".into(), 7);
    geo.link_live(&peer, "peer").await.unwrap();
    peer.link_live(&geo, "peer").await.unwrap();
    pump(&nodes).await;
    let at_peer = peer.store.snapshot();
    assert_eq!(at_peer.mirrors.len(), 5);
    assert_eq!(
        at_peer.mirrors[&regdevid(PRIMARY, 1)].via,
        GEOGRAPHICAL,
        "{:?}",
        at_peer.mirrors
    );
    let at_geo = geo.store.snapshot();
    assert_eq!(at_geo.mirrors.len(), 5);
    assert_eq!(at_geo.mirrors[&eu_device.regdevid.to_string()].via, PEER);
    // Nothing of the peer's went down IN1's branch.
    assert_eq!(sectoral.store.snapshot().mirrors.len(), 4);
}
