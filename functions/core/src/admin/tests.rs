//! Signed administration of roots of trust on the in-memory fakes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use serde_json::{Value, json};

use super::*;
use crate::lookups::tests::device;
use crate::records::Outcome;
use crate::status::TrustStatus;
use crate::virtual_ids::tests::{Fixture, key};

fn ca_der(name: &str) -> Vec<u8> {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

async fn put(
    f: &Fixture,
    id: &str,
    kid: &str,
    claims: Value,
) -> Result<RootOfTrust, RegistryError> {
    let signer = if kid == "admin:ops" {
        f.admin.clone()
    } else {
        key(0x71)
    };
    let jws = f.signed(&signer, Some(kid), Purpose::Root, claims).await;
    f.registry.put_root_signed(id, &jws).await
}

async fn remove(f: &Fixture, id: &str) -> Result<u64, RegistryError> {
    let jws = f
        .signed(&f.admin, Some("admin:ops"), Purpose::Root, json!({}))
        .await;
    f.registry.remove_root_signed(id, &jws).await
}

// Y.3059 7 ii
// Y.3059 9.1 vi
// An administrator's signed root is accepted under the certificate's own id; a wrong id,
// another signer or unknown claims are refused and audited.
#[tokio::test]
async fn an_administrator_puts_a_root_under_its_own_id() {
    let f = Fixture::new();
    let der = ca_der("Acme CA");
    let id = rot::root_id_for(&der);
    let claims = json!({"name": "Acme", "certificate": STANDARD.encode(&der),
                        "rot_types": ["secure-element"],
                        "identifier_scopes": ["imei:35"]});
    let wrong_id = put(&f, &"0".repeat(64), "admin:ops", claims.clone()).await;
    assert!(matches!(wrong_id, Err(RegistryError::Malformed(_))));
    let mut extra = claims.clone();
    extra["comment"] = json!("hi");
    assert!(matches!(
        put(&f, &id, "admin:ops", extra).await,
        Err(RegistryError::Malformed(_))
    ));
    let mut not_base64 = claims.clone();
    not_base64["certificate"] = json!("%%%");
    assert!(matches!(
        put(&f, &id, "admin:ops", not_base64).await,
        Err(RegistryError::Malformed(_))
    ));
    assert!(matches!(
        put(&f, &id, "admin:mallory", claims.clone()).await,
        Err(RegistryError::BadSignature)
    ));
    assert!(f.store.snapshot().roots.is_empty());
    let root = put(&f, &id, "admin:ops", claims).await.unwrap();
    assert_eq!(root.id, id);
    assert_eq!(root.rot_types, ["secure-element"]);
    assert!(f.store.snapshot().roots.contains_key(&id));
    let audit = f.store.snapshot().audit;
    let accepted: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "accept-root" && a.outcome == Outcome::Accepted)
        .collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].actor, "admin:ops");
    assert_eq!(f.audited("accept-root", Outcome::Rejected), 4);
}

// Y.3059 7 ii
// Removing a root makes every device that chains to it unreliable (over several pages) and
// leaves the devices of other roots alone; an unknown root is not found.
#[tokio::test]
async fn removing_a_root_makes_its_devices_unreliable() {
    let f = Fixture::new();
    let root = RootOfTrust {
        id: "root".into(),
        name: "Acme".into(),
        certificate: String::new(),
        rot_types: vec!["secure-element".into()],
        identifier_scopes: vec!["imei:35".into()],
        revoked_intermediates: Vec::new(),
    };
    f.store.lock().roots.insert(root.id.clone(), root);
    for n in 0..(ROOT_DEVICES_PAGE as u32 + 5) {
        device(&f, n, None, |_| {}).await;
    }
    let other = device(&f, 900, None, |d| d.root_id = "other".into()).await;
    assert!(matches!(
        remove(&f, "unknown").await,
        Err(RegistryError::RootNotFound(_))
    ));
    assert_eq!(f.audited("remove-root", Outcome::Rejected), 1);
    let changed = remove(&f, "root").await.unwrap();
    assert_eq!(changed, ROOT_DEVICES_PAGE as u64 + 5);
    let state = f.store.snapshot();
    assert!(!state.roots.contains_key("root"));
    for (key, d) in &state.devices {
        if *key == other.to_string() {
            assert_eq!(d.status, TrustStatus::Trusted);
            assert!(!d.facts.root_revoked);
        } else {
            assert_eq!(d.status, TrustStatus::Unreliable, "{key}");
            assert!(d.facts.root_revoked);
        }
    }
    assert_eq!(f.audited("remove-root", Outcome::Accepted), 1);
    assert_eq!(
        f.audited("root-removed", Outcome::Accepted),
        changed as usize
    );
    assert!(matches!(
        remove(&f, "root").await,
        Err(RegistryError::RootNotFound(_))
    ));
}

// Y.3059 7 ii
// Revoking an intermediate CA (the root put again with `revoked_intermediates`) makes the
// devices whose chain went through it unreliable, over several pages of the root's devices,
// and no other; a malformed id is refused; a later put without it keeps the revocation and
// changes no device again.
#[tokio::test]
async fn revoking_an_intermediate_makes_its_devices_unreliable() {
    let f = Fixture::new();
    let der = ca_der("Acme CA");
    let id = rot::root_id_for(&der);
    let (bad, good) = ("a".repeat(64), "b".repeat(64));
    let claims = json!({"name": "Acme", "certificate": STANDARD.encode(&der),
                        "rot_types": ["secure-element"],
                        "identifier_scopes": ["imei:35"]});
    put(&f, &id, "admin:ops", claims.clone()).await.unwrap();
    let through = |intermediate: &str| {
        let (root, intermediate) = (id.clone(), intermediate.to_owned());
        move |d: &mut crate::records::DeviceRecord| {
            d.root_id = root;
            d.facts.intermediates = vec![intermediate];
        }
    };
    let mut cut = Vec::new();
    for n in 0..(ROOT_DEVICES_PAGE as u32 + 3) {
        cut.push(device(&f, n, None, through(&bad)).await);
    }
    let kept = device(&f, 900, None, through(&good)).await;

    let mut malformed = claims.clone();
    malformed["revoked_intermediates"] = json!(["ABC"]);
    assert!(matches!(
        put(&f, &id, "admin:ops", malformed).await,
        Err(RegistryError::Malformed(_))
    ));
    let mut revoking = claims.clone();
    revoking["revoked_intermediates"] = json!([bad]);
    let root = put(&f, &id, "admin:ops", revoking).await.unwrap();
    assert_eq!(root.revoked_intermediates, std::slice::from_ref(&bad));
    let state = f.store.snapshot();
    for regdevid in &cut {
        let d = &state.devices[&regdevid.to_string()];
        assert_eq!(d.status, TrustStatus::Unreliable, "{regdevid}");
        assert_eq!(d.reasons, [crate::status::Reason::IntermediateRevoked]);
    }
    assert_eq!(
        state.devices[&kept.to_string()].status,
        TrustStatus::Trusted
    );
    assert_eq!(
        f.audited("intermediate-revoked", Outcome::Accepted),
        cut.len()
    );

    let again = put(&f, &id, "admin:ops", claims).await.unwrap();
    assert_eq!(again.revoked_intermediates, [bad]);
    assert_eq!(
        f.audited("intermediate-revoked", Outcome::Accepted),
        cut.len()
    );
}

// Y.3059 7 ii
// A root put again without one of its root-of-trust types no longer vouches for the devices
// that claim it: they become unverified (reason `rot_type_withdrawn`), those of its other
// types stay; put back with the type, they are trusted again.
#[tokio::test]
async fn a_root_type_withdrawn_reaches_the_devices_that_claim_it() {
    let f = Fixture::new();
    let der = ca_der("Acme CA");
    let id = rot::root_id_for(&der);
    let claims = |types: &[&str]| {
        json!({"name": "Acme", "certificate": STANDARD.encode(&der), "rot_types": types,
               "identifier_scopes": ["imei:35"]})
    };
    put(&f, &id, "admin:ops", claims(&["secure-element", "tpm"]))
        .await
        .unwrap();
    let claiming = |kind: &str| {
        let (root, kind) = (id.clone(), kind.to_owned());
        move |d: &mut crate::records::DeviceRecord| {
            d.root_id = root;
            d.facts.rot_type = Some(kind);
        }
    };
    let tpm = device(&f, 1, None, claiming("tpm")).await;
    let se = device(&f, 2, None, claiming("secure-element")).await;
    let status = |regdevid: &crate::identifier::RegDevId| {
        let d = f.store.snapshot().devices[&regdevid.to_string()].clone();
        (d.status, d.reasons)
    };

    put(&f, &id, "admin:ops", claims(&["secure-element"]))
        .await
        .unwrap();
    assert_eq!(
        status(&tpm),
        (
            TrustStatus::Unverified,
            vec![crate::status::Reason::RotTypeWithdrawn]
        )
    );
    assert_eq!(status(&se), (TrustStatus::Trusted, vec![]));
    assert_eq!(f.audited("rot-types-changed", Outcome::Accepted), 1);

    put(&f, &id, "admin:ops", claims(&["secure-element", "tpm"]))
        .await
        .unwrap();
    assert_eq!(status(&tpm), (TrustStatus::Trusted, vec![]));
    assert_eq!(f.audited("rot-types-changed", Outcome::Accepted), 2);
}
