//! `GET /v1/audit` (Y.3059 7 i c): administrators read the audit trail by day or by target.

use serde::{Deserialize, Serialize};
use trustreg_model::routes::Op;

use crate::error::RegistryError;
use crate::ports::{AuditQuery, Page};
use crate::records::AuditRecord;
use crate::service::{Registry, utc_day};
use crate::sessions::Principal;

pub const MAX_AUDIT_LIMIT: usize = 500;
pub const DEFAULT_AUDIT_LIMIT: usize = 100;
const MAX_TARGET: usize = 256;
/// A `?day=` cursor holds a position per audit partition (`trustreg_aws` shards a day over up
/// to 32, about 1.5 KB of cursor).
const MAX_CURSOR: usize = 4096;

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
    /// Reading the trail is itself audited (`read-audit`, target `audit:<day or target>`).
    pub async fn read_audit(
        &self,
        caller: Option<&Principal>,
        params: AuditParams,
    ) -> Result<Page<AuditRecord>, RegistryError> {
        let admin = self.require(caller, Op::Audit, None).await?;
        let result = self.read_audit_inner(admin, params).await;
        if let Err(e) = &result {
            self.audit_rejection(&admin.subject, "read-audit", None, e)
                .await;
        }
        result
    }

    async fn read_audit_inner(
        &self,
        admin: &Principal,
        params: AuditParams,
    ) -> Result<Page<AuditRecord>, RegistryError> {
        let query = match (params.day, params.target) {
            (Some(_), Some(_)) => {
                return Err(RegistryError::Malformed(
                    "read by day or by target, not both".into(),
                ));
            }
            (Some(day), None) => {
                if !is_day(&day) {
                    return Err(RegistryError::Malformed("day must be YYYY-MM-DD".into()));
                }
                AuditQuery::Day(day)
            }
            (None, Some(target)) => {
                if target.is_empty() || target.chars().count() > MAX_TARGET {
                    return Err(RegistryError::Malformed(format!(
                        "target must be 1 to {MAX_TARGET} characters"
                    )));
                }
                AuditQuery::Target(target)
            }
            (None, None) => AuditQuery::Day(utc_day(self.clock.now_ms())),
        };
        let limit = params.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
        if !(1..=MAX_AUDIT_LIMIT).contains(&limit) {
            return Err(RegistryError::Malformed(format!(
                "limit must be 1 to {MAX_AUDIT_LIMIT}"
            )));
        }
        if params
            .cursor
            .as_ref()
            .is_some_and(|c| c.is_empty() || c.len() > MAX_CURSOR)
        {
            return Err(RegistryError::Malformed("cursor is not one of ours".into()));
        }
        // Named apart from the records read, so reading a target's trail does not extend it.
        let read = match &query {
            AuditQuery::Day(day) => format!("audit:{day}"),
            AuditQuery::Target(target) => format!("audit:{target}"),
        };
        let audit = self.audit(&admin.subject, "read-audit", Some(read), Ok(()));
        self.store.record_audit(&audit).await?;
        Ok(self
            .store
            .audit_records(&query, params.cursor.as_deref(), limit)
            .await?)
    }
}

/// A real calendar day written `YYYY-MM-DD`.
fn is_day(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return false;
    }
    let part = |range: std::ops::Range<usize>| {
        text.get(range)
            .and_then(|t| t.parse::<u16>().ok())
            .unwrap_or(0)
    };
    let month = u8::try_from(part(5..7))
        .ok()
        .and_then(|m| time::Month::try_from(m).ok());
    let day = u8::try_from(part(8..10)).unwrap_or(0);
    month.is_some_and(|m| time::Date::from_calendar_date(i32::from(part(0..4)), m, day).is_ok())
}

#[cfg(test)]
mod tests;
