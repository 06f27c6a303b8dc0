//! trustreg-core: the registry's domain. Types, rules and flows; every effect goes through a
//! port trait (`ports`), so nothing here knows AWS, HTTP or I/O.

pub use trustreg_model::{
    binding, error, error_code, free_json, identifier, jose, merkle, messages, records, roles, rot,
    status,
};

pub mod actors;
pub mod admin;
pub mod audit_reads;
pub mod bulk;
pub mod config;
pub mod deregistration;
pub mod device_changes;
pub mod domain_reevaluation;
pub mod domains;
pub mod evaluation;
pub mod evidence;
pub mod exchange;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod feed;
pub mod holds;
pub mod idempotency;
mod instance;
pub mod lookups;
pub mod nonces;
pub mod notifications;
pub mod owners;
pub mod policies;
pub mod ports;
pub mod published;
pub mod register;
pub mod reports;
pub mod service;
pub mod sessions;
pub mod statements;
pub mod statistics;
pub mod subscriptions;
pub mod tlog;
pub mod tpm;
pub mod virtual_ids;
pub mod vulnerabilities;

pub use config::{RegistryConfig, RegistryKind};
pub use error::RegistryError;
pub use service::Registry;
