//! Links and the hierarchy's shape.

use super::*;
use crate::exchange::links::check_shape;
use crate::identifier::RegistryPath;

fn p(text: &str) -> RegistryPath {
    text.parse().unwrap()
}

// Y.3059 6.1 a
// A primary has one sectoral parent and nothing else; a sectoral a geographical parent and
// primary children; a geographical sectoral children and geographical peers.
#[test]
fn links_follow_the_shape_of_the_hierarchy() {
    use LinkKind::{Child, Parent, Peer};
    use RegistryKind::{Geographical, Primary, Sectoral};
    let allowed = [
        (Primary, PRIMARY, Parent, SECTORAL, true),
        (Primary, PRIMARY, Parent, "IN1.XYZ", false),
        (Primary, PRIMARY, Child, "IN1.HLT.P08", false),
        (Primary, PRIMARY, Peer, "IN1.HLT.P08", true),
        (Primary, PRIMARY, Peer, "IN1.ENR.P09", true),
        (Primary, PRIMARY, Peer, PRIMARY, false),
        (Primary, PRIMARY, Peer, "IN1.HLT", false),
        (Sectoral, SECTORAL, Parent, GEOGRAPHICAL, true),
        (Sectoral, SECTORAL, Parent, "EU1", false),
        (Sectoral, SECTORAL, Child, "IN1.HLT.P08", true),
        (Sectoral, SECTORAL, Child, "IN1.ENR.P08", false),
        (Sectoral, SECTORAL, Peer, "IN1.ENR", true),
        (Sectoral, SECTORAL, Peer, "EU1.HLT", true),
        (Sectoral, SECTORAL, Peer, SECTORAL, false),
        (Sectoral, SECTORAL, Peer, "IN1.ENR.P08", false),
        (Geographical, GEOGRAPHICAL, Child, SECTORAL, true),
        (Geographical, GEOGRAPHICAL, Child, PRIMARY, false),
        (Geographical, GEOGRAPHICAL, Peer, "EU1", true),
        (Geographical, GEOGRAPHICAL, Peer, GEOGRAPHICAL, false),
        (Geographical, GEOGRAPHICAL, Peer, "EU1.HLT", false),
        (Geographical, GEOGRAPHICAL, Parent, "EU1", false),
    ];
    for (own_kind, own, kind, other, ok) in allowed {
        let result = check_shape(own_kind, &p(own), kind, &p(other));
        assert_eq!(result.is_ok(), ok, "{own} {kind:?} {other}: {result:?}");
        if let Err(e) = result {
            assert_eq!(e.code(), "invalid-link");
        }
    }
}

// Y.3059 9.1 v
// An administrator links a parent; the registry document names it. A second parent is a
// conflict, the same one again a replacement; refusals are audited.
#[tokio::test]
async fn an_administrator_links_one_parent() {
    let primary = Node::primary();
    let sectoral = Node::sectoral();
    let link = primary.link(&sectoral, "parent").await.unwrap();
    assert_eq!(link.path, SECTORAL);
    assert_eq!(link.linked_by, "admin:ops");
    assert_eq!(link.public_key, sectoral.jwk().await);
    let again = primary.link(&sectoral, "parent").await.unwrap();
    assert_eq!(again.reg_id, "HLT");
    assert_eq!(primary.store.snapshot().links.len(), 1);
    let other = Node::new("IN1.XYZ", RegistryKind::Sectoral, 9);
    let conflict = primary.link(&other, "parent").await.unwrap_err();
    assert!(
        matches!(conflict, RegistryError::LinkConflict(_)),
        "{conflict:?}"
    );
    let document = primary.registry.registry_document().await.unwrap();
    assert_eq!(document.parent.as_deref(), Some(SECTORAL));
    assert!(document.peers.is_empty());
    assert_eq!(primary.audited("link-registry", Outcome::Accepted).len(), 2);
    assert_eq!(primary.audited("link-registry", Outcome::Rejected).len(), 1);
}

// Y.3059 9.1 v
// The other registry's key must be a public P-256 JWK, its inbox an https URL, its path end
// with its RegID, and only an administrator links.
#[tokio::test]
async fn link_requests_are_checked() {
    let sectoral = Node::sectoral();
    let good = json!({"kind": "child", "reg_id": "P07", "path": PRIMARY,
                      "public_key": Node::primary().jwk().await,
                      "inbox": "https://sqs.ap-south-1.amazonaws.com/123456789012/q"});
    let mut private = good.clone();
    private["public_key"]["d"] = json!("AAAA");
    let mut ftp = good.clone();
    ftp["inbox"] = json!("ftp://host/q");
    let mut mismatched = good.clone();
    mismatched["reg_id"] = json!("P08");
    let cases = [
        (private, "unsupported-key"),
        (ftp, "malformed-request"),
        (mismatched, "malformed-request"),
    ];
    for (claims, code) in cases {
        let request = sectoral.link_request(claims).await;
        let e = sectoral.registry.link_registry(&request).await.unwrap_err();
        assert_eq!(e.code(), code);
    }
    let not_admin = sectoral
        .signed_by(&key(0x44), "admin:mallory", good.clone())
        .await;
    assert!(matches!(
        sectoral.registry.link_registry(&not_admin).await,
        Err(RegistryError::BadSignature)
    ));
    assert!(sectoral.store.snapshot().links.is_empty());
    assert_eq!(
        sectoral.audited("link-registry", Outcome::Rejected).len(),
        4
    );
    let request = sectoral.link_request(good).await;
    sectoral.registry.link_registry(&request).await.unwrap();
    assert_eq!(sectoral.store.snapshot().links.len(), 1);
}

// Y.3059 9.1 v
// Exchange messages travel over TLS to a public host: an http inbox, or one at a private,
// link-local or loopback address, is refused and nothing is stored, except on a stack deployed
// for tests (`AllowLoopbackEndpoints`) for the emulator's own endpoints.
#[tokio::test]
async fn inboxes_are_https_but_for_the_emulator_on_a_test_stack() {
    let production = Node::sectoral();
    let test_stack = Node::configured(SECTORAL, RegistryKind::Sectoral, 2, |c| {
        c.loopback_endpoints = true;
    });
    let emulator = [
        "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/inbox",
        "http://localhost:4566/000000000000/inbox",
        "http://127.0.0.1:4566/000000000000/inbox",
        "https://127.0.0.1:4566/000000000000/inbox",
    ];
    let elsewhere = [
        "http://sqs.ap-south-1.amazonaws.com/123456789012/inbox",
        "http://localstack.cloud.example.org/inbox",
        "http://10.0.0.7:4566/000000000000/inbox",
        "https://10.0.0.7/000000000000/inbox",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]:8443/inbox",
    ];
    let tls = "https://sqs.ap-south-1.amazonaws.com/123456789012/inbox";
    let key = Node::primary().jwk().await;
    let claims = |inbox: &str| {
        json!({"kind": "child", "reg_id": "P07", "path": PRIMARY,
               "public_key": key, "inbox": inbox})
    };
    for (node, admitted) in [(&production, &[][..]), (&test_stack, &emulator[..])] {
        for inbox in emulator.iter().chain(&elsewhere) {
            let request = node.link_request(claims(inbox)).await;
            let result = node.registry.link_registry(&request).await;
            if admitted.contains(inbox) {
                assert_eq!(result.unwrap().inbox, *inbox);
            } else {
                let e = result.unwrap_err();
                assert_eq!(e.code(), "malformed-request", "{inbox}");
                assert!(e.to_string().contains("https://"), "{e}");
            }
        }
        let request = node.link_request(claims(tls)).await;
        node.registry.link_registry(&request).await.unwrap();
    }
    // The production node stored only the https link; the test stack each admitted one too,
    // each replacing the last (one child, P07).
    let stored = production.store.snapshot().links;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored.values().next().unwrap().inbox, tls);
    assert_eq!(
        production.audited("link-registry", Outcome::Rejected).len(),
        emulator.len() + elsewhere.len()
    );
    assert_eq!(
        test_stack.audited("link-registry", Outcome::Rejected).len(),
        elsewhere.len()
    );
    assert_eq!(
        test_stack.audited("link-registry", Outcome::Accepted).len(),
        emulator.len() + 1
    );
}

// Y.3059 6.1 a
// A geographical registry publishes its peers; without a linked parent, a registry's parent is
// the one its path names.
#[tokio::test]
async fn the_registry_document_names_peers_and_the_parent() {
    let geo = Node::geographical();
    let eu = Node::new("EU1", RegistryKind::Geographical, 8);
    geo.link(&eu, "peer").await.unwrap();
    let document = geo.registry.registry_document().await.unwrap();
    assert_eq!(document.peers, ["EU1"]);
    assert_eq!(document.parent, None);
    let unlinked = Node::sectoral().registry.registry_document().await.unwrap();
    assert_eq!(unlinked.parent.as_deref(), Some(GEOGRAPHICAL));
}
