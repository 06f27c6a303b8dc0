//! trustreg-core: the registry's domain. Types, rules and flows; every effect goes through a
//! port trait (`ports`), so nothing here knows AWS, HTTP or I/O.

pub mod actors;
pub mod admin;
pub mod audit_reads;
pub mod binding;
pub mod bulk;
pub mod config;
pub mod domains;
pub mod error;
pub mod error_code;
pub mod evaluation;
pub mod exchange;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod holds;
pub mod idempotency;
pub mod identifier;
pub mod jose;
pub mod lookups;
pub mod merkle;
pub mod messages;
pub mod notifications;
pub mod owners;
pub mod policies;
pub mod ports;
pub mod published;
pub mod records;
pub mod register;
pub mod reports;
pub mod rot;
pub mod service;
pub mod sessions;
pub mod statements;
pub mod statistics;
pub mod status;
pub mod subscriptions;
pub mod tlog;
pub mod virtual_ids;
pub mod vulnerabilities;

pub use config::{RegistryConfig, RegistryKind};
pub use error::RegistryError;
pub use service::Registry;
