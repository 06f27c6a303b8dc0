//! Wire payloads shared by the device side and the registry (API.md, device-facing routes).

use serde::{Deserialize, Serialize};

use crate::identifier::Scheme;

/// What a challenge is for; a nonce is only accepted for the purpose it was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Register,
    Acknowledge,
    Report,
    Login,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    pub purpose: Purpose,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChallengeResponse {
    pub nonce: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// An identifier as sent on the wire, before normalization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierClaim {
    pub scheme: Scheme,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotClaim {
    /// e.g. `secure-element`, `tpm`, `trustzone`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PowerClaim {
    pub source: String,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Device attributes a registry stores (Y.3059 9.2 i e).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub make: String,
    pub model: String,
    pub firmware_version: String,
    pub software_version: String,
    pub rot: RotClaim,
    #[serde(default)]
    pub communication: Vec<String>,
    #[serde(default)]
    pub power: PowerClaim,
    #[serde(default)]
    pub protocols: Vec<String>,
}

/// Payload of the registration JWS (its header carries `x5c`, leaf first).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistrationClaims {
    pub nonce: String,
    pub identifier: IdentifierClaim,
    pub device: DeviceInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<serde_json::Value>,
    #[serde(default)]
    pub trust_domains: Vec<String>,
}

/// Payload of the acknowledgement JWS (its header names the device by `kid` = RegDevID).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgementClaims {
    pub nonce: String,
    pub regdevid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistrationResponse {
    pub regdevid: String,
    pub status: crate::status::TrustStatus,
    /// Compact JWS signed by the registry's key: the device's registration credential.
    pub credential: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AcknowledgementResponse {
    pub regdevid: String,
    pub status: crate::status::TrustStatus,
}
