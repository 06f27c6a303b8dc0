//! A file-backed software stand-in for a device's secure element (Y.3059 9.2 ii a, b).
//!
//! Real devices keep the key in hardware; this keeps the same contract: the private key is
//! generated inside, never handed out, and only used to sign. The directory also holds what the
//! manufacturer and the registry issued: the certificate chain and the RegDevID + credential.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use trustreg_model::identifier::RegDevId;
use trustreg_model::jose::{self, JwsHeader};

use crate::files;

const KEY_FILE: &str = "device-key.pem";
const CHAIN_FILE: &str = "chain.pem";
const REGISTRATION_FILE: &str = "regdevid.json";

#[derive(Debug, thiserror::Error)]
pub enum SecureElementError {
    #[error("a secure element already exists in {0}")]
    AlreadyExists(PathBuf),
    #[error("no secure element in {0}")]
    NotFound(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}: not a PKCS#8 P-256 private key")]
    Key(PathBuf),
    #[error("{0}: not a PEM certificate chain")]
    Chain(PathBuf),
    #[error("{path}: {message}")]
    Registration { path: PathBuf, message: String },
}

/// What the registry issued at registration (Y.3059 9.2 i c), kept by the device (9.2 ii b).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRegistration {
    pub regdevid: RegDevId,
    /// The registry-signed credential (compact JWS).
    pub credential: String,
    /// Set once the registry confirmed the device's acknowledgement (Y.3059 7 iv b).
    #[serde(default)]
    pub acknowledged: bool,
}

pub struct SoftSecureElement {
    dir: PathBuf,
    key: SigningKey,
}

/// Deliberately omits the key.
impl std::fmt::Debug for SoftSecureElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftSecureElement")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl SoftSecureElement {
    /// Generates a new P-256 key in `dir`; refuses if a key is already there, since replacing a
    /// device's key silently would orphan its certificate and registration.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self, SecureElementError> {
        let dir = dir.as_ref().to_path_buf();
        files::create_private_dir(&dir).map_err(io_error(&dir))?;
        let path = dir.join(KEY_FILE);
        let key = SigningKey::random(&mut OsRng);
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| SecureElementError::Key(path.clone()))?;
        match files::write_private(&path, pem.as_bytes(), true) {
            Ok(()) => Ok(SoftSecureElement { dir, key }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(SecureElementError::AlreadyExists(dir))
            }
            Err(e) => Err(io_error(&path)(e)),
        }
    }

    pub fn open(dir: impl AsRef<Path>) -> Result<Self, SecureElementError> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join(KEY_FILE);
        let pem = match fs::read_to_string(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(SecureElementError::NotFound(dir));
            }
            Err(e) => return Err(io_error(&path)(e)),
        };
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|_| SecureElementError::Key(path))?;
        Ok(SoftSecureElement { dir, key })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn public_key(&self) -> VerifyingKey {
        *self.key.verifying_key()
    }

    /// Signs a compact ES256 JWS: proof of possession of the key (Y.3059 9.2 i a).
    pub fn sign_jws(&self, header: &JwsHeader, payload: &[u8]) -> String {
        jose::sign_with(&self.key, header, payload)
    }

    /// Stores the manufacturer-issued certificate chain, leaf first.
    pub fn store_chain(&self, chain_der: &[Vec<u8>]) -> Result<(), SecureElementError> {
        let pem: String = chain_der
            .iter()
            .map(|der| files::pem_encode("CERTIFICATE", der))
            .collect();
        let path = self.dir.join(CHAIN_FILE);
        files::replace_private(&path, pem.as_bytes()).map_err(io_error(&path))
    }

    /// The stored chain, leaf first; empty if none was stored.
    pub fn chain_der(&self) -> Result<Vec<Vec<u8>>, SecureElementError> {
        let path = self.dir.join(CHAIN_FILE);
        let pem = match fs::read_to_string(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&path)(e)),
        };
        files::pem_decode_all("CERTIFICATE", &pem).ok_or(SecureElementError::Chain(path))
    }

    /// Keeps the RegDevID and credential the registry issued (Y.3059 9.2 ii b).
    pub fn store_registration(
        &self,
        registration: &StoredRegistration,
    ) -> Result<(), SecureElementError> {
        let path = self.dir.join(REGISTRATION_FILE);
        let json = serde_json::to_vec_pretty(registration).map_err(|e| {
            SecureElementError::Registration {
                path: path.clone(),
                message: e.to_string(),
            }
        })?;
        files::replace_private(&path, &json).map_err(io_error(&path))
    }

    pub fn registration(&self) -> Result<Option<StoredRegistration>, SecureElementError> {
        let path = self.dir.join(REGISTRATION_FILE);
        let json = match fs::read(&path) {
            Ok(json) => json,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path)(e)),
        };
        serde_json::from_slice(&json)
            .map(Some)
            .map_err(|e| SecureElementError::Registration {
                path,
                message: e.to_string(),
            })
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SecureElementError + '_ {
    move |source| SecureElementError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use p256::ecdsa::signature::Verifier as _;

    use super::*;
    use crate::test_support::TempDir;

    // Y.3059 9.2 ii a-d
    #[test]
    fn created_element_signs_jws_that_verify_with_its_public_key() {
        let dir = TempDir::new();
        let se = SoftSecureElement::create(dir.path()).unwrap();
        let compact = se.sign_jws(&JwsHeader::es256(), b"{\"nonce\":\"n\"}");
        let jws = jose::parse(&compact).unwrap();
        jws.verify(&se.public_key()).unwrap();
        let other = SoftSecureElement::create(dir.path().join("other")).unwrap();
        assert!(jws.verify(&other.public_key()).is_err());
    }

    // Y.3059 9.2 ii a-d
    #[test]
    fn reopened_element_has_the_same_key() {
        let dir = TempDir::new();
        let created = SoftSecureElement::create(dir.path()).unwrap();
        let opened = SoftSecureElement::open(dir.path()).unwrap();
        assert_eq!(opened.public_key(), created.public_key());
        let compact = opened.sign_jws(&JwsHeader::es256(), b"{}");
        let jws = jose::parse(&compact).unwrap();
        created
            .public_key()
            .verify(
                jws.signing_input().as_bytes(),
                &p256::ecdsa::Signature::from_slice(&jws.signature_raw()).unwrap(),
            )
            .unwrap();
    }

    // Y.3059 9.2 ii a-d
    #[test]
    fn create_refuses_to_overwrite_a_key() {
        let dir = TempDir::new();
        let first = SoftSecureElement::create(dir.path()).unwrap();
        let before = fs::read(dir.path().join(KEY_FILE)).unwrap();
        assert!(matches!(
            SoftSecureElement::create(dir.path()),
            Err(SecureElementError::AlreadyExists(_))
        ));
        assert_eq!(fs::read(dir.path().join(KEY_FILE)).unwrap(), before);
        assert_eq!(
            SoftSecureElement::open(dir.path()).unwrap().public_key(),
            first.public_key()
        );
    }

    // Y.3059 9.2 ii a-d
    #[cfg(unix)]
    #[test]
    fn key_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = TempDir::new();
        SoftSecureElement::create(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o077, 0);
    }

    // Y.3059 9.2 ii a-d
    #[test]
    fn open_reports_missing_and_corrupt_keys() {
        let dir = TempDir::new();
        assert!(matches!(
            SoftSecureElement::open(dir.path()),
            Err(SecureElementError::NotFound(_))
        ));
        files::create_private_dir(dir.path()).unwrap();
        fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        assert!(matches!(
            SoftSecureElement::open(dir.path()),
            Err(SecureElementError::Key(_))
        ));
    }

    // Y.3059 9.2 ii a-d
    #[test]
    fn chain_and_registration_are_stored_and_read_back() {
        let dir = TempDir::new();
        let se = SoftSecureElement::create(dir.path()).unwrap();
        assert_eq!(se.chain_der().unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(se.registration().unwrap(), None);

        let chain = vec![vec![0x30, 0x03, 0x02, 0x01, 0x01], vec![0x30, 0x00]];
        se.store_chain(&chain).unwrap();
        assert_eq!(
            SoftSecureElement::open(dir.path())
                .unwrap()
                .chain_der()
                .unwrap(),
            chain
        );

        let registration = StoredRegistration {
            regdevid: "IN1.HLT.P07:imei:356938035643809".parse().unwrap(),
            credential: "a.b.c".into(),
            acknowledged: false,
        };
        se.store_registration(&registration).unwrap();
        let reopened = SoftSecureElement::open(dir.path()).unwrap();
        assert_eq!(reopened.registration().unwrap(), Some(registration.clone()));
        let acknowledged = StoredRegistration {
            acknowledged: true,
            ..registration
        };
        reopened.store_registration(&acknowledged).unwrap();
        assert_eq!(se.registration().unwrap(), Some(acknowledged));
    }

    // Y.3059 9.2 ii a-d
    #[test]
    fn corrupt_registration_is_an_error_not_absent() {
        let dir = TempDir::new();
        let se = SoftSecureElement::create(dir.path()).unwrap();
        fs::write(dir.path().join(REGISTRATION_FILE), r#"{"regdevid":"bad"}"#).unwrap();
        assert!(matches!(
            se.registration(),
            Err(SecureElementError::Registration { .. })
        ));
    }
}
