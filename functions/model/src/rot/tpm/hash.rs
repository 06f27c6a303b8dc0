//! The hash algorithms a TPM object may name (TPM 2.0 Part 2 §6.3 TPM_ALG_ID): the registry
//! takes SHA-256 and SHA-384, what EK templates and attestation keys use; SHA-1 names prove too
//! little.

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256, Sha384};

use super::TpmError;

pub(crate) const TPM_ALG_SHA256: u16 = 0x000b;
pub(crate) const TPM_ALG_SHA384: u16 = 0x000c;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
}

impl HashAlg {
    pub(crate) fn from_id(id: u16) -> Result<Self, TpmError> {
        match id {
            TPM_ALG_SHA256 => Ok(HashAlg::Sha256),
            TPM_ALG_SHA384 => Ok(HashAlg::Sha384),
            other => Err(TpmError::Unsupported(format!(
                "hash algorithm 0x{other:04x}"
            ))),
        }
    }

    pub(crate) fn id(self) -> u16 {
        match self {
            HashAlg::Sha256 => TPM_ALG_SHA256,
            HashAlg::Sha384 => TPM_ALG_SHA384,
        }
    }

    pub(crate) fn size(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
        }
    }

    pub(crate) fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => {
                let mut h = Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
            HashAlg::Sha384 => {
                let mut h = Sha384::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
        }
    }

    pub(crate) fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        // HMAC takes keys of any length (RFC 2104), so new_from_slice cannot fail here; an
        // empty result would make every later comparison fail rather than pass.
        match self {
            HashAlg::Sha256 => Hmac::<Sha256>::new_from_slice(key)
                .map(|mut m| {
                    parts.iter().for_each(|p| m.update(p));
                    m.finalize().into_bytes().to_vec()
                })
                .unwrap_or_default(),
            HashAlg::Sha384 => Hmac::<Sha384>::new_from_slice(key)
                .map(|mut m| {
                    parts.iter().for_each(|p| m.update(p));
                    m.finalize().into_bytes().to_vec()
                })
                .unwrap_or_default(),
        }
    }
}

/// KDFa (TPM 2.0 Part 1 §11.4.10.2): SP 800-108 counter-mode KDF with HMAC; `label` is given
/// without its terminating zero, which the TPM counts as part of the label.
pub(crate) fn kdfa(
    hash: HashAlg,
    key: &[u8],
    label: &str,
    context_u: &[u8],
    context_v: &[u8],
    bits: u32,
) -> Vec<u8> {
    let bytes = bits.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(bytes + hash.size());
    let mut counter: u32 = 1;
    while out.len() < bytes {
        out.extend(hash.hmac(
            key,
            &[
                &counter.to_be_bytes(),
                label.as_bytes(),
                &[0],
                context_u,
                context_v,
                &bits.to_be_bytes(),
            ],
        ));
        counter += 1;
    }
    out.truncate(bytes);
    out
}

/// KDFe (TPM 2.0 Part 1 §11.4.10.3): SP 800-56A concatenation KDF over the ECDH shared x
/// coordinate `z`; `party_u` is the ephemeral key's x, `party_v` the receiving key's x.
pub(crate) fn kdfe(
    hash: HashAlg,
    z: &[u8],
    label: &str,
    party_u: &[u8],
    party_v: &[u8],
    bits: u32,
) -> Vec<u8> {
    let bytes = bits.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(bytes + hash.size());
    let mut counter: u32 = 1;
    while out.len() < bytes {
        out.extend(hash.digest(&[
            &counter.to_be_bytes(),
            z,
            label.as_bytes(),
            &[0],
            party_u,
            party_v,
        ]));
        counter += 1;
    }
    out.truncate(bytes);
    out
}
