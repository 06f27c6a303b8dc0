//! Every route with the roles it admits (API.md, "Roles"). The routers serve exactly these.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Anyone, unauthenticated.
    Public,
    /// A device, authenticated by the JWS it sends (its root of trust or registered key).
    Device,
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub roles: &'static [Role],
    pub function: &'static str,
}

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: "POST",
        path: "/v1/challenges",
        roles: &[Role::Public],
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/registrations",
        roles: &[Role::Device],
        function: "register",
    },
    RouteSpec {
        method: "POST",
        path: "/v1/devices/{regdevid}/acknowledgement",
        roles: &[Role::Device],
        function: "register",
    },
];
