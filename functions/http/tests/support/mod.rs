//! The router tests' one fixture (`Harness`) and their signed requests. A request is signed
//! when it is sent, for the method and path it is sent to (its `htm` and `htu` claims, API.md
//! "Signed requests"), so a test builds its claims first and names the route once, where it
//! posts them. A test that means to send a request made for another route signs it with
//! `sign_for` itself.
#![allow(dead_code)]

mod harness;
#[allow(unused_imports)]
pub use harness::{Harness, HarnessBuilder, Reply, now_ms};

use p256::ecdsa::SigningKey;
use serde_json::Value;
use trustreg_core::binding;
use trustreg_core::jose::{self, JwsHeader};

/// Claims and the key that will sign them, not yet bound to a request.
#[derive(Clone)]
pub struct Unsent {
    key: SigningKey,
    header: JwsHeader,
    claims: Value,
}

impl Unsent {
    pub fn new(key: &SigningKey, header: JwsHeader, claims: Value) -> Self {
        Self {
            key: key.clone(),
            header,
            claims,
        }
    }

    /// The compact JWS made for `method` on `path` (any query string is not part of it).
    pub fn sign_for(&self, method: &str, path: &str) -> String {
        let path = path.split('?').next().unwrap_or(path);
        let claims = binding::bind(self.claims.clone(), method, path);
        jose::sign_with(&self.key, &self.header, claims.to_string().as_bytes())
    }
}

/// A request body: a signed request bound when sent, or text sent as it is.
#[derive(Clone)]
pub enum Sendable {
    Raw(String),
    Unsent(Box<Unsent>),
}

impl Sendable {
    pub fn body_for(&self, method: &str, path: &str) -> String {
        match self {
            Self::Raw(text) => text.clone(),
            Self::Unsent(unsent) => unsent.sign_for(method, path),
        }
    }
}

impl From<String> for Sendable {
    fn from(text: String) -> Self {
        Self::Raw(text)
    }
}

impl From<&str> for Sendable {
    fn from(text: &str) -> Self {
        Self::Raw(text.to_owned())
    }
}

impl From<Unsent> for Sendable {
    fn from(unsent: Unsent) -> Self {
        Self::Unsent(Box::new(unsent))
    }
}

impl From<&Unsent> for Sendable {
    fn from(unsent: &Unsent) -> Self {
        Self::Unsent(Box::new(unsent.clone()))
    }
}
