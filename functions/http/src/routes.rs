//! Every route with who may call it (API.md, "Roles"). The routers serve exactly these.

use trustreg_core::actors::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, unauthenticated.
    Public,
    /// A device proving its root of trust: a JWS with the certificate chain in `x5c`.
    RootOfTrust,
    /// A request signed by one of these roles (functions/core/src/actors.rs).
    Signed(&'static [Role]),
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub function: &'static str,
}

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: "POST",
        path: "/v1/challenges",
        access: Access::Public,
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/registrations",
        access: Access::RootOfTrust,
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/devices/{regdevid}/acknowledgement",
        access: Access::Signed(&[Role::Device]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/devices/{regdevid}/reports",
        access: Access::Signed(&[Role::Device]),
        function: "register",
    },
    RouteSpec {
        method: "PUT",
        path: "/v1/admin/trust-domains/{name}",
        access: Access::Signed(&[Role::Admin]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/bulk/registrations",
        access: Access::Signed(&[Role::Manufacturer, Role::Admin]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/devices/{regdevid}/virtual-ids",
        access: Access::Signed(&[Role::Device, Role::Owner]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/owners",
        // Self-service: signed by the key the claims carry (proof of possession), no kid.
        access: Access::Signed(&[Role::Owner, Role::Admin]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/owners/{owner_id}/verification",
        access: Access::Signed(&[Role::Admin]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/devices/{regdevid}/transfer",
        access: Access::Signed(&[Role::Owner, Role::Admin]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/vulnerabilities",
        // Agencies, owners and registries report through an admin until they sign themselves.
        access: Access::Signed(&[Role::Device, Role::Admin]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/vulnerabilities/{id}/apply",
        access: Access::Signed(&[Role::Admin]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/vulnerabilities/{id}/fixed",
        access: Access::Signed(&[Role::Admin]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/devices/{regdevid}/holds",
        access: Access::Signed(&[Role::Admin, Role::Owner]),
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/devices/{regdevid}/holds/{kind}/release",
        access: Access::Signed(&[Role::Admin, Role::Owner]),
        function: "register",
    },
    RouteSpec {
        method: "GET",
        path: "/v1/registry",
        access: Access::Public,
        function: "interrogate",
    },
    RouteSpec {
        method: "GET",
        path: "/v1/registry/practice-statement",
        access: Access::Public,
        function: "interrogate",
    },
];
