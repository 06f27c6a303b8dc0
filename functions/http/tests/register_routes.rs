//! The registration flow through the axum router of function `register`, on the in-memory fakes
//! of trustreg-core: challenges, registration, acknowledgement, and every refusal answered as
//! RFC 9457 problem+json without touching the store.
#![allow(clippy::unwrap_used)]

mod support;

/// Fixtures: the router tests' harness (a registry on fakes behind its routers, a manufacturer
/// CA), devices with real keys and certificates, and the requests a device sends (built here so
/// tests can tamper with them).
mod fixture {
    use axum::http::StatusCode;
    use trustreg_core::RegistryKind;
    use trustreg_core::fakes::{FakeRegistry, State};
    use trustreg_core::identifier::{Identifier, Scheme};
    use trustreg_core::jose::JwsHeader;
    use trustreg_core::messages::{
        AcknowledgementClaims, DeviceInfo, IdentifierClaim, PowerClaim, Purpose,
        RegistrationClaims, RotClaim,
    };
    use trustreg_core::records::Outcome;
    use trustreg_device::client::{ACKNOWLEDGEMENT_TYP, REGISTRATION_TYP};
    use trustreg_device::{ManufacturerCa, SoftSecureElement};
    use trustreg_http::{PROBLEM_BASE, PROBLEM_JSON};

    pub const PATH: &str = "IN1.HLT.P07";
    pub const IMEI: &str = "356938035643809";
    /// Another valid IMEI (Luhn check digit 8).
    pub const OTHER_IMEI: &str = "490154203237518";
    pub const NONCE_TTL_MS: u64 = 5 * 60 * 1000;
    pub const JOSE: &str = "application/jose";

    pub fn imei(value: &str) -> Identifier {
        Identifier::parse(Scheme::Imei, value).unwrap()
    }

    /// A device: a secure element and the certificate chain its manufacturer gave it.
    pub struct Device {
        pub se: SoftSecureElement,
        pub chain: Vec<Vec<u8>>,
        pub identifier: Identifier,
    }

    pub use crate::support::{Harness, Reply, now_ms};

    /// What the registration tests ask of the harness, through the `register` router.
    impl Harness {
        /// A primary registry that accepts the harness CA.
        pub async fn new() -> Self {
            Self::build(RegistryKind::Primary, true).await
        }

        pub async fn build(kind: RegistryKind, accept_ca: bool) -> Self {
            let registry = FakeRegistry::builder()
                .path(PATH)
                .kind(kind)
                .domains(&["health", "energy"])
                .key_seed(7)
                // Certificates are checked against the registry clock: it starts at the real time.
                .clock_at(now_ms());
            let harness = Harness::on(registry);
            let harness = if accept_ca {
                harness.manufacturer("Acme Devices CA")
            } else {
                harness.unaccepted_manufacturer("Acme Devices CA")
            };
            harness.build().await
        }

        pub fn snapshot(&self) -> State {
            self.store.snapshot()
        }

        /// A new secure element certified by the harness CA for `identifier`.
        pub fn device(&self, identifier: Identifier) -> Device {
            self.device_from(self.ca(), identifier)
        }

        pub fn device_from(&self, ca: &ManufacturerCa, identifier: Identifier) -> Device {
            let se = SoftSecureElement::create(self.scratch("se")).unwrap();
            let cert = ca
                .issue_device_cert(&se.public_key(), &identifier, 365)
                .unwrap();
            Device {
                se,
                chain: vec![cert.der],
                identifier,
            }
        }

        /// A manufacturer CA this registry does not accept.
        pub fn foreign_ca(&self) -> ManufacturerCa {
            ManufacturerCa::create(self.scratch("ca"), "Foreign Devices CA").unwrap()
        }

        /// A new secure element whose certificate lapsed yesterday.
        pub fn expired_device(&self, identifier: Identifier) -> Device {
            let se = SoftSecureElement::create(self.scratch("se")).unwrap();
            let now = time::OffsetDateTime::now_utc();
            let cert = self
                .ca()
                .issue_device_cert_for_period(
                    &se.public_key(),
                    &identifier,
                    now - time::Duration::days(30),
                    now - time::Duration::days(1),
                )
                .unwrap();
            Device {
                se,
                chain: vec![cert.der],
                identifier,
            }
        }

        pub async fn post(&self, uri: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
            self.post_body("register", uri, content_type, body).await
        }

        pub async fn post_registration(&self, jws: &str) -> Reply {
            self.post("/v1/registrations", Some(JOSE), jws.as_bytes().to_vec())
                .await
        }

        pub async fn post_acknowledgement(&self, regdevid: &str, jws: &str) -> Reply {
            let uri = format!("/v1/devices/{}/acknowledgement", encode_segment(regdevid));
            self.post(&uri, Some(JOSE), jws.as_bytes().to_vec()).await
        }

        /// A registration JWS for a fresh register nonce, as device/src/client.rs builds it.
        pub async fn registration_jws(&self, device: &Device) -> String {
            let nonce = self.challenge(Purpose::Register).await;
            registration_jws(device, &claims(&nonce, &device.identifier))
        }

        /// The whole registration, as a device does it.
        pub async fn register(&self, device: &Device) -> Reply {
            let jws = self.registration_jws(device).await;
            self.post_registration(&jws).await
        }

        pub async fn acknowledge(&self, device: &Device, regdevid: &str) -> Reply {
            let nonce = self.challenge(Purpose::Acknowledge).await;
            let jws = acknowledgement_jws(device, regdevid, &nonce);
            self.post_acknowledgement(regdevid, &jws).await
        }
    }

    pub fn device_info() -> DeviceInfo {
        DeviceInfo {
            make: "Acme".into(),
            model: "Pulse Oximeter 3".into(),
            firmware_version: "1.4.2".into(),
            software_version: "2024.11".into(),
            rot: RotClaim {
                kind: "secure-element".into(),
            },
            communication: vec!["lte-m".into(), "ble".into()],
            power: PowerClaim {
                source: "battery".into(),
                extra: serde_json::Map::new(),
            },
            protocols: vec!["mqtt".into(), "coap".into()],
        }
    }

    pub fn claims(nonce: &str, identifier: &Identifier) -> RegistrationClaims {
        claims_raw(nonce, identifier.scheme(), identifier.value())
    }

    /// Claims with an identifier value that need not be valid.
    pub fn claims_raw(nonce: &str, scheme: Scheme, value: &str) -> RegistrationClaims {
        RegistrationClaims {
            tpm: None,
            nonce: nonce.to_owned(),
            identifier: IdentifierClaim {
                scheme,
                value: value.to_owned(),
            },
            device: device_info(),
            owner: None,
            trust_domains: vec!["health".into()],
        }
    }

    pub fn registration_header(device: &Device) -> JwsHeader {
        JwsHeader::es256()
            .with_typ(REGISTRATION_TYP)
            .with_x5c_der(&device.chain)
    }

    pub fn registration_jws(device: &Device, claims: &RegistrationClaims) -> String {
        sign(device, &registration_header(device), claims)
    }

    /// A registration signed by the device, made for `POST /v1/registrations`.
    pub fn sign(device: &Device, header: &JwsHeader, claims: &impl serde::Serialize) -> String {
        sign_for(device, header, claims, "/v1/registrations")
    }

    /// Claims signed by the device, made for `POST <path>`.
    pub fn sign_for(
        device: &Device,
        header: &JwsHeader,
        claims: &impl serde::Serialize,
        path: &str,
    ) -> String {
        let payload = trustreg_device::client::bound(claims, "POST", path).unwrap();
        device.se.sign_jws(header, &payload)
    }

    pub fn acknowledgement_jws(device: &Device, regdevid: &str, nonce: &str) -> String {
        let header = JwsHeader::es256()
            .with_typ(ACKNOWLEDGEMENT_TYP)
            .with_kid(regdevid);
        let claims = AcknowledgementClaims {
            nonce: nonce.to_owned(),
            regdevid: regdevid.to_owned(),
        };
        let path =
            trustreg_device::client::device_path(trustreg_model::routes::Op::Acknowledge, regdevid);
        sign_for(device, &header, &claims, &path)
    }

    /// Percent-encodes all but RFC 3986 unreserved characters, as the device client does.
    pub fn encode_segment(segment: &str) -> String {
        encode_bytes(segment.as_bytes())
    }

    pub fn encode_bytes(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|&b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    /// An RFC 9457 problem with this status and `type`.
    pub fn assert_problem(reply: &Reply, status: StatusCode, code: &str) {
        assert_eq!(reply.status, status, "{reply:?}");
        assert_eq!(
            reply.content_type.as_deref(),
            Some(PROBLEM_JSON),
            "{reply:?}"
        );
        assert_eq!(
            reply.json["type"].as_str(),
            Some(format!("{PROBLEM_BASE}{code}").as_str()),
            "{reply:?}"
        );
        assert_eq!(
            reply.json["status"].as_u64(),
            Some(u64::from(status.as_u16()))
        );
        assert!(
            reply.json["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{reply:?}"
        );
        assert!(reply.json["detail"].is_string(), "{reply:?}");
    }

    /// The refusal changed no device, guard or transition, and was audited once, as `code`.
    pub fn assert_rejected_and_audited(before: &State, after: &State, action: &str, code: &str) {
        assert_eq!(
            after.devices, before.devices,
            "a refused request changed a device"
        );
        assert_eq!(
            after.guards, before.guards,
            "a refused request took an identifier"
        );
        assert_eq!(after.transitions, before.transitions);
        assert_eq!(
            after.audit.len(),
            before.audit.len() + 1,
            "{:?}",
            after.audit
        );
        let record = after.audit.last().unwrap();
        assert_eq!(record.outcome, Outcome::Rejected, "{record:?}");
        assert_eq!(record.action, action, "{record:?}");
        assert_eq!(record.code.as_deref(), Some(code), "{record:?}");
    }

    /// Nothing at all changed in the store.
    pub fn assert_store_unchanged(before: &State, after: &State) {
        assert_eq!(after.nonces, before.nonces);
        assert_eq!(after.roots, before.roots);
        assert_eq!(after.devices, before.devices);
        assert_eq!(after.guards, before.guards);
        assert_eq!(after.transitions, before.transitions);
        assert_eq!(after.audit, before.audit);
    }
}

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use fixture::*;
use trustreg_core::RegistryKind;
use trustreg_core::identifier::{Identifier, Scheme};
use trustreg_core::jose::{self, JwsHeader};
use trustreg_core::messages::Purpose;
use trustreg_core::ports::{Clock as _, RegistryKeys as _};
use trustreg_core::records::Outcome;
use trustreg_core::statements;
use trustreg_core::status::{Reason, TrustStatus};

fn regdevid_of(identifier_value: &str) -> String {
    format!("{PATH}:imei:{identifier_value}")
}

// ---------------------------------------------------------------------------------------------
// The happy path: register, acknowledge, repeat.
// ---------------------------------------------------------------------------------------------

// Y.3059 9.2 i a
// Y.3059 9.2 i b
// Y.3059 9.2 i c
// Y.3059 9.2 i e
// Y.3059 7 iii
// Y.3059 7 iv a
// Y.3059 7 i c
// Y.3059 7 ii
// Y.3059 6.1 d
// Y.3059 6.1 h
// Y.3059 9.2 ii a-d
// Y.3059 10
#[tokio::test]
async fn good_registration_is_created_with_a_verifiable_credential() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let reply = h.register(&device).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    let regdevid = regdevid_of(IMEI);
    assert_eq!(
        reply.location.as_deref(),
        Some(format!("/v1/devices/{regdevid}").as_str())
    );
    assert_eq!(reply.json["regdevid"], regdevid.as_str());
    assert_eq!(reply.json["status"], "unverified");

    // The credential is signed like a statement, by a session key that the registry's key
    // delegates (API.md), and binds the RegDevID to the device key.
    let credential = reply.json["credential"].as_str().unwrap();
    let jws = jose::parse(credential).unwrap();
    let claims: serde_json::Value = jws.claims().unwrap();
    let iat = claims["iat"].as_u64().unwrap();
    let registry_key = h.keys.public_key().await.unwrap();
    statements::verify_delegated(&jws, &registry_key, PATH, iat, iat).unwrap();
    assert_eq!(jws.header().typ.as_deref(), Some("trustreg-credential+jwt"));
    assert_ne!(
        jws.header().kid.as_deref(),
        Some("memory-key"),
        "a session key's kid"
    );
    assert_eq!(claims["sub"], regdevid.as_str());
    assert_eq!(claims["iss"], PATH);
    assert_eq!(
        claims["cnf"]["jwk"],
        jose::jwk_from_key(&device.se.public_key())
    );
    assert_eq!(claims["trust_domains"], serde_json::json!(["health"]));
    let unrelated = h.device(imei(OTHER_IMEI)).se.public_key();
    assert!(
        statements::verify_delegated(&jws, &unrelated, PATH, iat, iat).is_err(),
        "verifies with any key"
    );

    let state = h.snapshot();
    assert_eq!(state.devices.len(), 1);
    let record = &state.devices[&regdevid];
    assert_eq!(record.regdevid.to_string(), regdevid);
    assert_eq!(record.status, TrustStatus::Unverified);
    assert_eq!(record.reasons, vec![Reason::NotAcknowledged]);
    assert_eq!(
        record.public_key,
        jose::jwk_from_key(&device.se.public_key())
    );
    assert_eq!(
        record.root_id,
        trustreg_core::rot::root_id_for(h.ca().cert_der())
    );
    assert_eq!(record.info, device_info());
    assert_eq!(record.trust_domains, vec!["health".to_owned()]);
    assert_eq!(record.credential, credential);
    assert!(record.facts.rot_verified);
    assert!(!record.facts.acknowledged);
    assert_eq!(record.registered_at_ms, h.clock.now_ms());
    assert_eq!(state.guards[&format!("imei:{IMEI}")].to_string(), regdevid);

    assert_eq!(state.transitions.len(), 1);
    let t = &state.transitions[0];
    assert_eq!(t.from, None);
    assert_eq!(t.to, TrustStatus::Unverified);
    assert_eq!(t.cause, "register");
    assert_eq!(t.actor, format!("device:imei:{IMEI}"));

    let accepted: Vec<_> = state
        .audit
        .iter()
        .filter(|a| a.action == "register")
        .collect();
    assert_eq!(accepted.len(), 1, "{:?}", state.audit);
    assert_eq!(accepted[0].outcome, Outcome::Accepted);
    assert_eq!(accepted[0].target.as_deref(), Some(regdevid.as_str()));
    assert_eq!(accepted[0].code, None);
    // The register nonce was spent.
    assert!(state.nonces.is_empty(), "{:?}", state.nonces);
}

/// Single registrations cost no KMS request per device (issue 15): the credentials are signed
/// by the instance's session key, whose delegation is the one KMS signature of its hour.
#[tokio::test]
async fn single_registrations_share_one_kms_signature() {
    let h = Harness::new().await;
    let before = h.keys.sign_calls.load(Ordering::SeqCst);
    for n in 0..20u8 {
        let mac = Identifier::parse(Scheme::Mac, &format!("02:00:5e:10:00:{n:02x}")).unwrap();
        let reply = h.register(&h.device(mac)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    }
    assert_eq!(h.keys.sign_calls.load(Ordering::SeqCst) - before, 1);
}

// Y.3059 7 iv b
// Y.3059 9.2 ii a-d
// Y.3059 6.1 d
// Y.3059 7 i c
#[tokio::test]
async fn acknowledgement_makes_the_device_trusted_once() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let regdevid = regdevid_of(IMEI);
    assert_eq!(h.register(&device).await.status, StatusCode::CREATED);

    let reply = h.acknowledge(&device, &regdevid).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.json["regdevid"], regdevid.as_str());
    assert_eq!(reply.json["status"], "trusted");

    let state = h.snapshot();
    let record = &state.devices[&regdevid];
    assert_eq!(record.status, TrustStatus::Trusted);
    assert!(record.facts.acknowledged);
    assert!(record.acknowledged_at_ms.is_some());
    assert!(record.reasons.is_empty());
    assert_eq!(state.transitions.len(), 2);
    let t = &state.transitions[1];
    assert_eq!(t.from, Some(TrustStatus::Unverified));
    assert_eq!(t.to, TrustStatus::Trusted);
    assert_eq!(t.actor, format!("device:{regdevid}"));
    assert_eq!(t.cause, "acknowledge");
    let last = state.audit.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.outcome),
        ("acknowledge", Outcome::Accepted)
    );

    // Again, with a fresh nonce: still trusted, no new transition.
    let again = h.acknowledge(&device, &regdevid).await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(again.json["status"], "trusted");
    let after = h.snapshot();
    assert_eq!(after.transitions, state.transitions);
    assert_eq!(after.devices[&regdevid].status, TrustStatus::Trusted);
    assert_eq!(after.audit.len(), state.audit.len() + 1);
}

// Y.3059 7 iv b
// Y.3059 9.2 i a
// Y.3059 10
#[tokio::test]
async fn acknowledgement_signed_by_another_key_is_refused() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let regdevid = regdevid_of(IMEI);
    assert_eq!(h.register(&device).await.status, StatusCode::CREATED);
    let impostor = h.device(imei(IMEI));

    let before = h.snapshot();
    let reply = h.acknowledge(&impostor, &regdevid).await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "bad-signature");
    let after = h.snapshot();
    // The challenge added a nonce the refused request did not spend; nothing else changed.
    assert_rejected_and_audited(&before, &after, "acknowledge", "bad-signature");
    assert_eq!(after.devices[&regdevid].status, TrustStatus::Unverified);
}

// Y.3059 9.2 i b
// Y.3059 9.2 i c
// Y.3059 7 iv a
#[tokio::test]
async fn same_identifier_and_key_again_is_idempotent() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let first = h.register(&device).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let before = h.snapshot();

    let second = h.register(&device).await;
    assert_eq!(second.status, StatusCode::OK, "{second:?}");
    assert_eq!(second.json["regdevid"], first.json["regdevid"]);
    assert_eq!(second.json["credential"], first.json["credential"]);
    assert_eq!(second.json["status"], "unverified");
    assert_eq!(second.location, first.location);

    let after = h.snapshot();
    assert_eq!(after.devices, before.devices, "a repeat changed the device");
    assert_eq!(after.guards, before.guards);
    assert_eq!(after.transitions, before.transitions);
    // Y.3059 7 i c
    // The repeat is audited as such: the trail holds the device's creation once.
    let last = after.audit.last().unwrap();
    assert_eq!(last.action, "register-again");
    assert_eq!(last.outcome, Outcome::Accepted);
    let created = after
        .audit
        .iter()
        .filter(|a| a.action == "register")
        .count();
    assert_eq!(created, 1);
}

// Y.3059 9.2 i b
// Y.3059 6.1 d
// Y.3059 7 i c
// Y.3059 10
#[tokio::test]
async fn same_identifier_with_another_key_is_a_possible_clone() {
    let h = Harness::new().await;
    let original = h.device(imei(IMEI));
    let regdevid = regdevid_of(IMEI);
    assert_eq!(h.register(&original).await.status, StatusCode::CREATED);
    // A second secure element, certified by the same manufacturer for the same IMEI.
    let clone = h.device(imei(IMEI));

    let reply = h.register(&clone).await;
    assert_problem(&reply, StatusCode::CONFLICT, "identifier-conflict");

    let state = h.snapshot();
    assert_eq!(state.devices.len(), 1);
    let record = &state.devices[&regdevid];
    assert_eq!(record.facts.clone_reports, 1);
    assert_eq!(record.status, TrustStatus::Unreliable);
    assert!(record.reasons.contains(&Reason::PossibleClone));
    // The registered key stays the original's.
    assert_eq!(
        record.public_key,
        jose::jwk_from_key(&original.se.public_key())
    );
    assert_eq!(state.transitions.len(), 2);
    let t = &state.transitions[1];
    assert_eq!(t.from, Some(TrustStatus::Unverified));
    assert_eq!(t.to, TrustStatus::Unreliable);
    assert!(t.reasons.contains(&Reason::PossibleClone), "{t:?}");
    assert_eq!(t.cause, "register");
    let last = state.audit.last().unwrap();
    assert_eq!(last.action, "register");
    assert_eq!(last.outcome, Outcome::Rejected);
    assert_eq!(last.code.as_deref(), Some("identifier-conflict"));
    assert_eq!(last.target.as_deref(), Some(regdevid.as_str()));
    let rejected = state
        .audit
        .iter()
        .filter(|a| a.code.as_deref() == Some("identifier-conflict"))
        .count();
    assert_eq!(
        rejected, 1,
        "the conflict is audited once: {:?}",
        state.audit
    );
}

// Y.3059 9.2 i c
// Y.3059 6.1 h
// Y.3059 9.2 ii a-d
#[tokio::test]
async fn location_of_a_serial_device_leads_to_its_acknowledgement() {
    let h = Harness::new().await;
    let identifier = Identifier::parse(Scheme::Serial, "acme/SN-42").unwrap();
    let device = h.device(identifier);
    let reply = h.register(&device).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let regdevid = reply.json["regdevid"].as_str().unwrap().to_owned();
    assert_eq!(regdevid, format!("{PATH}:serial:acme/SN-42"));

    // The Location must name the device as one path segment: '/' in a RegDevID is encoded.
    let location = reply.location.unwrap();
    let nonce = h.challenge(Purpose::Acknowledge).await;
    let jws = acknowledgement_jws(&device, &regdevid, &nonce);
    let ack = h
        .post(
            &format!("{location}/acknowledgement"),
            Some(JOSE),
            jws.into_bytes(),
        )
        .await;
    assert_eq!(ack.status, StatusCode::OK, "Location {location}: {ack:?}");
    assert_eq!(ack.json["status"], "trusted");
}

// ---------------------------------------------------------------------------------------------
// Refused registrations: problem+json, nothing stored, one rejected audit record.
// ---------------------------------------------------------------------------------------------

/// Posts `jws` as a registration and checks the refusal end to end.
async fn assert_registration_refused(h: &Harness, jws: &str, status: StatusCode, code: &str) {
    let before = h.snapshot();
    let reply = h.post_registration(jws).await;
    assert_problem(&reply, status, code);
    let after = h.snapshot();
    assert_rejected_and_audited(&before, &after, "register", code);
}

// Y.3059 7 ii
// Y.3059 7 iii
// Y.3059 9.2 i a
// Y.3059 7 i c
#[tokio::test]
async fn chain_to_a_root_not_accepted_is_untrusted_root() {
    let h = Harness::new().await;
    let foreign = h.foreign_ca();
    let device = h.device_from(&foreign, imei(IMEI));
    let jws = h.registration_jws(&device).await;
    assert_registration_refused(&h, &jws, StatusCode::FORBIDDEN, "untrusted-root").await;
    assert!(h.snapshot().devices.is_empty());

    // And with no root accepted at all.
    let bare = Harness::build(RegistryKind::Primary, false).await;
    let device = bare.device(imei(IMEI));
    let jws = bare.registration_jws(&device).await;
    assert_registration_refused(&bare, &jws, StatusCode::FORBIDDEN, "untrusted-root").await;
    assert!(bare.snapshot().guards.is_empty());
}

// Y.3059 9.2 i a
// Y.3059 10
// Y.3059 7 i c
#[tokio::test]
async fn tampered_payload_is_bad_signature() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let nonce = h.challenge(Purpose::Register).await;
    let signed = registration_jws(&device, &claims(&nonce, &device.identifier));
    let mut altered = claims(&nonce, &device.identifier);
    altered.device.make = "Evil".into();
    let forged = registration_jws(&device, &altered);
    // The signed header and signature around the altered payload.
    let s: Vec<&str> = signed.split('.').collect();
    let f: Vec<&str> = forged.split('.').collect();
    let tampered = format!("{}.{}.{}", s[0], f[1], s[2]);
    assert_registration_refused(&h, &tampered, StatusCode::UNAUTHORIZED, "bad-signature").await;
    assert!(h.snapshot().devices.is_empty());
}

// Y.3059 9.2 i a
// Y.3059 7 iii
// Y.3059 7 i c
#[tokio::test]
async fn expired_device_certificate_is_refused() {
    let h = Harness::new().await;
    let device = h.expired_device(imei(IMEI));
    let jws = h.registration_jws(&device).await;
    assert_registration_refused(&h, &jws, StatusCode::FORBIDDEN, "certificate-expired").await;
    assert!(h.snapshot().devices.is_empty());
}

// Y.3059 9.2 i a
// Y.3059 9.2 i b
// Y.3059 6.1 h
// Y.3059 7 i c
#[tokio::test]
async fn identifier_not_in_the_certificate_is_a_mismatch() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let nonce = h.challenge(Purpose::Register).await;
    let jws = registration_jws(&device, &claims(&nonce, &imei(OTHER_IMEI)));
    assert_registration_refused(&h, &jws, StatusCode::FORBIDDEN, "identifier-mismatch").await;
    let state = h.snapshot();
    assert!(state.devices.is_empty());
    // Findable under the RegDevID that was asked for.
    assert_eq!(
        state.audit.last().unwrap().target.as_deref(),
        Some(regdevid_of(OTHER_IMEI).as_str())
    );
}

// Y.3059 9.2 i a
// Y.3059 10
// Y.3059 7 i c
#[tokio::test]
async fn replayed_registration_is_nonce_invalid() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let jws = h.registration_jws(&device).await;
    assert_eq!(h.post_registration(&jws).await.status, StatusCode::CREATED);
    // The very same request again: its nonce is spent.
    assert_registration_refused(&h, &jws, StatusCode::UNAUTHORIZED, "nonce-invalid").await;

    // A nonce that was never issued.
    let fresh = Harness::new().await;
    let device = fresh.device(imei(IMEI));
    let jws = registration_jws(&device, &claims("never-issued", &device.identifier));
    assert_registration_refused(&fresh, &jws, StatusCode::UNAUTHORIZED, "nonce-invalid").await;
    assert!(fresh.snapshot().devices.is_empty());
}

// Y.3059 9.2 i a
// Y.3059 10
#[tokio::test]
async fn nonce_for_another_purpose_is_nonce_invalid_and_burnt() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let nonce = h.challenge(Purpose::Acknowledge).await;
    let jws = registration_jws(&device, &claims(&nonce, &device.identifier));
    assert_registration_refused(&h, &jws, StatusCode::UNAUTHORIZED, "nonce-invalid").await;
    let state = h.snapshot();
    assert!(state.devices.is_empty());
    assert!(
        !state.nonces.contains_key(&nonce),
        "a misused nonce stays usable"
    );
}

// Y.3059 9.2 i a
// Y.3059 10
#[tokio::test]
async fn nonce_older_than_five_minutes_is_expired() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let jws = h.registration_jws(&device).await;
    h.clock.advance(NONCE_TTL_MS + 1);
    assert_registration_refused(&h, &jws, StatusCode::UNAUTHORIZED, "nonce-expired").await;
    assert!(h.snapshot().devices.is_empty());

    // Just inside the five minutes it is still good.
    let device = h.device(imei(OTHER_IMEI));
    let jws = h.registration_jws(&device).await;
    h.clock.advance(NONCE_TTL_MS - 1);
    assert_eq!(h.post_registration(&jws).await.status, StatusCode::CREATED);
}

// Y.3059 6.1 h
// Y.3059 9.2 i b
#[tokio::test]
async fn imei_with_a_bad_check_digit_is_invalid_identifier() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let nonce = h.challenge(Purpose::Register).await;
    let jws = registration_jws(
        &device,
        &claims_raw(&nonce, Scheme::Imei, "356938035643808"),
    );
    assert_registration_refused(&h, &jws, StatusCode::BAD_REQUEST, "invalid-identifier").await;
    assert!(h.snapshot().devices.is_empty());
}

// Y.3059 7 iii
// Y.3059 9.2 i a
#[tokio::test]
async fn registration_without_x5c_is_a_malformed_chain() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let nonce = h.challenge(Purpose::Register).await;
    let header = JwsHeader::es256().with_typ(trustreg_device::client::REGISTRATION_TYP);
    let jws = sign(&device, &header, &claims(&nonce, &device.identifier));
    assert_registration_refused(
        &h,
        &jws,
        StatusCode::BAD_REQUEST,
        "malformed-certificate-chain",
    )
    .await;
    assert!(h.snapshot().devices.is_empty());
}

// Y.3059 9.2 i a
// Y.3059 10
#[tokio::test]
async fn unsigned_or_garbage_bodies_are_malformed_jws() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let nonce = h.challenge(Purpose::Register).await;
    let mut header = registration_header(&device);
    header.alg = "none".into();
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(&nonce, &device.identifier)).unwrap())
    );
    assert_registration_refused(&h, &unsigned, StatusCode::BAD_REQUEST, "malformed-jws").await;
    for garbage in ["", "not a jws", "a.b.c", "a.b.c.d", "e30.e30.AAAA"] {
        assert_registration_refused(&h, garbage, StatusCode::BAD_REQUEST, "malformed-jws").await;
    }
    assert!(h.snapshot().devices.is_empty());
}

// Y.3059 6.1 b
// Y.3059 6.1 a
#[tokio::test]
async fn sectoral_registry_takes_no_registrations() {
    for kind in [RegistryKind::Sectoral, RegistryKind::Geographical] {
        let h = Harness::build(kind, true).await;
        let device = h.device(imei(IMEI));
        let jws = h.registration_jws(&device).await;
        assert_registration_refused(&h, &jws, StatusCode::FORBIDDEN, "not-a-primary-registry")
            .await;
        assert!(h.snapshot().devices.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP level: media types, routes, methods, sizes. None of these reach the registry.
// ---------------------------------------------------------------------------------------------

// Y.3059 10
#[tokio::test]
async fn challenge_requests_that_are_not_good_json_are_refused() {
    let h = Harness::new().await;
    let before = h.snapshot();
    let cases: [(Option<&str>, &[u8], StatusCode, &str); 5] = [
        (
            Some("application/json"),
            b"{not json",
            StatusCode::BAD_REQUEST,
            "malformed-request",
        ),
        (
            Some("application/json"),
            br#"{"purpose":"steal"}"#,
            StatusCode::BAD_REQUEST,
            "malformed-request",
        ),
        (
            Some("application/json"),
            br#"{"purpose":"register","extra":1}"#,
            StatusCode::BAD_REQUEST,
            "malformed-request",
        ),
        (
            None,
            br#"{"purpose":"register"}"#,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
        (
            Some("text/plain"),
            br#"{"purpose":"register"}"#,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
    ];
    for (content_type, body, status, code) in cases {
        let reply = h.post("/v1/challenges", content_type, body.to_vec()).await;
        assert_problem(&reply, status, code);
    }
    assert_store_unchanged(&before, &h.snapshot());
}

// Y.3059 10
#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let h = Harness::new().await;
    let before = h.snapshot();

    let reply = h.post("/v1/nowhere", Some(JOSE), b"x".to_vec()).await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");

    let get = axum::http::Request::get("/v1/registrations")
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = h.send("register", get).await;
    assert_problem(&reply, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
    // RFC 9110 15.5.6: a 405 names the methods the resource allows.
    assert_eq!(reply.allow.as_deref(), Some("POST"), "{reply:?}");

    assert_store_unchanged(&before, &h.snapshot());
}

// Y.3059 10
#[tokio::test]
async fn bodies_over_64_kib_are_payload_too_large() {
    let h = Harness::new().await;
    let before = h.snapshot();
    let big = vec![b'a'; 64 * 1024 + 1];

    let reply = h.post("/v1/registrations", Some(JOSE), big.clone()).await;
    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    let reply = h
        .post(
            "/v1/devices/IN1.HLT.P07%3Aimei%3A356938035643809/acknowledgement",
            Some(JOSE),
            big.clone(),
        )
        .await;
    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    let mut json = br#"{"purpose":"register","pad":""#.to_vec();
    json.extend(std::iter::repeat_n(b' ', 64 * 1024));
    json.extend(br#""}"#);
    let reply = h
        .post("/v1/challenges", Some("application/json"), json)
        .await;
    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");

    assert_store_unchanged(&before, &h.snapshot());
}

// Y.3059 9.2 i a
// Y.3059 10
#[tokio::test]
async fn registration_sent_as_json_is_unsupported_media_type() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let jws = h.registration_jws(&device).await;
    let before = h.snapshot();
    let reply = h
        .post(
            "/v1/registrations",
            Some("application/json"),
            jws.clone().into_bytes(),
        )
        .await;
    assert_problem(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    assert_store_unchanged(&before, &h.snapshot());
    // The nonce was not spent: the same JWS, correctly labelled, still registers.
    let reply = h
        .post(
            "/v1/registrations",
            Some("application/jose; charset=utf-8"),
            jws.into_bytes(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
}

// Y.3059 10
#[tokio::test]
async fn acknowledgement_path_that_is_not_a_regdevid_is_a_problem() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let nonce = h.challenge(Purpose::Acknowledge).await;
    let jws = acknowledgement_jws(&device, "nonsense", &nonce);
    let before = h.snapshot();
    let reply = h.post_acknowledgement("nonsense", &jws).await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid-identifier");
    let after = h.snapshot();
    assert_rejected_and_audited(&before, &after, "acknowledge", "invalid-identifier");

    // Percent-encoded bytes that are not UTF-8.
    let reply = h
        .post(
            "/v1/devices/%FF%FE/acknowledgement",
            Some(JOSE),
            jws.into_bytes(),
        )
        .await;
    assert_eq!(reply.status.as_u16() / 100, 4, "{reply:?}");
    assert_eq!(
        reply.content_type.as_deref(),
        Some(trustreg_http::PROBLEM_JSON),
        "{reply:?}"
    );
}

// Y.3059 7 iv b
// A device the registry does not know cannot prove who it is: its acknowledgement is refused
// like any signature that does not verify (nothing says whether the signer exists), and audited.
#[tokio::test]
async fn acknowledging_an_unknown_device_is_a_bad_signature() {
    let h = Harness::new().await;
    let device = h.device(imei(IMEI));
    let regdevid = regdevid_of(IMEI);
    let before = h.snapshot();
    let reply = h.acknowledge(&device, &regdevid).await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "bad-signature");
    let after = h.snapshot();
    assert!(after.devices.is_empty());
    assert_eq!(
        after.audit.last().unwrap().code.as_deref(),
        Some("bad-signature")
    );
    assert_eq!(after.audit.len(), before.audit.len() + 1);
}

// ---------------------------------------------------------------------------------------------
// Whatever arrives, the answer is a 4xx problem, never a 5xx.
// ---------------------------------------------------------------------------------------------

mod fuzz {
    use std::sync::OnceLock;

    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    use super::fixture::{Harness, encode_bytes};

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RUNTIME.get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        })
    }

    fn harness() -> &'static Harness {
        static HARNESS: OnceLock<Harness> = OnceLock::new();
        HARNESS.get_or_init(|| {
            let harness = runtime().block_on(Harness::new());
            // A static is never dropped: its files go now, the CA stays in memory.
            harness.remove_files();
            harness
        })
    }

    /// Random bytes, random text, and JWS-shaped text with random (x5c) contents.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..1024),
            "[ -~]{0,300}".prop_map(String::into_bytes),
            (
                prop::collection::vec(any::<u8>(), 0..600),
                prop::collection::vec(any::<u8>(), 0..200),
                prop::collection::vec(any::<u8>(), 0..80),
                "[a-zA-Z0-9]{0,10}",
            )
                .prop_map(|(cert, payload, signature, kid)| {
                    let header = serde_json::json!({
                        "alg": "ES256",
                        "kid": kid,
                        "x5c": [STANDARD.encode(cert)],
                    });
                    format!(
                        "{}.{}.{}",
                        URL_SAFE_NO_PAD.encode(header.to_string()),
                        URL_SAFE_NO_PAD.encode(payload),
                        URL_SAFE_NO_PAD.encode(signature)
                    )
                    .into_bytes()
                }),
        ]
    }

    fn content_type() -> impl Strategy<Value = Option<&'static str>> {
        prop_oneof![
            Just(None),
            Just(Some("application/jose")),
            Just(Some("text/plain")),
            Just(Some("application/json")),
        ]
    }

    fn path_segment() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..48),
            "IN1\\.HLT\\.P07:(imei|serial|mac):[a-z0-9/:-]{0,20}".prop_map(String::into_bytes),
        ]
    }

    fn assert_problem_4xx(uri: &str, status: u16, content_type: Option<&str>) {
        assert!((400..500).contains(&status), "{uri} answered {status}");
        assert_eq!(content_type, Some(trustreg_http::PROBLEM_JSON), "{uri}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        // Y.3059 10
        // Y.3059 7 iv a
        #[test]
        fn random_registrations_get_4xx_problems(body in body(), ct in content_type()) {
            let h = harness();
            let reply = runtime().block_on(h.post("/v1/registrations", ct, body));
            assert_problem_4xx("/v1/registrations", reply.status.as_u16(), reply.content_type.as_deref());
        }

        // Y.3059 10
        // Y.3059 7 iv b
        #[test]
        fn random_acknowledgements_get_4xx_problems(
            segment in path_segment(),
            body in body(),
            ct in content_type(),
        ) {
            let h = harness();
            let uri = format!("/v1/devices/{}/acknowledgement", encode_bytes(&segment));
            let reply = runtime().block_on(h.post(&uri, ct, body));
            assert_problem_4xx(&uri, reply.status.as_u16(), reply.content_type.as_deref());
        }
    }
}
