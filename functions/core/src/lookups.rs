//! Interrogation (Y.3059 9.3 ii c, ii d, 8): lookups by RegDevID or virtual ID with a view that
//! depends on the caller's role, search by indexes, bulk lookup for administrators. Every
//! answer carries a registry-signed `statement` (see `statements`).

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::messages::{DeviceInfo, OwnerDetails};
use crate::records::AffectedLink;
use crate::reports::DeviceHistory;
use crate::service::Registry;
use crate::sessions::Principal;
use crate::status::{Reason, TrustStatus};

/// What a lookup says about one device. `public` gets `id`, `status`, `status_since`,
/// `registry` and the statement; enquirers the details too; the device's owner and
/// administrators the owner with PII. `regdevid` is never shown behind a virtual ID except to
/// the device's owner and administrators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceAnswer {
    /// The id as asked (a RegDevID or a virtual ID).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regdevid: Option<String>,
    pub status: TrustStatus,
    /// RFC 3339.
    pub status_since: String,
    /// The registry's path.
    pub registry: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_domains: Option<Vec<String>>,
    /// Communication technologies and protocols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<Reason>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerDetails>,
}

/// `GET /v1/devices/{id}`: the answer and the registry's signed statement of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupAnswer {
    #[serde(flatten)]
    pub device: DeviceAnswer,
    /// Compact JWS of `device` with the time it was said (`statements`).
    pub statement: String,
}

/// `GET /v1/devices?make=&model=&status=&domain=&capability=&owner=&cursor=&limit=`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub make: Option<String>,
    pub model: Option<String>,
    pub status: Option<String>,
    pub domain: Option<String>,
    pub capability: Option<String>,
    pub owner: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchAnswer {
    pub devices: Vec<DeviceAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    pub statement: String,
}

/// `POST /v1/bulk/lookups`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkLookupRequest {
    pub ids: Vec<String>,
}

/// One result per asked id, in order: a device, or the problem code for that id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BulkLookupResult {
    Found(DeviceAnswer),
    Failed { id: String, error: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkLookupAnswer {
    pub results: Vec<BulkLookupResult>,
    pub statement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryAnswer {
    pub regdevid: String,
    #[serde(flatten)]
    pub history: DeviceHistory,
    pub statement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilitiesAnswer {
    pub regdevid: String,
    pub vulnerabilities: Vec<AffectedLink>,
    pub statement: String,
}

/// Hard bound of `POST /v1/bulk/lookups` (9.3 ii d).
pub const MAX_BULK_LOOKUP: usize = 1000;

impl Registry {
    pub async fn lookup(
        &self,
        caller: Option<&Principal>,
        id: &str,
    ) -> Result<LookupAnswer, RegistryError> {
        let _ = (caller, id);
        Err(RegistryError::Forbidden("not yet".into()))
    }

    pub async fn search(
        &self,
        caller: Option<&Principal>,
        params: SearchParams,
    ) -> Result<SearchAnswer, RegistryError> {
        let _ = (caller, params);
        Err(RegistryError::Forbidden("not yet".into()))
    }

    pub async fn history_for(
        &self,
        caller: Option<&Principal>,
        regdevid: &str,
    ) -> Result<HistoryAnswer, RegistryError> {
        let _ = (caller, regdevid);
        Err(RegistryError::Forbidden("not yet".into()))
    }

    pub async fn vulnerabilities_for(
        &self,
        caller: Option<&Principal>,
        regdevid: &str,
    ) -> Result<VulnerabilitiesAnswer, RegistryError> {
        let _ = (caller, regdevid);
        Err(RegistryError::Forbidden("not yet".into()))
    }

    pub async fn bulk_lookup(
        &self,
        caller: Option<&Principal>,
        request: BulkLookupRequest,
    ) -> Result<BulkLookupAnswer, RegistryError> {
        let _ = (caller, request);
        Err(RegistryError::Forbidden("not yet".into()))
    }
}
