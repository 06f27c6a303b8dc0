//! trustreg-http: the axum routers of the HTTP functions, their problem+json errors, request
//! extraction and the OpenAPI document. Shared by the Lambdas and any local server.

mod access;
mod admin_api;
mod audit;
mod audit_log;
mod auth;
mod body;
mod bulk;
mod common;
mod cors;
mod deregistration;
mod device_api;
mod enquirer_api;
mod enquirers;
mod evidence;
mod holds;
mod links;
mod lookups;
mod notifications;
mod openapi;
mod owners;
mod path;
mod problem;
mod published;
mod query;
mod rate;
mod register;
mod reports;
mod roots;
use trustreg_model::routes;
mod serve;
mod served;
mod statistics;
mod status_lists;
mod subscriptions;
mod trust_domains;
mod virtual_ids;
mod vulnerabilities;

#[cfg(test)]
mod cors_tests;
#[cfg(test)]
mod routers_tests;

use std::sync::Arc;

pub use admin_api::admin_router;
pub use cors::{ALLOW_HEADERS, ALLOW_METHODS, EXPOSE_HEADERS, MAX_AGE_SECONDS};
pub use device_api::register_router;
pub use enquirer_api::interrogate_router;
pub use openapi::{openapi_document, openapi_json};
pub use problem::{PROBLEM_BASE, PROBLEM_JSON, Problem};
pub use rate::SourceAddress;
pub use routes::{Access, FUNCTIONS, ROUTES, RouteSpec};
pub use serve::serve;

/// The registry every handler works on.
pub(crate) type Shared = Arc<trustreg_core::Registry>;

/// The routes a function's router serves, as `(method, path template)`; none for a function
/// without a router.
pub fn served_routes(function: &str) -> Vec<(&'static str, &'static str)> {
    let routes = match function {
        "register" => device_api::routes(),
        "interrogate" => enquirer_api::routes(),
        "admin" => admin_api::routes(),
        _ => Vec::new(),
    };
    served::listed(&routes)
}
