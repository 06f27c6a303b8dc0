//! Bulk registration from the manufacturer's side (Y.3059 9.2 i g): devices as lines of a
//! bulk request, and the request signed over its body's digest.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use sha2::{Digest, Sha256};
use trustreg_model::identifier::Identifier;
use trustreg_model::messages::{
    BodySignatureClaims, BulkDevice, DeviceInfo, IdentifierClaim, Purpose,
};
use trustreg_model::routes::Op;

use crate::client::{ClientError, RegistryClient};
use crate::secure_element::SoftSecureElement;

pub const AUTH_SCHEME: &str = "TrustReg-JWS";
pub const NDJSON: &str = "application/x-ndjson";

/// The bulk line of a device whose secure element holds its certificate chain.
pub fn bulk_device(
    se: &SoftSecureElement,
    identifier: &Identifier,
    device: DeviceInfo,
    trust_domains: Vec<String>,
) -> Result<BulkDevice, ClientError> {
    let chain = se.chain_der()?;
    if chain.is_empty() {
        return Err(ClientError::NoChain);
    }
    Ok(BulkDevice {
        identifier: IdentifierClaim {
            scheme: identifier.scheme(),
            value: identifier.value().to_owned(),
        },
        device,
        certificate_chain: chain.iter().map(|c| STANDARD.encode(c)).collect(),
        trust_domains,
        owner: None,
    })
}

/// The route a bulk registration is posted to.
pub const BULK_PATH: &str = Op::BulkRegister.path();

/// The claims a bulk request's signer signs: a fresh nonce and the body's digest, made for
/// `POST /v1/bulk/registrations` (`htm`, `htu`).
pub fn body_claims(nonce: String, body: &[u8]) -> serde_json::Value {
    let claims = BodySignatureClaims {
        nonce,
        body_sha256: URL_SAFE_NO_PAD.encode(Sha256::digest(body)),
    };
    let value = serde_json::to_value(claims).unwrap_or_default();
    trustreg_model::binding::bind(value, "POST", BULK_PATH)
}

impl RegistryClient {
    /// Posts one bulk request. `sign` turns the claims' JSON into the compact JWS of the
    /// signer (a manufacturer CA or an administrator). Answers the registry's 207 body.
    pub async fn register_bulk(
        &self,
        body: Vec<u8>,
        content_type: &str,
        sign: impl Fn(&[u8]) -> Result<String, ClientError>,
    ) -> Result<serde_json::Value, ClientError> {
        let nonce = self.challenge(Purpose::Bulk).await?.nonce;
        let claims = serde_json::to_vec(&body_claims(nonce, &body))
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let signature = sign(&claims)?;
        let response = self
            .http()
            .post(format!("{}{BULK_PATH}", self.base_url()))
            .header(CONTENT_TYPE, content_type)
            .header(AUTHORIZATION, format!("{AUTH_SCHEME} {signature}"))
            .body(body)
            .send()
            .await?;
        crate::client::decode("POST", response).await
    }
}
