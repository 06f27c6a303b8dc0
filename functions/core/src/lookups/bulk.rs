//! `POST /v1/bulk/lookups` (Y.3059 9.3 ii d): administrators only, up to `MAX_BULK_LOOKUP` ids
//! answered with one batched read, one audit record and one statement.

use std::collections::HashMap;
use trustreg_model::routes::Op;

use super::views::View;
use super::{BulkLookupAnswer, BulkLookupRequest, BulkLookupResult, MAX_BULK_LOOKUP};
use crate::error::RegistryError;
use crate::identifier::RegDevId;
use crate::service::Registry;
use crate::sessions::Principal;

impl Registry {
    pub async fn bulk_lookup(
        &self,
        caller: Option<&Principal>,
        request: BulkLookupRequest,
    ) -> Result<BulkLookupAnswer, RegistryError> {
        let admin = self.require(caller, Op::BulkLookup, None).await?;
        let result = self.bulk_lookup_inner(admin, request).await;
        if let Err(e) = &result {
            self.audit_rejection(&admin.subject, "bulk-lookup", None, e)
                .await;
        }
        result
    }

    async fn bulk_lookup_inner(
        &self,
        admin: &Principal,
        request: BulkLookupRequest,
    ) -> Result<BulkLookupAnswer, RegistryError> {
        let ids = request.ids;
        if ids.is_empty() {
            return Err(RegistryError::Malformed("ids must not be empty".into()));
        }
        if ids.len() > MAX_BULK_LOOKUP {
            return Err(RegistryError::TooManyItems {
                max: MAX_BULK_LOOKUP,
            });
        }
        // Virtual IDs cost a read each (and a single-use one is spent); RegDevIDs none.
        let mut resolved: Vec<Result<RegDevId, &'static str>> = Vec::with_capacity(ids.len());
        for id in &ids {
            resolved.push(match self.resolve(id).await {
                Ok(regdevid) => Ok(regdevid),
                Err(e) if e.is_internal() => return Err(e),
                Err(e) => Err(e.code().as_str()),
            });
        }
        let mut wanted: Vec<RegDevId> = resolved.iter().filter_map(|r| r.clone().ok()).collect();
        wanted.sort_by_key(ToString::to_string);
        wanted.dedup();
        let found: HashMap<String, _> = if wanted.is_empty() {
            HashMap::new()
        } else {
            self.store
                .get_devices(&wanted)
                .await?
                .into_iter()
                .map(|d| (d.regdevid.to_string(), d))
                .collect()
        };
        let registry = self.config.path.to_string();
        let results: Vec<BulkLookupResult> = ids
            .iter()
            .zip(resolved)
            .map(|(id, resolved)| {
                let failed = |error: &str| BulkLookupResult::Failed {
                    id: id.clone(),
                    error: error.to_owned(),
                };
                match resolved {
                    Err(code) => failed(code),
                    Ok(regdevid) => match found.get(&regdevid.to_string()) {
                        Some(device) => BulkLookupResult::Found(Box::new(
                            View::FULL.answer(id, device, &registry),
                        )),
                        // Behind a virtual ID a vanished device is not named either.
                        None if self.is_virtual_id(id) => failed("virtual-id-not-found"),
                        None => failed("device-not-found"),
                    },
                }
            })
            .collect();
        let audit = self.audit(
            &admin.subject,
            "bulk-lookup",
            Some(format!("ids:{}", ids.len())),
            Ok(()),
        );
        self.store.record_audit(&audit).await?;
        let statement = self.statement(&results).await?;
        Ok(BulkLookupAnswer { results, statement })
    }
}
