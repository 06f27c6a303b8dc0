//! One inherent identifier at two primaries, P07 and P08 under HLT under IN1: HLT, where
//! their branches meet, finds it; one root makes it a possible clone sent down to both, two
//! roots a conflict reported to HLT's administrators only.

use super::*;
use crate::exchange::clones::{IDENTIFIER_CONFLICT, POSSIBLE_CLONE};
use crate::status::Reason;

const SECOND: &str = "IN1.HLT.P08";

/// P07 and P08 below HLT, below IN1, each linked on both sides.
async fn two_primaries() -> (Node, Node, Node, Node) {
    let (first, sectoral, geo) = (Node::primary(), Node::sectoral(), Node::geographical());
    let second = Node::new(SECOND, RegistryKind::Primary, 4);
    wire(&sectoral, &first).await;
    wire(&sectoral, &second).await;
    wire(&geo, &sectoral).await;
    (first, second, sectoral, geo)
}

/// Device `n` at `node`, trusted, certified under `root`.
fn device_under(node: &Node, n: u32, root: &str) -> DeviceRecord {
    let mut device = node.healthy_device(n);
    device.root_id = root.into();
    node.store
        .lock()
        .devices
        .insert(device.regdevid.to_string(), device.clone());
    device
}

fn stored(node: &Node, device: &DeviceRecord) -> DeviceRecord {
    node.store.snapshot().devices[&device.regdevid.to_string()].clone()
}

// Y.3059 6.1 a
// One identifier registered at two primaries with certificates of one manufacturer root:
// the sectoral registry above both records a possible clone once and sends it down, and each
// primary makes its own device unreliable for it; the geographical registry, above both
// through one child, finds nothing, and the devices' changes coming back up find nothing new.
#[tokio::test]
async fn one_identifier_under_one_root_at_two_primaries_is_a_possible_clone_at_both() {
    let (first, second, sectoral, geo) = two_primaries().await;
    let nodes = [&first, &second, &sectoral, &geo];
    let a = device_under(&first, 1, "root-a");
    let b = device_under(&second, 1, "root-a");
    first
        .registry
        .send_updates(std::slice::from_ref(&a))
        .await
        .unwrap();
    second
        .registry
        .send_updates(std::slice::from_ref(&b))
        .await
        .unwrap();
    let results = pump(&nodes).await;
    let flagged: Vec<(&str, &Received)> = results
        .iter()
        .filter_map(|(to, r)| match r {
            Ok(r @ Received::PossibleClone { .. }) => Some((to.as_str(), r)),
            _ => None,
        })
        .collect();
    let primaries: Vec<&str> = flagged.iter().map(|(to, _)| *to).collect();
    assert_eq!(primaries.len(), 2, "{results:?}");
    assert!(primaries.contains(&PRIMARY) && primaries.contains(&SECOND));
    assert!(flagged.iter().all(|(_, r)| matches!(
        r,
        Received::PossibleClone {
            flagged: 1,
            forwarded: 0
        }
    )));
    for (node, device) in [(&first, &a), (&second, &b)] {
        let now = stored(node, device);
        assert_eq!(now.status, TrustStatus::Unreliable, "{now:?}");
        assert!(now.reasons.contains(&Reason::PossibleClone));
        assert_eq!(now.facts.clone_reports, 1);
    }
    assert_eq!(sectoral.audited(POSSIBLE_CLONE, Outcome::Accepted).len(), 1);
    assert!(geo.audited(POSSIBLE_CLONE, Outcome::Accepted).is_empty());
    // The devices' changes go up as the notify function sends them: nothing new is found,
    // and nothing more is recorded below.
    first
        .registry
        .send_updates(&[stored(&first, &a)])
        .await
        .unwrap();
    second
        .registry
        .send_updates(&[stored(&second, &b)])
        .await
        .unwrap();
    let again = pump(&nodes).await;
    assert!(
        again
            .iter()
            .all(|(_, r)| matches!(r, Ok(Received::Applied { .. }))),
        "{again:?}"
    );
    assert_eq!(sectoral.audited(POSSIBLE_CLONE, Outcome::Accepted).len(), 1);
    assert_eq!(stored(&first, &a).facts.clone_reports, 1);
}

// Y.3059 6.1 a
// The same identifier under two manufacturer roots is a conflict of the primaries' root
// scopes: reported in the sectoral registry's audit trail, and no device changes, so a
// primary with a misconfigured root cannot flag another primary's device.
#[tokio::test]
async fn one_identifier_under_two_roots_is_reported_and_changes_no_device() {
    let (first, second, sectoral, geo) = two_primaries().await;
    let nodes = [&first, &second, &sectoral, &geo];
    let a = device_under(&first, 2, "root-a");
    let b = device_under(&second, 2, "root-b");
    first
        .registry
        .send_updates(std::slice::from_ref(&a))
        .await
        .unwrap();
    second
        .registry
        .send_updates(std::slice::from_ref(&b))
        .await
        .unwrap();
    let results = pump(&nodes).await;
    assert!(
        results
            .iter()
            .all(|(_, r)| matches!(r, Ok(Received::Applied { .. }))),
        "{results:?}"
    );
    let reported = sectoral.audited(IDENTIFIER_CONFLICT, Outcome::Accepted);
    assert_eq!(reported.len(), 1);
    assert_eq!(
        reported[0].target.as_deref(),
        Some(format!("{} {}", a.regdevid, b.regdevid).as_str())
    );
    assert!(
        sectoral
            .audited(POSSIBLE_CLONE, Outcome::Accepted)
            .is_empty()
    );
    for (node, device) in [(&first, &a), (&second, &b)] {
        let now = stored(node, device);
        assert_eq!(
            (now.status, now.facts.clone_reports),
            (TrustStatus::Trusted, 0)
        );
        assert_eq!(now.version, device.version);
    }
}

// Y.3059 6.1 a
// Only a registry above may say a device is a possible clone: the same finding from a child
// (a primary flagging its sibling's device) or naming a device of another branch is refused,
// audited, and changes nothing.
#[tokio::test]
async fn a_possible_clone_from_a_child_or_sideways_is_refused() {
    let (first, second, sectoral, _geo) = two_primaries().await;
    let a = device_under(&first, 3, "root-a");
    let b = device_under(&second, 3, "root-a");
    let body = ExchangeBody::PossibleClone {
        regdevids: vec![a.regdevid.to_string(), b.regdevid.to_string()],
        root: "root-a".into(),
    };
    // P07 to its parent HLT, as if it had found it.
    let seq = first.store.snapshot().last_sequences.len() as u64 + 1;
    let up = first
        .registry
        .sign_exchange(&first.registry.exchange_claims(PRIMARY, seq, body.clone()))
        .await
        .unwrap();
    let refused = sectoral.registry.receive_exchange(&up).await;
    assert!(
        matches!(refused, Err(RegistryError::Forbidden(_))),
        "{refused:?}"
    );
    // HLT naming itself as the finder is fine; naming P08 as the origin is a child speaking
    // for a registry that is not above it.
    let sideways = sectoral
        .registry
        .sign_exchange(&sectoral.registry.exchange_claims(SECOND, 1, body.clone()))
        .await
        .unwrap();
    let refused = first.registry.receive_exchange(&sideways).await;
    assert!(
        matches!(refused, Err(RegistryError::Forbidden(_))),
        "{refused:?}"
    );
    // Two devices of one registry are no clone pair.
    let same = ExchangeBody::PossibleClone {
        regdevids: vec![a.regdevid.to_string(), a.regdevid.to_string()],
        root: "root-a".into(),
    };
    let malformed = sectoral
        .registry
        .sign_exchange(&sectoral.registry.exchange_claims(SECTORAL, 1, same))
        .await
        .unwrap();
    let refused = first.registry.receive_exchange(&malformed).await;
    assert!(
        matches!(refused, Err(RegistryError::Malformed(_))),
        "{refused:?}"
    );
    assert_eq!(stored(&first, &a), a);
    assert_eq!(stored(&second, &b), b);
    assert_eq!(
        sectoral
            .audited("receive-exchange", Outcome::Rejected)
            .len(),
        1
    );
    assert_eq!(
        first.audited("receive-exchange", Outcome::Rejected).len(),
        2
    );
}
