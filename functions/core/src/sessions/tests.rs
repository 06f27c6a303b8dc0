//! Enquirers, logins and access tokens on the in-memory fakes. The helpers here serve the
//! lookup, statement, audit and admin tests too.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use p256::ecdsa::SigningKey;
use serde_json::json;

use super::*;
use crate::fakes::FakeRegistry;
use crate::fakes::MemoryKeys;
use crate::jose::JwsHeader;
use crate::records::Outcome;
use crate::virtual_ids::tests::{Fixture, T0, key};

/// A fixture whose registry key the test keeps, to count KMS signatures or share the key with
/// another registry (`path`).
pub(crate) fn keyed(path: &str, keys: Arc<MemoryKeys>) -> Fixture {
    let admin = key(0x0a);
    Fixture::on(
        FakeRegistry::builder()
            .path(path)
            .admin("ops", &admin)
            .keys(keys)
            .clock_at(T0),
        admin,
    )
}

pub(crate) fn principal(subject: &str, role: Role) -> Principal {
    Principal {
        subject: subject.into(),
        role,
        expires_at_ms: T0 + 900_000,
    }
}

pub(crate) fn admin() -> Principal {
    principal("admin:ops", Role::Admin)
}

pub(crate) fn enquirer() -> Principal {
    principal("enquirer:e1", Role::Enquirer)
}

fn request(signer: &SigningKey, role: Role) -> SignUpRequest {
    SignUpRequest {
        name: "Grace".into(),
        organisation: "Hopper Labs".into(),
        contact: "grace@example.org".into(),
        role,
        public_key: jose::jwk_from_key(signer.verifying_key()),
    }
}

/// A signed-up enquirer with the key `seed`: its id and key.
pub(crate) async fn signed_up(f: &Fixture, seed: u8) -> (String, SigningKey) {
    let k = key(seed);
    let view = f
        .registry
        .sign_up(request(&k, Role::Enquirer))
        .await
        .unwrap();
    (view.enquirer_id, k)
}

pub(crate) async fn decide(
    f: &Fixture,
    id: &str,
    decision: &str,
    role: Option<&str>,
) -> Result<EnquirerView, RegistryError> {
    let mut claims = json!({ "decision": decision });
    if let Some(role) = role {
        claims["role"] = json!(role);
    }
    let jws = f
        .signed(
            &f.admin,
            Some("admin:ops"),
            Purpose::EnquirerDecision,
            claims,
        )
        .await;
    f.registry.decide_enquirer(id, &jws).await
}

pub(crate) async fn login_as(
    f: &Fixture,
    signer: &SigningKey,
    kid: &str,
) -> Result<SessionResponse, RegistryError> {
    let jws = f
        .signed(
            signer,
            Some(kid),
            Purpose::Login,
            json!({ "enquirer_id": kid }),
        )
        .await;
    f.registry.login(&jws).await
}

/// An approved enquirer's access token.
pub(crate) async fn approved_token(f: &Fixture, seed: u8) -> (String, String) {
    let (id, k) = signed_up(f, seed).await;
    decide(f, &id, "approve", None).await.unwrap();
    let kid = format!("enquirer:{id}");
    (
        kid.clone(),
        login_as(f, &k, &kid).await.unwrap().access_token,
    )
}

fn unauthenticated(result: Result<Principal, RegistryError>) -> String {
    match result {
        Err(RegistryError::Unauthenticated(why)) => why,
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
}

// Y.3059 9.3 i a
// Y.3059 9.4 i a
// A sign-up is pending, keeps only the key's members, and stores the contact sealed under the
// enquirer's id, with its audit record.
#[tokio::test]
async fn a_sign_up_is_pending_with_its_contact_sealed() {
    let f = Fixture::new();
    let k = key(0x41);
    let mut asked = request(&k, Role::Agency);
    asked.public_key["use"] = json!("sig");
    let view = f.registry.sign_up(asked).await.unwrap();
    assert_eq!(view.state, EnquirerState::Pending);
    assert_eq!(view.role, Role::Agency);
    assert_eq!(view.enquirer_id.len(), 22);
    let stored = f.store.snapshot().enquirers[&view.enquirer_id].clone();
    let raw = serde_json::to_string(&stored).unwrap();
    assert!(!raw.contains("grace@example.org"));
    assert_eq!(stored.public_key, jose::jwk_from_key(k.verifying_key()));
    let sealed = URL_SAFE_NO_PAD.decode(&stored.contact_sealed).unwrap();
    let subject = format!("enquirer:{}", view.enquirer_id);
    let opened = f.registry.keys.open(&subject, &sealed).await.unwrap();
    assert_eq!(opened, b"grace@example.org");
    assert!(f.registry.keys.open("owner:x", &sealed).await.is_err());
    let audit = &f.store.snapshot().audit;
    assert!(audit.iter().any(|a| a.action == "enquirer-sign-up"
        && a.actor == subject
        && a.outcome == Outcome::Accepted));
}

// Y.3059 9.3 i a
// Y.3059 7 i c
// Bad sign-ups are refused and audited: roles other than enquirer or agency, private or
// foreign keys, empty or oversized texts.
#[tokio::test]
async fn bad_sign_ups_are_refused_and_audited() {
    let f = Fixture::new();
    let k = key(0x41);
    let mut with_private = request(&k, Role::Enquirer);
    with_private.public_key["d"] = json!("AAAA");
    let mut empty_name = request(&k, Role::Enquirer);
    empty_name.name = "  ".into();
    let mut long_contact = request(&k, Role::Enquirer);
    long_contact.contact = "x".repeat(257);
    let mut rsa = request(&k, Role::Enquirer);
    rsa.public_key = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
    let cases = [
        (request(&k, Role::Admin), "malformed-request"),
        (request(&k, Role::Owner), "malformed-request"),
        (with_private, "unsupported-key"),
        (empty_name, "malformed-request"),
        (long_contact, "malformed-request"),
        (rsa, "unsupported-key"),
    ];
    let count = cases.len();
    for (asked, code) in cases {
        let refused = f.registry.sign_up(asked).await.unwrap_err();
        assert_eq!(refused.code(), code, "{refused:?}");
    }
    let mut just_fits = request(&k, Role::Enquirer);
    just_fits.contact = "é".repeat(256);
    assert!(f.registry.sign_up(just_fits).await.is_ok());
    assert_eq!(f.audited("enquirer-sign-up", Outcome::Rejected), count);
    assert_eq!(f.store.snapshot().enquirers.len(), 1);
}

// Y.3059 9.3 iii
// Y.3059 9.3 i a
// Only an approved enquirer logs in: pending, rejected and revoked ones are refused with their
// state, and the refusals are audited under the claimed kid.
#[tokio::test]
async fn only_approved_enquirers_log_in() {
    let f = Fixture::new();
    let (id, k) = signed_up(&f, 0x42).await;
    let kid = format!("enquirer:{id}");
    let pending = login_as(&f, &k, &kid).await.unwrap_err();
    assert!(matches!(&pending, RegistryError::Forbidden(m) if m.contains("pending")));
    decide(&f, &id, "reject", None).await.unwrap();
    let rejected = login_as(&f, &k, &kid).await.unwrap_err();
    assert!(matches!(&rejected, RegistryError::Forbidden(m) if m.contains("rejected")));
    decide(&f, &id, "approve", None).await.unwrap();
    let session = login_as(&f, &k, &kid).await.unwrap();
    assert_eq!(session.token_type, "Bearer");
    assert_eq!(session.expires_in, 900);
    let who = f
        .registry
        .authenticate(&session.access_token)
        .await
        .unwrap();
    assert_eq!(who.subject, kid);
    assert_eq!(who.role, Role::Enquirer);
    assert_eq!(who.expires_at_ms, T0 + 900_000);
    decide(&f, &id, "revoke", None).await.unwrap();
    let revoked = login_as(&f, &k, &kid).await.unwrap_err();
    assert!(matches!(&revoked, RegistryError::Forbidden(m) if m.contains("revoked")));
    let audit = f.store.snapshot().audit;
    let refused_logins = audit
        .iter()
        .filter(|a| {
            a.action == "login"
                && a.outcome == Outcome::Rejected
                && a.actor == format!("unverified:{kid}")
        })
        .count();
    assert_eq!(refused_logins, 3);
    assert_eq!(f.audited("login", Outcome::Accepted), 1);
}

// Y.3059 9.3 iii
// Revoking an enquirer ends the tokens it holds, not only its next login: once the standing
// cache's lifetime has passed, the old token is refused.
#[tokio::test]
async fn a_revoked_enquirers_token_stops_working() {
    let f = Fixture::new();
    let (id, k) = signed_up(&f, 0x43).await;
    let kid = format!("enquirer:{id}");
    decide(&f, &id, "approve", None).await.unwrap();
    let token = login_as(&f, &k, &kid).await.unwrap().access_token;
    f.registry.authenticate(&token).await.unwrap();
    decide(&f, &id, "revoke", None).await.unwrap();
    f.clock.advance(super::STANDING_TTL_MS);
    let refused = unauthenticated(f.registry.authenticate(&token).await);
    assert!(refused.contains("revoked"), "{refused}");
}

// Y.3059 9.3 iii
// A login nonce is single-use: the same signed login replayed is refused.
#[tokio::test]
async fn a_replayed_login_is_refused() {
    let f = Fixture::new();
    let (id, k) = signed_up(&f, 0x43).await;
    decide(&f, &id, "approve", None).await.unwrap();
    let kid = format!("enquirer:{id}");
    let jws = f
        .signed(
            &k,
            Some(&kid),
            Purpose::Login,
            json!({ "enquirer_id": kid }),
        )
        .await;
    assert!(f.registry.login(&jws).await.is_ok());
    assert!(matches!(
        f.registry.login(&jws).await,
        Err(RegistryError::NonceInvalid)
    ));
}

// Y.3059 9.3 iii
// A login must be signed by the key the kid names, over a login nonce, repeating its kid; a
// kid of another kind of signer is unknown.
#[tokio::test]
async fn logins_that_do_not_prove_the_kid_are_refused() {
    let f = Fixture::new();
    let (id, k) = signed_up(&f, 0x44).await;
    decide(&f, &id, "approve", None).await.unwrap();
    let kid = format!("enquirer:{id}");
    let other_key = login_as(&f, &key(0x45), &kid).await.unwrap_err();
    assert!(matches!(other_key, RegistryError::BadSignature));
    let other_id = f
        .signed(
            &k,
            Some(&kid),
            Purpose::Login,
            json!({"enquirer_id": "enquirer:x"}),
        )
        .await;
    assert!(matches!(
        f.registry.login(&other_id).await,
        Err(RegistryError::Unauthenticated(_))
    ));
    let wrong_purpose = f
        .signed(
            &k,
            Some(&kid),
            Purpose::Register,
            json!({"enquirer_id": kid}),
        )
        .await;
    assert!(matches!(
        f.registry.login(&wrong_purpose).await,
        Err(RegistryError::NonceInvalid)
    ));
    let device = login_as(&f, &k, "IN1.HLT.P07:imei:356938035643809").await;
    assert!(matches!(device, Err(RegistryError::BadSignature)));
    let unknown = login_as(&f, &k, "enquirer:nobody").await;
    assert!(matches!(unknown, Err(RegistryError::BadSignature)));
    assert_eq!(f.audited("login", Outcome::Rejected), 5);
    assert_eq!(f.audited("login", Outcome::Accepted), 0);
}

// Y.3059 9.3 iii
// One form of each identifier (API.md "Identifiers"): a sign-up answers the enquirer's id and
// the kid its signatures name; a login names the signer by that id as answered, or by the
// whole kid as earlier clients did; another signer's id, bare or whole, is refused.
#[tokio::test]
async fn a_login_names_the_signer_by_the_id_sign_up_answered() {
    let f = Fixture::new();
    let (id, k) = signed_up(&f, 0x46).await;
    let view = decide(&f, &id, "approve", None).await.unwrap();
    assert_eq!(view.kid, format!("enquirer:{id}"));
    let login = |claimed: String| {
        let (f, k, kid) = (&f, &k, view.kid.clone());
        async move {
            let jws = f
                .signed(
                    k,
                    Some(&kid),
                    Purpose::Login,
                    json!({"enquirer_id": claimed}),
                )
                .await;
            f.registry.login(&jws).await
        }
    };
    let session = login(id.clone()).await.unwrap();
    let who = f
        .registry
        .authenticate(&session.access_token)
        .await
        .unwrap();
    assert_eq!(who.subject, view.kid);
    assert!(login(view.kid.clone()).await.is_ok());
    let (other, _) = signed_up(&f, 0x47).await;
    for claimed in [
        other.clone(),
        format!("enquirer:{other}"),
        String::new(),
        "enquirer:".into(),
    ] {
        assert!(
            matches!(
                login(claimed.clone()).await,
                Err(RegistryError::Unauthenticated(_))
            ),
            "{claimed}"
        );
    }
    let admin = f
        .signed(
            &f.admin,
            Some("admin:ops"),
            Purpose::Login,
            json!({"enquirer_id": "ops"}),
        )
        .await;
    assert!(f.registry.login(&admin).await.is_ok());
}

// Y.3059 9.3 iii
// Administrators log in with their configured key; their token says so.
#[tokio::test]
async fn an_administrator_logs_in() {
    let f = Fixture::new();
    let session = login_as(&f, &f.admin.clone(), "admin:ops").await.unwrap();
    let who = f
        .registry
        .authenticate(&session.access_token)
        .await
        .unwrap();
    assert_eq!(who, principal("admin:ops", Role::Admin));
}

// Y.3059 9.1 iv
// Y.3059 9.3 iii
// A login costs one KMS signature; authenticating its token costs none.
#[tokio::test]
async fn tokens_are_signed_once_and_verified_without_kms() {
    let keys = Arc::new(MemoryKeys::new(3));
    let f = keyed("IN1.HLT.P07", keys.clone());
    let (id, k) = signed_up(&f, 0x46).await;
    decide(&f, &id, "approve", None).await.unwrap();
    let before = keys.sign_calls.load(Ordering::SeqCst);
    let token = login_as(&f, &k, &format!("enquirer:{id}"))
        .await
        .unwrap()
        .access_token;
    assert_eq!(keys.sign_calls.load(Ordering::SeqCst), before + 1);
    for _ in 0..10 {
        f.registry.authenticate(&token).await.unwrap();
    }
    assert_eq!(keys.sign_calls.load(Ordering::SeqCst), before + 1);
    let jws = jose::parse(&token).unwrap();
    assert_eq!(jws.header().typ.as_deref(), Some("at+jwt"));
    assert_eq!(jws.header().kid.as_deref(), Some("memory-key"));
}

// Y.3059 9.3 iii
// Y.3059 9.1 iv
// A token is refused once expired, and a token of a skewed clock from the future.
#[tokio::test]
async fn an_expired_token_is_refused() {
    let f = Fixture::new();
    let (_, token) = approved_token(&f, 0x47).await;
    f.clock.advance(900_000 - 1_000);
    assert!(f.registry.authenticate(&token).await.is_ok());
    f.clock.advance(1_000);
    let why = unauthenticated(f.registry.authenticate(&token).await);
    assert!(why.contains("expired"), "{why}");
    assert!(!why.contains(&token));
}

// Y.3059 9.3 iii
// Y.3059 9.1 iv
// Tokens signed by another key, by this key for another registry, of another type, issued in
// the future, or garbage are all unauthenticated, and no refusal echoes the token.
#[tokio::test]
async fn foreign_and_forged_tokens_are_refused() {
    let keys = Arc::new(MemoryKeys::new(3));
    let here = keyed("IN1.HLT.P07", keys.clone());
    let elsewhere = keyed("IN1.HLT.P08", keys);
    let (_, foreign) = approved_token(&elsewhere, 0x48).await;
    let why = unauthenticated(here.registry.authenticate(&foreign).await);
    assert!(why.contains("another registry"), "{why}");

    let claims = |iat: u64| {
        json!({"iss": "IN1.HLT.P07", "sub": "admin:ops", "role": "admin",
               "iat": iat, "exp": iat + 900, "jti": "j"})
    };
    let header = JwsHeader::es256().with_typ("at+jwt").with_kid("memory-key");
    let forged = jose::sign_with(
        &key(0x49),
        &header,
        claims(T0 / 1000).to_string().as_bytes(),
    );
    let why = unauthenticated(here.registry.authenticate(&forged).await);
    assert!(why.contains("signature"), "{why}");

    let registry_signed = |typ: &'static str, iat: u64| {
        let registry = &here.registry;
        async move { registry.sign_statement(typ, &claims(iat)).await.unwrap() }
    };
    let genuine = registry_signed("at+jwt", T0 / 1000).await;
    assert!(here.registry.authenticate(&genuine).await.is_ok());
    let credential = registry_signed("trustreg-credential+jwt", T0 / 1000).await;
    unauthenticated(here.registry.authenticate(&credential).await);
    let future = registry_signed("at+jwt", T0 / 1000 + 120).await;
    let why = unauthenticated(here.registry.authenticate(&future).await);
    assert!(why.contains("future"), "{why}");
    let other_kid = jose::sign_with(
        &key(0x49),
        &JwsHeader::es256().with_typ("at+jwt").with_kid("other-key"),
        claims(T0 / 1000).to_string().as_bytes(),
    );
    unauthenticated(here.registry.authenticate(&other_kid).await);
    for garbage in ["", "a.b.c", "Bearer x", &genuine[..genuine.len() - 4]] {
        let why = unauthenticated(here.registry.authenticate(garbage).await);
        assert!(garbage.is_empty() || !why.contains(garbage), "{why}");
    }
}

// Y.3059 9.3 i a
// An administrator's decisions follow the enquirer's life: approve from pending, rejected or
// revoked; reject only pending; revoke only approved. Others are invalid transitions, unknown
// enquirers are not found, and a role may change to enquirer or agency only.
#[tokio::test]
async fn decisions_follow_the_enquirer_lifecycle() {
    let f = Fixture::new();
    let (id, k) = signed_up(&f, 0x4a).await;
    let invalid = |r: Result<EnquirerView, RegistryError>| {
        matches!(r, Err(RegistryError::InvalidTransition(_)))
    };
    assert!(invalid(decide(&f, &id, "revoke", None).await));
    let approved = decide(&f, &id, "approve", Some("agency")).await.unwrap();
    assert_eq!(approved.state, EnquirerState::Approved);
    assert_eq!(approved.role, Role::Agency);
    assert_eq!(approved.decided_by.as_deref(), Some("admin:ops"));
    assert!(invalid(decide(&f, &id, "reject", None).await));
    assert!(invalid(decide(&f, &id, "approve", None).await));
    let kid = format!("enquirer:{id}");
    let token = login_as(&f, &k, &kid).await.unwrap().access_token;
    assert_eq!(
        f.registry.authenticate(&token).await.unwrap().role,
        Role::Agency
    );
    assert!(matches!(
        decide(&f, &id, "revoke", Some("admin")).await,
        Err(RegistryError::Malformed(_))
    ));
    assert!(matches!(
        decide(&f, "nobody", "approve", None).await,
        Err(RegistryError::EnquirerNotFound(_))
    ));
    let stored = &f.store.snapshot().enquirers[&id];
    assert_eq!(stored.decided_at_ms, Some(T0));
    assert_eq!(stored.version, 2);
    let by_enquirer = f
        .signed(
            &k,
            Some(&kid),
            Purpose::EnquirerDecision,
            json!({"decision": "approve"}),
        )
        .await;
    assert!(matches!(
        f.registry.decide_enquirer(&id, &by_enquirer).await,
        Err(RegistryError::Forbidden(_))
    ));
    assert_eq!(f.audited("enquirer-decision", Outcome::Accepted), 1);
    assert_eq!(f.audited("enquirer-decision", Outcome::Rejected), 6);
}

// Y.3059 9.3 i a
// Y.3059 7 i c
// Only administrators list enquirers, oldest first, 50 a page; others are refused and audited.
#[tokio::test]
async fn administrators_list_enquirers_by_state() {
    let f = Fixture::new();
    let mut ids = Vec::new();
    for seed in 0..52u8 {
        ids.push(signed_up(&f, 0x50 + seed).await.0);
        f.clock.advance(1);
    }
    decide(&f, &ids[3], "approve", None).await.unwrap();
    let first = f
        .registry
        .list_enquirers(Some(&admin()), EnquirerState::Pending, None)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 50);
    assert_eq!(first.items[0].enquirer_id, ids[0]);
    assert!(first.items.iter().all(|e| e.enquirer_id != ids[3]));
    let second = f
        .registry
        .list_enquirers(
            Some(&admin()),
            EnquirerState::Pending,
            first.next.as_deref(),
        )
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].enquirer_id, ids[51]);
    assert_eq!(second.next, None);
    let approved = f
        .registry
        .list_enquirers(Some(&admin()), EnquirerState::Approved, None)
        .await
        .unwrap();
    assert_eq!(approved.items.len(), 1);
    assert!(matches!(
        f.registry
            .list_enquirers(Some(&enquirer()), EnquirerState::Pending, None)
            .await,
        Err(RegistryError::Forbidden(_))
    ));
    assert!(matches!(
        f.registry
            .list_enquirers(None, EnquirerState::Pending, None)
            .await,
        Err(RegistryError::Unauthenticated(_))
    ));
    let audit = f.store.snapshot().audit;
    let refused: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "list-enquirers" && a.outcome == Outcome::Rejected)
        .map(|a| a.actor.as_str())
        .collect();
    assert_eq!(refused, ["enquirer:e1", "public"]);
}

// Y.3059 7 i c
// The HTTP layer's refusals are audited with their code.
#[tokio::test]
async fn refusals_reported_by_the_http_layer_are_audited() {
    let f = Fixture::new();
    let refusal = RegistryError::Unauthenticated("an access token is required".into());
    f.registry
        .audit_refusal("public", "status-list", Some("trusted".into()), &refusal)
        .await;
    let audit = f.store.snapshot().audit;
    let record = audit.last().unwrap();
    assert_eq!(record.actor, "public");
    assert_eq!(record.outcome, Outcome::Rejected);
    assert_eq!(record.code.as_deref(), Some("unauthenticated"));
}
