//! trustreg-http: the axum routers of the HTTP functions, their problem+json errors and
//! request extraction. Shared by the Lambdas and any local server.

mod body;
mod common;
mod device_api;
mod problem;
mod register;
mod routes;
mod telemetry;

use std::sync::Arc;

pub use device_api::register_router;
pub use problem::{PROBLEM_BASE, PROBLEM_JSON, Problem};
pub use routes::{ROUTES, Role, RouteSpec};
pub use telemetry::init_tracing;

/// The registry every handler works on.
pub(crate) type Shared = Arc<trustreg_core::Registry>;
