//! trustreg-core: the registry's domain. Types, rules and flows; every effect goes through a
//! port trait (`ports`), so nothing here knows AWS, HTTP or I/O.

pub mod actors;
pub mod admin;
pub mod config;
pub mod error;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod identifier;
pub mod jose;
pub mod messages;
pub mod ports;
pub mod records;
pub mod register;
pub mod rot;
pub mod service;
pub mod status;

pub use config::{RegistryConfig, RegistryKind};
pub use error::RegistryError;
pub use service::Registry;
