//! `TPMT_PUBLIC` (TPM 2.0 Part 2 §12.2.4): a TPM object's public area, and its Name (Part 1
//! §16: nameAlg || H_nameAlg(TPMT_PUBLIC)), which is what credentials and certifications bind.

use super::TpmError;
use super::hash::HashAlg;
use super::wire::Reader;

const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_ECC: u16 = 0x0023;
const TPM_ALG_NULL: u16 = 0x0010;
const TPM_ALG_AES: u16 = 0x0006;
const TPM_ALG_CFB: u16 = 0x0043;
const TPM_ALG_ECDAA: u16 = 0x001a;

const TPM_ECC_NIST_P256: u16 = 0x0003;
const TPM_ECC_NIST_P384: u16 = 0x0004;

/// TPMA_OBJECT bits (Part 2 §8.3).
pub mod attributes {
    pub const FIXED_TPM: u32 = 1 << 1;
    pub const FIXED_PARENT: u32 = 1 << 4;
    pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
    pub const USER_WITH_AUTH: u32 = 1 << 6;
    pub const RESTRICTED: u32 = 1 << 16;
    pub const DECRYPT: u32 = 1 << 17;
    pub const SIGN: u32 = 1 << 18;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

/// The key a public area holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Uncompressed coordinates, each the curve's size (left-padded if the TPM sent fewer).
    Ecc {
        curve: Curve,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    Rsa {
        modulus: Vec<u8>,
        exponent: u32,
    },
}

/// The parts of a `TPMT_PUBLIC` the registry judges by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmPublic {
    pub name_alg: HashAlg,
    pub object_attributes: u32,
    /// AES key bits of a storage key's symmetric algorithm (an EK's; Part 2 §12.2.3.7), or
    /// `None` for `TPM_ALG_NULL`.
    pub symmetric_aes_bits: Option<u16>,
    pub key: PublicKey,
    /// The marshaled `TPMT_PUBLIC` itself, for the Name.
    pub marshaled: Vec<u8>,
}

impl TpmPublic {
    /// Parses a `TPM2B_PUBLIC` (what `TPM2_ReadPublic`, `TPM2_Create` and tpm2-tools give).
    pub fn from_tpm2b(bytes: &[u8]) -> Result<Self, TpmError> {
        let mut reader = Reader::new(bytes, "TPM2B_PUBLIC");
        let inner = reader.sized()?;
        reader.finish()?;
        Self::from_tpmt(inner)
    }

    /// Parses a bare `TPMT_PUBLIC`.
    pub fn from_tpmt(bytes: &[u8]) -> Result<Self, TpmError> {
        let mut r = Reader::new(bytes, "TPMT_PUBLIC");
        let kind = r.u16()?;
        let name_alg = HashAlg::from_id(r.u16()?)?;
        let object_attributes = r.u32()?;
        let _auth_policy = r.sized()?;
        let symmetric_aes_bits = symmetric(&mut r)?;
        let key = match kind {
            TPM_ALG_RSA => {
                // TPMS_RSA_PARMS: scheme, keyBits, exponent (0 means 2^16 + 1).
                scheme(&mut r)?;
                let _key_bits = r.u16()?;
                let exponent = match r.u32()? {
                    0 => 65537,
                    e => e,
                };
                let modulus = r.sized()?.to_vec();
                PublicKey::Rsa { modulus, exponent }
            }
            TPM_ALG_ECC => {
                // TPMS_ECC_PARMS: scheme, curveID, kdf; then TPMS_ECC_POINT.
                scheme(&mut r)?;
                let curve = match r.u16()? {
                    TPM_ECC_NIST_P256 => Curve::P256,
                    TPM_ECC_NIST_P384 => Curve::P384,
                    other => return Err(TpmError::Unsupported(format!("curve 0x{other:04x}"))),
                };
                let kdf = r.u16()?;
                if kdf != TPM_ALG_NULL {
                    let _kdf_hash = r.u16()?;
                }
                let size = curve.size();
                let x = left_pad(r.sized()?, size)?;
                let y = left_pad(r.sized()?, size)?;
                PublicKey::Ecc { curve, x, y }
            }
            other => return Err(TpmError::Unsupported(format!("key type 0x{other:04x}"))),
        };
        r.finish()?;
        Ok(TpmPublic {
            name_alg,
            object_attributes,
            symmetric_aes_bits,
            key,
            marshaled: bytes.to_vec(),
        })
    }

    /// The object's Name: nameAlg (u16) || H_nameAlg(TPMT_PUBLIC) (Part 1 §16).
    pub fn name(&self) -> Vec<u8> {
        let mut name = self.name_alg.id().to_be_bytes().to_vec();
        name.extend(self.name_alg.digest(&[&self.marshaled]));
        name
    }

    pub fn has(&self, bits: u32) -> bool {
        self.object_attributes & bits == bits
    }

    /// The SEC 1 uncompressed point of an ECC key.
    pub fn sec1_point(&self) -> Option<(Curve, Vec<u8>)> {
        match &self.key {
            PublicKey::Ecc { curve, x, y } => {
                let mut point = vec![0x04];
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                Some((*curve, point))
            }
            PublicKey::Rsa { .. } => None,
        }
    }
}

impl Curve {
    pub(crate) fn size(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

/// TPMT_SYM_DEF_OBJECT: only AES in CFB mode protects credentials (Part 1 §24.4); anything
/// else than NULL or that is refused.
fn symmetric(r: &mut Reader<'_>) -> Result<Option<u16>, TpmError> {
    match r.u16()? {
        TPM_ALG_NULL => Ok(None),
        TPM_ALG_AES => {
            let bits = r.u16()?;
            let mode = r.u16()?;
            if mode != TPM_ALG_CFB || !matches!(bits, 128 | 256) {
                return Err(TpmError::Unsupported(format!(
                    "symmetric AES-{bits} mode 0x{mode:04x}"
                )));
            }
            Ok(Some(bits))
        }
        other => Err(TpmError::Unsupported(format!(
            "symmetric algorithm 0x{other:04x}"
        ))),
    }
}

/// TPMT_RSA_SCHEME / TPMT_ECC_SCHEME: the algorithm, then its details (a hash, and for ECDAA
/// a count) unless NULL.
fn scheme(r: &mut Reader<'_>) -> Result<(), TpmError> {
    let scheme = r.u16()?;
    if scheme != TPM_ALG_NULL {
        let _hash = r.u16()?;
        if scheme == TPM_ALG_ECDAA {
            let _count = r.u16()?;
        }
    }
    Ok(())
}

pub(crate) fn left_pad(bytes: &[u8], size: usize) -> Result<Vec<u8>, TpmError> {
    if bytes.len() > size {
        return Err(TpmError::Malformed(
            "coordinate longer than its curve".into(),
        ));
    }
    let mut out = vec![0; size - bytes.len()];
    out.extend_from_slice(bytes);
    Ok(out)
}
