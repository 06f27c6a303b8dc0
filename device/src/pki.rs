//! A demo manufacturer PKI for local runs and tests: one CA that certifies device keys and binds
//! the device identifier as a SAN URI, which is what the registry checks (Y.3059 9.2 i a).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use p256::ecdsa::VerifyingKey;
use rand_core::{OsRng, RngCore as _};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SanType, SerialNumber,
    SignatureAlgorithm,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use trustreg_model::identifier::Identifier;
use trustreg_model::rot::{AcceptedRoot, root_id_for};

use crate::{DeviceError, files};

const CA_KEY_FILE: &str = "ca-key.pem";
const CA_CERT_FILE: &str = "ca-cert.pem";
const CA_META_FILE: &str = "ca.json";
const CA_VALID_YEARS: i64 = 20;
/// Tolerates devices whose clock is a little behind the CA's.
const BACKDATE: Duration = Duration::hours(1);

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("a manufacturer CA already exists in {0}")]
    AlreadyExists(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("validity must be 1 to 36500 days")]
    Validity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCert {
    pub der: Vec<u8>,
    pub pem: String,
}

#[derive(Serialize, Deserialize)]
struct CaMeta {
    name: String,
}

pub struct ManufacturerCa {
    name: String,
    key: KeyPair,
    cert_der: Vec<u8>,
}

impl ManufacturerCa {
    /// Creates a self-signed P-256 CA in `dir`; refuses to replace an existing CA key.
    pub fn create(dir: impl AsRef<Path>, name: &str) -> Result<Self, PkiError> {
        Self::create_signed(dir.as_ref(), name, |params, key| params.self_signed(key))
    }

    /// Creates an intermediate CA under this one in `dir` (a factory's CA, say), kept like a
    /// root; the chains of the devices it certifies carry its certificate after their leaf.
    pub fn create_intermediate(&self, dir: impl AsRef<Path>, name: &str) -> Result<Self, PkiError> {
        let issuer_params = ca_params(&self.name);
        let issuer = Issuer::from_params(&issuer_params, &self.key);
        Self::create_signed(dir.as_ref(), name, |params, key| {
            params.signed_by(key, &issuer)
        })
    }

    fn create_signed(
        dir: &Path,
        name: &str,
        sign: impl FnOnce(&CertificateParams, &KeyPair) -> Result<rcgen::Certificate, rcgen::Error>,
    ) -> Result<Self, PkiError> {
        files::create_private_dir(dir).map_err(io_error(dir))?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = ca_params(name);
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = now + Duration::days(365 * CA_VALID_YEARS);
        params.serial_number = Some(random_serial());
        let cert = sign(&params, &key)?;

        let key_path = dir.join(CA_KEY_FILE);
        match files::write_private(&key_path, key.serialize_pem().as_bytes(), true) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(PkiError::AlreadyExists(dir.to_path_buf()));
            }
            Err(e) => return Err(io_error(&key_path)(e)),
        }
        let cert_path = dir.join(CA_CERT_FILE);
        fs::write(&cert_path, cert.pem()).map_err(io_error(&cert_path))?;
        let meta_path = dir.join(CA_META_FILE);
        let meta = serde_json::to_vec_pretty(&CaMeta {
            name: name.to_owned(),
        })
        .map_err(|e| corrupt(&meta_path, e))?;
        fs::write(&meta_path, meta).map_err(io_error(&meta_path))?;
        Ok(ManufacturerCa {
            name: name.to_owned(),
            key,
            cert_der: cert.der().to_vec(),
        })
    }

    pub fn open(dir: impl AsRef<Path>) -> Result<Self, PkiError> {
        let dir = dir.as_ref();
        let read = |file: &str| {
            let path = dir.join(file);
            fs::read_to_string(&path)
                .map(|text| (path.clone(), text))
                .map_err(io_error(&path))
        };
        let (key_path, key_pem) = read(CA_KEY_FILE)?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| corrupt(&key_path, e))?;
        let (cert_path, cert_pem) = read(CA_CERT_FILE)?;
        let cert_der = files::pem_decode_all("CERTIFICATE", &cert_pem)
            .and_then(|mut blocks| (blocks.len() == 1).then(|| blocks.remove(0)))
            .ok_or_else(|| corrupt(&cert_path, "expected one PEM certificate"))?;
        let (meta_path, meta) = read(CA_META_FILE)?;
        let meta: CaMeta = serde_json::from_str(&meta).map_err(|e| corrupt(&meta_path, e))?;
        Ok(ManufacturerCa {
            name: meta.name,
            key,
            cert_der,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Signs a JWS with the CA's key, as `manufacturer:<root id>`: how a manufacturer vouches for
    /// a bulk registration of the devices it certified.
    pub fn sign_jws(&self, payload: &[u8]) -> Result<String, PkiError> {
        use p256::pkcs8::DecodePrivateKey;
        let key =
            p256::ecdsa::SigningKey::from_pkcs8_der(&self.key.serialize_der()).map_err(|e| {
                PkiError::Corrupt {
                    path: PathBuf::from("ca-key.pem"),
                    message: format!("the CA key is not P-256: {e}"),
                }
            })?;
        let header = trustreg_model::jose::JwsHeader::es256().with_kid(format!(
            "manufacturer:{}",
            trustreg_model::rot::root_id_for(&self.cert_der)
        ));
        Ok(trustreg_model::jose::sign_with(&key, &header, payload))
    }

    pub fn cert_pem(&self) -> String {
        files::pem_encode("CERTIFICATE", &self.cert_der)
    }

    /// This CA as a registry would accept it (Y.3059 7 ii), for the identifiers of `scopes`
    /// (`trustreg_model::rot::scope`), published for the `secure-element` root-of-trust type.
    pub fn accepted_root(&self, scopes: &[&str]) -> AcceptedRoot {
        AcceptedRoot {
            id: root_id_for(&self.cert_der),
            der: self.cert_der.clone(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            rot_types: vec!["secure-element".into()],
            revoked_intermediates: Vec::new(),
        }
    }

    /// Certifies a device key for `identifier`: SAN URI from `Identifier::to_san_uri`, subject
    /// CN = the identifier, usable for signatures and client authentication.
    pub fn issue_device_cert(
        &self,
        device_public_key: &VerifyingKey,
        identifier: &Identifier,
        valid_days: u32,
    ) -> Result<IssuedCert, PkiError> {
        if !(1..=36_500).contains(&valid_days) {
            return Err(PkiError::Validity);
        }
        let now = OffsetDateTime::now_utc();
        self.issue_device_cert_for_period(
            device_public_key,
            identifier,
            now - BACKDATE,
            now + Duration::days(i64::from(valid_days)),
        )
    }

    /// As `issue_device_cert`, for an explicit validity period (tests use lapsed ones).
    pub fn issue_device_cert_for_period(
        &self,
        device_public_key: &VerifyingKey,
        identifier: &Identifier,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<IssuedCert, PkiError> {
        if not_after <= not_before {
            return Err(PkiError::Validity);
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, identifier.to_string());
        params.subject_alt_names = vec![SanType::URI(identifier.to_san_uri().try_into()?)];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(random_serial());

        let issuer_params = ca_params(&self.name);
        let issuer = Issuer::from_params(&issuer_params, &self.key);
        let device_key = DevicePublicKey(
            device_public_key
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
        );
        let cert = params.signed_by(&device_key, &issuer)?;
        Ok(IssuedCert {
            der: cert.der().to_vec(),
            pem: cert.pem(),
        })
    }
}

/// The DER of the first certificate in a PEM file, e.g. a manufacturer CA to accept as a root.
pub fn read_certificate_pem(path: impl AsRef<Path>) -> Result<Vec<u8>, DeviceError> {
    let path = path.as_ref();
    let pem = fs::read_to_string(path).map_err(io_error(path))?;
    files::pem_decode_all("CERTIFICATE", &pem)
        .and_then(|blocks| blocks.into_iter().next())
        .ok_or_else(|| corrupt(path, "no PEM certificate").into())
}

/// The parameters that identify the CA as an issuer. Rebuilt on `open` rather than parsed from
/// the certificate: the same name yields byte-identical issuer DNs, and the key identifier is
/// derived from the key itself.
fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// 16 random bytes, positive (RFC 5280 4.1.2.2): unique per certificate even for the same key.
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

/// A P-256 public key held outside rcgen: the device keeps its private key, so the CA certifies
/// the public key alone.
struct DevicePublicKey(Vec<u8>);

impl PublicKeyData for DevicePublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, message: impl ToString) -> PkiError {
    PkiError::Corrupt {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    /// What the tests' devices carry.
    const TEST_SCOPES: &[&str] = &[
        "imei:3",
        "imei:4",
        "mac:0",
        "serial:acme",
        "ipv6:2001:db8::/32",
    ];

    use trustreg_model::identifier::Scheme;
    use trustreg_model::rot::{ChainError, verify_device_chain};

    use super::*;
    use crate::secure_element::SoftSecureElement;
    use crate::test_support::TempDir;

    fn now() -> u64 {
        u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap()
    }

    // Y.3059 9.2 i a
    // Y.3059 9.2 ii a-d
    #[test]
    fn issued_device_cert_verifies_against_the_ca_and_names_the_identifier() {
        let dir = TempDir::new();
        let ca = ManufacturerCa::create(dir.path().join("ca"), "Acme Devices CA").unwrap();
        let se = SoftSecureElement::create(dir.path().join("device")).unwrap();
        for identifier in [
            Identifier::parse(Scheme::Imei, "356938035643809").unwrap(),
            Identifier::parse(Scheme::Serial, "acme/SN-42").unwrap(),
            Identifier::parse(Scheme::Ipv6, "2001:db8::7").unwrap(),
        ] {
            let cert = ca
                .issue_device_cert(&se.public_key(), &identifier, 30)
                .unwrap();
            assert!(cert.pem.starts_with("-----BEGIN CERTIFICATE-----"));
            let verified =
                verify_device_chain(&[cert.der], &[ca.accepted_root(TEST_SCOPES)], now()).unwrap();
            assert_eq!(verified.public_key, se.public_key());
            assert_eq!(verified.identifiers, vec![identifier]);
            assert_eq!(verified.root_id, root_id_for(ca.cert_der()));
            let days_left = (verified.not_after_unix - now()) / 86_400;
            assert!((29..=30).contains(&days_left), "{days_left}");
        }
    }

    // Y.3059 7 ii
    #[test]
    fn reopened_ca_issues_certs_that_still_chain_to_its_root() {
        let dir = TempDir::new();
        let created = ManufacturerCa::create(dir.path(), "Acme Devices CA").unwrap();
        let ca = ManufacturerCa::open(dir.path()).unwrap();
        assert_eq!(ca.name(), "Acme Devices CA");
        assert_eq!(ca.cert_der(), created.cert_der());
        let se = SoftSecureElement::create(dir.path().join("device")).unwrap();
        let identifier = Identifier::parse(Scheme::Mac, "0a:1b:2c:3d:4e:5f").unwrap();
        let cert = ca
            .issue_device_cert(&se.public_key(), &identifier, 365)
            .unwrap();
        verify_device_chain(
            std::slice::from_ref(&cert.der),
            &[created.accepted_root(TEST_SCOPES)],
            now(),
        )
        .unwrap();

        let other = ManufacturerCa::create(dir.path().join("other"), "Acme Devices CA").unwrap();
        assert_eq!(
            verify_device_chain(&[cert.der], &[other.accepted_root(TEST_SCOPES)], now())
                .unwrap_err(),
            ChainError::BadChain("InvalidSignatureForPublicKey".into())
        );
    }

    // Y.3059 7 ii
    #[test]
    fn create_refuses_to_overwrite_a_ca() {
        let dir = TempDir::new();
        let first = ManufacturerCa::create(dir.path(), "A").unwrap();
        assert!(matches!(
            ManufacturerCa::create(dir.path(), "B"),
            Err(PkiError::AlreadyExists(_))
        ));
        assert_eq!(
            ManufacturerCa::open(dir.path()).unwrap().cert_der(),
            first.cert_der()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.path().join(CA_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    // Y.3059 9.1 vi
    #[test]
    fn ca_certificate_pem_reads_back_as_der() {
        let dir = TempDir::new();
        let ca = ManufacturerCa::create(dir.path(), "Acme").unwrap();
        let der = read_certificate_pem(dir.path().join(CA_CERT_FILE)).unwrap();
        assert_eq!(der, ca.cert_der());
        fs::write(dir.path().join("empty.pem"), "").unwrap();
        assert!(matches!(
            read_certificate_pem(dir.path().join("empty.pem")),
            Err(DeviceError::Pki(PkiError::Corrupt { .. }))
        ));
        assert!(matches!(
            read_certificate_pem(dir.path().join("missing.pem")),
            Err(DeviceError::Pki(PkiError::Io { .. }))
        ));
    }

    // Y.3059 9.2 i a
    #[test]
    fn validity_is_bounded_and_expired_certs_fail() {
        let dir = TempDir::new();
        let ca = ManufacturerCa::create(dir.path(), "Acme").unwrap();
        let se = SoftSecureElement::create(dir.path().join("device")).unwrap();
        let identifier = Identifier::parse(Scheme::Imei, "490154203237518").unwrap();
        assert!(matches!(
            ca.issue_device_cert(&se.public_key(), &identifier, 0),
            Err(PkiError::Validity)
        ));
        let cert = ca
            .issue_device_cert(&se.public_key(), &identifier, 1)
            .unwrap();
        assert_eq!(
            verify_device_chain(
                &[cert.der],
                &[ca.accepted_root(TEST_SCOPES)],
                now() + 3 * 86_400
            ),
            Err(ChainError::Expired)
        );
    }
}
