//! trustreg-device: the device side of registration (Y.3059 9.2 ii a-d).
//!
//! A software secure element holds the device key and what the registry issued; a demo
//! manufacturer PKI certifies device keys; the client talks to a registry's device-facing API.

pub mod bulk;
pub mod client;
pub mod credential;
pub mod feed;
mod files;
pub mod pki;
pub mod retry;
pub mod secure_element;
#[cfg(feature = "tpm")]
pub mod tpm;

pub use client::{ClientError, RegistryClient};
pub use pki::{IssuedCert, ManufacturerCa, PkiError};
pub use retry::RetryPolicy;
pub use secure_element::{SecureElementError, SoftSecureElement, StoredRegistration};

/// Any failure of the device side, for callers (the CLI) that handle them alike.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    SecureElement(#[from] SecureElementError),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Client(#[from] ClientError),
}

#[cfg(test)]
pub(crate) mod test_support;
