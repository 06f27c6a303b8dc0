//! Every route of `ROUTES` against every role, through the routers of the three functions on
//! the in-memory fakes: admitted roles get their answer, the others 401 (no credential) or
//! 403 (a role the route does not admit), and refusals are audited. Credentials are real: an
//! access token from `POST /v1/sessions` for the roles that log in, a JWS signed with the
//! role's key over a fresh nonce for signed routes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use trustreg_core::actors::Role;
use trustreg_core::fakes::FakeRegistry;
use trustreg_core::fakes::{MemoryBroker, MemoryNotifier, MemoryOutbox};
use trustreg_core::identifier::{Identifier, Scheme};
use trustreg_core::jose::{self, JwsHeader};
use trustreg_core::messages::{
    AcknowledgementClaims, IdentifierClaim, Purpose, RegistrationClaims,
};
use trustreg_core::records::{AuditRecord, Outcome};
use trustreg_core::sessions::SignUpRequest;
use trustreg_core::vulnerabilities::FIRST_BATCH;
use trustreg_device::bulk::body_claims;
use trustreg_device::client::{acknowledgement_jws, registration_jws};
use trustreg_device::{ManufacturerCa, SoftSecureElement};
use trustreg_http::{ROUTES, RouteSpec};

mod support;
use support::{Harness, Reply, now_ms};

const PATH: &str = "IN1.HLT.P07";
const IMEI: &str = "356938035643809";
const JOSE: &str = "application/jose";
const ADMIN: &str = "admin:alice";

/// The callers of the matrix; `Public` is anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Public,
    Device,
    Owner,
    Manufacturer,
    Enquirer,
    Agency,
    Admin,
}

const EVERYONE: [Who; 7] = [
    Who::Public,
    Who::Device,
    Who::Owner,
    Who::Manufacturer,
    Who::Enquirer,
    Who::Agency,
    Who::Admin,
];

impl Who {
    fn role(self) -> Option<Role> {
        match self {
            Who::Public => None,
            Who::Device => Some(Role::Device),
            Who::Owner => Some(Role::Owner),
            Who::Manufacturer => Some(Role::Manufacturer),
            Who::Enquirer => Some(Role::Enquirer),
            Who::Agency => Some(Role::Agency),
            Who::Admin => Some(Role::Admin),
        }
    }

    /// Devices and manufacturers sign, but never log in: they hold no access token.
    fn logs_in(self) -> bool {
        matches!(self, Who::Owner | Who::Enquirer | Who::Agency | Who::Admin)
    }
}

/// How a route's caller proves who it is, as docs/API.md's role table says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    None,
    Certificate,
    Signature,
    Token,
}

/// One row of docs/API.md's role table: the independent expectation of the matrix (the code's
/// own `ROUTES` only says which function serves a route).
#[derive(Debug)]
struct Documented {
    method: String,
    path: String,
    credential: Credential,
    admits: Vec<Who>,
}

/// The role table of docs/API.md ("Who may call what").
fn role_table() -> Vec<Documented> {
    let text = include_str!("../../../docs/API.md");
    let section = text
        .split("## Who may call what")
        .nth(1)
        .expect("docs/API.md has its role table");
    section
        .lines()
        .skip_while(|l| !l.starts_with("|---"))
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let [method, path, credential, admits] = cells.as_slice() else {
                panic!("a role table row has four cells: {line}");
            };
            let credential = match *credential {
                "none" => Credential::None,
                "certificate" => Credential::Certificate,
                "signature" => Credential::Signature,
                "token" => Credential::Token,
                other => panic!("unknown credential {other:?} in {line}"),
            };
            let admits = if *admits == "anyone" {
                EVERYONE.to_vec()
            } else {
                admits
                    .split(',')
                    .map(|role| {
                        *EVERYONE
                            .iter()
                            .find(|w| w.role().is_some_and(|r| r.as_str() == role.trim()))
                            .unwrap_or_else(|| panic!("unknown role {role:?} in {line}"))
                    })
                    .collect()
            };
            Documented {
                method: (*method).to_owned(),
                path: path.trim_matches('`').to_owned(),
                credential,
                admits,
            }
        })
        .collect()
}

fn documented(route: &RouteSpec) -> Option<Documented> {
    role_table()
        .into_iter()
        .find(|d| d.method == route.method && d.path == route.path)
}

fn admitted(route: &RouteSpec, who: Who) -> bool {
    documented(route).is_some_and(|d| d.admits.contains(&who))
}

/// What an admitted caller gets from each route (with the matrix's requests, which are
/// valid for it). One row per route of `ROUTES`.
const ANSWERS: &[(&str, &str, u16)] = &[
    ("POST", "/v1/challenges", 201),
    // The device is registered already: a repeat with the same key is 200.
    ("POST", "/v1/registrations", 200),
    ("POST", "/v1/devices/{regdevid}/acknowledgement", 200),
    ("POST", "/v1/devices/{regdevid}/reports", 201),
    ("POST", "/v1/bulk/registrations", 207),
    ("POST", "/v1/devices/{regdevid}/virtual-ids", 201),
    ("POST", "/v1/owners", 201),
    ("POST", "/v1/owners/{owner_id}/verification", 200),
    ("POST", "/v1/devices/{regdevid}/transfer", 200),
    ("POST", "/v1/devices/{regdevid}/transfer/accept", 200),
    ("POST", "/v1/devices/{regdevid}/holds", 200),
    ("POST", "/v1/devices/{regdevid}/holds/{kind}/release", 200),
    ("POST", "/v1/devices/{regdevid}/deregistration", 200),
    ("POST", "/v1/devices/{regdevid}/owner/revocation", 200),
    ("POST", "/v1/devices/{regdevid}/evidence-requests", 202),
    ("POST", "/v1/devices/{regdevid}/feed", 200),
    ("POST", "/v1/enquirers", 201),
    ("POST", "/v1/sessions", 200),
    ("GET", "/v1/devices/{id}", 200),
    ("GET", "/v1/devices", 200),
    ("GET", "/v1/devices/{id}/history", 200),
    ("GET", "/v1/devices/{id}/vulnerabilities", 200),
    ("POST", "/v1/bulk/lookups", 200),
    ("GET", "/v1/registry", 200),
    ("GET", "/v1/registry/practice-statement", 200),
    ("GET", "/v1/openapi.json", 200),
    ("POST", "/v1/subscriptions", 201),
    ("GET", "/v1/subscriptions", 200),
    ("DELETE", "/v1/subscriptions/{id}", 204),
    ("GET", "/v1/status-lists/{status}", 200),
    ("GET", "/v1/statistics", 200),
    ("PUT", "/v1/admin/trust-domains/{name}", 200),
    ("PUT", "/v1/admin/roots/{id}", 200),
    ("DELETE", "/v1/admin/roots/{id}", 200),
    ("GET", "/v1/admin/enquirers", 200),
    ("POST", "/v1/admin/enquirers/{id}/decision", 200),
    ("POST", "/v1/vulnerabilities", 202),
    ("POST", "/v1/vulnerabilities/{id}/apply", 200),
    ("POST", "/v1/vulnerabilities/{id}/fixed", 200),
    ("GET", "/v1/audit", 200),
    ("GET", "/v1/audit/checkpoint", 200),
    ("GET", "/v1/audit/tile/{*path}", 200),
    ("GET", "/v1/audit/proofs/inclusion", 200),
    ("GET", "/v1/audit/proofs/consistency", 200),
    ("POST", "/v1/admin/notifications", 200),
    ("POST", "/v1/admin/links", 201),
];

/// Where the registry answers otherwise than the rule (401 without a credential, 403 for a
/// role not admitted), with the code it answers and why. Each must still differ from the rule:
/// once the core follows it, the entry goes.
const DEVIATIONS: &[(&str, &str, Who, u16, &str)] = &[];

/// The code the rule expects for a caller the route does not admit.
fn refusal(route: &RouteSpec, who: Who) -> u16 {
    match documented(route).map(|d| d.credential) {
        // The certificate chain is the credential and part of the body: a registration without
        // `x5c` is a malformed request.
        Some(Credential::Certificate) => 400,
        Some(Credential::Token) if !who.logs_in() => 401,
        _ if who == Who::Public => 401,
        _ => 403,
    }
}

/// Admitted callers whose valid request gets another success than the route's row: an owner's
/// transfer is an offer, which waits for the receiving owner (202).
const ROLE_ANSWERS: &[(&str, &str, Who, u16)] =
    &[("POST", "/v1/devices/{regdevid}/transfer", Who::Owner, 202)];

fn expected(route: &RouteSpec, who: Who) -> Option<u16> {
    if let Some((.., code, _)) = DEVIATIONS
        .iter()
        .find(|(m, p, w, ..)| *m == route.method && *p == route.path && *w == who)
    {
        return Some(*code);
    }
    let ok = ANSWERS
        .iter()
        .find(|(m, p, _)| *m == route.method && *p == route.path)?
        .2;
    let ok = ROLE_ANSWERS
        .iter()
        .find(|(m, p, w, _)| *m == route.method && *p == route.path && *w == who)
        .map_or(ok, |(.., code)| *code);
    documented(route)?;
    Some(if admitted(route, who) {
        ok
    } else {
        refusal(route, who)
    })
}

fn key(seed: u8) -> SigningKey {
    let mut bytes = [seed; 32];
    bytes[0] = 0x01;
    SigningKey::from_bytes(&bytes.into()).unwrap()
}

/// The router fixture's registry with a registered, acknowledged device owned by an owner, an
/// approved enquirer and agency, a second owner, an administrator, and the access tokens of
/// those that log in.
struct World {
    h: Harness,
    se: SoftSecureElement,
    identifier: Identifier,
    regdevid: String,
    keys: HashMap<Who, SigningKey>,
    kids: HashMap<Who, String>,
    owner2: String,
    tokens: HashMap<Who, String>,
}

/// The world's registry, store, clock and routers are the harness's.
impl std::ops::Deref for World {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.h
    }
}

impl World {
    async fn new() -> Self {
        let admin = key(0x0a);
        let h = Harness::on(
            FakeRegistry::builder()
                .path(PATH)
                .admin("alice", &admin)
                .key_seed(5)
                // Certificates are checked against the registry's clock: it starts at the real
                // time.
                .clock_at(now_ms())
                .broker(Arc::new(MemoryBroker::default()))
                .notifier(Arc::new(MemoryNotifier::default()))
                .outbox(Arc::new(MemoryOutbox::default())),
        )
        .manufacturer("Matrix CA")
        .build()
        .await;
        let identifier = Identifier::parse(Scheme::Imei, IMEI).unwrap();
        let se = SoftSecureElement::create(h.scratch("se")).unwrap();
        let leaf = h
            .ca()
            .issue_device_cert(&se.public_key(), &identifier, 30)
            .unwrap();
        se.store_chain(&[leaf.der]).unwrap();
        let mut world = World {
            h,
            se,
            identifier,
            regdevid: String::new(),
            keys: HashMap::from([
                (Who::Admin, admin),
                (Who::Owner, key(0x31)),
                (Who::Enquirer, key(0x41)),
                (Who::Agency, key(0x51)),
                // Nobody registered this key: the anonymous caller's.
                (Who::Public, key(0x61)),
            ]),
            kids: HashMap::from([
                (Who::Admin, ADMIN.to_owned()),
                (Who::Public, "enquirer:nobody".to_owned()),
            ]),
            owner2: String::new(),
            tokens: HashMap::new(),
        };
        world.set_up().await;
        world
    }

    async fn set_up(&mut self) {
        let done = self
            .registry
            .register(&self.registration().await)
            .await
            .unwrap();
        self.regdevid = done.response.regdevid;
        self.kids.insert(Who::Device, self.regdevid.clone());
        self.kids.insert(
            Who::Manufacturer,
            format!(
                "manufacturer:{}",
                trustreg_core::rot::root_id_for(self.ca().cert_der())
            ),
        );
        let ack = acknowledgement_jws(
            &self.se,
            &AcknowledgementClaims {
                nonce: self.nonce(Purpose::Acknowledge).await,
                regdevid: self.regdevid.clone(),
            },
        )
        .unwrap();
        self.registry
            .acknowledge(&self.regdevid, &ack)
            .await
            .unwrap();
        // The audit log holds the records so far, under a signed checkpoint.
        let audit = self.store.snapshot().audit;
        self.registry.sequence(&audit).await.unwrap();

        let owner = self
            .self_registration(&self.keys[&Who::Owner], "Ada Lovelace")
            .await;
        let owner = self.registry.register_owner(&owner).await.unwrap().owner_id;
        self.kids.insert(Who::Owner, format!("owner:{owner}"));
        let owner2 = self.self_registration(&key(0x32), "Grace Hopper").await;
        self.owner2 = self
            .registry
            .register_owner(&owner2)
            .await
            .unwrap()
            .owner_id;
        let transfer = self
            .signed(
                Who::Admin,
                Purpose::Transfer,
                json!({"new_owner_id": owner}),
            )
            .await;
        self.registry
            .transfer(&self.regdevid, &transfer)
            .await
            .unwrap();

        for (who, role) in [(Who::Enquirer, Role::Enquirer), (Who::Agency, Role::Agency)] {
            let view = self
                .registry
                .sign_up(SignUpRequest {
                    name: format!("{role:?} one"),
                    organisation: "Example Org".into(),
                    contact: "ops@example.org".into(),
                    role,
                    public_key: jose::jwk_from_key(self.keys[&who].verifying_key()),
                })
                .await
                .unwrap();
            let approve = self
                .signed(
                    Who::Admin,
                    Purpose::EnquirerDecision,
                    json!({"decision": "approve"}),
                )
                .await;
            self.registry
                .decide_enquirer(&view.enquirer_id, &approve)
                .await
                .unwrap();
            self.kids
                .insert(who, format!("enquirer:{}", view.enquirer_id));
        }
        for who in EVERYONE.into_iter().filter(|w| w.logs_in()) {
            let token = self.registry.login(&self.login(who).await).await.unwrap();
            self.tokens.insert(who, token.access_token);
        }
    }

    async fn nonce(&self, purpose: Purpose) -> String {
        self.registry.challenge(purpose).await.unwrap().nonce
    }

    async fn registration(&self) -> String {
        let claims = RegistrationClaims {
            tpm: None,
            nonce: self.nonce(Purpose::Register).await,
            identifier: IdentifierClaim {
                scheme: self.identifier.scheme(),
                value: self.identifier.value().to_owned(),
            },
            device: serde_json::from_value(json!({
                "make": "Acme", "model": "Sensor-1", "firmware_version": "1.0.0",
                "software_version": "1.0.0", "rot": {"type": "secure-element"}
            }))
            .unwrap(),
            owner: None,
            trust_domains: vec!["health".into()],
        };
        registration_jws(&self.se, &claims).unwrap()
    }

    async fn self_registration(&self, k: &SigningKey, name: &str) -> String {
        let claims = json!({
            "nonce": self.nonce(Purpose::Owner).await,
            "kind": "owner",
            "attributes": {"name": name, "email": "owner@example.org"},
            "public_key": jose::jwk_from_key(k.verifying_key()),
        });
        let claims = trustreg_core::binding::bind(claims, "POST", "/v1/owners");
        jose::sign_with(k, &JwsHeader::es256(), claims.to_string().as_bytes())
    }

    /// `payload` signed by `who` with its key, named by its kid.
    fn sign_payload(&self, who: Who, payload: &[u8]) -> String {
        match who {
            Who::Device => self
                .se
                .sign_jws(&JwsHeader::es256().with_kid(self.regdevid.clone()), payload),
            Who::Manufacturer => self.ca().sign_jws(payload).unwrap(),
            _ => jose::sign_with(
                &self.keys[&who],
                &JwsHeader::es256().with_kid(self.kids[&who].clone()),
                payload,
            ),
        }
    }

    /// `claims` with a fresh nonce for `purpose`, to be signed for the request they are sent in.
    async fn unsent(&self, purpose: Purpose, mut claims: Value) -> Payload {
        claims["nonce"] = json!(self.nonce(purpose).await);
        Payload::Claims(claims)
    }

    /// `claims` with a fresh nonce for `purpose`, signed by `who`.
    async fn signed(&self, who: Who, purpose: Purpose, mut claims: Value) -> String {
        claims["nonce"] = json!(self.nonce(purpose).await);
        self.sign_payload(who, claims.to_string().as_bytes())
    }

    async fn login(&self, who: Who) -> String {
        let kid = self.kids[&who].clone();
        let claims = json!({"enquirer_id": kid, "nonce": self.nonce(Purpose::Login).await});
        let claims = trustreg_core::binding::bind(claims, "POST", "/v1/sessions");
        self.sign_payload(who, claims.to_string().as_bytes())
    }

    /// A vulnerability of the device, reported by the administrator.
    async fn vulnerability(&self) -> String {
        let report = self
            .signed(
                Who::Admin,
                Purpose::Vulnerability,
                json!({"severity": 9.0, "summary": "overflow",
                       "target": {"regdevids": [self.regdevid]}}),
            )
            .await;
        self.registry
            .report_vulnerability(&report, FIRST_BATCH)
            .await
            .unwrap()
            .id
    }

    /// `who` calls `route` with its credential and a body valid for an admitted caller; `None`
    /// for a route this matrix does not know.
    async fn call(&self, route: &RouteSpec, who: Who) -> Option<Reply> {
        let d = &self.regdevid;
        let jws = |purpose, claims| self.unsent(purpose, claims);
        let (uri, body) = match (route.method, route.path) {
            ("POST", "/v1/challenges") => (
                route.path.into(),
                Payload::Json(json!({"purpose": "login"})),
            ),
            ("POST", "/v1/registrations") => {
                let body = if who == Who::Device {
                    Payload::Jws(self.registration().await)
                } else {
                    // Everyone else signs the same claims with its own key: no chain.
                    let claims = json!({
                        "identifier": {"scheme": "imei", "value": IMEI},
                        "device": {"make": "Acme", "model": "Sensor-1",
                                   "firmware_version": "1.0.0", "software_version": "1.0.0",
                                   "rot": {"type": "secure-element"}},
                        "trust_domains": ["health"],
                    });
                    jws(Purpose::Register, claims).await
                };
                (route.path.into(), body)
            }
            ("POST", "/v1/devices/{regdevid}/acknowledgement") => (
                format!("/v1/devices/{d}/acknowledgement"),
                jws(Purpose::Acknowledge, json!({"regdevid": d})).await,
            ),
            ("POST", "/v1/devices/{regdevid}/reports") => (
                format!("/v1/devices/{d}/reports"),
                jws(
                    Purpose::Report,
                    json!({"firmware_version": "1.0.1", "software_version": "1.0.1"}),
                )
                .await,
            ),
            ("POST", "/v1/bulk/registrations") => {
                // One item that is not a device: the request is admitted, the item fails.
                let body = "[{}]".to_owned();
                let signature = if who == Who::Public {
                    None
                } else {
                    let claims = body_claims(self.nonce(Purpose::Bulk).await, body.as_bytes());
                    Some(self.sign_payload(who, &serde_json::to_vec(&claims).unwrap()))
                };
                (route.path.into(), Payload::Bulk(body, signature))
            }
            ("POST", "/v1/devices/{regdevid}/virtual-ids") => (
                format!("/v1/devices/{d}/virtual-ids"),
                jws(Purpose::VirtualId, json!({"ttl_seconds": 60})).await,
            ),
            ("POST", "/v1/owners") => {
                let body = if who == Who::Owner {
                    // Self-service: a new owner proves the key its claims carry.
                    Payload::Jws(self.self_registration(&key(0x33), "Alan Turing").await)
                } else {
                    let claims = json!({"kind": "owner", "attributes": {"name": "Alan Turing"}});
                    jws(Purpose::Owner, claims).await
                };
                (route.path.into(), body)
            }
            ("POST", "/v1/owners/{owner_id}/verification") => (
                format!("/v1/owners/{}/verification", self.owner2),
                jws(Purpose::OwnerVerification, json!({"state": "verified"})).await,
            ),
            ("POST", "/v1/devices/{regdevid}/transfer") => (
                format!("/v1/devices/{d}/transfer"),
                jws(Purpose::Transfer, json!({"new_owner_id": self.owner2})).await,
            ),
            ("POST", "/v1/devices/{regdevid}/transfer/accept") => {
                // The owner's device passes to the second owner, who offers it back.
                let to_second = self
                    .signed(
                        Who::Admin,
                        Purpose::Transfer,
                        json!({"new_owner_id": self.owner2}),
                    )
                    .await;
                self.registry.transfer(d, &to_second).await.unwrap();
                let owner = self.kids[&Who::Owner].trim_start_matches("owner:");
                let offer = json!({"nonce": self.nonce(Purpose::Transfer).await,
                                   "new_owner_id": owner});
                let offer = jose::sign_with(
                    &key(0x32),
                    &JwsHeader::es256().with_kid(format!("owner:{}", self.owner2)),
                    offer.to_string().as_bytes(),
                );
                self.registry.transfer(d, &offer).await.unwrap();
                (
                    format!("/v1/devices/{d}/transfer/accept"),
                    jws(Purpose::Transfer, json!({})).await,
                )
            }
            ("POST", "/v1/devices/{regdevid}/holds") => (
                format!("/v1/devices/{d}/holds"),
                jws(Purpose::Hold, json!({"regdevid": d, "kind": "stolen"})).await,
            ),
            ("POST", "/v1/devices/{regdevid}/holds/{kind}/release") => {
                // An owner releases the holds it placed (an administrator's are the
                // administrator's to release).
                let placer = if who == Who::Owner {
                    Who::Owner
                } else {
                    Who::Admin
                };
                let hold = self
                    .signed(
                        placer,
                        Purpose::Hold,
                        json!({"regdevid": d, "kind": "stolen"}),
                    )
                    .await;
                self.registry.place_hold(d, &hold).await.unwrap();
                (
                    format!("/v1/devices/{d}/holds/stolen/release"),
                    jws(Purpose::Hold, json!({"regdevid": d, "kind": "stolen"})).await,
                )
            }
            ("POST", "/v1/devices/{regdevid}/deregistration") => (
                format!("/v1/devices/{d}/deregistration"),
                jws(
                    Purpose::Deregister,
                    json!({"regdevid": d, "reason": "decommissioned"}),
                )
                .await,
            ),
            ("POST", "/v1/devices/{regdevid}/evidence-requests") => (
                format!("/v1/devices/{d}/evidence-requests"),
                jws(Purpose::EvidenceRequest, json!({"regdevid": d})).await,
            ),
            ("POST", "/v1/devices/{regdevid}/feed") => (
                format!("/v1/devices/{d}/feed"),
                jws(Purpose::Feed, json!({"regdevid": d})).await,
            ),
            ("POST", "/v1/devices/{regdevid}/owner/revocation") => (
                format!("/v1/devices/{d}/owner/revocation"),
                jws(Purpose::Transfer, json!({"regdevid": d})).await,
            ),
            ("POST", "/v1/enquirers") => (
                route.path.into(),
                Payload::Json(json!({
                    "name": "New one", "organisation": "Example Org",
                    "contact": "new@example.org", "role": "enquirer",
                    "public_key": jose::jwk_from_key(key(0x71).verifying_key()),
                })),
            ),
            ("POST", "/v1/sessions") => (route.path.into(), Payload::Jws(self.login(who).await)),
            ("GET", "/v1/devices/{id}") => (format!("/v1/devices/{d}"), Payload::None),
            ("GET", "/v1/devices") => ("/v1/devices?make=Acme&status=".into(), Payload::None),
            ("GET", "/v1/devices/{id}/history") => {
                (format!("/v1/devices/{d}/history"), Payload::None)
            }
            ("GET", "/v1/devices/{id}/vulnerabilities") => {
                (format!("/v1/devices/{d}/vulnerabilities"), Payload::None)
            }
            ("POST", "/v1/bulk/lookups") => (
                route.path.into(),
                Payload::Json(json!({"ids": [d, "IN1.HLT.P07:imei:490154203237518"]})),
            ),
            ("GET", "/v1/registry" | "/v1/registry/practice-statement" | "/v1/openapi.json") => {
                (route.path.into(), Payload::None)
            }
            ("POST", "/v1/subscriptions") => (route.path.into(), Payload::Json(subscription(0, d))),
            ("GET", "/v1/subscriptions") => (route.path.into(), Payload::None),
            ("DELETE", "/v1/subscriptions/{id}") => {
                // The caller's own subscription; the administrator's for those without a token.
                let owner = if self.tokens.contains_key(&who) {
                    who
                } else {
                    Who::Admin
                };
                let principal = self
                    .registry
                    .authenticate(&self.tokens[&owner])
                    .await
                    .unwrap();
                let request = serde_json::from_value(subscription(1, d)).unwrap();
                let id = self
                    .registry
                    .subscribe(Some(&principal), request)
                    .await
                    .unwrap()
                    .subscription
                    .subscription_id;
                (format!("/v1/subscriptions/{id}"), Payload::None)
            }
            ("GET", "/v1/statistics") => (route.path.into(), Payload::None),
            ("GET", "/v1/status-lists/{status}") => {
                ("/v1/status-lists/trusted?cursor=".into(), Payload::None)
            }
            ("PUT", "/v1/admin/trust-domains/{name}") => {
                let policy = json!({"policy": {
                    "require_acknowledgement": true, "require_owner_verified": false,
                    "max_report_age_seconds": null, "unreliable_at_severity": 7.0}});
                (
                    "/v1/admin/trust-domains/health".into(),
                    jws(Purpose::TrustDomain, policy).await,
                )
            }
            ("PUT", "/v1/admin/roots/{id}") => {
                let other =
                    ManufacturerCa::create(self.scratch(&format!("ca-{who:?}")), "Other CA")
                        .unwrap();
                let id = trustreg_core::rot::root_id_for(other.cert_der());
                let claims = json!({
                    "name": "Other CA",
                    "certificate": base64::engine::general_purpose::STANDARD.encode(other.cert_der()),
                    "rot_types": ["secure-element"],
                    "identifier_scopes": ["imei:35"],
                });
                (
                    format!("/v1/admin/roots/{id}"),
                    jws(Purpose::Root, claims).await,
                )
            }
            ("DELETE", "/v1/admin/roots/{id}") => {
                let id = trustreg_core::rot::root_id_for(self.ca().cert_der());
                (
                    format!("/v1/admin/roots/{id}"),
                    jws(Purpose::Root, json!({})).await,
                )
            }
            ("GET", "/v1/admin/enquirers") => (
                "/v1/admin/enquirers?state=approved&cursor=".into(),
                Payload::None,
            ),
            ("POST", "/v1/admin/enquirers/{id}/decision") => {
                let id = self.kids[&Who::Agency]
                    .trim_start_matches("enquirer:")
                    .to_owned();
                (
                    format!("/v1/admin/enquirers/{id}/decision"),
                    jws(Purpose::EnquirerDecision, json!({"decision": "revoke"})).await,
                )
            }
            ("POST", "/v1/vulnerabilities") => (
                route.path.into(),
                jws(
                    Purpose::Vulnerability,
                    json!({"severity": 5.0, "summary": "weak default",
                               "target": {"regdevids": [d]}}),
                )
                .await,
            ),
            ("POST", "/v1/vulnerabilities/{id}/apply" | "/v1/vulnerabilities/{id}/fixed") => {
                let id = self.vulnerability().await;
                let action = route.path.rsplit('/').next().unwrap_or_default();
                (
                    format!("/v1/vulnerabilities/{id}/{action}"),
                    jws(Purpose::Vulnerability, json!({"id": id})).await,
                )
            }
            ("GET", "/v1/audit") => ("/v1/audit?target=".into(), Payload::None),
            ("GET", "/v1/audit/checkpoint") => (route.path.into(), Payload::None),
            ("GET", "/v1/audit/tile/{*path}") => {
                let size = self.store.snapshot().log.edge.size;
                (format!("/v1/audit/tile/0/000.p/{size}"), Payload::None)
            }
            ("GET", "/v1/audit/proofs/inclusion") => {
                let log = self.store.snapshot().log;
                let record = log.leaves.keys().next().cloned().unwrap_or_default();
                (format!("{}?record={record}", route.path), Payload::None)
            }
            ("GET", "/v1/audit/proofs/consistency") => {
                let size = self.store.snapshot().log.edge.size;
                (format!("{}?from=1&to={size}", route.path), Payload::None)
            }
            ("POST", "/v1/admin/notifications") => (
                route.path.into(),
                jws(
                    Purpose::BulkNotification,
                    json!({"regdevids": [d], "message": "update your firmware"}),
                )
                .await,
            ),
            ("POST", "/v1/admin/links") => {
                // A primary's one link: its sectoral parent (linking it again replaces it).
                let claims = json!({
                    "kind": "parent", "reg_id": "HLT", "path": "IN1.HLT",
                    "public_key": jose::jwk_from_key(key(0x72).verifying_key()),
                    "inbox": "https://sqs.example/inbox",
                });
                (route.path.into(), jws(Purpose::Link, claims).await)
            }
            _ => return None,
        };
        let mut request = Request::builder().method(route.method).uri(&uri);
        if let Some(token) = self.tokens.get(&who) {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Payload::None => request.body(axum::body::Body::empty()),
            Payload::Json(value) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(axum::body::Body::from(value.to_string())),
            Payload::Jws(jws) => request
                .header(header::CONTENT_TYPE, JOSE)
                .body(axum::body::Body::from(jws)),
            Payload::Claims(claims) => {
                // Signed by the caller for this request: its method and path.
                let path = uri.split('?').next().unwrap_or_default();
                let claims = trustreg_core::binding::bind(claims, route.method, path);
                let jws = self.sign_payload(who, claims.to_string().as_bytes());
                request
                    .header(header::CONTENT_TYPE, JOSE)
                    .body(axum::body::Body::from(jws))
            }
            Payload::Bulk(body, signature) => {
                // This route's Authorization carries the body's signature, not a token.
                let mut request = request.header(header::CONTENT_TYPE, "application/json");
                if let Some(headers) = request.headers_mut() {
                    headers.remove(header::AUTHORIZATION);
                }
                if let Some(signature) = signature {
                    request =
                        request.header(header::AUTHORIZATION, format!("TrustReg-JWS {signature}"));
                }
                request.body(axum::body::Body::from(body))
            }
        }
        .unwrap();
        Some(self.send(route.function, request).await)
    }

    fn audit(&self) -> Vec<AuditRecord> {
        self.store.snapshot().audit
    }
}

/// The matrix's request bodies.
enum Payload {
    None,
    Json(Value),
    /// A JWS already made for this request.
    Jws(String),
    /// Claims the caller signs for this request when it is sent.
    Claims(Value),
    /// The body and its `TrustReg-JWS` signature.
    Bulk(String, Option<String>),
}

/// A valid subscription request, to queue `n`.
/// Of the device the owner holds, so every subscriber may subscribe to it.
fn subscription(n: u8, regdevid: &str) -> Value {
    json!({"trust_domain": "health", "protocol": "sqs",
           "endpoint": format!("arn:aws:sqs:us-east-1:000000000000:matrix-{n}"),
           "filter": {"status": ["unreliable"], "regdevid": [regdevid]}})
}

// Y.3059 9.1 iv
// Y.3059 9.3 iii
// Y.3059 7 i c
// The table covers every route, and its expectations follow the rule except where listed.
#[test]
fn the_matrix_covers_every_route_and_follows_the_rule() {
    // docs/API.md's role table names every route the routers serve, and nothing else.
    let table = role_table();
    for route in ROUTES {
        let rows = table
            .iter()
            .filter(|d| d.method == route.method && d.path == route.path)
            .count();
        assert_eq!(
            rows, 1,
            "docs/API.md's role table has {rows} rows for {} {}",
            route.method, route.path
        );
    }
    for row in &table {
        assert!(
            ROUTES
                .iter()
                .any(|r| r.method == row.method && r.path == row.path),
            "docs/API.md's role table names a route that does not exist: {} {}",
            row.method,
            row.path
        );
    }
    for route in ROUTES {
        assert!(
            ANSWERS
                .iter()
                .any(|(m, p, _)| *m == route.method && *p == route.path),
            "no matrix entry for {} {}",
            route.method,
            route.path
        );
    }
    for (method, path, _) in ANSWERS {
        assert!(
            ROUTES
                .iter()
                .any(|r| r.method == *method && r.path == *path),
            "matrix entry for a route that does not exist: {method} {path}"
        );
    }
    for (method, path, who, code, why) in DEVIATIONS {
        let route = ROUTES
            .iter()
            .find(|r| r.method == *method && r.path == *path)
            .expect("a deviation of an existing route");
        assert!(!why.is_empty());
        assert!(
            !admitted(route, *who) && *code != refusal(route, *who),
            "not a deviation: {method} {path} {who:?}"
        );
    }
}

// Y.3059 9.1 iv
// Y.3059 9.3 iii
// Y.3059 7 i c
// Every route with every role: admitted roles get the route's answer (never 401/403), the
// others 401 without a credential and 403 with the wrong role, as problems, audited.
#[tokio::test]
async fn every_route_admits_exactly_its_roles() {
    let mut failures = Vec::new();
    for route in ROUTES {
        for who in EVERYONE {
            // A fresh registry per cell: no call sees the effects of another.
            let h = World::new().await;
            let Some(expected) = expected(route, who) else {
                failures.push(format!("{} {}: no expectation", route.method, route.path));
                continue;
            };
            let before = h.audit().len();
            let Some(reply) = h.call(route, who).await else {
                failures.push(format!(
                    "{} {}: no request in the matrix",
                    route.method, route.path
                ));
                continue;
            };
            let cell = format!("{} {} as {who:?}", route.method, route.path);
            if reply.status != expected {
                failures.push(format!(
                    "{cell}: {} (expected {expected}) {}",
                    reply.status,
                    reply.text.chars().take(200).collect::<String>()
                ));
                continue;
            }
            let content_type = reply.content_type.as_deref().unwrap_or_default();
            if reply.status.as_u16() >= 400 && content_type != "application/problem+json" {
                failures.push(format!("{cell}: {content_type} is not a problem"));
            }
            if matches!(reply.status.as_u16(), 401 | 403) {
                let audited = h.audit()[before..]
                    .iter()
                    .any(|a| a.outcome == Outcome::Rejected);
                if !audited {
                    failures.push(format!("{cell}: refused without an audit record"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// Y.3059 9.3 iii
// Y.3059 7 i c
// A token signed by another key, a malformed header and an expired token are 401
// `invalid_token`, audited as `unknown`; the token never shows in the answer.
#[tokio::test]
async fn forged_malformed_and_expired_tokens_are_refused() {
    let h = World::new().await;
    let token = h.tokens[&Who::Admin].clone();
    let (signing_input, _) = token.rsplit_once('.').unwrap();
    use p256::ecdsa::signature::Signer as _;
    let signature: p256::ecdsa::Signature = key(0x77).sign(signing_input.as_bytes());
    let forged = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    );
    let ok = h
        .get("admin", "/v1/audit", Some(&format!("Bearer {token}")))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);

    let before = h.audit().len();
    for authorization in [format!("Bearer {forged}"), "Basic YWxpY2U6eA==".to_owned()] {
        let reply = h.get("admin", "/v1/audit", Some(&authorization)).await;
        assert_eq!(
            (reply.status.as_u16(), reply.problem()),
            (401, "unauthenticated")
        );
        assert_eq!(
            reply.www_authenticate.as_deref(),
            Some("Bearer error=\"invalid_token\"")
        );
        assert!(!reply.text.contains(&forged));
    }
    let refused: Vec<_> = h.audit()[before..].to_vec();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|a| a.actor == "unknown"
        && a.action == "/v1/audit"
        && a.outcome == Outcome::Rejected));

    h.clock.advance(15 * 60 * 1000 + 1);
    let reply = h
        .get("admin", "/v1/audit", Some(&format!("Bearer {token}")))
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.problem()),
        (401, "unauthenticated")
    );
    assert!(reply.json["detail"].as_str().unwrap().contains("expired"));
}

// Y.3059 9.3 iii
// A login JWS works once: its replay is 401 and yields no token.
#[tokio::test]
async fn a_replayed_login_is_refused() {
    let h = World::new().await;
    let login = h.login(Who::Enquirer).await;
    let request = || {
        Request::post("/v1/sessions")
            .header(header::CONTENT_TYPE, JOSE)
            .body(axum::body::Body::from(login.clone()))
            .unwrap()
    };
    let first = h.send("interrogate", request()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["token_type"], "Bearer");
    let again = h.send("interrogate", request()).await;
    assert_eq!(
        (again.status.as_u16(), again.problem()),
        (401, "nonce-invalid")
    );
    assert!(again.json.get("access_token").is_none());
}

// Y.3059 7 i c
// Refusals name who was refused: `public` without a token, the subject with the wrong role.
#[tokio::test]
async fn refusals_leave_audit_records_naming_the_caller() {
    let h = World::new().await;
    let reply = h.get("interrogate", "/v1/devices", None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.problem()),
        (401, "unauthenticated")
    );
    assert_eq!(reply.www_authenticate.as_deref(), Some("Bearer"));
    let enquirer = format!("Bearer {}", h.tokens[&Who::Enquirer]);
    let reply = h.get("admin", "/v1/audit", Some(&enquirer)).await;
    assert_eq!((reply.status.as_u16(), reply.problem()), (403, "forbidden"));
    let rejected: Vec<(String, String, Option<String>)> = h
        .audit()
        .into_iter()
        .filter(|a| a.outcome == Outcome::Rejected)
        .map(|a| (a.actor, a.action, a.code))
        .collect();
    assert!(
        rejected.contains(&(
            "public".into(),
            "search".into(),
            Some("unauthenticated".into())
        )),
        "{rejected:?}"
    );
    assert!(
        rejected.contains(&(
            h.kids[&Who::Enquirer].clone(),
            "read-audit".into(),
            Some("forbidden".into())
        )),
        "{rejected:?}"
    );
}

// Y.3059 7 i c
// A refusal by the route's access layer names what the request acted on, as the flow's own
// refusal did: the subscription of `DELETE /v1/subscriptions/{id}`, the device of
// `GET /v1/devices/{id}/history`; text that is no RegDevID names nothing.
#[tokio::test]
async fn refusals_name_what_the_request_acted_on() {
    let h = World::new().await;
    let d = h.regdevid.clone();
    for (uri, action, target) in [
        (
            "/v1/subscriptions/sub-42".to_owned(),
            "unsubscribe",
            Some("subscription:sub-42".to_owned()),
        ),
        (
            format!("/v1/devices/{d}/history"),
            "read-history",
            Some(d.clone()),
        ),
        (
            format!("/v1/devices/{d}/vulnerabilities"),
            "read-vulnerabilities",
            Some(d.clone()),
        ),
        (
            "/v1/devices/not-a-regdevid/history".to_owned(),
            "read-history",
            None,
        ),
    ] {
        let method = if action == "unsubscribe" {
            "DELETE"
        } else {
            "GET"
        };
        let before = h.audit().len();
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let reply = h.send("interrogate", request).await;
        assert_eq!(
            (reply.status.as_u16(), reply.problem()),
            (401, "unauthenticated"),
            "{uri}: {}",
            reply.text
        );
        let refused: Vec<(String, String, Option<String>)> = h.audit()[before..]
            .iter()
            .filter(|a| a.outcome == Outcome::Rejected)
            .map(|a| (a.actor.clone(), a.action.clone(), a.target.clone()))
            .collect();
        assert_eq!(
            refused,
            vec![("public".to_owned(), action.to_owned(), target)],
            "{uri}"
        );
    }
}

// Y.3059 9.1 iv
// Query strings are checked: an unknown parameter or a bad value is a 400 problem.
#[tokio::test]
async fn bad_query_strings_are_problems() {
    let h = World::new().await;
    let admin = format!("Bearer {}", h.tokens[&Who::Admin]);
    for (function, uri) in [
        ("interrogate", "/v1/devices?colour=red"),
        ("interrogate", "/v1/devices?status=bogus"),
        ("interrogate", "/v1/devices?limit=many"),
        ("admin", "/v1/admin/enquirers?state=maybe"),
        ("admin", "/v1/audit?day=yesterday&when=now"),
    ] {
        let reply = h.get(function, uri, Some(&admin)).await;
        assert_eq!(reply.status, 400, "{uri}: {}", reply.text);
        assert_eq!(
            reply.content_type.as_deref(),
            Some("application/problem+json"),
            "{uri}"
        );
    }
}

// Y.3059 9.3 iii
// A token route refuses the caller its declaration does not admit before it reads anything
// of the request: a bad query string from an anonymous caller is a 401, from a caller of
// another role a 403 (not the 400 an admitted caller gets), and the refusal is audited.
#[tokio::test]
async fn access_is_refused_before_the_query_is_read() {
    let h = World::new().await;
    let enquirer = format!("Bearer {}", h.tokens[&Who::Enquirer]);
    for (function, uri, authorization, expected) in [
        (
            "interrogate",
            "/v1/devices?colour=red",
            None,
            (401, "unauthenticated"),
        ),
        (
            "interrogate",
            "/v1/devices?status=bogus",
            None,
            (401, "unauthenticated"),
        ),
        (
            "admin",
            "/v1/admin/enquirers?state=maybe",
            None,
            (401, "unauthenticated"),
        ),
        (
            "admin",
            "/v1/admin/enquirers?state=maybe",
            Some(&enquirer),
            (403, "forbidden"),
        ),
        (
            "admin",
            "/v1/audit?day=yesterday&when=now",
            Some(&enquirer),
            (403, "forbidden"),
        ),
    ] {
        let before = h.audit().len();
        let reply = h
            .get(function, uri, authorization.map(String::as_str))
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.problem()),
            expected,
            "{uri}: {}",
            reply.text
        );
        assert!(
            h.audit()[before..]
                .iter()
                .any(|a| a.outcome == Outcome::Rejected),
            "{uri}: refused without an audit record"
        );
    }
}

// Y.3059 9.2 i f
// Y.3059 9.3 ii c
// A public lookup by virtual ID shows the status but neither the RegDevID nor the owner.
#[tokio::test]
async fn a_public_lookup_by_virtual_id_hides_the_regdevid_and_the_owner() {
    let h = World::new().await;
    let issue = h
        .signed(Who::Device, Purpose::VirtualId, json!({"ttl_seconds": 300}))
        .await;
    let virtual_id = h
        .registry
        .issue_virtual_id(&h.regdevid, &issue)
        .await
        .unwrap()
        .virtual_id;
    let reply = h
        .get("interrogate", &format!("/v1/devices/{virtual_id}"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["id"], virtual_id.as_str());
    assert!(reply.json["status"].is_string());
    assert!(!reply.text.contains(&h.regdevid), "{}", reply.text);
    assert!(!reply.text.contains(IMEI), "{}", reply.text);
    assert!(reply.json.get("owner").is_none());
    for pii in ["Ada", "owner@example.org", "owner:"] {
        assert!(!reply.text.contains(pii), "{pii} in {}", reply.text);
    }
    // The owner, with its token, sees both.
    let owner = format!("Bearer {}", h.tokens[&Who::Owner]);
    let reply = h
        .get(
            "interrogate",
            &format!("/v1/devices/{}", h.regdevid),
            Some(&owner),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["regdevid"], h.regdevid.as_str());
    assert_eq!(reply.json["owner"]["attributes"]["name"], "Ada Lovelace");
}
