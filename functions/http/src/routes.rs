//! Every route with who may call it (API.md, "Roles") and the Lambda that serves it. The
//! routers serve exactly these (tests/routers.rs) and the OpenAPI document is built from them.

use trustreg_core::actors::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone. A bearer token is optional: when one is sent it must be valid, and what the
    /// route answers may depend on its role (a lookup shows more to an enquirer).
    Public,
    /// A device proving its root of trust: a JWS with the certificate chain in `x5c`.
    RootOfTrust,
    /// A request signed by one of these roles (functions/core/src/actors.rs).
    Signed(&'static [Role]),
    /// `Authorization: Bearer <access token>` from `POST /v1/sessions`, of one of these roles.
    Token(&'static [Role]),
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub function: &'static str,
}

/// Who reads device details, histories and vulnerabilities (9.3 ii c).
const READERS: &[Role] = &[Role::Enquirer, Role::Agency, Role::Owner, Role::Admin];
/// Who reads registry-wide lists and the dashboard: approved readers, not owners (anyone may
/// become an owner without approval; an owner's view is its own devices).
const REGISTRY_WIDE: &[Role] = &[Role::Enquirer, Role::Agency, Role::Admin];
/// Who subscribes to trust-domain notifications (9.4 i a): everyone who logs in; an owner only
/// to the notifications of its own devices.
const SUBSCRIBERS: &[Role] = &[Role::Enquirer, Role::Agency, Role::Owner, Role::Admin];

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    function: &'static str,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        access,
        function,
    }
}

pub const ROUTES: &[RouteSpec] = &[
    // Device-facing.
    route("POST", "/v1/challenges", Access::Public, "register"),
    route("POST", "/v1/registrations", Access::RootOfTrust, "register"),
    route(
        "POST",
        "/v1/devices/{regdevid}/acknowledgement",
        Access::Signed(&[Role::Device]),
        "register",
    ),
    route(
        "POST",
        "/v1/devices/{regdevid}/reports",
        Access::Signed(&[Role::Device]),
        "register",
    ),
    route(
        "POST",
        "/v1/bulk/registrations",
        Access::Signed(&[Role::Manufacturer, Role::Admin]),
        "register",
    ),
    route(
        "POST",
        "/v1/devices/{regdevid}/virtual-ids",
        Access::Signed(&[Role::Device, Role::Owner]),
        "register",
    ),
    // Self-service: signed by the key the claims carry (proof of possession), no kid.
    route(
        "POST",
        "/v1/owners",
        Access::Signed(&[Role::Owner, Role::Admin]),
        "register",
    ),
    route(
        "POST",
        "/v1/owners/{owner_id}/verification",
        Access::Signed(&[Role::Admin]),
        "register",
    ),
    route(
        "POST",
        "/v1/devices/{regdevid}/transfer",
        Access::Signed(&[Role::Owner, Role::Admin]),
        "register",
    ),
    // The receiving owner accepts an owner's offer (9.2 i d).
    route(
        "POST",
        "/v1/devices/{regdevid}/transfer/accept",
        Access::Signed(&[Role::Owner]),
        "register",
    ),
    // Holds are administration, but API Gateway sends `/v1/devices/{regdevid}/...` writes to
    // `register`.
    route(
        "POST",
        "/v1/devices/{regdevid}/holds",
        Access::Signed(&[Role::Admin, Role::Owner]),
        "register",
    ),
    route(
        "POST",
        "/v1/devices/{regdevid}/holds/{kind}/release",
        Access::Signed(&[Role::Admin, Role::Owner]),
        "register",
    ),
    // Enquirer-facing.
    route("POST", "/v1/enquirers", Access::Public, "interrogate"),
    route(
        "POST",
        "/v1/sessions",
        Access::Signed(READERS),
        "interrogate",
    ),
    route("GET", "/v1/devices/{id}", Access::Public, "interrogate"),
    route("GET", "/v1/devices", Access::Token(READERS), "interrogate"),
    route(
        "GET",
        "/v1/devices/{id}/history",
        Access::Token(READERS),
        "interrogate",
    ),
    route(
        "GET",
        "/v1/devices/{id}/vulnerabilities",
        Access::Token(READERS),
        "interrogate",
    ),
    route(
        "POST",
        "/v1/bulk/lookups",
        Access::Token(&[Role::Admin]),
        "interrogate",
    ),
    route("GET", "/v1/registry", Access::Public, "interrogate"),
    route(
        "GET",
        "/v1/registry/practice-statement",
        Access::Public,
        "interrogate",
    ),
    route("GET", "/v1/openapi.json", Access::Public, "interrogate"),
    route(
        "POST",
        "/v1/subscriptions",
        Access::Token(SUBSCRIBERS),
        "interrogate",
    ),
    route(
        "GET",
        "/v1/subscriptions",
        Access::Token(SUBSCRIBERS),
        "interrogate",
    ),
    route(
        "DELETE",
        "/v1/subscriptions/{id}",
        Access::Token(SUBSCRIBERS),
        "interrogate",
    ),
    route(
        "GET",
        "/v1/status-lists/{status}",
        Access::Token(REGISTRY_WIDE),
        "interrogate",
    ),
    // The portal's dashboard (card C5): a project addition to API.md.
    route(
        "GET",
        "/v1/statistics",
        Access::Token(REGISTRY_WIDE),
        "interrogate",
    ),
    // Administration.
    route(
        "PUT",
        "/v1/admin/trust-domains/{name}",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        "PUT",
        "/v1/admin/roots/{id}",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        "DELETE",
        "/v1/admin/roots/{id}",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        "GET",
        "/v1/admin/enquirers",
        Access::Token(&[Role::Admin]),
        "admin",
    ),
    route(
        "POST",
        "/v1/admin/enquirers/{id}/decision",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    // Agencies, owners and registries report through an admin until they sign themselves.
    route(
        "POST",
        "/v1/vulnerabilities",
        Access::Signed(&[Role::Device, Role::Admin]),
        "admin",
    ),
    route(
        "POST",
        "/v1/vulnerabilities/{id}/apply",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        "POST",
        "/v1/vulnerabilities/{id}/fixed",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route("GET", "/v1/audit", Access::Token(&[Role::Admin]), "admin"),
    route(
        "POST",
        "/v1/admin/notifications",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        "POST",
        "/v1/admin/links",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
];

/// The functions that serve HTTP routes, each with its own router.
pub const FUNCTIONS: &[&str] = &["register", "interrogate", "admin"];
