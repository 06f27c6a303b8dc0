//! Why a status list or its token is refused.

use crate::jose::JoseError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    /// Not a compact ES256 JWS we accept (shape, size, algorithm, critical headers).
    #[error("status list token: {0}")]
    Jws(#[from] JoseError),
    #[error("status list token's typ must be statuslist+jwt, not {0:?}")]
    WrongType(Option<String>),
    #[error("status list token's signature does not verify with the registry's key")]
    BadSignature,
    #[error("status list token's claims are not valid: {0}")]
    Claims(String),
    #[error("status list token expired at {exp} (now {now})")]
    Expired { exp: u64, now: u64 },
    #[error("status list token is issued in the future ({iat}, now {now})")]
    IssuedInFuture { iat: u64, now: u64 },
    #[error("status list token is for {sub}, not {expected}")]
    SubjectMismatch { expected: String, sub: String },
    #[error("bits must be 1, 2, 4 or 8, not {0}")]
    UnsupportedBits(u64),
    #[error("lst is not base64url without padding")]
    Base64,
    #[error("lst is not ZLIB/DEFLATE data")]
    Compression,
    #[error("the status list is larger than accepted")]
    TooLarge,
    #[error("index {idx} is outside the list of {len} statuses")]
    IndexOutOfRange { idx: u64, len: u64 },
    #[error("status value {value} does not fit in {bits} bits")]
    ValueTooLarge { value: u8, bits: u8 },
}
