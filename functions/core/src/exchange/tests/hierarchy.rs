//! Three registries wired through their outboxes: primary -> sectoral -> geographical.

use super::*;
use crate::actors::Role;
use crate::sessions::tests::{enquirer, principal};

// Y.3059 6.1 c
// A device's change at the primary ends mirrored at the geographical registry, whose lookup
// answers from the mirror naming the origin and the age; a device unknown in both is not found.
#[tokio::test]
async fn a_change_at_the_primary_is_visible_at_the_top() {
    let (primary, sectoral, geo) = (Node::primary(), Node::sectoral(), Node::geographical());
    wire(&sectoral, &primary).await;
    wire(&geo, &sectoral).await;
    let nodes = [&primary, &sectoral, &geo];
    let d = primary.add_device(1, TrustStatus::Trusted);
    primary
        .registry
        .send_updates(std::slice::from_ref(&d))
        .await
        .unwrap();
    geo.clock.advance(5_000);
    let results = pump(&nodes).await;
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|(_, r)| matches!(r, Ok(Received::Applied { .. })))
    );
    let mut changed = d.clone();
    changed.status = TrustStatus::Unreliable;
    changed.status_since_ms = T0 + 1_000;
    primary.registry.send_updates(&[changed]).await.unwrap();
    pump(&nodes).await;
    let id = d.regdevid.to_string();
    let answer = geo
        .registry
        .lookup(Some(&enquirer()), &id)
        .await
        .unwrap()
        .device;
    assert_eq!(answer.status, TrustStatus::Unreliable);
    assert_eq!(answer.origin.as_deref(), Some(PRIMARY));
    assert_eq!(answer.registry, GEOGRAPHICAL);
    assert_eq!(
        answer.as_of.as_deref(),
        Some(crate::service::rfc3339(T0 + 5_000).as_str())
    );
    assert_eq!(answer.make.as_deref(), Some("Acme"));
    assert_eq!(answer.owner_id, None);
    let public = geo.registry.lookup(None, &id).await.unwrap().device;
    assert_eq!((public.make, public.regdevid), (None, None));
    assert_eq!(public.origin.as_deref(), Some(PRIMARY));
    let owner = principal(&format!("owner:{OWNER}"), Role::Owner);
    let as_owner = geo.registry.lookup(Some(&owner), &id).await.unwrap().device;
    assert_eq!(as_owner.owner, None);
    // At the primary itself the answer is its own, with no origin.
    let own = primary
        .registry
        .lookup(Some(&enquirer()), &id)
        .await
        .unwrap()
        .device;
    assert_eq!(own.origin, None);
    let unknown = format!("{PRIMARY}:imei:{}", imei(99));
    assert!(matches!(
        geo.registry.lookup(Some(&enquirer()), &unknown).await,
        Err(RegistryError::DeviceNotFound(_))
    ));
}
