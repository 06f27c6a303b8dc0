//! `GET /v1/audit` (Y.3059 7 i c): administrators read the audit trail by day or by target.

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::ports::Page;
use crate::records::AuditRecord;
use crate::service::Registry;
use crate::sessions::Principal;

/// `GET /v1/audit?day=YYYY-MM-DD | target=...&cursor=&limit=`; no criterion means today.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    pub day: Option<String>,
    pub target: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

impl Registry {
    pub async fn read_audit(
        &self,
        caller: Option<&Principal>,
        params: AuditParams,
    ) -> Result<Page<AuditRecord>, RegistryError> {
        let _ = (caller, params);
        Err(RegistryError::Forbidden("not yet".into()))
    }
}
