//! `RegistryKeys` on KMS: ES256 signatures by an ECC_NIST_P256 key, and envelope encryption
//! of PII: a KMS data key (AES-256) encrypts locally with AES-256-GCM, the record's context as
//! associated data, and travels encrypted by the PII key inside the sealed blob.
//!
//! One data key serves up to `DATA_KEY_USES` seals or `DATA_KEY_LIFETIME`, so bulk
//! registration costs one KMS request per twenty owners, not one per owner (ARCHITECTURE.md,
//! "Keys and cost"). Opened data keys are cached the same way.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, MessageType, SigningAlgorithmSpec};
use p256::ecdsa::VerifyingKey;
use tokio::sync::OnceCell;
use trustreg_core::error::KeyError;
use trustreg_core::jose;
use trustreg_core::ports::RegistryKeys;

/// The sealed blob's layout: version, length (u16, big-endian) and bytes of the encrypted
/// data key, 12-byte nonce, AES-GCM ciphertext with its tag.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const DATA_KEY_USES: u32 = 20;
const DATA_KEY_LIFETIME: Duration = Duration::from_secs(300);
/// Opened data keys kept; more are dropped oldest first.
const OPENED_KEYS: usize = 64;

/// A plaintext data key. No `Debug`: it must not reach a log line.
struct DataKey {
    key: [u8; 32],
    encrypted: Vec<u8>,
    created: Instant,
    uses: u32,
}

pub struct KmsKeys {
    client: Client,
    signing_key: String,
    pii_key: String,
    /// The registry's path: part of the data keys' encryption context, so a blob sealed by
    /// one registry does not open in another.
    registry: String,
    public: OnceCell<VerifyingKey>,
    sealing: Mutex<Option<DataKey>>,
    opened: Mutex<HashMap<Vec<u8>, DataKey>>,
    data_key_requests: AtomicU64,
}

impl KmsKeys {
    pub fn new(
        client: Client,
        signing_key: impl Into<String>,
        pii_key: impl Into<String>,
        registry: impl Into<String>,
    ) -> Self {
        Self {
            client,
            signing_key: signing_key.into(),
            pii_key: pii_key.into(),
            registry: registry.into(),
            public: OnceCell::new(),
            sealing: Mutex::new(None),
            opened: Mutex::new(HashMap::new()),
            data_key_requests: AtomicU64::new(0),
        }
    }

    /// How many data keys were asked of KMS (GenerateDataKey): what the cache saves.
    pub fn data_key_requests(&self) -> u64 {
        self.data_key_requests.load(Ordering::SeqCst)
    }

    fn context(&self) -> HashMap<String, String> {
        HashMap::from([
            ("purpose".to_owned(), "owner-pii".to_owned()),
            ("registry".to_owned(), self.registry.clone()),
        ])
    }

    /// A data key for one more seal: the cached one while it lasts, else a new one from KMS.
    async fn sealing_key(&self) -> Result<([u8; 32], Vec<u8>), KeyError> {
        {
            let mut cached = lock(&self.sealing);
            if let Some(k) = cached.as_mut()
                && k.uses < DATA_KEY_USES
                && k.created.elapsed() < DATA_KEY_LIFETIME
            {
                k.uses += 1;
                return Ok((k.key, k.encrypted.clone()));
            }
        }
        self.data_key_requests.fetch_add(1, Ordering::SeqCst);
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.pii_key)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(self.context()))
            .send()
            .await
            .map_err(kms)?;
        let key = key_bytes(out.plaintext.as_ref().map(Blob::as_ref))?;
        let encrypted = out
            .ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| KeyError("KMS returned no encrypted data key".into()))?;
        *lock(&self.sealing) = Some(DataKey {
            key,
            encrypted: encrypted.clone(),
            created: Instant::now(),
            uses: 1,
        });
        Ok((key, encrypted))
    }

    /// The plaintext of an encrypted data key, from the cache or from KMS.
    async fn opening_key(&self, encrypted: &[u8]) -> Result<[u8; 32], KeyError> {
        {
            let cache = lock(&self.opened);
            if let Some(k) = cache.get(encrypted)
                && k.created.elapsed() < DATA_KEY_LIFETIME
            {
                return Ok(k.key);
            }
        }
        let out = self
            .client
            .decrypt()
            .key_id(&self.pii_key)
            .ciphertext_blob(Blob::new(encrypted))
            .set_encryption_context(Some(self.context()))
            .send()
            .await
            .map_err(kms)?;
        let key = key_bytes(out.plaintext.as_ref().map(Blob::as_ref))?;
        let mut cache = lock(&self.opened);
        cache.retain(|_, k| k.created.elapsed() < DATA_KEY_LIFETIME);
        if cache.len() >= OPENED_KEYS
            && let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, k)| k.created)
                .map(|(e, _)| e.clone())
        {
            cache.remove(&oldest);
        }
        cache.insert(
            encrypted.to_vec(),
            DataKey {
                key,
                encrypted: encrypted.to_vec(),
                created: Instant::now(),
                uses: 0,
            },
        );
        Ok(key)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn key_bytes(plaintext: Option<&[u8]>) -> Result<[u8; 32], KeyError> {
    plaintext
        .and_then(|p| <[u8; 32]>::try_from(p).ok())
        .ok_or_else(|| KeyError("KMS returned no 256-bit data key".into()))
}

fn kms<E: std::error::Error + 'static>(err: E) -> KeyError {
    KeyError(format!("KMS: {}", DisplayErrorContext(err)))
}

/// The parts of a sealed blob.
struct Parts<'a> {
    encrypted_key: &'a [u8],
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

fn split(sealed: &[u8]) -> Result<Parts<'_>, KeyError> {
    let bad = || KeyError("not a sealed blob of this registry".into());
    let (&version, rest) = sealed.split_first().ok_or_else(bad)?;
    if version != VERSION || rest.len() < 2 {
        return Err(bad());
    }
    let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    let rest = &rest[2..];
    if rest.len() < len + NONCE_LEN {
        return Err(bad());
    }
    let (encrypted_key, rest) = rest.split_at(len);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    Ok(Parts {
        encrypted_key,
        nonce,
        ciphertext,
    })
}

#[async_trait]
impl RegistryKeys for KmsKeys {
    /// Signs the message's SHA-256 digest (`MessageType=DIGEST`): KMS takes at most 4,096
    /// bytes of a RAW message (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html),
    /// and exchange messages and snapshot pages are larger. ECDSA_SHA_256 over the digest is
    /// the same signature as over the raw message, so ES256 verifies it unchanged.
    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError> {
        let digest = <sha2::Sha256 as sha2::Digest>::digest(message);
        let out = self
            .client
            .sign()
            .key_id(&self.signing_key)
            .message(Blob::new(digest.to_vec()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(kms)?;
        let der = out
            .signature()
            .ok_or_else(|| KeyError("KMS returned no signature".into()))?;
        // KMS signs in DER; JWS wants the fixed r || s form (RFC 7518, 3.4).
        jose::der_to_raw(der.as_ref()).map_err(|e| KeyError(e.to_string()))
    }

    async fn public_key(&self) -> Result<VerifyingKey, KeyError> {
        self.public
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .get_public_key()
                    .key_id(&self.signing_key)
                    .send()
                    .await
                    .map_err(kms)?;
                let spki = out
                    .public_key()
                    .ok_or_else(|| KeyError("KMS returned no public key".into()))?;
                jose::key_from_spki_der(spki.as_ref()).map_err(|e| KeyError(e.to_string()))
            })
            .await
            .copied()
    }

    fn key_id(&self) -> String {
        // The key's id, not its ARN: the ARN names the account.
        self.signing_key
            .rsplit('/')
            .next()
            .unwrap_or(&self.signing_key)
            .to_owned()
    }

    async fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let (key, encrypted_key) = self.sealing_key().await?;
        let len = u16::try_from(encrypted_key.len())
            .map_err(|_| KeyError("encrypted data key too long".into()))?;
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(key));
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // The record's context is the associated data: the blob opens for no other record.
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyError("sealing failed".into()))?;
        let mut sealed = Vec::with_capacity(3 + encrypted_key.len() + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&len.to_be_bytes());
        sealed.extend_from_slice(&encrypted_key);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    async fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let Parts {
            encrypted_key,
            nonce,
            ciphertext,
        } = split(sealed)?;
        let key = self.opening_key(encrypted_key).await?;
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(key));
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| KeyError("malformed nonce".into()))?;
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyError("the sealed data does not open in this context".into()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.
mod tests {
    use super::*;

    #[test]
    fn a_truncated_blob_is_refused_not_a_panic() {
        for blob in [
            &[][..],
            &[VERSION][..],
            &[VERSION, 0, 40, 1, 2][..],
            &[9, 0, 0][..],
        ] {
            assert!(split(blob).is_err(), "{blob:?}");
        }
        let p = split(&[VERSION, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]).unwrap();
        assert_eq!(
            (p.encrypted_key, p.nonce.len(), p.ciphertext),
            (&[7u8][..], NONCE_LEN, &[5u8][..])
        );
    }
}
