//! Geographical peers: what comes up a branch goes across to the peer, and a vulnerability
//! entered at the peer comes down the other branch; neither goes round.

use super::*;
use crate::ports::{HierarchyStore, VulnerabilityStore};
use crate::sessions::tests::enquirer;

pub(crate) const PEER: &str = "IN2";

/// The branch P07 -> HLT -> IN1 and IN1's peer IN2, each linked on both sides.
pub(crate) async fn branch_and_peer() -> (Node, Node, Node, Node) {
    let (primary, sectoral, geo) = (Node::primary(), Node::sectoral(), Node::geographical());
    let peer = Node::new(PEER, RegistryKind::Geographical, 9);
    wire(&sectoral, &primary).await;
    wire(&geo, &sectoral).await;
    geo.link(&peer, "peer").await.unwrap();
    peer.link(&geo, "peer").await.unwrap();
    (primary, sectoral, geo, peer)
}

fn regdevid(n: u32) -> String {
    format!("{PRIMARY}:imei:{}", imei(n))
}

async fn report_at(node: &Node, target: Value) -> String {
    let nonce = node
        .registry
        .challenge(Purpose::Vulnerability)
        .await
        .unwrap()
        .nonce;
    let claims = json!({"nonce": nonce, "severity": 9.0,
                        "summary": "remote code execution", "target": target});
    let header = JwsHeader::es256().with_kid("admin:ops");
    let jws = jose::sign_with(&node.admin, &header, claims.to_string().as_bytes());
    node.registry
        .report_vulnerability(&jws, 25)
        .await
        .unwrap()
        .id
}

// Y.3059 6.1 c
// Y.3059 7 iv f
// Y.3059 9.3 ii c
// A change at the primary goes up the branch and across to IN1's peer, which mirrors it with
// its origin and answers lookups from it; the peer sends nothing on, so nothing loops.
#[tokio::test]
async fn a_change_at_the_primary_is_mirrored_at_the_peer() {
    let (primary, sectoral, geo, peer) = branch_and_peer().await;
    let nodes = [&primary, &sectoral, &geo, &peer];
    let d = primary.add_device(1, TrustStatus::Trusted);
    primary.registry.send_updates(&[d]).await.unwrap();
    peer.clock.advance(3_000);
    let results = pump(&nodes).await;
    let reached: Vec<&str> = results.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(reached, vec![SECTORAL, GEOGRAPHICAL, PEER], "{results:?}");
    assert_eq!(
        results[2].1.as_ref().unwrap(),
        &Received::Applied {
            items: 1,
            forwarded: 0
        }
    );
    let mirror = peer.store.snapshot().mirrors[&regdevid(1)].clone();
    assert_eq!(
        (
            mirror.origin.as_str(),
            mirror.via.as_str(),
            mirror.origin_seq
        ),
        (PRIMARY, GEOGRAPHICAL, 1)
    );
    let answer = peer
        .registry
        .lookup(Some(&enquirer()), &regdevid(1))
        .await
        .unwrap()
        .device;
    assert_eq!(answer.origin.as_deref(), Some(PRIMARY));
    assert_eq!(answer.registry, PEER);
    assert_eq!(
        answer.as_of.as_deref(),
        Some(crate::service::rfc3339(T0 + 3_000).as_str())
    );

    // The same update again at the peer (replayed by IN1) is a duplicate.
    let mut again = primary.store.snapshot().devices[&regdevid(1)].clone();
    again.status = TrustStatus::Unreliable;
    primary.registry.send_updates(&[again]).await.unwrap();
    pump(&nodes).await;
    assert_eq!(
        peer.store.snapshot().mirrors[&regdevid(1)].status,
        TrustStatus::Unreliable
    );
    assert_eq!(peer.store.last_sequence(PRIMARY).await.unwrap(), 2);
}

// Y.3059 7 iv d
// Y.3059 9.3 ii b
// Y.3059 9.4 i b
// A vulnerability entered at IN2 about a device of P07 goes across to IN1 and down to P07,
// where the device becomes unreliable (source: IN2); the change comes back up and across, so
// IN2 lists the device unreliable. IN1 sends it to no peer, and a second copy is dropped.
#[tokio::test]
async fn a_vulnerability_entered_at_the_peer_reaches_the_primary() {
    let (primary, sectoral, geo, peer) = branch_and_peer().await;
    let nodes = [&primary, &sectoral, &geo, &peer];
    let devices = [primary.healthy_device(1), primary.healthy_device(2)];
    primary.registry.send_updates(&devices).await.unwrap();
    pump(&nodes).await;

    let id = report_at(&peer, json!({"regdevids": [regdevid(1)]})).await;
    let sent = peer.outbox.snapshot().sent;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, geo.inbox);
    let results = pump(&nodes).await;
    let reached: Vec<&str> = results.iter().map(|(to, _)| to.as_str()).collect();
    // Down the branch, then the device's change back up and across.
    assert_eq!(
        reached,
        vec![GEOGRAPHICAL, SECTORAL, PRIMARY],
        "{results:?}"
    );
    let local = format!("{PEER}:{id}");
    assert!(
        matches!(
            &results[0].1,
            Ok(Received::Vulnerability { id, forwarded: 1, .. }) if *id == local
        ),
        "{results:?}"
    );
    let device = primary.store.snapshot().devices[&regdevid(1)].clone();
    assert_eq!(device.status, TrustStatus::Unreliable);
    assert_eq!(device.facts.open_vulnerabilities[0].id, local);
    assert_eq!(
        primary.store.snapshot().devices[&regdevid(2)].status,
        TrustStatus::Trusted
    );
    let stored = primary
        .store
        .get_vulnerability(&local)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.source.actor(), format!("registry:{PEER}"));

    // What the notify function does with the change: up, and across to IN2.
    primary.registry.send_updates(&[device]).await.unwrap();
    pump(&nodes).await;
    let unreliable: Vec<String> = peer
        .registry
        .status_list(Some(&enquirer()), "unreliable", None)
        .await
        .unwrap()
        .devices
        .into_iter()
        .map(|d| d.regdevid)
        .collect();
    assert_eq!(unreliable, vec![regdevid(1)]);

    // Sent again (an administrator's `apply` at IN2): IN1 drops it, nothing goes further.
    let jws = {
        let nonce = peer
            .registry
            .challenge(Purpose::Vulnerability)
            .await
            .unwrap()
            .nonce;
        let header = JwsHeader::es256().with_kid("admin:ops");
        jose::sign_with(
            &peer.admin,
            &header,
            json!({"nonce": nonce, "id": id}).to_string().as_bytes(),
        )
    };
    peer.registry
        .apply_vulnerability_signed(&id, &jws, 25)
        .await
        .unwrap();
    let again = pump(&nodes).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].1.as_ref().unwrap(), &Received::Duplicate);
}

// Y.3059 9.1 v
// A peer speaks only for itself: a vulnerability it claims was entered elsewhere (at another
// geographical registry, or at IN1 itself) is refused and audited, and IN1 never sends a
// vulnerability it received from a peer to its own peers.
#[tokio::test]
async fn a_peer_sends_only_its_own_vulnerabilities() {
    let (primary, sectoral, geo, peer) = branch_and_peer().await;
    let third = Node::new("EU1", RegistryKind::Geographical, 10);
    geo.link(&third, "peer").await.unwrap();
    third.link(&geo, "peer").await.unwrap();
    let report = |origin: &str| VulnerabilityReport {
        id: format!("v-{origin}"),
        source: VulnerabilitySource {
            kind: crate::messages::SourceKind::Admin,
            name: "ops".into(),
        },
        reported_at_ms: T0,
        severity: 9.0,
        cve: None,
        summary: "remote code execution".into(),
        target: VulnerabilityTarget::Range {
            make: "Acme".into(),
            model: "Pump".into(),
            firmware_from: None,
            firmware_below: None,
        },
        fixed_in_firmware: None,
        state: VulnerabilityState::Open,
    };
    for origin in ["EU1", GEOGRAPHICAL] {
        let claims = peer.registry.exchange_claims(
            origin,
            1,
            ExchangeBody::Vulnerability {
                report: Box::new(report(origin)),
            },
        );
        let message = peer.registry.sign_exchange(&claims).await.unwrap();
        let refused = geo.registry.receive_exchange(&message).await.unwrap_err();
        assert_eq!(refused.code(), "forbidden", "{origin}: {refused}");
    }
    assert_eq!(geo.audited("receive-exchange", Outcome::Rejected).len(), 2);
    assert!(geo.store.snapshot().vulnerabilities.is_empty());

    // Its own, for a range: down IN1's branch, not on to EU1.
    let claims = peer.registry.exchange_claims(
        PEER,
        1,
        ExchangeBody::Vulnerability {
            report: Box::new(report(PEER)),
        },
    );
    let message = peer.registry.sign_exchange(&claims).await.unwrap();
    let received = geo.registry.receive_exchange(&message).await.unwrap();
    assert!(
        matches!(received, Received::Vulnerability { forwarded: 1, .. }),
        "{received:?}"
    );
    let sent = geo.outbox.drain();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, sectoral.inbox);
    let _ = primary;
}

/// Two primaries below one sectoral registry, peers of each other, and the branch above.
async fn peered_primaries() -> (Node, Node, Node, Node) {
    let (primary, sectoral, geo) = (Node::primary(), Node::sectoral(), Node::geographical());
    let other = Node::new(OTHER_PRIMARY, RegistryKind::Primary, 11);
    wire(&sectoral, &primary).await;
    wire(&sectoral, &other).await;
    wire(&geo, &sectoral).await;
    primary.link(&other, "peer").await.unwrap();
    other.link(&primary, "peer").await.unwrap();
    (primary, other, sectoral, geo)
}

const OTHER_PRIMARY: &str = "IN1.HLT.P08";
const OTHER_SECTORAL: &str = "IN1.ENR";

// Y.3059 6.1 a
// Y.3059 7 iv f
// Peers at the primary level: a change at P07 goes up its branch and across to its peer P08,
// which mirrors it and answers lookups from it, and sends it nowhere (its parent hears of it
// from P07's branch), so the sectoral registry applies it once and nothing loops.
#[tokio::test]
async fn a_change_reaches_a_peer_primary_once_and_goes_no_further() {
    let (primary, other, sectoral, geo) = peered_primaries().await;
    let nodes = [&primary, &other, &sectoral, &geo];
    let d = primary.add_device(1, TrustStatus::Trusted);
    primary.registry.send_updates(&[d]).await.unwrap();
    let results = pump(&nodes).await;
    let mut reached: Vec<&str> = results.iter().map(|(to, _)| to.as_str()).collect();
    reached.sort_unstable();
    assert_eq!(
        reached,
        vec![GEOGRAPHICAL, SECTORAL, OTHER_PRIMARY],
        "{results:?}"
    );
    for (to, result) in &results {
        assert!(
            matches!(result, Ok(Received::Applied { items: 1, .. })),
            "{to}: {result:?}"
        );
    }
    let at_peer = results.iter().find(|(to, _)| to == OTHER_PRIMARY).unwrap();
    assert_eq!(
        at_peer.1.as_ref().unwrap(),
        &Received::Applied {
            items: 1,
            forwarded: 0
        }
    );
    let mirror = other.store.snapshot().mirrors[&regdevid(1)].clone();
    assert_eq!(
        (mirror.origin.as_str(), mirror.via.as_str()),
        (PRIMARY, PRIMARY)
    );
    let answer = other
        .registry
        .lookup(Some(&enquirer()), &regdevid(1))
        .await
        .unwrap()
        .device;
    assert_eq!(answer.origin.as_deref(), Some(PRIMARY));
    assert_eq!(answer.registry, OTHER_PRIMARY);
}

// Y.3059 6.1 a
// Peers at the sectoral level: a change from below HLT goes up to IN1 and across to HLT's
// peer IN1.ENR, which applies it and sends it nowhere; IN1 hears of it once, from HLT.
#[tokio::test]
async fn a_change_from_below_reaches_a_peer_sectoral_registry_once() {
    let (primary, sectoral, geo) = (Node::primary(), Node::sectoral(), Node::geographical());
    let energy = Node::new(OTHER_SECTORAL, RegistryKind::Sectoral, 12);
    wire(&sectoral, &primary).await;
    wire(&geo, &sectoral).await;
    wire(&geo, &energy).await;
    sectoral.link(&energy, "peer").await.unwrap();
    energy.link(&sectoral, "peer").await.unwrap();
    let nodes = [&primary, &sectoral, &geo, &energy];
    let d = primary.add_device(1, TrustStatus::Trusted);
    primary.registry.send_updates(&[d]).await.unwrap();
    let results = pump(&nodes).await;
    let reached: Vec<&str> = results.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(reached[0], SECTORAL, "{results:?}");
    let mut rest = reached[1..].to_vec();
    rest.sort_unstable();
    assert_eq!(rest, vec![GEOGRAPHICAL, OTHER_SECTORAL], "{results:?}");
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    let mirror = energy.store.snapshot().mirrors[&regdevid(1)].clone();
    assert_eq!(
        (mirror.origin.as_str(), mirror.via.as_str()),
        (PRIMARY, SECTORAL)
    );
}
