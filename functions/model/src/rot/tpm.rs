//! TPM 2.0 as hardware evidence of a device's root of trust (issue 18): the registry's side,
//! in pure Rust (no TSS), so the Lambdas and the portal need no C library.
//!
//! The evidence follows the TCG's identity provisioning (TPM 2.0 Library Part 1 §24 Credential
//! Protection, as Keylime and Azure DPS use it): an EK certificate chained to an accepted TPM
//! manufacturer root; an attestation key (AK) shown to be in the same TPM by activating a
//! credential the registry made for the EK and the AK's Name; and a TPM2_Certify, by that AK,
//! of the registration key, showing it was generated in and cannot leave that TPM.

mod attest;
mod credential;
mod ek;
mod hash;
mod public;
#[cfg(any(test, feature = "testing"))]
pub mod soft;
mod wire;

pub use attest::{
    CertifyInfo, certify_qualifying_data, ecdsa_r_s, verify_certify, verify_signature,
};
pub use credential::{MadeCredential, make_credential};
pub use ek::{TPM_ROT_TYPE, verify_ek_certificate};
pub use hash::HashAlg;
pub use public::{Curve, PublicKey, TpmPublic, attributes};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TpmError {
    #[error("malformed TPM structure: {0}")]
    Malformed(String),
    #[error("unsupported TPM algorithm or parameter: {0}")]
    Unsupported(String),
    #[error("EK certificate is invalid: {0}")]
    EkCertificate(String),
    #[error("EK certificate does not chain to an accepted TPM manufacturer root")]
    EkUntrusted,
    #[error("not an endorsement key: {0}")]
    NotAnEk(String),
    #[error("the attestation key is not a restricted signing key fixed to its TPM")]
    NotAnAk,
    #[error("TPM signature does not verify")]
    BadSignature,
    #[error("certification is invalid: {0}")]
    Certify(String),
    #[error("the registration key is not fixedTPM, fixedParent and sensitiveDataOrigin")]
    KeyNotFixed,
}

#[cfg(test)]
mod tests;
