//! C2SP `signed-note`: a text, a blank line, and signature lines `— <key name> base64(key ID ||
//! signature)`. The registry signs with its KMS P-256 key, so its signatures are of the spec's
//! type 0x02 (ECDSA as transparency-dev/witness implements it): ASN.1 DER ECDSA over the
//! SHA-256 of the text, key ID the first four bytes of SHA-256 of the key's DER SPKI.
//! Verifier keys are written `<name>+<key ID hex>+base64(0x02 || SPKI)`, as the Go `note`
//! package writes its Ed25519 ones (`0x01 || key`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::{Digest, Sha256};

use super::TlogError;

/// Signature type of ECDSA signatures (C2SP signed-note, "Signature types").
pub const ECDSA_TYPE: u8 = 0x02;
/// Verifiers must accept 16 signatures (the spec); more are refused.
const MAX_SIGNATURES: usize = 100;
const DASH: &str = "\u{2014} ";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    pub signature: Vec<u8>,
}

impl NoteSignature {
    fn line(&self) -> String {
        let mut bytes = self.key_id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.signature);
        format!("{DASH}{} {}\n", self.name, STANDARD.encode(bytes))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// Ends with a newline.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl std::fmt::Display for SignedNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.line())?;
        }
        Ok(())
    }
}

/// Key names: non-empty, no Unicode spaces, no `+` (the spec, "Format").
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

impl SignedNote {
    pub fn parse(note: &str) -> Result<SignedNote, TlogError> {
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(TlogError::Note("control character"));
        }
        // The text ends at the last blank line: what follows are signature lines only.
        let split = note
            .rfind("\n\n")
            .ok_or(TlogError::Note("no blank line before the signatures"))?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        let sigs = sigs
            .strip_suffix('\n')
            .ok_or(TlogError::Note("no final newline"))?;
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            let rest = line
                .strip_prefix(DASH)
                .ok_or(TlogError::Note("signature line without the em dash"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or(TlogError::Note("signature line without a signature"))?;
            if !valid_key_name(name) {
                return Err(TlogError::Note("invalid key name"));
            }
            let bytes = STANDARD
                .decode(b64)
                .map_err(|_| TlogError::Note("signature is not base64"))?;
            if bytes.len() < 5 {
                return Err(TlogError::Note("signature too short"));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
                signature: bytes[4..].to_vec(),
            });
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(TlogError::Note("too many signatures"));
        }
        Ok(SignedNote {
            text: text.to_owned(),
            signatures,
        })
    }
}

/// The key ID the spec recommends for most types: SHA-256(name || 0x0A || type || key)[:4].
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, signature_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A P-256 key as a note signer or verifier (type 0x02).
#[derive(Debug, Clone)]
pub struct EcdsaNoteKey {
    pub name: String,
    pub key: VerifyingKey,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteVerifyError {
    #[error("no signature by {0}")]
    Unsigned(String),
    #[error("the signature by {0} does not verify")]
    BadSignature(String),
}

impl EcdsaNoteKey {
    pub fn spki_der(&self) -> Vec<u8> {
        // A P-256 point always encodes; the empty fallback only yields a key ID nobody matches.
        self.key
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
    }

    /// For type 0x02 the spec takes the key ID from the DER SPKI alone (no name, no type).
    pub fn key_id(&self) -> u32 {
        let d = Sha256::digest(self.spki_der());
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    pub fn verifier_key(&self) -> String {
        let mut bytes = vec![ECDSA_TYPE];
        bytes.extend_from_slice(&self.spki_der());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id(),
            STANDARD.encode(bytes)
        )
    }

    /// The key of a verifier key string (`verifier_key`'s form), as a verifier pins it: the
    /// name, a P-256 SPKI of type 0x02, and a key ID that matches the key.
    pub fn from_verifier_key(vkey: &str) -> Result<Self, TlogError> {
        let bad = TlogError::VerifierKey;
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected <name>+<key ID>+<base64 key>"));
        };
        if !valid_key_name(name) {
            return Err(bad("the name is not a key name"));
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| bad("the key ID is not 8 hex digits"))?;
        let bytes = STANDARD
            .decode(key)
            .map_err(|_| bad("the key is not base64"))?;
        let Some((&ECDSA_TYPE, spki)) = bytes.split_first() else {
            return Err(bad("not an ECDSA (type 0x02) key"));
        };
        let key =
            VerifyingKey::from_public_key_der(spki).map_err(|_| bad("not a P-256 public key"))?;
        let parsed = Self {
            name: name.to_owned(),
            key,
        };
        if parsed.key_id() != id {
            return Err(bad("the key ID does not match the key"));
        }
        Ok(parsed)
    }

    /// The signature line's content for a DER signature made over `text`.
    pub fn signature(&self, der: Vec<u8>) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id(),
            signature: der,
        }
    }

    /// Verifies the note's signature by this key: signatures by other keys are ignored, as the
    /// spec requires; a matching one that fails rejects the note.
    pub fn verify(&self, note: &SignedNote) -> Result<(), NoteVerifyError> {
        let id = self.key_id();
        let mut found = false;
        for s in note
            .signatures
            .iter()
            .filter(|s| s.name == self.name && s.key_id == id)
        {
            let ok = DerSignature::from_bytes(&s.signature)
                .is_ok_and(|sig| self.key.verify(note.text.as_bytes(), &sig).is_ok());
            if !ok {
                return Err(NoteVerifyError::BadSignature(self.name.clone()));
            }
            found = true;
        }
        if found {
            Ok(())
        } else {
            Err(NoteVerifyError::Unsigned(self.name.clone()))
        }
    }
}
