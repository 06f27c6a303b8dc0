//! `RegistryKeys` on KMS: ES256 signatures by an ECC_NIST_P256 key, PII sealed with a
//! symmetric key bound to an encryption context.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use p256::ecdsa::VerifyingKey;
use tokio::sync::OnceCell;
use trustreg_core::error::KeyError;
use trustreg_core::jose;
use trustreg_core::ports::RegistryKeys;

const CONTEXT_KEY: &str = "regdevid";

pub struct KmsKeys {
    client: Client,
    signing_key: String,
    pii_key: String,
    public: OnceCell<VerifyingKey>,
}

impl KmsKeys {
    pub fn new(client: Client, signing_key: impl Into<String>, pii_key: impl Into<String>) -> Self {
        Self {
            client,
            signing_key: signing_key.into(),
            pii_key: pii_key.into(),
            public: OnceCell::new(),
        }
    }
}

fn kms<E: std::error::Error + 'static>(err: E) -> KeyError {
    KeyError(format!("KMS: {}", DisplayErrorContext(err)))
}

#[async_trait]
impl RegistryKeys for KmsKeys {
    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError> {
        let out = self
            .client
            .sign()
            .key_id(&self.signing_key)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
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
        let out = self
            .client
            .encrypt()
            .key_id(&self.pii_key)
            .plaintext(Blob::new(plaintext))
            .encryption_context(CONTEXT_KEY, context)
            .send()
            .await
            .map_err(kms)?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| KeyError("KMS returned no ciphertext".into()))
    }

    async fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let out = self
            .client
            .decrypt()
            .key_id(&self.pii_key)
            .ciphertext_blob(Blob::new(sealed))
            .encryption_context(CONTEXT_KEY, context)
            .send()
            .await
            .map_err(kms)?;
        out.plaintext
            .map(Blob::into_inner)
            .ok_or_else(|| KeyError("KMS returned no plaintext".into()))
    }
}
