//! The `tpm-activation` challenge on the fakes. Registrations over it, with evidence from a
//! software TPM, go through the router in functions/http/tests/tpm_routes.rs; a real TPM's
//! evidence is tested in trustreg-device (feature `tpm`, swtpm).
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand_core::OsRng;

use crate::error::RegistryError;
use crate::fakes::FakeRegistry;
use crate::messages::{ChallengeRequest, Purpose, TpmActivationRequest};
use crate::records::Nonce;
use crate::rot::tpm::TpmPublic;
use crate::rot::tpm::soft::{EkCa, FIXED_SIGNING_KEY, SoftTpm};

/// A TPM manufacturer root and an EK certificate under it for `tpm`.
fn ek_pki(tpm: &SoftTpm) -> (Vec<u8>, Vec<u8>) {
    let ca = EkCa::new("EK Root");
    let ek = ca.ek_certificate(tpm);
    (ca.root_der, ek)
}

async fn registry_accepting(root: &[u8]) -> FakeRegistry {
    // Certificates are checked against the registry's clock: the real time.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let f = FakeRegistry::builder().clock_at(now).build();
    f.registry
        .accept_root(
            root,
            "EK Root",
            vec!["tpm".into()],
            vec!["serial:test-tpm-maker".into()],
            "admin:test",
        )
        .await
        .unwrap();
    f
}

fn request(tpm: &SoftTpm, ek_certificate: &[u8]) -> TpmActivationRequest {
    TpmActivationRequest {
        ek_certificates: vec![STANDARD.encode(ek_certificate)],
        ek_public: URL_SAFE_NO_PAD.encode(tpm.ek_public()),
        ak_public: URL_SAFE_NO_PAD.encode(tpm.ak_public()),
    }
}

fn stored_nonce(f: &FakeRegistry, value: &str) -> Nonce {
    f.store.snapshot().nonces[value].clone()
}

#[tokio::test]
async fn the_challenge_holds_a_credential_for_the_ak_and_keeps_only_its_digest() {
    let soft = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (root, ek) = ek_pki(&soft);
    let f = registry_accepting(&root).await;
    let answer = f
        .registry
        .challenge_for(ChallengeRequest {
            purpose: Purpose::TpmActivation,
            tpm: Some(request(&soft, &ek)),
        })
        .await
        .unwrap();
    let credential = answer.tpm.unwrap();
    let secret = soft
        .activate(
            &URL_SAFE_NO_PAD.decode(credential.credential_blob).unwrap(),
            &URL_SAFE_NO_PAD.decode(credential.encrypted_secret).unwrap(),
        )
        .unwrap();
    let nonce = stored_nonce(&f, &answer.nonce);
    assert_eq!(nonce.purpose, Purpose::TpmActivation);
    let made_for = nonce.tpm.unwrap();
    let ak = TpmPublic::from_tpm2b(&soft.ak_public()).unwrap();
    assert_eq!(made_for.ak_name, crate::service::hex(&ak.name()));
    assert_eq!(made_for.ek_root_id, crate::rot::root_id_for(&root));
    assert_ne!(made_for.secret_sha256, crate::service::hex(&secret));
    use sha2::Digest as _;
    assert_eq!(
        made_for.secret_sha256,
        crate::service::hex(&sha2::Sha256::digest(&secret))
    );
}

#[tokio::test]
async fn a_tpm_activation_nonce_registers_no_secure_element() {
    let soft = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (root, ek) = ek_pki(&soft);
    let f = registry_accepting(&root).await;
    let nonce = f
        .registry
        .tpm_challenge(&request(&soft, &ek))
        .await
        .unwrap();
    assert!(matches!(
        f.registry
            .spend_nonce(&nonce.nonce, Purpose::Register)
            .await,
        Err(RegistryError::NonceInvalid)
    ));
}

#[tokio::test]
async fn an_ek_certificate_of_another_ek_gets_no_challenge() {
    let soft = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let other = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (root, other_ek) = ek_pki(&other);
    let f = registry_accepting(&root).await;
    let refused = f.registry.tpm_challenge(&request(&soft, &other_ek)).await;
    assert!(matches!(refused, Err(RegistryError::TpmEvidenceInvalid(_))));
    assert!(f.store.snapshot().nonces.is_empty());
}

#[tokio::test]
async fn a_key_that_is_no_ak_gets_no_challenge() {
    let soft = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    let (root, ek) = ek_pki(&soft);
    let f = registry_accepting(&root).await;
    let mut asked = request(&soft, &ek);
    asked.ak_public = URL_SAFE_NO_PAD.encode(soft.key_public());
    assert_eq!(
        f.registry.tpm_challenge(&asked).await.unwrap_err().code(),
        crate::error::ErrorCode::TpmEvidenceInvalid
    );
}

#[tokio::test]
async fn purposes_and_tpm_identities_go_together() {
    let f = FakeRegistry::builder().build();
    assert!(matches!(
        f.registry.challenge(Purpose::TpmActivation).await,
        Err(RegistryError::Malformed(_))
    ));
    assert!(matches!(
        f.registry
            .challenge_for(ChallengeRequest {
                purpose: Purpose::TpmActivation,
                tpm: None
            })
            .await,
        Err(RegistryError::Malformed(_))
    ));
    let soft = SoftTpm::new(&mut OsRng, FIXED_SIGNING_KEY);
    assert!(matches!(
        f.registry
            .challenge_for(ChallengeRequest {
                purpose: Purpose::Register,
                tpm: Some(request(&soft, b"x")),
            })
            .await,
        Err(RegistryError::Malformed(_))
    ));
}
