//! Enquirers (Y.3059 9.3 i a, 9.4 i a): sign-up, an administrator's decision, login by
//! challenge-response (9.3 iii) that yields a short-lived access token signed by the registry's
//! KMS key, and the verification of that token on every request with the cached public key.

use serde::{Deserialize, Serialize};

use crate::actors::Role;
use crate::error::RegistryError;
use crate::ports::Page;
use crate::records::EnquirerState;
use crate::service::Registry;

/// Who a request's bearer token says is asking. No token: anonymous (`public`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// How audit records name it: `enquirer:<id>`, `owner:<id>` or `admin:<name>`.
    pub subject: String,
    pub role: Role,
    pub expires_at_ms: u64,
}

impl Principal {
    /// The owner id when the principal is an owner or custodian.
    pub fn owner_id(&self) -> Option<&str> {
        self.subject.strip_prefix("owner:")
    }
}

/// `POST /v1/enquirers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    pub name: String,
    pub organisation: String,
    pub contact: String,
    /// `enquirer` or `agency`.
    pub role: Role,
    /// P-256 JWK: the key that signs the enquirer's login challenges.
    pub public_key: serde_json::Value,
}

/// An enquirer as the registry shows it (its contact stays sealed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnquirerView {
    pub enquirer_id: String,
    pub name: String,
    pub organisation: String,
    pub role: Role,
    pub state: EnquirerState,
    /// RFC 3339.
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
    Revoke,
}

/// Payload of `POST /v1/admin/enquirers/{id}/decision`, signed by an administrator over an
/// `enquirer-decision` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionClaims {
    pub nonce: String,
    pub decision: Decision,
    /// A new role (`enquirer` or `agency`), when the administrator changes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// Payload of the login JWS (`POST /v1/sessions`), signed with the key that `kid` names:
/// `enquirer:<id>`, `owner:<id>` or `admin:<name>`; `enquirer_id` repeats the kid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginClaims {
    pub nonce: String,
    pub enquirer_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds.
    pub expires_in: u64,
}

impl Registry {
    /// `POST /v1/enquirers`: 201 with the enquirer `pending`.
    pub async fn sign_up(&self, request: SignUpRequest) -> Result<EnquirerView, RegistryError> {
        let _ = request;
        Err(RegistryError::Forbidden("not yet".into()))
    }

    /// `POST /v1/admin/enquirers/{id}/decision`, a JWS signed by an administrator.
    pub async fn decide_enquirer(
        &self,
        enquirer_id: &str,
        compact: &str,
    ) -> Result<EnquirerView, RegistryError> {
        let _ = (enquirer_id, compact);
        Err(RegistryError::Forbidden("not yet".into()))
    }

    /// `GET /v1/admin/enquirers?state=&cursor=`, for administrators.
    pub async fn list_enquirers(
        &self,
        caller: Option<&Principal>,
        state: EnquirerState,
        cursor: Option<&str>,
    ) -> Result<Page<EnquirerView>, RegistryError> {
        let _ = (caller, state, cursor);
        Err(RegistryError::Forbidden("not yet".into()))
    }

    /// `POST /v1/sessions`: a login JWS over a `login` nonce yields an access token.
    pub async fn login(&self, compact: &str) -> Result<SessionResponse, RegistryError> {
        let _ = compact;
        Err(RegistryError::Forbidden("not yet".into()))
    }

    /// The principal of a bearer access token, verified with the registry's cached public key
    /// (no KMS call). Any failure is `Unauthenticated`-class and is audited by the caller.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, RegistryError> {
        let _ = bearer;
        Err(RegistryError::Forbidden("not yet".into()))
    }
}
