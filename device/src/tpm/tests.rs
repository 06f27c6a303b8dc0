//! The whole TPM evidence, made by a real (software) TPM and judged by the registry's own
//! functions (trustreg-model): EK certificate chain, credential activation, certification,
//! signatures. Needs swtpm (scripts/test installs it); fails, never skips, without it.
#![allow(clippy::unwrap_used)]

use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use rand_core::OsRng;
use sha2::{Digest as _, Sha256};
use trustreg_model::rot::tpm::{self, TpmError, TpmPublic};
use trustreg_model::rot::{AcceptedRoot, root_id_for};

use super::swtpm::Swtpm;
use super::{Ek, TpmDevice};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn tpm_root(der: &[u8]) -> AcceptedRoot {
    AcceptedRoot {
        id: root_id_for(der),
        der: der.to_vec(),
        scopes: vec![],
        rot_types: vec!["tpm".into()],
        revoked_intermediates: vec![],
    }
}

#[test]
fn a_real_tpm_makes_evidence_the_registry_accepts() {
    let swtpm = Swtpm::start();
    let (root, intermediate) = swtpm.ca_chain();
    let mut device = TpmDevice::open(&swtpm.tcti()).unwrap();

    // The EK certificate chains to the TPM manufacturer's (here swtpm's local CA's) root.
    let ek = TpmPublic::from_tpm2b(&device.ek_public().unwrap()).unwrap();
    let chain = vec![device.ek_certificate().unwrap(), intermediate];
    let root_id = tpm::verify_ek_certificate(&chain, &ek, &[tpm_root(&root)], now()).unwrap();
    assert_eq!(root_id, root_id_for(&root));

    // The registry's credential opens in this TPM, for this AK.
    let ak = TpmPublic::from_tpm2b(&device.ak_public().unwrap()).unwrap();
    let made = tpm::make_credential(&ek, &ak.name(), &[42; 32], &mut OsRng).unwrap();
    let secret = device
        .activate_credential(&made.credential_blob, &made.encrypted_secret)
        .unwrap();
    assert_eq!(secret, vec![42; 32]);

    // The AK certifies the registration key over the registry's challenge.
    let key = TpmPublic::from_tpm2b(&device.key_public().unwrap()).unwrap();
    let qualifying = tpm::certify_qualifying_data("nonce-1");
    let (attest, signature) = device.certify_key(&qualifying).unwrap();
    tpm::verify_certify(&ak, &attest, &signature, &qualifying, &key).unwrap();
    assert_eq!(
        tpm::verify_certify(
            &ak,
            &attest,
            &signature,
            &tpm::certify_qualifying_data("nonce-2"),
            &key
        ),
        Err(TpmError::Certify(
            "qualifying data is not the registry's challenge".into()
        ))
    );

    // And the registration key signs JWS digests (ES256).
    let digest: [u8; 32] = Sha256::digest(b"header.payload").into();
    let rs = device.sign_digest(&digest).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&rs).unwrap();
    device
        .verifying_key()
        .unwrap()
        .verify_prehash(&digest, &signature)
        .unwrap();
}

#[test]
fn a_credential_made_for_another_ak_does_not_open() {
    let swtpm = Swtpm::start();
    let mut device = TpmDevice::open(&swtpm.tcti()).unwrap();
    let ek = TpmPublic::from_tpm2b(&device.ek_public().unwrap()).unwrap();
    // The registration key's Name instead of the AK's: TPM2_ActivateCredential must refuse.
    let key = TpmPublic::from_tpm2b(&device.key_public().unwrap()).unwrap();
    let made = tpm::make_credential(&ek, &key.name(), &[42; 32], &mut OsRng).unwrap();
    assert!(
        device
            .activate_credential(&made.credential_blob, &made.encrypted_secret)
            .is_err()
    );
}

/// What `RegistryClient::register_tpm` sends, checked as the registry checks it (the model's
/// functions; the registry's flow itself is tested on fakes in functions/http/tests/tpm_routes.rs).
#[test]
fn the_registration_evidence_and_jws_verify() {
    use trustreg_model::jose::{self, JwsHeader};
    use trustreg_model::messages::ChallengeResponse;

    let swtpm = Swtpm::start();
    let (root, intermediate) = swtpm.ca_chain();
    let mut device = TpmDevice::open(&swtpm.tcti()).unwrap();
    let request = device.activation_request(&[intermediate]).unwrap();

    // The registry's side of the challenge, as core's tpm_challenge does it.
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    };
    let chain: Vec<Vec<u8>> = request
        .ek_certificates
        .iter()
        .map(|c| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(c).unwrap()
        })
        .collect();
    let ek = TpmPublic::from_tpm2b(&b64(&request.ek_public)).unwrap();
    let ak = TpmPublic::from_tpm2b(&b64(&request.ak_public)).unwrap();
    tpm::verify_ek_certificate(&chain, &ek, &[tpm_root(&root)], now()).unwrap();
    let made = tpm::make_credential(&ek, &ak.name(), &[5; 32], &mut OsRng).unwrap();
    let challenge = ChallengeResponse {
        nonce: "the-nonce".into(),
        expires_at: String::new(),
        tpm: Some(trustreg_model::messages::TpmCredential {
            credential_blob: {
                use base64::Engine as _;
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&made.credential_blob)
            },
            encrypted_secret: {
                use base64::Engine as _;
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&made.encrypted_secret)
            },
        }),
    };

    let evidence = device.evidence(&challenge).unwrap();
    assert_eq!(b64(&evidence.activation), vec![5; 32]);
    let key = TpmPublic::from_tpm2b(&b64(&evidence.key_public)).unwrap();
    tpm::verify_certify(
        &TpmPublic::from_tpm2b(&b64(&evidence.ak_public)).unwrap(),
        &b64(&evidence.certify_info),
        &b64(&evidence.certify_signature),
        &tpm::certify_qualifying_data("the-nonce"),
        &key,
    )
    .unwrap();

    let jws = device
        .sign_jws(&JwsHeader::es256(), b"{\"hello\":\"tpm\"}")
        .unwrap();
    let parsed = jose::parse(&jws).unwrap();
    parsed.verify(&device.verifying_key().unwrap()).unwrap();
    let point = key.sec1_point().unwrap().1;
    assert_eq!(
        device
            .verifying_key()
            .unwrap()
            .to_encoded_point(false)
            .as_bytes(),
        point.as_slice()
    );
}

/// The RSA EK most TPMs in the field carry: RSA-OAEP seed, SHA-256, AES-128.
#[test]
fn a_real_tpm_with_an_rsa_ek_activates_the_registrys_credential() {
    let swtpm = Swtpm::start();
    let (root, intermediate) = swtpm.ca_chain();
    let mut device = TpmDevice::open_with(&swtpm.tcti(), Ek::Rsa2048).unwrap();
    let ek = TpmPublic::from_tpm2b(&device.ek_public().unwrap()).unwrap();
    assert!(matches!(ek.key, tpm::PublicKey::Rsa { .. }));
    let chain = vec![device.ek_certificate().unwrap(), intermediate];
    tpm::verify_ek_certificate(&chain, &ek, &[tpm_root(&root)], now()).unwrap();
    let ak = TpmPublic::from_tpm2b(&device.ak_public().unwrap()).unwrap();
    let made = tpm::make_credential(&ek, &ak.name(), &[7; 32], &mut OsRng).unwrap();
    assert_eq!(
        device
            .activate_credential(&made.credential_blob, &made.encrypted_secret)
            .unwrap(),
        vec![7; 32]
    );
}
