//! trustreg-model: what the registry, its clients and its devices share. Identifiers, JOSE,
//! roots of trust, Merkle trees, trust status, the API's messages and records, roles, error
//! codes and the offline verification of statements. No async, no ports, no flows: the portal,
//! the CLI and the device depend on this crate, not on the registry's domain flows
//! (`trustreg-core`).

pub mod answers;
pub mod binding;
pub mod dates;
pub mod error;
pub mod error_code;
pub mod evidence;
pub mod free_json;
pub mod idempotency;
pub mod identifier;
pub mod jose;
pub mod merkle;
pub mod messages;
pub mod records;
pub mod roles;
pub mod rot;
pub mod routes;
pub mod statements;
pub mod status;
pub mod status_list;
pub mod tlog;
