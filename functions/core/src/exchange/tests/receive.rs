//! Receiving: verification, sequence checks, forwarding, snapshots.

use super::*;
use crate::ports::HierarchyStore;

/// A sectoral registry with its primary child and its geographical parent, linked both ways.
async fn trio() -> (Node, Node, Node) {
    let (primary, sectoral, geo) = (Node::primary(), Node::sectoral(), Node::geographical());
    wire(&sectoral, &primary).await;
    wire(&geo, &sectoral).await;
    (primary, sectoral, geo)
}

/// The primary's next update about device `n`, as sent.
async fn update(primary: &Node, n: u32, status: TrustStatus) -> String {
    let d = primary.add_device(n, status);
    primary.registry.send_updates(&[d]).await.unwrap();
    let mut sent = primary.outbox.drain();
    assert_eq!(sent.len(), 1);
    sent.remove(0).1
}

fn mirrored(node: &Node, n: u32) -> Option<MirrorRecord> {
    node.store
        .snapshot()
        .mirrors
        .get(&format!("{PRIMARY}:imei:{}", imei(n)))
        .cloned()
}

// Y.3059 7 iv d
// A child's update is mirrored with its origin and forwarded, re-signed, to the parent: not
// back to the child.
#[tokio::test]
async fn an_update_is_mirrored_and_forwarded_up() {
    let (primary, sectoral, geo) = trio().await;
    let message = update(&primary, 1, TrustStatus::Trusted).await;
    let received = sectoral.registry.receive_exchange(&message).await.unwrap();
    assert_eq!(
        received,
        Received::Applied {
            items: 1,
            forwarded: 1
        }
    );
    let mirror = mirrored(&sectoral, 1).unwrap();
    assert_eq!(
        (mirror.origin.as_str(), mirror.via.as_str()),
        (PRIMARY, PRIMARY)
    );
    assert_eq!(
        (mirror.origin_seq, mirror.status),
        (1, TrustStatus::Trusted)
    );
    let sent = sectoral.outbox.drain();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, geo.inbox);
    let forwarded = claims_of(&sent[0].1);
    assert_eq!(
        (forwarded.sender.as_str(), forwarded.origin.as_str()),
        (SECTORAL, PRIMARY)
    );
    assert_eq!(forwarded.seq, 1);
    let public = sectoral.keys.public_key().await.unwrap();
    jose::parse(&sent[0].1).unwrap().verify(&public).unwrap();
    assert_eq!(
        sectoral.audited("exchange-update", Outcome::Accepted).len(),
        1
    );
}

// Y.3059 7 iv f
// A geographical registry forwards what its children send to its peers, and nothing of what
// a peer sends: peer to peer never goes further.
#[tokio::test]
async fn peers_get_what_came_from_below_only() {
    let (primary, sectoral, geo) = trio().await;
    let eu = Node::new("EU1", RegistryKind::Geographical, 8);
    geo.link(&eu, "peer").await.unwrap();
    eu.link(&geo, "peer").await.unwrap();
    let eu_device = device("EU1.FIN.P01", 3, TrustStatus::Trusted);
    let eu_update = eu.registry.exchange_claims(
        "EU1.FIN.P01",
        1,
        ExchangeBody::Update {
            items: vec![StatusItem::of_device(&eu_device)],
        },
    );
    let eu_update = eu.registry.sign_exchange(&eu_update).await.unwrap();
    assert_eq!(
        geo.registry.receive_exchange(&eu_update).await.unwrap(),
        Received::Applied {
            items: 1,
            forwarded: 0
        }
    );
    assert!(geo.outbox.drain().is_empty());
    let from_primary = update(&primary, 4, TrustStatus::Trusted).await;
    sectoral
        .registry
        .receive_exchange(&from_primary)
        .await
        .unwrap();
    let up = sectoral.outbox.drain().remove(0).1;
    assert_eq!(
        geo.registry.receive_exchange(&up).await.unwrap(),
        Received::Applied {
            items: 1,
            forwarded: 1
        }
    );
    let across = geo.outbox.drain();
    assert_eq!(across.len(), 1);
    assert_eq!(across[0].0, eu.inbox);
    assert_eq!(claims_of(&across[0].1).sender, GEOGRAPHICAL);
}

// Y.3059 9.4 i b
// A replayed message, or an older one arriving late, changes nothing.
#[tokio::test]
async fn replayed_and_reordered_messages_change_nothing() {
    let (primary, sectoral, _geo) = trio().await;
    let first = update(&primary, 1, TrustStatus::Trusted).await;
    let second = update(&primary, 1, TrustStatus::Unreliable).await;
    sectoral.registry.receive_exchange(&first).await.unwrap();
    sectoral.registry.receive_exchange(&second).await.unwrap();
    sectoral.outbox.drain();
    let before = sectoral.store.snapshot();
    for message in [&first, &second] {
        assert_eq!(
            sectoral.registry.receive_exchange(message).await.unwrap(),
            Received::Duplicate
        );
    }
    let after = sectoral.store.snapshot();
    assert_eq!(after.mirrors, before.mirrors);
    assert_eq!(
        mirrored(&sectoral, 1).unwrap().status,
        TrustStatus::Unreliable
    );
    assert_eq!(after.last_sequences.get(PRIMARY), Some(&2));
    assert!(sectoral.outbox.drain().is_empty());
    // Y.3059 7 i c: each replay was received, and is on record as such.
    let replays = sectoral.audited("exchange-duplicate", Outcome::Accepted);
    assert_eq!(
        replays
            .iter()
            .map(|a| (a.actor.clone(), a.target.clone().unwrap_or_default()))
            .collect::<Vec<_>>(),
        [1, 2].map(|seq| (format!("registry:{PRIMARY}"), format!("{PRIMARY}#{seq}")))
    );
}

// Y.3059 9.4 i b
// A lost message leaves a gap: nothing is written, the sender is asked for a snapshot, and the
// snapshot (in pages) heals the mirror and the sequence.
#[tokio::test]
async fn a_gap_is_healed_by_a_snapshot() {
    let (primary, sectoral, _geo) = trio().await;
    let first = update(&primary, 1, TrustStatus::Trusted).await;
    sectoral.registry.receive_exchange(&first).await.unwrap();
    sectoral.outbox.drain();
    let _lost = update(&primary, 2, TrustStatus::Trusted).await;
    for n in 3..120 {
        primary.add_device(n, TrustStatus::Unverified);
    }
    let third = update(&primary, 120, TrustStatus::Unreliable).await;
    assert_eq!(
        sectoral.registry.receive_exchange(&third).await.unwrap(),
        Received::SnapshotRequested
    );
    assert!(mirrored(&sectoral, 120).is_none());
    let sent = sectoral.outbox.drain();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, primary.inbox);
    let request = claims_of(&sent[0].1);
    assert_eq!(
        (request.origin.as_str(), request.body.clone()),
        (PRIMARY, ExchangeBody::SnapshotRequest)
    );
    assert_eq!(
        primary.registry.receive_exchange(&sent[0].1).await.unwrap(),
        Received::SnapshotSent { messages: 2 }
    );
    let pages = primary.outbox.drain();
    assert!(pages.iter().all(|(inbox, _)| *inbox == sectoral.inbox));
    for (_, page) in &pages {
        assert_eq!(claims_of(page).seq, 3);
        let Received::SnapshotApplied { .. } =
            sectoral.registry.receive_exchange(page).await.unwrap()
        else {
            panic!("snapshot page not applied");
        };
    }
    assert_eq!(sectoral.store.snapshot().mirrors.len(), 120);
    assert_eq!(mirrored(&sectoral, 2).unwrap().status, TrustStatus::Trusted);
    assert_eq!(
        mirrored(&sectoral, 120).unwrap().status,
        TrustStatus::Unreliable
    );
    assert_eq!(sectoral.store.last_sequence(PRIMARY).await.unwrap(), 3);
    let fourth = update(&primary, 5, TrustStatus::Unreliable).await;
    let Received::Applied { .. } = sectoral.registry.receive_exchange(&fourth).await.unwrap()
    else {
        panic!("the update after the snapshot is not applied");
    };
}

async fn sign(node: &Node, origin: &str, items: Vec<StatusItem>) -> String {
    let claims = node
        .registry
        .exchange_claims(origin, 1, ExchangeBody::Update { items });
    node.registry.sign_exchange(&claims).await.unwrap()
}

// Y.3059 9.4 i b
// Forged, unlinked, out-of-subtree, wrongly typed messages and items of other registries'
// devices are refused, audited with the claimed sender, and change nothing.
#[tokio::test]
async fn forged_and_foreign_messages_are_refused_and_audited() {
    let (primary, sectoral, _geo) = trio().await;
    let item = StatusItem::of_device(&device(PRIMARY, 1, TrustStatus::Trusted));
    let claims = |sender: &str, origin: &str, item: &StatusItem| {
        json!({"sender": sender, "origin": origin, "seq": 1, "iat": 0,
               "type": "update", "items": [item]})
    };
    let other_key = forged(&key(0x66), &claims(PRIMARY, PRIMARY, &item));
    let unlinked = {
        let stranger = Node::new("IN1.HLT.P09", RegistryKind::Primary, 7);
        let d = device("IN1.HLT.P09", 1, TrustStatus::Trusted);
        let c = stranger.registry.exchange_claims(
            "IN1.HLT.P09",
            1,
            ExchangeBody::Update {
                items: vec![StatusItem::of_device(&d)],
            },
        );
        stranger.registry.sign_exchange(&c).await.unwrap()
    };
    let outside = sign(&primary, "IN1.HLT.P08", vec![]).await;
    let mut foreign = item.clone();
    foreign.regdevid = format!("IN1.HLT.P08:imei:{}", imei(1));
    let foreign_item = sign(&primary, PRIMARY, vec![foreign]).await;
    let untyped = {
        let header = JwsHeader::es256();
        let payload = claims(PRIMARY, PRIMARY, &item).to_string();
        let input = jose::signing_input(&header, payload.as_bytes());
        let signature = primary.keys.sign(input.as_bytes()).await.unwrap();
        jose::assemble(&input, &signature)
    };
    let cases = [
        (other_key, "bad-signature", PRIMARY),
        (unlinked, "unknown-signer", "IN1.HLT.P09"),
        (outside, "forbidden", PRIMARY),
        (foreign_item, "forbidden", PRIMARY),
        (untyped, "forbidden", PRIMARY),
    ];
    for (message, code, sender) in &cases {
        let e = sectoral
            .registry
            .receive_exchange(message)
            .await
            .unwrap_err();
        assert_eq!(e.code(), *code, "{e:?}");
        let refused = sectoral.audited("receive-exchange", Outcome::Rejected);
        let last = refused.last().unwrap();
        assert_eq!(last.actor, format!("registry:{sender}"));
        assert_eq!(last.code.as_deref(), Some(*code));
    }
    assert_eq!(
        sectoral
            .audited("receive-exchange", Outcome::Rejected)
            .len(),
        cases.len()
    );
    let state = sectoral.store.snapshot();
    assert!(state.mirrors.is_empty());
    assert!(state.last_sequences.is_empty());
    assert!(sectoral.outbox.drain().is_empty());
}

// Y.3059 7 iv f
// Y.3059 9.4 i b
// Updates that arrive out of order wait for the missing one on their first deliveries instead
// of each pulling a snapshot: once it came, they apply in order and nothing is requested. A
// message that stays missing is pulled as a snapshot on the delivery after the waits.
#[tokio::test]
async fn reordered_updates_wait_for_the_missing_one_instead_of_pulling_a_snapshot() {
    let (primary, sectoral, _geo) = trio().await;
    let first = update(&primary, 1, TrustStatus::Trusted).await;
    let second = update(&primary, 2, TrustStatus::Trusted).await;
    let third = update(&primary, 3, TrustStatus::Unreliable).await;
    let receive = |message: &String, attempt: u32| {
        let registry = &sectoral.registry;
        let message = message.clone();
        async move {
            registry
                .receive_exchange_delivery(&message, attempt)
                .await
                .unwrap()
        }
    };
    assert!(matches!(receive(&first, 1).await, Received::Applied { .. }));
    assert_eq!(
        receive(&third, 1).await,
        Received::Deferred { waiting_for: 2 }
    );
    assert!(mirrored(&sectoral, 3).is_none());
    // Y.3059 7 i c: held back, but received, and on record as such.
    let deferred = sectoral.audited("exchange-deferred", Outcome::Accepted);
    assert_eq!(
        deferred
            .iter()
            .map(|a| a.target.as_deref())
            .collect::<Vec<_>>(),
        [Some(format!("{PRIMARY}#3").as_str())]
    );
    assert!(matches!(
        receive(&second, 1).await,
        Received::Applied { .. }
    ));
    assert!(matches!(receive(&third, 2).await, Received::Applied { .. }));
    assert_eq!(
        mirrored(&sectoral, 3).unwrap().status,
        TrustStatus::Unreliable
    );
    let sent = sectoral.outbox.drain();
    assert!(
        sent.iter()
            .all(|(_, m)| matches!(claims_of(m).body, ExchangeBody::Update { .. })),
        "{sent:?}"
    );
    assert_eq!(sent.len(), 3, "each update forwarded once, in order");
    let forwarded: Vec<u64> = sent.iter().map(|(_, m)| claims_of(m).seq).collect();
    assert_eq!(forwarded, vec![1, 2, 3]);

    // Number 4 is lost: 5 waits twice, then its third delivery pulls a snapshot.
    let _lost = update(&primary, 4, TrustStatus::Trusted).await;
    let fifth = update(&primary, 5, TrustStatus::Trusted).await;
    for attempt in 1..=REORDER_DEFERRALS {
        assert_eq!(
            receive(&fifth, attempt).await,
            Received::Deferred { waiting_for: 4 }
        );
    }
    assert!(sectoral.outbox.drain().is_empty());
    assert_eq!(
        receive(&fifth, REORDER_DEFERRALS + 1).await,
        Received::SnapshotRequested
    );
    let request = sectoral.outbox.drain();
    assert_eq!(request.len(), 1);
    assert_eq!(claims_of(&request[0].1).body, ExchangeBody::SnapshotRequest);
}
