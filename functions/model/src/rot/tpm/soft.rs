//! A TPM played in software, for tests that need TPM evidence without a TPM (the domain's and
//! the routers' tests on fakes): the structures are marshaled as a TPM marshals them (TPM 2.0
//! Part 2), the credential is opened as TPM2_ActivateCredential opens it (Part 1 §24), and its
//! EK is a P-384 key with the high-range EK template's parameters. The real TPM's side is
//! tested against swtpm in trustreg-device (feature `tpm`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use rand_core::CryptoRngCore;

use super::credential::cfb_decrypt;
use super::hash::{HashAlg, kdfa, kdfe};
use super::public::attributes;
use super::wire::sized;

/// The attributes of a registration key the registry accepts.
pub const FIXED_SIGNING_KEY: u32 = attributes::FIXED_TPM
    | attributes::FIXED_PARENT
    | attributes::SENSITIVE_DATA_ORIGIN
    | attributes::USER_WITH_AUTH
    | attributes::SIGN;

const AK_ATTRIBUTES: u32 = FIXED_SIGNING_KEY | attributes::RESTRICTED;
/// fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, adminWithPolicy, restricted,
/// decrypt: the EK templates' (TCG EK Credential Profile §B.3).
const EK_ATTRIBUTES: u32 = 0x0003_00f2;

pub struct SoftTpm {
    ek: p384::SecretKey,
    ak: p256::ecdsa::SigningKey,
    key: p256::ecdsa::SigningKey,
    key_attributes: u32,
}

impl SoftTpm {
    /// A TPM whose registration key has `key_attributes` (`FIXED_SIGNING_KEY` for a good one).
    pub fn new(rng: &mut impl CryptoRngCore, key_attributes: u32) -> Self {
        SoftTpm {
            ek: p384::SecretKey::random(rng),
            ak: p256::ecdsa::SigningKey::random(rng),
            key: p256::ecdsa::SigningKey::random(rng),
            key_attributes,
        }
    }

    /// The EK's public key, SEC 1 uncompressed (for its certificate).
    pub fn ek_point(&self) -> Vec<u8> {
        p384::EncodedPoint::from(self.ek.public_key())
            .as_bytes()
            .to_vec()
    }

    /// The EK's SubjectPublicKeyInfo DER (id-ecPublicKey, secp384r1).
    pub fn ek_spki_der(&self) -> Vec<u8> {
        let mut der = vec![
            0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
        ];
        der.extend(self.ek_point());
        der
    }

    pub fn ek_public(&self) -> Vec<u8> {
        let point = self.ek_point();
        let (x, y) = point[1..].split_at(48);
        tpm2b_ecc(
            HashAlg::Sha384,
            EK_ATTRIBUTES,
            Some(256),
            false,
            0x0004,
            x,
            y,
        )
    }

    pub fn ak_public(&self) -> Vec<u8> {
        p256_public(&self.ak, AK_ATTRIBUTES)
    }

    pub fn key_public(&self) -> Vec<u8> {
        p256_public(&self.key, self.key_attributes)
    }

    /// The registration key, which signs the device's JWS.
    pub fn key(&self) -> &p256::ecdsa::SigningKey {
        &self.key
    }

    /// TPM2_ActivateCredential with the AK: the secret, or `None` where the TPM would fail.
    pub fn activate(&self, credential_blob: &[u8], encrypted_secret: &[u8]) -> Option<Vec<u8>> {
        let ak_name = super::TpmPublic::from_tpm2b(&self.ak_public()).ok()?.name();
        let hash = HashAlg::Sha384;
        let point = encrypted_secret.get(2..)?;
        let x_len = usize::from(u16::from_be_bytes([*point.first()?, *point.get(1)?]));
        let x = point.get(2..2 + x_len)?;
        let y = point.get(4 + x_len..)?;
        let mut sec1 = vec![4];
        sec1.extend_from_slice(x);
        sec1.extend_from_slice(y);
        let ephemeral = p384::PublicKey::from_sec1_bytes(&sec1).ok()?;
        let z = p384::ecdh::diffie_hellman(self.ek.to_nonzero_scalar(), ephemeral.as_affine());
        let ek_point = self.ek_point();
        let seed = kdfe(
            hash,
            z.raw_secret_bytes(),
            "IDENTITY",
            x,
            &ek_point[1..49],
            384,
        );
        let blob = credential_blob.get(2..)?;
        let hmac_len = usize::from(u16::from_be_bytes([*blob.first()?, *blob.get(1)?]));
        let (outer_hmac, enc_identity) = blob.get(2..)?.split_at(hmac_len);
        let hmac_key = kdfa(hash, &seed, "INTEGRITY", &[], &[], 384);
        if hash.hmac(&hmac_key, &[enc_identity, &ak_name]) != outer_hmac {
            return None;
        }
        let sym = kdfa(hash, &seed, "STORAGE", &ak_name, &[], 256);
        let mut plain = enc_identity.to_vec();
        cfb_decrypt(&sym, &mut plain);
        plain.get(2..).map(<[u8]>::to_vec)
    }

    /// TPM2_Certify of the registration key by the AK: `TPMS_ATTEST`, `TPMT_SIGNATURE`.
    pub fn certify(&self, qualifying_data: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let ak_name = super::TpmPublic::from_tpm2b(&self.ak_public())
            .unwrap()
            .name();
        let key_name = super::TpmPublic::from_tpm2b(&self.key_public())
            .unwrap()
            .name();
        let mut attest = 0xff54_4347u32.to_be_bytes().to_vec();
        attest.extend(0x8017u16.to_be_bytes());
        attest.extend(sized(&ak_name).unwrap());
        attest.extend(sized(qualifying_data).unwrap());
        attest.extend([0u8; 17 + 8]);
        attest.extend(sized(&key_name).unwrap());
        attest.extend(sized(&key_name).unwrap());
        let digest = HashAlg::Sha256.digest(&[&attest]);
        let signature: p256::ecdsa::Signature = self.ak.sign_prehash(&digest).unwrap();
        let (r, s) = signature.split_bytes();
        let mut tpmt = 0x0018u16.to_be_bytes().to_vec();
        tpmt.extend(0x000bu16.to_be_bytes());
        tpmt.extend(sized(&r).unwrap());
        tpmt.extend(sized(&s).unwrap());
        (attest, tpmt)
    }
}

fn p256_public(key: &p256::ecdsa::SigningKey, object_attributes: u32) -> Vec<u8> {
    let point = key.verifying_key().to_encoded_point(false);
    tpm2b_ecc(
        HashAlg::Sha256,
        object_attributes,
        None,
        true,
        0x0003,
        point.x().unwrap(),
        point.y().unwrap(),
    )
}

/// `TPM2B_PUBLIC` of an ECC key (Part 2 §12.2.4, §12.2.3.6).
fn tpm2b_ecc(
    name_alg: HashAlg,
    object_attributes: u32,
    aes_bits: Option<u16>,
    ecdsa_sha256: bool,
    curve: u16,
    x: &[u8],
    y: &[u8],
) -> Vec<u8> {
    let mut t = 0x0023u16.to_be_bytes().to_vec();
    t.extend(name_alg.id().to_be_bytes());
    t.extend(object_attributes.to_be_bytes());
    t.extend(sized(&[]).unwrap());
    match aes_bits {
        Some(bits) => {
            t.extend(0x0006u16.to_be_bytes());
            t.extend(bits.to_be_bytes());
            t.extend(0x0043u16.to_be_bytes());
        }
        None => t.extend(0x0010u16.to_be_bytes()),
    }
    if ecdsa_sha256 {
        t.extend(0x0018u16.to_be_bytes());
        t.extend(0x000bu16.to_be_bytes());
    } else {
        t.extend(0x0010u16.to_be_bytes());
    }
    t.extend(curve.to_be_bytes());
    t.extend(0x0010u16.to_be_bytes());
    t.extend(sized(x).unwrap());
    t.extend(sized(y).unwrap());
    sized(&t).unwrap()
}

/// The EK's P-384 point as rcgen certifies it: the TPM keeps the private key, the CA certifies
/// the public key alone.
struct EkPublicKey(Vec<u8>);

impl rcgen::PublicKeyData for EkPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P384_SHA384
    }
}

/// A TPM manufacturer's CA (its root, what a registry accepts for `tpm`) for the software
/// TPM's EK certificates.
pub struct EkCa {
    pub root_der: Vec<u8>,
    key: rcgen::KeyPair,
    params: rcgen::CertificateParams,
}

impl EkCa {
    /// A CA named `name` (a fresh name per run where roots outlive a test).
    #[allow(clippy::expect_used)] // test support: a failure is a broken test setup
    pub fn new(name: &str) -> EkCa {
        let key = rcgen::KeyPair::generate().expect("a CA key");
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let root_der = params
            .self_signed(&key)
            .expect("a CA certificate")
            .der()
            .to_vec();
        EkCa {
            root_der,
            key,
            params,
        }
    }

    /// An EK certificate as the TCG EK profile shapes it: tcg-kp-EKCertificate, keyAgreement.
    #[allow(clippy::expect_used)]
    pub fn ek_certificate(&self, tpm: &SoftTpm) -> Vec<u8> {
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).expect("EK parameters");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::Other(vec![
            2, 23, 133, 8, 1,
        ])];
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyAgreement];
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        params
            .signed_by(&EkPublicKey(tpm.ek_point()), &issuer)
            .expect("an EK certificate")
            .der()
            .to_vec()
    }
}
