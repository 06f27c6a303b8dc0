#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, SanType, date_time_ymd,
};

use super::*;
use crate::identifier::Scheme;

/// 2030-01-01T00:00:00Z, inside the default validity used below.
const NOW: u64 = 1_893_456_000;
const IMEI_URI: &str = "urn:gsma:imei:35693803-564380-9";

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

impl Ca {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    fn accepted(&self) -> AcceptedRoot {
        AcceptedRoot {
            id: root_id_for(&self.der),
            der: self.der.clone(),
            scopes: crate::rot::scope::every_identifier(),
            rot_types: vec!["secure-element".into()],
            revoked_intermediates: Vec::new(),
        }
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(2045, 1, 1);
    params
}

fn root(name: &str) -> Ca {
    let params = ca_params(name);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    Ca { params, key, der }
}

fn intermediate(name: &str, parent: &Ca) -> Ca {
    let params = ca_params(name);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let der = params
        .signed_by(&key, &parent.issuer())
        .unwrap()
        .der()
        .to_vec();
    Ca { params, key, der }
}

fn leaf_params(uris: &[&str]) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "device");
    params.subject_alt_names = uris
        .iter()
        .map(|uri| SanType::URI((*uri).try_into().unwrap()))
        .collect();
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_before = date_time_ymd(2026, 1, 1);
    params.not_after = date_time_ymd(2036, 1, 1);
    params
}

fn leaf_with(params: &CertificateParams, issuer: &Ca) -> (Vec<u8>, KeyPair) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let der = params
        .signed_by(&key, &issuer.issuer())
        .unwrap()
        .der()
        .to_vec();
    (der, key)
}

fn leaf(issuer: &Ca) -> (Vec<u8>, KeyPair) {
    leaf_with(&leaf_params(&[IMEI_URI]), issuer)
}

// Y.3059 9.2 i a
// Y.3059 7 iii
#[test]
fn root_to_leaf_chain_is_verified() {
    let ca = root("Acme Devices Root");
    let (leaf_der, key) = leaf(&ca);
    let verified =
        verify_device_chain(std::slice::from_ref(&leaf_der), &[ca.accepted()], NOW).unwrap();
    let expected_key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key.public_key_raw()).unwrap();
    assert_eq!(verified.public_key, expected_key);
    assert_eq!(verified.root_id, root_id_for(&ca.der));
    assert_eq!(
        verified.identifiers,
        vec![Identifier::parse(Scheme::Imei, "356938035643809").unwrap()]
    );
    assert_eq!(
        verified.leaf_fingerprint,
        HEXLOWER.encode(&Sha256::digest(&leaf_der))
    );
    assert_eq!(
        verified.not_after_unix,
        u64::try_from(date_time_ymd(2036, 1, 1).unix_timestamp()).unwrap()
    );
}

// Y.3059 9.2 i a
// Y.3059 7 ii
#[test]
fn chain_through_an_intermediate_with_or_without_the_root() {
    let ca = root("Acme Root");
    let sub = intermediate("Acme Factory 3", &ca);
    let (leaf_der, _) = leaf(&sub);
    let other = root("Other Root");
    let accepted = [other.accepted(), ca.accepted()];
    for chain in [
        vec![leaf_der.clone(), sub.der.clone()],
        vec![leaf_der.clone(), sub.der.clone(), ca.der.clone()],
    ] {
        let verified = verify_device_chain(&chain, &accepted, NOW).unwrap();
        assert_eq!(
            verified.root_id,
            ca.accepted().id,
            "chain of {}",
            chain.len()
        );
    }
    // Without its intermediate the leaf cannot be linked to the root.
    assert_eq!(
        verify_device_chain(&[leaf_der], &accepted, NOW),
        Err(ChainError::UntrustedRoot)
    );
}

// Y.3059 7 ii
#[test]
fn chain_to_a_root_the_registry_does_not_accept_is_untrusted() {
    let ca = root("Acme Root");
    let (leaf_der, _) = leaf(&ca);
    let other = root("Other Root");
    assert_eq!(
        verify_device_chain(
            &[leaf_der.clone(), ca.der.clone()],
            &[other.accepted()],
            NOW
        ),
        Err(ChainError::UntrustedRoot)
    );
    assert_eq!(
        verify_device_chain(&[leaf_der], &[], NOW),
        Err(ChainError::UntrustedRoot)
    );
}

// Y.3059 7 ii
#[test]
fn impostor_root_with_an_accepted_name_fails_the_signature_check() {
    // Same subject, different key: the chain names an accepted root but is not signed by it,
    // which is a forged chain (bad signature) rather than merely an unknown root.
    let ca = root("Acme Root");
    let impostor = root("Acme Root");
    let (leaf_der, _) = leaf(&impostor);
    assert!(matches!(
        verify_device_chain(
            &[leaf_der.clone(), impostor.der.clone()],
            &[ca.accepted()],
            NOW
        ),
        Err(ChainError::BadChain(_))
    ));
    assert!(verify_device_chain(&[leaf_der], &[impostor.accepted()], NOW).is_ok());
}

// Y.3059 7 ii
// The chain proves the root of trust until its first certificate expires: an intermediate
// that expires before the leaf ends it; the intermediates it went through are named.
#[test]
fn the_chain_expires_with_its_earliest_certificate() {
    let ca = root("Acme Root");
    let mut short = ca_params("Acme Factory 9");
    short.not_after = date_time_ymd(2031, 1, 1);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let der = short.signed_by(&key, &ca.issuer()).unwrap().der().to_vec();
    let sub = Ca {
        params: short,
        key,
        der,
    };
    let (leaf_der, _) = leaf(&sub);
    let chain = [leaf_der, sub.der.clone(), ca.der.clone()];
    let verified = verify_device_chain(&chain, &[ca.accepted()], NOW).unwrap();
    assert_eq!(
        verified.not_after_unix,
        u64::try_from(date_time_ymd(2031, 1, 1).unix_timestamp()).unwrap()
    );
    assert_eq!(verified.intermediates, [intermediate_id(&sub.der)]);
}

// Y.3059 7 ii
// A chain through an intermediate its root revoked proves nothing; another intermediate of
// the same root still does.
#[test]
fn a_chain_through_a_revoked_intermediate_is_refused() {
    let ca = root("Acme Root");
    let (cut, kept) = (
        intermediate("Acme Factory 1", &ca),
        intermediate("Acme Factory 2", &ca),
    );
    let mut accepted = ca.accepted();
    accepted.revoked_intermediates = vec![intermediate_id(&cut.der)];
    let (leaf_der, _) = leaf(&cut);
    assert_eq!(
        verify_device_chain(
            &[leaf_der, cut.der.clone()],
            std::slice::from_ref(&accepted),
            NOW
        ),
        Err(ChainError::IntermediateRevoked(intermediate_id(&cut.der)))
    );
    let (leaf_der, _) = leaf(&kept);
    let verified = verify_device_chain(&[leaf_der, kept.der.clone()], &[accepted], NOW).unwrap();
    assert_eq!(verified.intermediates, [intermediate_id(&kept.der)]);
}

// Y.3059 9.2 i a
#[test]
fn expired_and_not_yet_valid_leaves_are_rejected() {
    let ca = root("Acme Root");
    let (leaf_der, _) = leaf(&ca);
    let before = u64::try_from(date_time_ymd(2025, 6, 1).unix_timestamp()).unwrap();
    let after = u64::try_from(date_time_ymd(2037, 1, 1).unix_timestamp()).unwrap();
    for now in [before, after] {
        assert_eq!(
            verify_device_chain(std::slice::from_ref(&leaf_der), &[ca.accepted()], now),
            Err(ChainError::Expired)
        );
    }
}

// Y.3059 9.2 i a
#[test]
fn leaf_with_a_p384_key_is_unsupported() {
    let ca = root("Acme Root");
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let der = leaf_params(&[IMEI_URI])
        .signed_by(&key, &ca.issuer())
        .unwrap()
        .der()
        .to_vec();
    assert!(matches!(
        verify_device_chain(&[der], &[ca.accepted()], NOW),
        Err(ChainError::UnsupportedKey(_))
    ));
}

// Y.3059 9.2 i a
#[test]
fn ca_certificate_or_wrong_usage_as_leaf_is_a_bad_chain() {
    let ca = root("Acme Root");
    let sub = intermediate("Acme Sub", &ca);
    assert!(matches!(
        verify_device_chain(std::slice::from_ref(&sub.der), &[ca.accepted()], NOW),
        Err(ChainError::BadChain(_))
    ));
    let mut server_only = leaf_params(&[IMEI_URI]);
    server_only.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let (der, _) = leaf_with(&server_only, &ca);
    assert!(matches!(
        verify_device_chain(&[der], &[ca.accepted()], NOW),
        Err(ChainError::BadChain(_))
    ));
    let mut no_signing = leaf_params(&[IMEI_URI]);
    no_signing.key_usages = vec![KeyUsagePurpose::KeyAgreement];
    let (der, _) = leaf_with(&no_signing, &ca);
    assert!(matches!(
        verify_device_chain(&[der], &[ca.accepted()], NOW),
        Err(ChainError::BadChain(_))
    ));
}

// Y.3059 9.2 i a
#[test]
fn client_auth_eku_is_accepted() {
    let ca = root("Acme Root");
    let mut params = leaf_params(&[IMEI_URI]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let (der, _) = leaf_with(&params, &ca);
    assert!(verify_device_chain(&[der], &[ca.accepted()], NOW).is_ok());
}

// Y.3059 9.2 i a
// Y.3059 6.1 h
#[test]
fn all_device_san_uris_are_extracted_and_others_ignored() {
    let ca = root("Acme Root");
    let params = leaf_params(&[
        IMEI_URI,
        "https://acme.example/devices/1",
        "urn:dev:mac:0a1b2c3d4e5f",
        "urn:dev:ops:acme-SN-0001",
    ]);
    let (der, _) = leaf_with(&params, &ca);
    let verified = verify_device_chain(&[der], &[ca.accepted()], NOW).unwrap();
    let expected = [
        Identifier::parse(Scheme::Imei, "356938035643809").unwrap(),
        Identifier::parse(Scheme::Mac, "0a1b2c3d4e5f").unwrap(),
        Identifier::parse(Scheme::Serial, "acme/SN-0001").unwrap(),
    ];
    assert_eq!(verified.identifiers, expected);
}

// Y.3059 9.2 i a
#[test]
fn malformed_device_san_uri_is_rejected() {
    let ca = root("Acme Root");
    let (der, _) = leaf_with(&leaf_params(&["urn:gsma:imei:35693803-564380-8"]), &ca);
    assert!(matches!(
        verify_device_chain(&[der], &[ca.accepted()], NOW),
        Err(ChainError::Malformed(_))
    ));
}

// Y.3059 9.2 i a
#[test]
fn garbage_and_oversized_chains_are_malformed() {
    let ca = root("Acme Root");
    let (leaf_der, _) = leaf(&ca);
    let mut truncated = leaf_der.clone();
    truncated.truncate(leaf_der.len() / 2);
    let cases: Vec<Vec<Vec<u8>>> = vec![
        vec![],
        vec![b"not a certificate".to_vec()],
        vec![truncated],
        vec![Vec::new()],
        vec![leaf_der.clone(); MAX_CHAIN_LEN + 1],
    ];
    for chain in cases {
        assert!(
            matches!(
                verify_device_chain(&chain, &[ca.accepted()], NOW),
                Err(ChainError::Malformed(_))
            ),
            "{} certs",
            chain.len()
        );
    }
    // A garbage intermediate cannot help build a path; the chain stays unverifiable.
    assert!(verify_device_chain(&[leaf_der, b"junk".to_vec()], &[], NOW).is_err());
}

// Y.3059 9.1 vi
#[test]
fn root_ids_and_validation() {
    let ca = root("Acme Root");
    assert_eq!(validate_root(&ca.der).unwrap(), root_id_for(&ca.der));
    assert_eq!(root_id_for(&ca.der).len(), 64);
    assert!(matches!(
        validate_root(b"junk"),
        Err(ChainError::Malformed(_))
    ));
    // A broken stored root is skipped, the good one still anchors.
    let (leaf_der, _) = leaf(&ca);
    let broken = AcceptedRoot {
        id: "broken".into(),
        der: b"junk".to_vec(),
        scopes: crate::rot::scope::every_identifier(),
        rot_types: vec!["secure-element".into()],
        revoked_intermediates: Vec::new(),
    };
    let verified = verify_device_chain(&[leaf_der], &[broken, ca.accepted()], NOW).unwrap();
    assert_eq!(verified.root_id, ca.accepted().id);
}
