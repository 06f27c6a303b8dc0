//! An enquirer's local state in one directory: its signing key (`key.pem`, 0600), who it is at
//! which registry (`enquirer.json`), and its current session (`session.json`, 0600: the access
//! token is a bearer credential).

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};

use crate::CliError;

const KEY_FILE: &str = "key.pem";
const PROFILE_FILE: &str = "enquirer.json";
const SESSION_FILE: &str = "session.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// The login `kid`: `enquirer:<id>`.
    pub kid: String,
    pub api: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub access_token: String,
    pub expires_at_ms: u64,
}

pub struct Dir(PathBuf);

impl Dir {
    pub fn new(path: &Path) -> Self {
        Self(path.to_owned())
    }

    /// The key in the directory, created when absent.
    pub fn key(&self) -> Result<SigningKey, CliError> {
        let path = self.0.join(KEY_FILE);
        match fs::read_to_string(&path) {
            Ok(pem) => SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| CliError::Usage(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&self.0).map_err(file_error(&self.0))?;
                let key = SigningKey::random(&mut OsRng);
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| CliError::Usage(format!("encoding the key: {e}")))?;
                write_private(&path, pem.as_bytes())?;
                Ok(key)
            }
            Err(e) => Err(file_error(&path)(e)),
        }
    }

    pub fn profile(&self) -> Result<Profile, CliError> {
        self.read(PROFILE_FILE)?.ok_or_else(|| {
            CliError::Usage(format!(
                "{} holds no enquirer: run `trustreg enquirer signup` first",
                self.0.display()
            ))
        })
    }

    pub fn save_profile(&self, profile: &Profile) -> Result<(), CliError> {
        let path = self.0.join(PROFILE_FILE);
        let text =
            serde_json::to_string_pretty(profile).map_err(|e| CliError::Usage(e.to_string()))?;
        fs::write(&path, text).map_err(file_error(&path))
    }

    /// The session if it has at least a minute left.
    pub fn session(&self, now_ms: u64) -> Result<Option<Session>, CliError> {
        Ok(self
            .read::<Session>(SESSION_FILE)?
            .filter(|s| s.expires_at_ms > now_ms + 60_000))
    }

    pub fn save_session(&self, session: &Session) -> Result<(), CliError> {
        let path = self.0.join(SESSION_FILE);
        let text = serde_json::to_vec(session).map_err(|e| CliError::Usage(e.to_string()))?;
        let _ = fs::remove_file(&path);
        write_private(&path, &text)
    }

    fn read<T: serde::de::DeserializeOwned>(&self, file: &str) -> Result<Option<T>, CliError> {
        let path = self.0.join(file);
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| CliError::Usage(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(file_error(&path)(e)),
        }
    }
}

/// 0600 from creation: never readable by others, not even briefly.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(file_error(path))?;
    file.write_all(bytes).map_err(file_error(path))
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> CliError {
    let path = path.display().to_string();
    move |source| CliError::File { path, source }
}
