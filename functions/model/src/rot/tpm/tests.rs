//! Vectors made with swtpm 0.7 and tpm2-tools 5.4 (`swtpm_setup --ecc` with a local CA of
//! its own, an ECC P-256 AK under the P-384 EK, a registration key under an owner primary;
//! tpm2_certify, whose qualifying data tpm2-tools 5.4 fixes at 00ff55aa).
#![allow(clippy::unwrap_used)]

use rand_core::OsRng;

use super::credential::cfb_decrypt;
use super::hash::{HashAlg, kdfa, kdfe};
use super::*;
use crate::rot::{AcceptedRoot, root_id_for};

const EK_PUB: &[u8] = include_bytes!("fixtures/ek.pub");
const EK_CERT: &[u8] = include_bytes!("fixtures/ek.der");
const EK_RSA_PUB: &[u8] = include_bytes!("fixtures/ekrsa.pub");
const EK_RSA_CERT: &[u8] = include_bytes!("fixtures/ekrsa.der");
const LOCAL_CA: &[u8] = include_bytes!("fixtures/localca.der");
const ROOT_CA: &[u8] = include_bytes!("fixtures/rootca.der");
const AK_PUB: &[u8] = include_bytes!("fixtures/ak.pub");
const AK_NAME: &[u8] = include_bytes!("fixtures/ak.name");
const AK2_PUB: &[u8] = include_bytes!("fixtures/ak2.pub");
const KEY_PUB: &[u8] = include_bytes!("fixtures/key.pub");
const KEY_NAME: &[u8] = include_bytes!("fixtures/key.name");
const LOOSE_PUB: &[u8] = include_bytes!("fixtures/loose.pub");
const ATTEST: &[u8] = include_bytes!("fixtures/attest.bin");
const SIG: &[u8] = include_bytes!("fixtures/sig.bin");
const LOOSE_ATTEST: &[u8] = include_bytes!("fixtures/loose_attest.bin");
const LOOSE_SIG: &[u8] = include_bytes!("fixtures/loose_sig.bin");
const OTHER_ATTEST: &[u8] = include_bytes!("fixtures/other_attest.bin");
const OTHER_SIG: &[u8] = include_bytes!("fixtures/other_sig.bin");

/// 2027-01-01: the fixtures' certificates were made on 2026-12-07, valid until 9999.
/// What tpm2-tools 5.4 passes as tpm2_certify's qualifyingData.
const QUALIFYING: &[u8] = &[0x00, 0xff, 0x55, 0xaa];

const NOW: u64 = 1_798_761_600;

fn public(bytes: &[u8]) -> TpmPublic {
    TpmPublic::from_tpm2b(bytes).unwrap()
}

fn root(der: &[u8], rot_types: &[&str]) -> AcceptedRoot {
    AcceptedRoot {
        id: root_id_for(der),
        der: der.to_vec(),
        scopes: vec![],
        rot_types: rot_types.iter().map(|t| t.to_string()).collect(),
        revoked_intermediates: vec![],
    }
}

#[test]
fn names_match_the_tpm() {
    assert_eq!(public(AK_PUB).name(), AK_NAME);
    assert_eq!(public(KEY_PUB).name(), KEY_NAME);
}

#[test]
fn parses_ecc_and_rsa_eks() {
    let ek = public(EK_PUB);
    assert_eq!(ek.name_alg, HashAlg::Sha384);
    assert_eq!(ek.symmetric_aes_bits, Some(256));
    assert!(matches!(
        ek.key,
        PublicKey::Ecc {
            curve: Curve::P384,
            ..
        }
    ));
    let rsa = public(EK_RSA_PUB);
    assert_eq!(rsa.symmetric_aes_bits, Some(128));
    assert!(
        matches!(rsa.key, PublicKey::Rsa { exponent: 65537, ref modulus } if modulus.len() == 256)
    );
}

#[test]
fn truncated_and_padded_structures_are_refused() {
    assert!(TpmPublic::from_tpm2b(&AK_PUB[..AK_PUB.len() - 1]).is_err());
    let mut longer = AK_PUB.to_vec();
    longer.push(0);
    assert!(TpmPublic::from_tpm2b(&longer).is_err());
    assert!(CertifyInfo::parse(&ATTEST[..10]).is_err());
}

#[test]
fn ek_certificates_chain_to_the_tpm_root() {
    let roots = [root(ROOT_CA, &["tpm"])];
    let chain = vec![EK_CERT.to_vec(), LOCAL_CA.to_vec()];
    assert_eq!(
        verify_ek_certificate(&chain, &public(EK_PUB), &roots, NOW).unwrap(),
        root_id_for(ROOT_CA)
    );
    let chain = vec![EK_RSA_CERT.to_vec(), LOCAL_CA.to_vec()];
    assert!(verify_ek_certificate(&chain, &public(EK_RSA_PUB), &roots, NOW).is_ok());
}

#[test]
fn an_ek_certificate_proves_nothing_under_a_root_not_published_for_tpm() {
    let chain = vec![EK_CERT.to_vec(), LOCAL_CA.to_vec()];
    let roots = [root(ROOT_CA, &["secure-element"])];
    assert_eq!(
        verify_ek_certificate(&chain, &public(EK_PUB), &roots, NOW),
        Err(TpmError::EkUntrusted)
    );
    assert_eq!(
        verify_ek_certificate(&chain, &public(EK_PUB), &[], NOW),
        Err(TpmError::EkUntrusted)
    );
}

#[test]
fn an_ek_certificate_for_another_key_is_refused() {
    let roots = [root(ROOT_CA, &["tpm"])];
    let chain = vec![EK_RSA_CERT.to_vec(), LOCAL_CA.to_vec()];
    assert!(matches!(
        verify_ek_certificate(&chain, &public(EK_PUB), &roots, NOW),
        Err(TpmError::EkCertificate(_))
    ));
}

#[test]
fn an_ek_certificate_before_its_validity_is_refused() {
    let roots = [root(ROOT_CA, &["tpm"])];
    let chain = vec![EK_CERT.to_vec(), LOCAL_CA.to_vec()];
    assert!(matches!(
        verify_ek_certificate(&chain, &public(EK_PUB), &roots, 1_700_000_000),
        Err(TpmError::EkCertificate(_))
    ));
}

#[test]
fn certify_by_the_ak_of_a_fixed_key_verifies() {
    verify_certify(&public(AK_PUB), ATTEST, SIG, QUALIFYING, &public(KEY_PUB)).unwrap();
}

#[test]
fn certify_with_other_qualifying_data_is_refused() {
    assert!(matches!(
        verify_certify(&public(AK_PUB), ATTEST, SIG, b"challenge", &public(KEY_PUB)),
        Err(TpmError::Certify(_))
    ));
}

#[test]
fn certify_of_a_key_without_fixed_tpm_is_refused() {
    assert_eq!(
        verify_certify(
            &public(AK_PUB),
            LOOSE_ATTEST,
            LOOSE_SIG,
            QUALIFYING,
            &public(LOOSE_PUB)
        ),
        Err(TpmError::KeyNotFixed)
    );
}

#[test]
fn certify_naming_another_key_is_refused() {
    assert!(matches!(
        verify_certify(&public(AK_PUB), ATTEST, SIG, QUALIFYING, &public(LOOSE_PUB)),
        Err(TpmError::Certify(_))
    ));
}

#[test]
fn certify_signed_by_another_ak_is_refused() {
    assert_eq!(
        verify_certify(
            &public(AK_PUB),
            OTHER_ATTEST,
            OTHER_SIG,
            QUALIFYING,
            &public(KEY_PUB)
        ),
        Err(TpmError::BadSignature)
    );
    // ... and the other AK's own signature does verify.
    verify_certify(
        &public(AK2_PUB),
        OTHER_ATTEST,
        OTHER_SIG,
        QUALIFYING,
        &public(KEY_PUB),
    )
    .unwrap();
    // A signature over other bytes does not.
    assert_eq!(
        verify_certify(
            &public(AK_PUB),
            ATTEST,
            LOOSE_SIG,
            QUALIFYING,
            &public(KEY_PUB)
        ),
        Err(TpmError::BadSignature)
    );
}

#[test]
fn a_non_restricted_key_is_no_ak() {
    assert_eq!(
        verify_certify(&public(KEY_PUB), ATTEST, SIG, QUALIFYING, &public(KEY_PUB)),
        Err(TpmError::NotAnAk)
    );
}

#[test]
fn make_credential_refuses_a_key_that_is_no_ek() {
    let name = public(AK_PUB).name();
    assert!(matches!(
        make_credential(&public(AK_PUB), &name, &[1; 32], &mut OsRng),
        Err(TpmError::NotAnEk(_))
    ));
}

/// Plays the TPM's TPM2_ActivateCredential (Part 1 §24) with the EK's private key, which only a
/// software EK exposes; the real TPM's activation is tested in trustreg-device against swtpm.
fn activate_with(
    ek: &TpmPublic,
    ek_secret: &p384::SecretKey,
    ak_name: &[u8],
    made: &MadeCredential,
) -> Option<Vec<u8>> {
    let hash = ek.name_alg;
    let PublicKey::Ecc { x: ek_x, .. } = &ek.key else {
        return None;
    };
    // TPM2B_ENCRYPTED_SECRET holding a TPMS_ECC_POINT.
    let point = &made.encrypted_secret[2..];
    let x_len = usize::from(u16::from_be_bytes([point[0], point[1]]));
    let x = &point[2..2 + x_len];
    let y = &point[4 + x_len..];
    let mut sec1 = vec![4];
    sec1.extend_from_slice(x);
    sec1.extend_from_slice(y);
    let ephemeral = p384::PublicKey::from_sec1_bytes(&sec1).ok()?;
    let z = p384::ecdh::diffie_hellman(ek_secret.to_nonzero_scalar(), ephemeral.as_affine());
    let seed = kdfe(hash, z.raw_secret_bytes(), "IDENTITY", x, ek_x, 384);
    let blob = &made.credential_blob[2..];
    let hmac_len = usize::from(u16::from_be_bytes([blob[0], blob[1]]));
    let (outer_hmac, enc_identity) = blob[2..].split_at(hmac_len);
    let hmac_key = kdfa(hash, &seed, "INTEGRITY", &[], &[], 384);
    if hash.hmac(&hmac_key, &[enc_identity, ak_name]) != outer_hmac {
        return None;
    }
    let sym = kdfa(hash, &seed, "STORAGE", ak_name, &[], 256);
    let mut plain = enc_identity.to_vec();
    cfb_decrypt(&sym, &mut plain);
    Some(plain[2..].to_vec())
}

/// The EK template's shape with a software key in it.
fn software_ek(secret: &p384::SecretKey) -> TpmPublic {
    let mut ek = public(EK_PUB);
    let point = p384::EncodedPoint::from(secret.public_key());
    ek.key = PublicKey::Ecc {
        curve: Curve::P384,
        x: point.x().unwrap().to_vec(),
        y: point.y().unwrap().to_vec(),
    };
    ek
}

#[test]
fn a_credential_opens_only_for_the_ak_it_names() {
    let secret_key = p384::SecretKey::random(&mut OsRng);
    let ek = software_ek(&secret_key);
    let ak_name = public(AK_PUB).name();
    let made = make_credential(&ek, &ak_name, &[7; 32], &mut OsRng).unwrap();
    assert_eq!(
        activate_with(&ek, &secret_key, &ak_name, &made),
        Some(vec![7; 32])
    );
    let other_name = public(AK2_PUB).name();
    assert_eq!(activate_with(&ek, &secret_key, &other_name, &made), None);
    let other_ek = p384::SecretKey::random(&mut OsRng);
    assert_eq!(activate_with(&ek, &other_ek, &ak_name, &made), None);
}

#[test]
fn kdfa_matches_its_definition_for_lengths_over_one_block() {
    let out = kdfa(HashAlg::Sha256, b"key", "STORAGE", b"u", b"v", 384);
    assert_eq!(out.len(), 48);
    let first = HashAlg::Sha256.hmac(
        b"key",
        &[
            &1u32.to_be_bytes(),
            b"STORAGE\0",
            b"u",
            b"v",
            &384u32.to_be_bytes(),
        ],
    );
    assert_eq!(out[..32], first[..]);
}

#[test]
fn rsa_eks_take_credentials() {
    let ek = public(EK_RSA_PUB);
    let name = public(AK_PUB).name();
    let made = make_credential(&ek, &name, &[1; 32], &mut OsRng).unwrap();
    // TPM2B_ENCRYPTED_SECRET: an RSA-2048 OAEP block.
    assert_eq!(made.encrypted_secret.len(), 2 + 256);
}

#[test]
fn the_software_tpm_makes_evidence_the_registry_accepts() {
    let soft = soft::SoftTpm::new(&mut OsRng, soft::FIXED_SIGNING_KEY);
    let ek = public(&soft.ek_public());
    let ak = public(&soft.ak_public());
    let made = make_credential(&ek, &ak.name(), &[9; 32], &mut OsRng).unwrap();
    assert_eq!(
        soft.activate(&made.credential_blob, &made.encrypted_secret),
        Some(vec![9; 32])
    );
    let (attest, signature) = soft.certify(b"q");
    verify_certify(&ak, &attest, &signature, b"q", &public(&soft.key_public())).unwrap();
}
