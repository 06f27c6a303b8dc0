//! Sending a registry's own changes.

use std::sync::atomic::Ordering;

use super::*;

// Y.3059 9.4 i b
// A batch becomes numbered messages of at most MAX_ITEMS_PER_MESSAGE items, each signed once
// with the registry's key, carrying no owner.
#[tokio::test]
async fn updates_are_numbered_chunked_and_signed_once_per_message() {
    let primary = Node::primary();
    let sectoral = Node::sectoral();
    let devices: Vec<DeviceRecord> = (0..200)
        .map(|n| primary.add_device(n, TrustStatus::Trusted))
        .collect();
    // Nothing linked above: nothing sent, no number taken.
    assert_eq!(primary.registry.send_updates(&devices).await.unwrap(), 0);
    assert_eq!(primary.store.snapshot().sequence, 0);
    primary.link(&sectoral, "parent").await.unwrap();
    let signs_before = primary.keys.sign_calls.load(Ordering::SeqCst);
    assert_eq!(primary.registry.send_updates(&devices).await.unwrap(), 3);
    assert_eq!(
        primary.keys.sign_calls.load(Ordering::SeqCst) - signs_before,
        3
    );
    let sent = primary.outbox.drain();
    assert_eq!(sent.len(), 3);
    let public = primary.keys.public_key().await.unwrap();
    let mut counts = Vec::new();
    for (n, (inbox, message)) in sent.iter().enumerate() {
        assert_eq!(inbox, &sectoral.inbox);
        assert!(!message.contains(OWNER));
        let jws = jose::parse(message).unwrap();
        jws.verify(&public).unwrap();
        assert_eq!(jws.header().typ.as_deref(), Some(EXCHANGE_TYP));
        let claims = claims_of(message);
        assert_eq!(
            (claims.sender.as_str(), claims.origin.as_str()),
            (PRIMARY, PRIMARY)
        );
        assert_eq!(claims.seq, n as u64 + 1);
        let ExchangeBody::Update { items } = claims.body else {
            panic!("not an update");
        };
        counts.push(items.len());
    }
    assert_eq!(counts, [90, 90, 20]);
}

// Y.3059 7 iv f
// One unreachable inbox does not keep a message from the others; the failure is reported so
// the batch is retried.
#[tokio::test]
async fn one_failing_inbox_does_not_stop_the_others() {
    let geo = Node::geographical();
    let eu = Node::new("EU1", RegistryKind::Geographical, 8);
    let us = Node::new("US1", RegistryKind::Geographical, 9);
    geo.link(&eu, "peer").await.unwrap();
    geo.link(&us, "peer").await.unwrap();
    geo.outbox.fail_inbox(&eu.inbox);
    let devices = [device(GEOGRAPHICAL, 1, TrustStatus::Trusted)];
    let e = geo.registry.send_updates(&devices).await.unwrap_err();
    assert!(matches!(e, RegistryError::Notify(_)), "{e:?}");
    assert!(e.to_string().contains("EU1"));
    let sent = geo.outbox.drain();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, us.inbox);
}
