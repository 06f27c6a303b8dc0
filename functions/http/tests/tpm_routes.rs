//! Registration of devices whose root of trust is a TPM (issue 18) through the `register`
//! router on the fakes: the `tpm-activation` challenge and the TPM evidence in the claims. The
//! TPM is played in software (`model::rot::tpm::soft`): each challenge is fresh, so recorded
//! evidence could not answer it; trustreg-device's `tpm` tests run the same evidence through a
//! real TPM (swtpm).
#![allow(clippy::unwrap_used)]

mod support;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand_core::OsRng;
use serde_json::{Value, json};
use support::{Harness, Reply, now_ms};
use trustreg_core::fakes::FakeRegistry;
use trustreg_core::identifier::{Identifier, Scheme};
use trustreg_core::jose::JwsHeader;
use trustreg_core::messages::{
    AcknowledgementClaims, DeviceInfo, IdentifierClaim, PowerClaim, Purpose, RegistrationClaims,
    RotClaim, TpmEvidence,
};
use trustreg_core::rot::tpm::soft::{EkCa, FIXED_SIGNING_KEY, SoftTpm};
use trustreg_core::rot::tpm::{self, attributes};
use trustreg_core::status::{Reason, TrustStatus};
use trustreg_device::client::{ACKNOWLEDGEMENT_TYP, REGISTRATION_TYP};
use trustreg_model::routes::Op;

const IMEI: &str = "356938035643809";
const JOSE: &str = "application/jose";

struct Fixture {
    h: Harness,
    ek_ca: EkCa,
}

async fn fixture(ek_root_types: &[&str]) -> Fixture {
    let registry = FakeRegistry::builder()
        .path("IN1.HLT.P07")
        .domains(&["health"])
        .key_seed(7)
        .clock_at(now_ms());
    let h = Harness::on(registry)
        .manufacturer("Acme Devices CA")
        .build()
        .await;
    let ek_ca = EkCa::new("Test TPM Manufacturer EK Root");
    h.registry
        .accept_root(
            &ek_ca.root_der,
            "Test TPM Manufacturer",
            ek_root_types.iter().map(|t| t.to_string()).collect(),
            // Roots must name what they may certify; an EK root's scope is not used (EK
            // certificates bind no device identifier), so a narrow one.
            vec!["serial:test-tpm-maker".into()],
            "admin:test",
        )
        .await
        .unwrap();
    Fixture { h, ek_ca }
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Fixture {
    async fn tpm_challenge(&self, tpm: &SoftTpm) -> Reply {
        let body = json!({
            "purpose": "tpm-activation",
            "tpm": {
                "ek_certificates": [STANDARD.encode(self.ek_ca.ek_certificate(tpm))],
                "ek_public": b64url(&tpm.ek_public()),
                "ak_public": b64url(&tpm.ak_public()),
            }
        });
        self.h
            .post_body(
                "register",
                "/v1/challenges",
                Some("application/json"),
                body.to_string(),
            )
            .await
    }

    /// The evidence a TPM device sends over a fresh `tpm-activation` challenge.
    async fn evidence(&self, tpm: &SoftTpm) -> (String, TpmEvidence) {
        let reply = self.tpm_challenge(tpm).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        let nonce = reply.json["nonce"].as_str().unwrap().to_owned();
        let field = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(reply.json["tpm"][name].as_str().unwrap())
                .unwrap()
        };
        let secret = tpm
            .activate(&field("credential_blob"), &field("encrypted_secret"))
            .unwrap();
        let (attest, signature) = tpm.certify(&tpm::certify_qualifying_data(&nonce));
        let evidence = TpmEvidence {
            ak_public: b64url(&tpm.ak_public()),
            activation: b64url(&secret),
            key_public: b64url(&tpm.key_public()),
            certify_info: b64url(&attest),
            certify_signature: b64url(&signature),
        };
        (nonce, evidence)
    }

    /// A registration signed by `key`, whose certificate the harness CA issued for `key`.
    async fn register(
        &self,
        key: &p256::ecdsa::SigningKey,
        nonce: String,
        tpm: Option<TpmEvidence>,
    ) -> Reply {
        let identifier = Identifier::parse(Scheme::Imei, IMEI).unwrap();
        let cert = self
            .h
            .ca()
            .issue_device_cert(key.verifying_key(), &identifier, 365)
            .unwrap();
        let claims = RegistrationClaims {
            nonce,
            identifier: IdentifierClaim {
                scheme: Scheme::Imei,
                value: IMEI.into(),
            },
            device: tpm_device_info(),
            owner: None,
            trust_domains: vec!["health".into()],
            tpm,
        };
        let header = JwsHeader::es256()
            .with_typ(REGISTRATION_TYP)
            .with_x5c_der(&[cert.der]);
        let payload = trustreg_device::client::bound(&claims, "POST", "/v1/registrations").unwrap();
        let jws = trustreg_core::jose::sign_with(key, &header, &payload);
        self.h
            .post_body(
                "register",
                "/v1/registrations",
                Some(JOSE),
                jws.into_bytes(),
            )
            .await
    }
}

fn tpm_device_info() -> DeviceInfo {
    DeviceInfo {
        make: "Acme".into(),
        model: "Gateway 9".into(),
        firmware_version: "1.0".into(),
        software_version: "1.0".into(),
        rot: RotClaim { kind: "tpm".into() },
        communication: vec![],
        power: PowerClaim {
            source: "mains".into(),
            extra: serde_json::Map::new(),
        },
        protocols: vec![],
    }
}

fn refused(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.problem(), code, "{reply:?}");
}

// Issue 18: a TPM's evidence makes the device's root of trust `tpm`.
#[tokio::test]
async fn a_device_with_tpm_evidence_registers_as_tpm() {
    let f = fixture(&["tpm"]).await;
    let tpm = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (nonce, evidence) = f.evidence(&tpm).await;
    let reply = f.register(tpm.key(), nonce, Some(evidence)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let regdevid = reply.json["regdevid"].as_str().unwrap();
    let stored = f.h.store.snapshot().devices[regdevid].clone();
    assert_eq!(stored.info.rot.kind, "tpm");
    assert_eq!(stored.facts.rot_type.as_deref(), Some("tpm"));
    assert_eq!(stored.reasons, vec![Reason::NotAcknowledged]);

    // Acknowledged with the TPM key, as any device: then trusted.
    let claims = AcknowledgementClaims {
        nonce: f.h.challenge(Purpose::Acknowledge).await,
        regdevid: regdevid.to_owned(),
    };
    let path = trustreg_device::client::device_path(Op::Acknowledge, regdevid);
    let payload = trustreg_device::client::bound(&claims, "POST", &path).unwrap();
    let header = JwsHeader::es256()
        .with_typ(ACKNOWLEDGEMENT_TYP)
        .with_kid(regdevid);
    let jws = trustreg_core::jose::sign_with(tpm.key(), &header, &payload);
    let reply =
        f.h.post_body("register", &path, Some(JOSE), jws.into_bytes())
            .await;
    assert!(reply.status.is_success(), "{reply:?}");
    let stored = f.h.store.snapshot().devices[regdevid].clone();
    assert_eq!(stored.status, TrustStatus::Trusted, "{:?}", stored.reasons);
}

#[tokio::test]
async fn a_tpm_claim_without_evidence_is_refused() {
    let f = fixture(&["tpm"]).await;
    let tpm = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let nonce = f.h.challenge(Purpose::Register).await;
    let reply = f.register(tpm.key(), nonce, None).await;
    refused(&reply, StatusCode::FORBIDDEN, "tpm-evidence-invalid");
    assert!(f.h.store.snapshot().devices.is_empty());
}

#[tokio::test]
async fn evidence_over_a_register_nonce_is_refused() {
    let f = fixture(&["tpm"]).await;
    let tpm = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (_, evidence) = f.evidence(&tpm).await;
    let nonce = f.h.challenge(Purpose::Register).await;
    let reply = f.register(tpm.key(), nonce, Some(evidence)).await;
    refused(&reply, StatusCode::UNAUTHORIZED, "nonce-invalid");
}

#[tokio::test]
async fn a_credential_that_was_not_activated_is_refused() {
    let f = fixture(&["tpm"]).await;
    let tpm = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (nonce, mut evidence) = f.evidence(&tpm).await;
    evidence.activation = b64url(&[0; 32]);
    let reply = f.register(tpm.key(), nonce, Some(evidence)).await;
    refused(&reply, StatusCode::FORBIDDEN, "tpm-evidence-invalid");
    assert!(f.h.store.snapshot().devices.is_empty());
}

#[tokio::test]
async fn an_ak_other_than_the_challenges_is_refused() {
    let f = fixture(&["tpm"]).await;
    let tpm = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (nonce, _) = f.evidence(&tpm).await;
    // Another TPM's AK and certification, with the first TPM's activated secret unknown.
    let other = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (_, evidence) = f.evidence(&other).await;
    let reply = f.register(other.key(), nonce, Some(evidence)).await;
    refused(&reply, StatusCode::FORBIDDEN, "tpm-evidence-invalid");
}

#[tokio::test]
async fn a_key_that_may_leave_its_tpm_is_refused() {
    let f = fixture(&["tpm"]).await;
    let tpm = SoftTpm::new(
        &mut OsRng,
        FIXED_SIGNING_KEY & !(attributes::FIXED_TPM | attributes::FIXED_PARENT),
    );
    let (nonce, evidence) = f.evidence(&tpm).await;
    let reply = f.register(tpm.key(), nonce, Some(evidence)).await;
    refused(&reply, StatusCode::FORBIDDEN, "tpm-evidence-invalid");
    assert!(f.h.store.snapshot().devices.is_empty());
}

#[tokio::test]
async fn a_certificate_for_a_key_outside_the_tpm_is_refused() {
    let f = fixture(&["tpm"]).await;
    let tpm = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (nonce, evidence) = f.evidence(&tpm).await;
    // Good evidence, but the JWS and its certificate are for a software key.
    let software = p256::ecdsa::SigningKey::random(&mut OsRng);
    let reply = f.register(&software, nonce, Some(evidence)).await;
    refused(&reply, StatusCode::FORBIDDEN, "tpm-evidence-invalid");
}

#[tokio::test]
async fn an_ek_under_a_root_not_published_for_tpm_gets_no_challenge() {
    let f = fixture(&["secure-element"]).await;
    let tpm = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let reply = f.tpm_challenge(&tpm).await;
    refused(&reply, StatusCode::FORBIDDEN, "tpm-evidence-invalid");
}

#[tokio::test]
async fn a_tpm_activation_challenge_needs_the_tpm_identity() {
    let f = fixture(&["tpm"]).await;
    let reply =
        f.h.post_body(
            "register",
            "/v1/challenges",
            Some("application/json"),
            json!({"purpose": "tpm-activation"}).to_string(),
        )
        .await;
    refused(&reply, StatusCode::BAD_REQUEST, "malformed-request");
    let reply: Value = serde_json::to_value(&reply.json).unwrap();
    assert!(reply["nonce"].is_null());
}
