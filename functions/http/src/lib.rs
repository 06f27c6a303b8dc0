//! trustreg-http: the axum routers of the HTTP functions, their problem+json errors and
//! request extraction. Shared by the Lambdas and any local server.

mod body;
mod bulk;
mod common;
mod device_api;
mod enquirer_api;
mod holds;
mod owners;
mod problem;
mod published;
mod register;
mod reports;
mod routes;
mod telemetry;
mod trust_domains;
mod virtual_ids;
mod vulnerabilities;

use std::sync::Arc;

pub use device_api::register_router;
pub use enquirer_api::interrogate_router;
pub use problem::{PROBLEM_BASE, PROBLEM_JSON, Problem};
pub use routes::{Access, ROUTES, RouteSpec};
pub use telemetry::init_tracing;

/// The registry every handler works on.
pub(crate) type Shared = Arc<trustreg_core::Registry>;
