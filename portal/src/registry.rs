//! The registry the portal talks to: its published document (API.md `GET /v1/registry`) and
//! the checking of its signed statements against the key that document publishes.

use p256::ecdsa::VerifyingKey;
use serde::de::DeserializeOwned;
use serde_json::Value;
use trustreg_model::statements::{Statement, verify_statement};

use crate::api::ApiError;

/// The published document, and the key it names.
#[derive(Debug, Clone)]
pub struct Registry {
    pub document: Value,
    pub path: String,
    key: VerifyingKey,
}

impl Registry {
    pub fn from_document(document: Value) -> Result<Self, ApiError> {
        let key =
            trustreg_model::jose::key_from_jwk(&document["public_key"]).map_err(|e| ApiError {
                code: None,
                message: format!("The registry publishes no usable key ({e})."),
            })?;
        let path = document["path"].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            document,
            path,
            key,
        })
    }

    /// What `statement` says, if the registry's key vouches for it at `now_ms` and the
    /// registry itself made it. The portal shows only what this returns, never the unsigned
    /// JSON around it.
    pub fn verified<T: DeserializeOwned>(
        &self,
        statement: Option<&str>,
        now_ms: u64,
    ) -> Result<Statement<T>, ApiError> {
        let statement = statement.ok_or_else(|| not_verified("the answer carries no statement"))?;
        let verified: Statement<T> = verify_statement(statement, &self.key, now_ms)
            .map_err(|e| not_verified(&e.to_string()))?;
        if verified.iss != self.path {
            return Err(not_verified(&format!(
                "it was made by {}, not by {}",
                verified.iss, self.path
            )));
        }
        Ok(verified)
    }
}

fn not_verified(why: &str) -> ApiError {
    ApiError {
        code: Some("statement-not-verified".into()),
        message: format!("The registry's signature on this answer does not verify: {why}."),
    }
}

#[cfg(test)]
mod tests;
