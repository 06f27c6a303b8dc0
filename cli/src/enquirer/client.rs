//! The enquirer-facing API over HTTP (API.md, "Enquirer-facing"): sign-up, login, lookups,
//! search; and the registry's published key, to check answers' statements offline.

use std::time::Duration;

use p256::ecdsa::{SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use trustreg_model::jose::{self, JwsHeader};

use crate::CliError;
use trustreg_model::routes::Op;

pub struct EnquirerApi {
    base: String,
    http: reqwest::Client,
}

impl EnquirerApi {
    pub fn new(base: &str) -> Result<Self, CliError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(http_error)?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    pub async fn sign_up(&self, request: &Value) -> Result<Value, CliError> {
        let response = self
            .http
            .post(format!("{}{}", self.base, Op::SignUp.path()))
            .json(request)
            .send()
            .await
            .map_err(http_error)?;
        answer(response).await
    }

    pub async fn nonce(&self, purpose: &str) -> Result<String, CliError> {
        let response = self
            .http
            .post(format!("{}{}", self.base, Op::Challenge.path()))
            .json(&json!({ "purpose": purpose }))
            .send()
            .await
            .map_err(http_error)?;
        let challenge: Value = answer(response).await?;
        challenge["nonce"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| CliError::Usage("the challenge holds no nonce".into()))
    }

    /// Challenge-response login (Y.3059 9.3 iii): the nonce signed with the key of `kid`.
    pub async fn login(&self, key: &SigningKey, kid: &str) -> Result<Value, CliError> {
        let nonce = self.nonce("login").await?;
        let claims = json!({ "nonce": nonce, "enquirer_id": kid });
        let jws = signed(key, kid, "POST", Op::Login.path(), &claims);
        self.post_jws(Op::Login.path(), jws).await
    }

    /// A JWS body to `path` (admin decisions, login).
    pub async fn post_jws(&self, path: &str, jws: String) -> Result<Value, CliError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/jose")
            .body(jws)
            .send()
            .await
            .map_err(http_error)?;
        answer(response).await
    }

    /// A GET with the access token when there is one (anonymous otherwise).
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        token: Option<&str>,
    ) -> Result<Value, CliError> {
        let mut request = self.http.get(format!("{}{path}", self.base)).query(query);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.map_err(http_error)?).await
    }

    /// The registry's signing key from its published document (9.1 vi).
    pub async fn registry_key(&self) -> Result<VerifyingKey, CliError> {
        let document = self.get(Op::RegistryDocument.path(), &[], None).await?;
        jose::key_from_jwk(&document["public_key"])
            .map_err(|e| CliError::Usage(format!("the registry's public key: {e}")))
    }
}

/// A signed request of `kid` made for `method` on `path` (its `htm` and `htu` claims).
pub fn signed(key: &SigningKey, kid: &str, method: &str, path: &str, claims: &Value) -> String {
    let header = JwsHeader::es256().with_kid(kid);
    let claims = trustreg_model::binding::bind(claims.clone(), method, path);
    jose::sign_with(key, &header, claims.to_string().as_bytes())
}

/// The answer's JSON, or the registry's problem (RFC 9457) as the error.
async fn answer<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, CliError> {
    let status = response.status();
    let text = response.text().await.map_err(http_error)?;
    if !status.is_success() {
        let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let detail = problem["detail"].as_str().unwrap_or(&text);
        let code = problem["type"]
            .as_str()
            .and_then(|t| t.rsplit('/').next())
            .unwrap_or("error");
        return Err(CliError::Usage(format!(
            "the registry answered {} ({code}): {detail}",
            status.as_u16()
        )));
    }
    serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("unexpected answer from the registry: {e}")))
}

fn http_error(e: reqwest::Error) -> CliError {
    CliError::Usage(format!("the registry could not be reached: {e}"))
}
