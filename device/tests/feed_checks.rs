//! The device acts only on a feed the registry signed for it (Y.3059 9.4 i b): against a
//! scripted registry on the loopback, which answers the challenge, the feed and
//! `GET /v1/registry`, a feed of another device, or signed by a key the registry's does not
//! delegate, is refused.
#![allow(clippy::unwrap_used)]

mod common;

use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use trustreg_device::feed::FeedPage;
use trustreg_device::{ClientError, RegistryClient, SoftSecureElement, StoredRegistration};
use trustreg_model::evidence::{FEED_TYP, Feed};
use trustreg_model::jose::{self, JwsHeader};
use trustreg_model::statements::{DELEGATION_TYP, Delegation, StatementHeader};
use trustreg_model::status::TrustStatus;

const PATH: &str = "IN1.HLT.P07";
const REGDEVID: &str = "IN1.HLT.P07:imei:356938035643809";
const OTHER: &str = "IN1.HLT.P07:imei:490154203237518";

fn registry_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32].into()).unwrap()
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A feed of `regdevid` signed by a session key that `registry` delegates, as the registry
/// signs it (`Registry::delegated`).
fn feed_jws(registry: &SigningKey, regdevid: &str) -> String {
    let session = SigningKey::from_bytes(&[9u8; 32].into()).unwrap();
    let jwk = jose::jwk_from_key(session.verifying_key());
    let now = now_s();
    let delegation = Delegation {
        iss: PATH.into(),
        jwk: jwk.clone(),
        iat: now - 10,
        exp: now + 3600,
    };
    let dlg = jose::sign_with(
        registry,
        &JwsHeader::es256().with_typ(DELEGATION_TYP),
        &serde_json::to_vec(&delegation).unwrap(),
    );
    let feed = Feed {
        iss: PATH.into(),
        iat: now,
        regdevid: regdevid.into(),
        status: TrustStatus::Trusted,
        evidence_request: None,
        vulnerabilities: vec![],
        items: vec![],
        next: None,
    };
    let header = StatementHeader {
        jws: JwsHeader::es256()
            .with_typ(FEED_TYP)
            .with_kid(jose::jwk_thumbprint(&jwk)),
        dlg: &dlg,
    };
    jose::sign_with(&session, &header, &serde_json::to_vec(&feed).unwrap())
}

fn registered_device(name: &str) -> SoftSecureElement {
    let dir = std::env::temp_dir().join(format!("feed-checks-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let se = SoftSecureElement::create(&dir).unwrap();
    se.store_registration(&StoredRegistration {
        regdevid: REGDEVID.parse().unwrap(),
        credential: "unused".into(),
        acknowledged: true,
    })
    .unwrap();
    se
}

/// Fetches the feed from a scripted registry that answers `feed`.
async fn fetch(se: &SoftSecureElement, feed: String) -> Result<Feed, ClientError> {
    let published: Value = json!({"reg_id": "P07", "path": PATH, "type": "primary",
        "public_key": jose::jwk_from_key(registry_key().verifying_key())});
    let (url, _) = common::scripted(vec![
        (201, r#"{"nonce":"n-1","expires_at":"x"}"#.into()),
        (200, json!({ "feed": feed }).to_string()),
        (200, published.to_string()),
    ]);
    RegistryClient::new(url)
        .unwrap()
        .fetch_feed(se, FeedPage::default())
        .await
}

// Y.3059 9.4 i b
#[tokio::test]
async fn the_devices_own_feed_signed_by_the_registry_is_accepted() {
    let se = registered_device("own");
    let feed = fetch(&se, feed_jws(&registry_key(), REGDEVID))
        .await
        .unwrap();
    assert_eq!(feed.regdevid, REGDEVID);
}

#[tokio::test]
async fn another_devices_feed_is_refused() {
    let se = registered_device("other");
    let refused = fetch(&se, feed_jws(&registry_key(), OTHER)).await;
    assert!(matches!(refused, Err(ClientError::Feed(_))), "{refused:?}");
}

#[tokio::test]
async fn a_feed_the_registry_did_not_sign_is_refused() {
    let se = registered_device("forged");
    let forger = SigningKey::from_bytes(&[8u8; 32].into()).unwrap();
    let refused = fetch(&se, feed_jws(&forger, REGDEVID)).await;
    assert!(matches!(refused, Err(ClientError::Feed(_))), "{refused:?}");
}
