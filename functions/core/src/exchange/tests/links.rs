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
        (Primary, PRIMARY, Peer, "IN1.HLT.P08", false),
        (Sectoral, SECTORAL, Parent, GEOGRAPHICAL, true),
        (Sectoral, SECTORAL, Parent, "EU1", false),
        (Sectoral, SECTORAL, Child, "IN1.HLT.P08", true),
        (Sectoral, SECTORAL, Child, "IN1.ENR.P08", false),
        (Sectoral, SECTORAL, Peer, "IN1.ENR", false),
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
// The other registry's key must be a public P-256 JWK, its inbox an http(s) URL, its path end
// with its RegID, and only an administrator links.
#[tokio::test]
async fn link_requests_are_checked() {
    let sectoral = Node::sectoral();
    let good = json!({"kind": "child", "reg_id": "P07", "path": PRIMARY,
                      "public_key": Node::primary().jwk().await, "inbox": "http://localhost:4566/q"});
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
