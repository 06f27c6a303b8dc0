//! `trustreg admin keygen`: an administrator's P-256 key pair, as files.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rand_core::OsRng;

use crate::CliError;

pub const KEY_FILE: &str = "admin-key.pem";
pub const JWKS_FILE: &str = "admin-jwks.json";

/// The key in `dir` (created when absent) and its public JWK object under `name`.
pub fn ensure(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), CliError> {
    if name.is_empty() || name.contains(':') {
        return Err(CliError::Usage(format!(
            "admin name {name:?}: non-empty, without ':'"
        )));
    }
    let file_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| CliError::File { path, source }
    };
    fs::create_dir_all(dir).map_err(file_error(dir))?;
    let key_path = dir.join(KEY_FILE);
    let key = match fs::read_to_string(&key_path) {
        Ok(pem) => SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| CliError::Usage(format!("{}: {e}", key_path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::random(&mut OsRng);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| CliError::Usage(format!("encoding the key: {e}")))?;
            // 0600 from creation: the private key is never readable by others, not even briefly.
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&key_path)
                .map_err(file_error(&key_path))?;
            file.write_all(pem.as_bytes())
                .map_err(file_error(&key_path))?;
            key
        }
        Err(e) => return Err(file_error(&key_path)(e)),
    };
    let jwk = trustreg_model::jose::jwk_from_key(key.verifying_key());
    let jwks_path = dir.join(JWKS_FILE);
    let text = serde_json::json!({ name: jwk }).to_string() + "\n";
    fs::write(&jwks_path, text).map_err(file_error(&jwks_path))?;
    Ok((key_path, jwks_path))
}

/// The administrator's name (the one entry of its JWKS file) and private key, from `dir`.
pub fn open(dir: &Path) -> Result<(String, SigningKey), CliError> {
    let read = |file: &str| {
        let path = dir.join(file);
        fs::read_to_string(&path).map_err(|source| CliError::File {
            path: path.display().to_string(),
            source,
        })
    };
    let key = SigningKey::from_pkcs8_pem(&read(KEY_FILE)?)
        .map_err(|e| CliError::Usage(format!("{KEY_FILE}: {e}")))?;
    let jwks: serde_json::Value = serde_json::from_str(&read(JWKS_FILE)?)
        .map_err(|e| CliError::Usage(format!("{JWKS_FILE}: {e}")))?;
    let name = jwks
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .ok_or_else(|| CliError::Usage(format!("{JWKS_FILE} names no administrator")))?;
    Ok((name, key))
}
