//! Every route, declared once: its name, method, path, who may call it (API.md, "Roles") and the
//! Lambda that serves it. The routers (`trustreg-http`) and the clients (CLI, device, portal) take
//! paths from here; the routers serve exactly these (tests/routers.rs) and the OpenAPI document
//! is built from them.

use crate::roles::Role;

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

/// Each route by name: what handlers, the OpenAPI description, the request claims and the
/// rate limits refer to, so a route's method and path are written once, in `ROUTES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Challenge,
    Register,
    Acknowledge,
    Report,
    BulkRegister,
    CreateVirtualId,
    CreateOwner,
    VerifyOwner,
    Transfer,
    AcceptTransfer,
    PlaceHold,
    ReleaseHold,
    Deregister,
    RevokeOwner,
    RequestEvidence,
    Feed,
    SignUp,
    Login,
    Lookup,
    Search,
    History,
    DeviceVulnerabilities,
    BulkLookup,
    RegistryDocument,
    PracticeStatement,
    OpenApi,
    Subscribe,
    ListSubscriptions,
    Unsubscribe,
    StatusList,
    Statistics,
    PutTrustDomain,
    PutRoot,
    DeleteRoot,
    ListEnquirers,
    DecideEnquirer,
    ReportVulnerability,
    ApplyVulnerability,
    FixVulnerability,
    Audit,
    AuditCheckpoint,
    AuditTile,
    AuditInclusion,
    AuditConsistency,
    Notify,
    Link,
}

impl Op {
    /// This route's declaration in `ROUTES`.
    pub const fn spec(self) -> &'static RouteSpec {
        // A loop, not an iterator, so that paths are constants (`Op::X.spec().path`).
        let mut i = 0;
        while i < ROUTES.len() {
            if ROUTES[i].op as usize == self as usize {
                return &ROUTES[i];
            }
            i += 1;
        }
        &ROUTES[0]
    }

    /// This route's path template, e.g. `/v1/devices/{regdevid}/reports`.
    pub const fn path(self) -> &'static str {
        self.spec().path
    }

    /// The route that answers `method` on the path template `path` (axum's `MatchedPath`).
    pub fn find(method: &str, path: &str) -> Option<Op> {
        ROUTES
            .iter()
            .find(|r| r.method == method && r.path == path)
            .map(|r| r.op)
    }

    /// The path with its parameters filled in, e.g. a `Location` header.
    pub fn path_with(self, params: &[(&str, &str)]) -> String {
        params
            .iter()
            .fold(self.spec().path.to_owned(), |path, (name, value)| {
                path.replace(&format!("{{{name}}}"), value)
            })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub op: Op,
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

/// Who reads the audit log (its checkpoint, tiles and proofs): approved readers and
/// administrators; the domain's log reads require the same.
pub const LOG_READERS: &[Role] = &[Role::Enquirer, Role::Agency, Role::Admin];

const fn route(
    op: Op,
    method: &'static str,
    path: &'static str,
    access: Access,
    function: &'static str,
) -> RouteSpec {
    RouteSpec {
        op,
        method,
        path,
        access,
        function,
    }
}

pub const ROUTES: &[RouteSpec] = &[
    // Device-facing.
    route(
        Op::Challenge,
        "POST",
        "/v1/challenges",
        Access::Public,
        "register",
    ),
    route(
        Op::Register,
        "POST",
        "/v1/registrations",
        Access::RootOfTrust,
        "register",
    ),
    route(
        Op::Acknowledge,
        "POST",
        "/v1/devices/{regdevid}/acknowledgement",
        Access::Signed(&[Role::Device]),
        "register",
    ),
    route(
        Op::Report,
        "POST",
        "/v1/devices/{regdevid}/reports",
        Access::Signed(&[Role::Device]),
        "register",
    ),
    route(
        Op::BulkRegister,
        "POST",
        "/v1/bulk/registrations",
        Access::Signed(&[Role::Manufacturer, Role::Admin]),
        "register",
    ),
    route(
        Op::CreateVirtualId,
        "POST",
        "/v1/devices/{regdevid}/virtual-ids",
        Access::Signed(&[Role::Device, Role::Owner]),
        "register",
    ),
    // Self-service: signed by the key the claims carry (proof of possession), no kid.
    route(
        Op::CreateOwner,
        "POST",
        "/v1/owners",
        Access::Signed(&[Role::Owner, Role::Admin]),
        "register",
    ),
    route(
        Op::VerifyOwner,
        "POST",
        "/v1/owners/{owner_id}/verification",
        Access::Signed(&[Role::Admin]),
        "register",
    ),
    route(
        Op::Transfer,
        "POST",
        "/v1/devices/{regdevid}/transfer",
        Access::Signed(&[Role::Owner, Role::Admin]),
        "register",
    ),
    // The receiving owner accepts an owner's offer (9.2 i d).
    route(
        Op::AcceptTransfer,
        "POST",
        "/v1/devices/{regdevid}/transfer/accept",
        Access::Signed(&[Role::Owner]),
        "register",
    ),
    // Holds are administration, but API Gateway sends `/v1/devices/{regdevid}/...` writes to
    // `register`.
    route(
        Op::PlaceHold,
        "POST",
        "/v1/devices/{regdevid}/holds",
        Access::Signed(&[Role::Admin, Role::Owner]),
        "register",
    ),
    route(
        Op::ReleaseHold,
        "POST",
        "/v1/devices/{regdevid}/holds/{kind}/release",
        Access::Signed(&[Role::Admin, Role::Owner]),
        "register",
    ),
    // The owner or an administrator ends a device's registration (6.3 e); a device-path
    // write, so `register` serves it like holds.
    route(
        Op::Deregister,
        "POST",
        "/v1/devices/{regdevid}/deregistration",
        Access::Signed(&[Role::Admin, Role::Owner]),
        "register",
    ),
    // The owner's custody ends without a new owner (issue 18 §2), by that owner or an
    // administrator; a device-path write like transfers.
    route(
        Op::RevokeOwner,
        "POST",
        "/v1/devices/{regdevid}/owner/revocation",
        Access::Signed(&[Role::Owner, Role::Admin]),
        "register",
    ),
    // The registry interrogates the device (9.2 note): an administrator asks it for fresh
    // evidence, which it answers with a signed report; a device-path write like holds.
    route(
        Op::RequestEvidence,
        "POST",
        "/v1/devices/{regdevid}/evidence-requests",
        Access::Signed(&[Role::Admin]),
        "register",
    ),
    // The device reads what concerns it (9.4 i b), signed so that only it reads it: a POST
    // since the request is a signed JWS, served by `register` like every device-path POST.
    route(
        Op::Feed,
        "POST",
        "/v1/devices/{regdevid}/feed",
        Access::Signed(&[Role::Device]),
        "register",
    ),
    // Enquirer-facing.
    route(
        Op::SignUp,
        "POST",
        "/v1/enquirers",
        Access::Public,
        "interrogate",
    ),
    route(
        Op::Login,
        "POST",
        "/v1/sessions",
        Access::Signed(READERS),
        "interrogate",
    ),
    route(
        Op::Lookup,
        "GET",
        "/v1/devices/{id}",
        Access::Public,
        "interrogate",
    ),
    route(
        Op::Search,
        "GET",
        "/v1/devices",
        Access::Token(READERS),
        "interrogate",
    ),
    route(
        Op::History,
        "GET",
        "/v1/devices/{id}/history",
        Access::Token(READERS),
        "interrogate",
    ),
    route(
        Op::DeviceVulnerabilities,
        "GET",
        "/v1/devices/{id}/vulnerabilities",
        Access::Token(READERS),
        "interrogate",
    ),
    route(
        Op::BulkLookup,
        "POST",
        "/v1/bulk/lookups",
        Access::Token(&[Role::Admin]),
        "interrogate",
    ),
    route(
        Op::RegistryDocument,
        "GET",
        "/v1/registry",
        Access::Public,
        "interrogate",
    ),
    route(
        Op::PracticeStatement,
        "GET",
        "/v1/registry/practice-statement",
        Access::Public,
        "interrogate",
    ),
    route(
        Op::OpenApi,
        "GET",
        "/v1/openapi.json",
        Access::Public,
        "interrogate",
    ),
    route(
        Op::Subscribe,
        "POST",
        "/v1/subscriptions",
        Access::Token(SUBSCRIBERS),
        "interrogate",
    ),
    route(
        Op::ListSubscriptions,
        "GET",
        "/v1/subscriptions",
        Access::Token(SUBSCRIBERS),
        "interrogate",
    ),
    route(
        Op::Unsubscribe,
        "DELETE",
        "/v1/subscriptions/{id}",
        Access::Token(SUBSCRIBERS),
        "interrogate",
    ),
    route(
        Op::StatusList,
        "GET",
        "/v1/status-lists/{status}",
        Access::Token(REGISTRY_WIDE),
        "interrogate",
    ),
    // The portal's dashboard (card C5): a project addition to API.md.
    route(
        Op::Statistics,
        "GET",
        "/v1/statistics",
        Access::Token(REGISTRY_WIDE),
        "interrogate",
    ),
    // Administration.
    route(
        Op::PutTrustDomain,
        "PUT",
        "/v1/admin/trust-domains/{name}",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        Op::PutRoot,
        "PUT",
        "/v1/admin/roots/{id}",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        Op::DeleteRoot,
        "DELETE",
        "/v1/admin/roots/{id}",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        Op::ListEnquirers,
        "GET",
        "/v1/admin/enquirers",
        Access::Token(&[Role::Admin]),
        "admin",
    ),
    route(
        Op::DecideEnquirer,
        "POST",
        "/v1/admin/enquirers/{id}/decision",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    // Owners for their own devices only, devices for themselves (checked by the domain);
    // registries report through the signed exchange.
    route(
        Op::ReportVulnerability,
        "POST",
        "/v1/vulnerabilities",
        Access::Signed(&[Role::Device, Role::Owner, Role::Agency, Role::Admin]),
        "admin",
    ),
    route(
        Op::ApplyVulnerability,
        "POST",
        "/v1/vulnerabilities/{id}/apply",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        Op::FixVulnerability,
        "POST",
        "/v1/vulnerabilities/{id}/fixed",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        Op::Audit,
        "GET",
        "/v1/audit",
        Access::Token(&[Role::Admin]),
        "admin",
    ),
    // The audit log (issue 14): its checkpoint and tiles at C2SP tlog-tiles paths.
    route(
        Op::AuditCheckpoint,
        "GET",
        "/v1/audit/checkpoint",
        Access::Token(LOG_READERS),
        "admin",
    ),
    route(
        Op::AuditTile,
        "GET",
        "/v1/audit/tile/{*path}",
        Access::Token(LOG_READERS),
        "admin",
    ),
    route(
        Op::AuditInclusion,
        "GET",
        "/v1/audit/proofs/inclusion",
        Access::Token(LOG_READERS),
        "admin",
    ),
    route(
        Op::AuditConsistency,
        "GET",
        "/v1/audit/proofs/consistency",
        Access::Token(LOG_READERS),
        "admin",
    ),
    route(
        Op::Notify,
        "POST",
        "/v1/admin/notifications",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
    route(
        Op::Link,
        "POST",
        "/v1/admin/links",
        Access::Signed(&[Role::Admin]),
        "admin",
    ),
];

/// The functions that serve HTTP routes, each with its own router.
pub const FUNCTIONS: &[&str] = &["register", "interrogate", "admin"];

#[cfg(test)]
mod tests {
    use super::*;

    // Every name declares exactly one route, and `Op::spec` finds it (not the fallback).
    #[test]
    fn each_op_is_declared_once() {
        for route in ROUTES {
            let declared = ROUTES.iter().filter(|r| r.op == route.op).count();
            assert_eq!(declared, 1, "{:?}", route.op);
            assert_eq!(route.op.spec().path, route.path);
            assert_eq!(Op::find(route.method, route.path), Some(route.op));
            assert!(
                ["GET", "POST", "PUT", "DELETE"].contains(&route.method),
                "{:?}",
                route.op
            );
        }
    }
}
