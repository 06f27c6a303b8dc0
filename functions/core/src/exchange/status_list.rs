//! Status lists (Y.3059 7 iv d): the registry's own devices with one status, then those
//! mirrored from below, paged with one cursor across both.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use trustreg_model::routes::Op;

use super::{ListedDevice, StatusListAnswer};
use crate::error::RegistryError;
use crate::ports::DeviceQuery;
use crate::service::{Registry, rfc3339};
use crate::sessions::Principal;
use crate::status::TrustStatus;

pub const STATUS_LIST_PAGE: usize = 100;
/// The longest cursor accepted: the ones handed out are far shorter.
const MAX_CURSOR: usize = 1024;

/// Where a page starts: in the own devices or the mirrored ones, after the store's cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListCursor {
    /// `own` or `mirrored`.
    half: Half,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Half {
    Own,
    Mirrored,
}

impl ListCursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(text: &str) -> Result<Self, RegistryError> {
        let forged = || RegistryError::Malformed("the cursor is not one this registry gave".into());
        if text.len() > MAX_CURSOR {
            return Err(forged());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| forged())?;
        serde_json::from_slice(&bytes).map_err(|_| forged())
    }
}

impl Registry {
    pub(super) async fn status_list_inner(
        &self,
        caller: Option<&Principal>,
        status: &str,
        cursor: Option<String>,
    ) -> Result<StatusListAnswer, RegistryError> {
        let principal = self.require(caller, Op::StatusList, None).await?;
        let result = self.list_page(status, cursor).await;
        if let Err(e) = &result {
            self.audit_rejection(&principal.subject, "status-list", None, e)
                .await;
        }
        result
    }

    async fn list_page(
        &self,
        status: &str,
        cursor: Option<String>,
    ) -> Result<StatusListAnswer, RegistryError> {
        let status: TrustStatus = status
            .parse()
            .map_err(|e: crate::status::UnknownStatus| RegistryError::Malformed(e.to_string()))?;
        let start = match cursor.as_deref() {
            Some(text) => ListCursor::decode(text)?,
            None => ListCursor {
                half: Half::Own,
                after: None,
            },
        };
        let own_path = self.config.path.to_string();
        let now = self.clock.now_ms();
        let mut devices = Vec::new();
        let mut next = None;
        let mut mirrored_after = start.after.clone();
        if start.half == Half::Own {
            let query = DeviceQuery {
                status: Some(status),
                ..DeviceQuery::default()
            };
            let page = self
                .store
                .search_devices(&query, start.after.as_deref(), STATUS_LIST_PAGE)
                .await?;
            devices.extend(page.items.iter().map(|d| ListedDevice {
                regdevid: d.regdevid.to_string(),
                status_since: rfc3339(d.status_since_ms),
                origin: own_path.clone(),
                // This registry holds its own devices: what it says is current.
                as_of: rfc3339(now),
            }));
            next = page.next.map(|after| ListCursor {
                half: Half::Own,
                after: Some(after),
            });
            mirrored_after = None;
        }
        let room = STATUS_LIST_PAGE - devices.len();
        if next.is_none() && room > 0 {
            let page = self
                .store
                .mirrors_with_status(status, mirrored_after.as_deref(), room)
                .await?;
            devices.extend(page.items.iter().map(|m| ListedDevice {
                regdevid: m.regdevid.to_string(),
                status_since: rfc3339(m.status_since_ms),
                origin: m.origin.clone(),
                as_of: rfc3339(m.received_at_ms),
            }));
            next = page.next.map(|after| ListCursor {
                half: Half::Mirrored,
                after: Some(after),
            });
        } else if next.is_none() {
            next = Some(ListCursor {
                half: Half::Mirrored,
                after: None,
            });
        }
        let next = next.map(|c| c.encode());
        let statement = self
            .statement(&serde_json::json!({
                "registry": own_path,
                "status": status,
                "devices": devices,
                "next": next,
            }))
            .await?;
        Ok(StatusListAnswer {
            registry: own_path,
            status,
            devices,
            next,
            statement,
        })
    }
}
