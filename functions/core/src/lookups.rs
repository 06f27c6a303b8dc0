//! Interrogation (Y.3059 9.3 ii c, ii d, 8): lookups by RegDevID or virtual ID with a view that
//! depends on the caller's role, search by indexes, bulk lookup for administrators. Every
//! answer carries a registry-signed `statement` (see `statements`).

mod bulk;
mod views;

use serde::{Deserialize, Serialize};
use trustreg_model::routes::Op;

use crate::actors::Role;
use crate::config::RegistryKind;
use crate::error::RegistryError;
use crate::identifier::{Identifier, RegDevId, RegistryPath, parse_inherent};
use crate::messages::OwnerDetails;
use crate::ports::DeviceQuery;
use crate::records::HistoryEntry;
use crate::records::{AffectedLink, DeviceRecord, MirrorRecord};
use crate::service::{Registry, parse_regdevid};
use crate::sessions::{Principal, actor_of};
use crate::status::TrustStatus;
pub use trustreg_model::answers::{DeviceAnswer, DeviceHistory, LookupAnswer, SearchAnswer};
use views::View;

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

/// What a search's statement says.
#[derive(Serialize)]
struct SearchStatement<'a> {
    query: &'a SearchParams,
    devices: &'a [DeviceAnswer],
    next: &'a Option<String>,
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
    /// Boxed: a device answer is far larger than a failure.
    Found(Box<DeviceAnswer>),
    Failed {
        id: String,
        error: String,
    },
}

/// The statement says the `results` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkLookupAnswer {
    pub results: Vec<BulkLookupResult>,
    pub statement: String,
}

/// The statement says `{regdevid, initial, entries}` (the answer without it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryAnswer {
    pub regdevid: String,
    #[serde(flatten)]
    pub history: DeviceHistory,
    pub statement: String,
}

/// The statement says `{regdevid, vulnerabilities}` (the answer without it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilitiesAnswer {
    pub regdevid: String,
    pub vulnerabilities: Vec<AffectedLink>,
    pub statement: String,
}

/// Hard bound of `POST /v1/bulk/lookups` (9.3 ii d).
pub const MAX_BULK_LOOKUP: usize = 1000;
pub const MAX_SEARCH_LIMIT: usize = 100;
pub const DEFAULT_SEARCH_LIMIT: usize = 50;
/// The longest search criterion.
const MAX_CRITERION: usize = 128;
/// The longest cursor handed back: the store's cursors are far shorter.
const MAX_CURSOR: usize = 1024;

impl Registry {
    /// `GET /v1/devices/{id}` by RegDevID, virtual ID (a single-use one is spent) or bare
    /// inherent identifier (`lookup_inherent`): the view the caller's role allows (see
    /// `DeviceAnswer`); reading owner PII is audited.
    pub async fn lookup(
        &self,
        caller: Option<&Principal>,
        id: &str,
    ) -> Result<LookupAnswer, RegistryError> {
        let by_virtual = self.is_virtual_id(id);
        let regdevid = match self.resolve(id).await {
            Ok(regdevid) => regdevid,
            Err(not_a_regdevid @ RegistryError::InvalidIdentifier { .. }) => {
                return match parse_inherent(id) {
                    Ok(identifier) => self.lookup_inherent(caller, id, identifier).await,
                    // Text that starts like a RegDevID is one with a fault: say that one.
                    Err(_) if names_a_registry(id) => Err(not_a_regdevid),
                    Err(source) => Err(RegistryError::InvalidIdentifier {
                        field: "id",
                        source,
                    }),
                };
            }
            Err(e) => return Err(e),
        };
        let Some(device) = self.store.get_device(&regdevid).await? else {
            if by_virtual {
                return Err(RegistryError::VirtualIdNotFound);
            }
            return self.lookup_mirror(caller, id, &regdevid).await;
        };
        self.answer_device(caller, id, &device, by_virtual).await
    }

    /// A lookup by the device's inherent identifier (Y.3059 6.1 h), as the portal's device
    /// check takes it: this registry's own device with that identifier (one GetItem, its
    /// RegDevID being this registry's path and the identifier); else, above the primaries, the
    /// mirrored device with it, found at each registry below that sent mirrors (one Query of
    /// those origins and one batched read, `LookupStore::mirrors_with_identifiers`). Identifiers
    /// are unique per registry only: when two registries below hold the same one, the worst
    /// status answers (then the newest), as an enquirer deciding on trust must not see the
    /// better one of a clone.
    async fn lookup_inherent(
        &self,
        caller: Option<&Principal>,
        id: &str,
        identifier: Identifier,
    ) -> Result<LookupAnswer, RegistryError> {
        let own = RegDevId::new(self.config.path.clone(), identifier.clone());
        if let Some(device) = self.store.get_device(&own).await? {
            return self.answer_device(caller, id, &device, false).await;
        }
        if self.config.kind != RegistryKind::Primary {
            let mirrors = self
                .store
                .mirrors_with_identifiers(std::slice::from_ref(&identifier))
                .await?;
            if let Some(mirror) = mirrors
                .into_iter()
                .filter(|m| m.regdevid.identifier == identifier)
                .max_by_key(|m| (severity(m.status), m.status_since_ms))
            {
                return self.answer_mirror(caller, id, &mirror).await;
            }
        }
        Err(RegistryError::DeviceNotFound(identifier.to_string()))
    }

    /// One of this registry's devices, as `caller` may see it.
    async fn answer_device(
        &self,
        caller: Option<&Principal>,
        id: &str,
        device: &DeviceRecord,
        by_virtual: bool,
    ) -> Result<LookupAnswer, RegistryError> {
        let owns = caller
            .and_then(Principal::owner_id)
            .is_some_and(|owner| device.owner_id.as_deref() == Some(owner));
        let (view, with_owner) = match caller.map(|p| p.role) {
            Some(Role::Admin) => (View::FULL, true),
            Some(Role::Owner) if owns => (View::FULL, true),
            Some(Role::Enquirer | Role::Agency) => (View::enquirer(!by_virtual), false),
            _ => (View::PUBLIC, false),
        };
        let mut answer = view.answer(id, device, &self.config.path.to_string());
        if with_owner {
            answer.owner = self.owner_for(&actor_of(caller), device).await?;
        }
        let statement = self.statement(&answer).await?;
        Ok(LookupAnswer {
            device: answer,
            statement,
        })
    }

    /// A device registered below this registry, as the hierarchy reported it (6.1 c): the
    /// views of `lookup` without what the exchange does not carry (owner, device details).
    async fn lookup_mirror(
        &self,
        caller: Option<&Principal>,
        id: &str,
        regdevid: &RegDevId,
    ) -> Result<LookupAnswer, RegistryError> {
        let mirror = self
            .store
            .get_mirror(regdevid)
            .await?
            .ok_or_else(|| RegistryError::DeviceNotFound(regdevid.to_string()))?;
        self.answer_mirror(caller, id, &mirror).await
    }

    async fn answer_mirror(
        &self,
        caller: Option<&Principal>,
        id: &str,
        mirror: &MirrorRecord,
    ) -> Result<LookupAnswer, RegistryError> {
        let view = match caller.map(|p| p.role) {
            Some(Role::Admin) => View::FULL,
            Some(Role::Enquirer | Role::Agency) => View::enquirer(true),
            _ => View::PUBLIC,
        };
        let answer = view.mirrored(id, mirror, &self.config.path.to_string());
        let statement = self.statement(&answer).await?;
        Ok(LookupAnswer {
            device: answer,
            statement,
        })
    }

    /// The clear owner of `device` for an allowed reader, with the read audited first: no PII
    /// leaves without its record. A dangling owner id reads as no owner.
    async fn owner_for(
        &self,
        reader: &str,
        device: &DeviceRecord,
    ) -> Result<Option<OwnerDetails>, RegistryError> {
        let Some(owner_id) = &device.owner_id else {
            return Ok(None);
        };
        let audit = self.audit(
            reader,
            "read-pii",
            Some(device.regdevid.to_string()),
            Ok(()),
        );
        self.store.record_audit(&audit).await?;
        match self.open_owner(owner_id).await {
            Ok(details) => Ok(Some(details)),
            Err(RegistryError::OwnerNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/devices?...` (8): enquirers, agencies and admins search everything; an owner
    /// only among its own devices; only admins search by owner.
    pub async fn search(
        &self,
        caller: Option<&Principal>,
        params: SearchParams,
    ) -> Result<SearchAnswer, RegistryError> {
        let principal = self.require(caller, Op::Search, None).await?;
        let result = self.search_inner(principal, params).await;
        if let Err(e) = &result {
            self.audit_rejection(&principal.subject, "search", None, e)
                .await;
        }
        result
    }

    async fn search_inner(
        &self,
        principal: &Principal,
        mut params: SearchParams,
    ) -> Result<SearchAnswer, RegistryError> {
        validate_search(&params)?;
        if let Some(owner) = principal.owner_id() {
            if params.owner.as_deref().is_some_and(|asked| asked != owner) {
                return Err(RegistryError::Forbidden(
                    "an owner searches only its own devices".into(),
                ));
            }
            params.owner = Some(owner.to_owned());
        } else if params.owner.is_some() && principal.role != Role::Admin {
            return Err(RegistryError::Forbidden(
                "only administrators search by owner".into(),
            ));
        }
        let status = params
            .status
            .as_deref()
            .map(str::parse::<TrustStatus>)
            .transpose()
            .map_err(|e| RegistryError::Malformed(e.to_string()))?;
        let limit = params.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
        params.limit = Some(limit);
        let query = DeviceQuery {
            make: params.make.clone(),
            model: params.model.clone(),
            status,
            domain: params.domain.clone(),
            capability: params.capability.clone(),
            owner_id: params.owner.clone(),
        };
        let page = self
            .store
            .search_devices(&query, params.cursor.as_deref(), limit)
            .await?;
        let path = self.config.path.to_string();
        let devices: Vec<DeviceAnswer> = page
            .items
            .iter()
            .map(|d| View::enquirer(true).answer(&d.regdevid.to_string(), d, &path))
            .collect();
        let statement = self
            .statement(&SearchStatement {
                query: &params,
                devices: &devices,
                next: &page.next,
            })
            .await?;
        Ok(SearchAnswer {
            devices,
            next: page.next,
            statement,
        })
    }

    /// `GET /v1/devices/{regdevid}/history` (9.3 ii a): every report and transition.
    pub async fn history_for(
        &self,
        caller: Option<&Principal>,
        regdevid: &str,
    ) -> Result<HistoryAnswer, RegistryError> {
        let device = self.readable_device(caller, regdevid, Op::History).await?;
        let mut history = self.history(&device.regdevid).await?;
        if caller.map(|p| p.role) != Some(Role::Admin) {
            // Who acted is identifying (an owner's id, an administrator's name): others see
            // the role that acted, not the actor.
            for entry in &mut history.entries {
                if let HistoryEntry::Transition(transition) = entry {
                    transition.actor = actor_role(&transition.actor).to_owned();
                }
            }
        }
        let regdevid = device.regdevid.to_string();
        let statement = self
            .statement(&serde_json::json!({
                "regdevid": regdevid,
                "initial": history.initial,
                "entries": history.entries,
            }))
            .await?;
        Ok(HistoryAnswer {
            regdevid,
            history,
            statement,
        })
    }

    /// `GET /v1/devices/{regdevid}/vulnerabilities` (9.3 ii b): timestamped, with source.
    pub async fn vulnerabilities_for(
        &self,
        caller: Option<&Principal>,
        regdevid: &str,
    ) -> Result<VulnerabilitiesAnswer, RegistryError> {
        let device = self
            .readable_device(caller, regdevid, Op::DeviceVulnerabilities)
            .await?;
        let mut vulnerabilities = self.store.links_of(&device.regdevid).await?;
        vulnerabilities
            .sort_by(|a, b| (a.at_ms, &a.vulnerability_id).cmp(&(b.at_ms, &b.vulnerability_id)));
        let regdevid = device.regdevid.to_string();
        let statement = self
            .statement(&serde_json::json!({
                "regdevid": regdevid,
                "vulnerabilities": vulnerabilities,
            }))
            .await?;
        Ok(VulnerabilitiesAnswer {
            regdevid,
            vulnerabilities,
            statement,
        })
    }

    /// The device a per-device read is about, for a caller allowed to read it: enquirers,
    /// agencies and admins, or the device's own owner. Refusals are audited.
    async fn readable_device(
        &self,
        caller: Option<&Principal>,
        regdevid_text: &str,
        op: Op,
    ) -> Result<DeviceRecord, RegistryError> {
        let target = crate::sessions::token_target(op, regdevid_text);
        let principal = self.require(caller, op, target).await?;
        let regdevid: RegDevId = parse_regdevid(regdevid_text)?;
        let device = self
            .store
            .get_device(&regdevid)
            .await?
            .ok_or_else(|| RegistryError::DeviceNotFound(regdevid.to_string()))?;
        if let Some(owner) = principal.owner_id()
            && device.owner_id.as_deref() != Some(owner)
        {
            let refusal = RegistryError::Forbidden("an owner reads only its own devices".into());
            self.audit_rejection(
                &principal.subject,
                crate::sessions::token_action(op),
                Some(regdevid.to_string()),
                &refusal,
            )
            .await;
            return Err(refusal);
        }
        Ok(device)
    }

    /// Whether `id` is shaped as one of this registry's virtual IDs (what `resolve` looks up).
    fn is_virtual_id(&self, id: &str) -> bool {
        id.strip_prefix(&self.config.path.to_string())
            .is_some_and(|rest| rest.starts_with(":v:"))
    }
}

/// The role part of an actor as transitions record it (`owner:<id>` is `owner`, `admin:<name>`
/// is `admin`, `device:<regdevid>` is `device`); `registry` for the registry's own changes.
fn actor_role(actor: &str) -> &str {
    match actor.split_once(':').map_or(actor, |(role, _)| role) {
        role @ ("owner" | "admin" | "device" | "manufacturer" | "enquirer" | "registry") => role,
        _ => "registry",
    }
}

/// Whether `id` starts with a registry path, as a RegDevID or virtual ID does.
fn names_a_registry(id: &str) -> bool {
    id.split(':')
        .next()
        .is_some_and(|path| path.parse::<RegistryPath>().is_ok())
}

/// How bad a status is, for choosing among mirrors of one identifier.
fn severity(status: TrustStatus) -> u8 {
    match status {
        TrustStatus::Trusted => 0,
        TrustStatus::Unverified => 1,
        TrustStatus::Unreliable => 2,
        TrustStatus::Deregistered => 3,
    }
}

fn validate_search(params: &SearchParams) -> Result<(), RegistryError> {
    let criteria = [
        ("make", &params.make),
        ("model", &params.model),
        ("status", &params.status),
        ("domain", &params.domain),
        ("capability", &params.capability),
        ("owner", &params.owner),
    ];
    for (name, value) in criteria {
        if value
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.chars().count() > MAX_CRITERION)
        {
            return Err(RegistryError::Malformed(format!(
                "{name} must be 1 to {MAX_CRITERION} characters"
            )));
        }
    }
    if params.model.is_some() && params.make.is_none() {
        return Err(RegistryError::Malformed("model needs make".into()));
    }
    if params
        .cursor
        .as_ref()
        .is_some_and(|c| c.is_empty() || c.len() > MAX_CURSOR)
    {
        return Err(RegistryError::Malformed("cursor is not one of ours".into()));
    }
    if params
        .limit
        .is_some_and(|l| !(1..=MAX_SEARCH_LIMIT).contains(&l))
    {
        return Err(RegistryError::Malformed(format!(
            "limit must be 1 to {MAX_SEARCH_LIMIT}"
        )));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
