//! trustreg-http: the axum routers of the HTTP functions, their problem+json errors and
//! request extraction. Shared by the Lambdas and any local server.

mod body;
mod problem;
mod register;
mod routes;
mod telemetry;

pub use problem::{PROBLEM_BASE, PROBLEM_JSON, Problem};
pub use register::register_router;
pub use routes::{ROUTES, Role, RouteSpec};
pub use telemetry::init_tracing;
