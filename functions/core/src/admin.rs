//! Administration of the roots of trust the registry accepts (Y.3059 7 ii, 9.1 vi).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::actors::Role;
use crate::actors::unverified_actor;
use crate::error::RegistryError;
use crate::messages::{Purpose, RootClaims, RootRemovalClaims};
use crate::records::RootOfTrust;
use crate::rot;
use crate::service::Registry;
use crate::status::Facts;

const MAX_ROT_TYPES: usize = 8;
/// Revocations a root keeps; a manufacturer with more compromised intermediates than this has
/// a compromised root.
pub const MAX_REVOKED_INTERMEDIATES: usize = 256;
/// How many devices of a removed root are read at a time.
const ROOT_DEVICES_PAGE: usize = 100;

impl Registry {
    /// Publishes a manufacturer CA as an accepted root of trust, for the RoT types it vouches
    /// for and the identifiers it may certify (`rot::scope`). Only CA certificates are
    /// accepted.
    pub async fn accept_root(
        &self,
        certificate_der: &[u8],
        name: &str,
        rot_types: Vec<String>,
        identifier_scopes: Vec<String>,
        actor: &str,
    ) -> Result<RootOfTrust, RegistryError> {
        let root = NewRoot {
            der: certificate_der,
            name,
            rot_types,
            identifier_scopes,
            revoked_intermediates: Vec::new(),
        };
        let result = self.accept_root_inner(root, actor).await;
        if let Err(e) = &result {
            self.audit_rejection(actor, "accept-root", None, e).await;
        }
        result
    }

    async fn accept_root_inner(
        &self,
        new: NewRoot<'_>,
        actor: &str,
    ) -> Result<RootOfTrust, RegistryError> {
        let NewRoot {
            der,
            name,
            rot_types,
            identifier_scopes,
            revoked_intermediates,
        } = new;
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| RegistryError::MalformedChain(format!("root certificate: {e}")))?;
        let is_ca = cert
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca);
        if !is_ca {
            return Err(RegistryError::InvalidChain(
                "a root of trust must be a CA certificate".into(),
            ));
        }
        if name.trim().is_empty() || name.len() > 128 {
            return Err(RegistryError::Malformed(
                "name must be 1 to 128 characters".into(),
            ));
        }
        if rot_types.is_empty()
            || rot_types.len() > MAX_ROT_TYPES
            || rot_types.iter().any(|t| t.is_empty() || t.len() > 64)
        {
            return Err(RegistryError::Malformed(format!(
                "rot_types must hold 1 to {MAX_ROT_TYPES} names"
            )));
        }
        rot::scope::validate(&identifier_scopes).map_err(RegistryError::Malformed)?;
        let id = rot::root_id_for(der);
        let previous = self
            .store
            .roots_of_trust()
            .await?
            .into_iter()
            .find(|r| r.id == id);
        // Revocations are for good: a root put again keeps those made before.
        let before = previous
            .as_ref()
            .map(|r| r.revoked_intermediates.clone())
            .unwrap_or_default();
        let revoked = revocations(&before, revoked_intermediates)?;
        let types_changed = previous.is_some_and(|r| r.rot_types != rot_types);
        let root = RootOfTrust {
            id,
            name: name.to_owned(),
            certificate: STANDARD.encode(der),
            rot_types,
            identifier_scopes,
            revoked_intermediates: revoked,
        };
        let audit = self.audit(
            actor,
            "accept-root",
            Some(format!("root:{}", root.id)),
            Ok(()),
        );
        self.store.put_root_of_trust(&root, &audit).await?;
        let newly: Vec<String> = root
            .revoked_intermediates
            .iter()
            .filter(|i| !before.contains(i))
            .cloned()
            .collect();
        if !newly.is_empty() {
            self.change_devices_of_root(&root.id, actor, "intermediate-revoked", |facts| {
                let affected = !facts.intermediate_revoked
                    && facts.intermediates.iter().any(|i| newly.contains(i));
                if affected {
                    facts.intermediate_revoked = true;
                }
                affected
            })
            .await?;
        }
        if types_changed {
            // Its devices of a type it no longer vouches for, and back when it does again.
            let published = &root.rot_types;
            self.change_devices_of_root(&root.id, actor, "rot-types-changed", |facts| {
                let withdrawn = facts
                    .rot_type
                    .as_ref()
                    .is_some_and(|t| !published.contains(t));
                let affected = withdrawn != facts.rot_type_withdrawn;
                facts.rot_type_withdrawn = withdrawn;
                affected
            })
            .await?;
        }
        Ok(root)
    }

    /// Applies `change` to every registered device that chains to root `id`, a page of the
    /// root's device index at a time; `change` answers whether the device is affected, and
    /// only those are written. Answers how many were.
    async fn change_devices_of_root(
        &self,
        id: &str,
        actor: &str,
        action: &str,
        change: impl Fn(&mut Facts) -> bool,
    ) -> Result<u64, RegistryError> {
        // A device's root never changes, so paging while its devices change is stable.
        let mut changed = 0u64;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .devices_of_root(id, cursor.as_deref(), ROOT_DEVICES_PAGE)
                .await?;
            for regdevid in &page.items {
                let Some(device) = self.store.get_device(regdevid).await? else {
                    continue;
                };
                // A deregistered device keeps the facts it ended with (6.3 e).
                if device.facts.deregistration.is_some() || !change(&mut device.facts.clone()) {
                    continue;
                }
                match self
                    .change_registered_device(regdevid, actor, action, Ok(()), |facts| {
                        change(facts);
                    })
                    .await
                {
                    Ok(_) => changed += 1,
                    Err(RegistryError::Deregistered(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(changed),
            }
        }
    }
}

/// A root as an administrator puts it.
struct NewRoot<'a> {
    der: &'a [u8],
    name: &'a str,
    rot_types: Vec<String>,
    identifier_scopes: Vec<String>,
    revoked_intermediates: Vec<String>,
}

/// The revoked intermediates of a root put again: those revoked `before`, then the new ones,
/// each once; every one an `rot::intermediate_id`.
fn revocations(before: &[String], new: Vec<String>) -> Result<Vec<String>, RegistryError> {
    let mut revoked = before.to_vec();
    for id in new {
        let well_formed =
            id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            return Err(RegistryError::Malformed(
                "revoked_intermediates holds SHA-256 fingerprints of intermediate CA \
                 certificates, 64 lowercase hex digits each"
                    .into(),
            ));
        }
        if !revoked.contains(&id) {
            revoked.push(id);
        }
    }
    if revoked.len() > MAX_REVOKED_INTERMEDIATES {
        return Err(RegistryError::Malformed(format!(
            "a root holds at most {MAX_REVOKED_INTERMEDIATES} revoked intermediates"
        )));
    }
    Ok(revoked)
}

impl Registry {
    /// `PUT /v1/admin/roots/{id}`: a JWS signed by an administrator over a `root` nonce with
    /// `{nonce, name, certificate (base64 DER), rot_types}`; `id` must be the certificate's.
    pub async fn put_root_signed(
        &self,
        id: &str,
        compact: &str,
    ) -> Result<RootOfTrust, RegistryError> {
        let result = self.put_root_signed_inner(id, compact).await;
        if let Err(e) = &result {
            self.audit_rejection(
                &unverified_actor(compact),
                "accept-root",
                root_target(id),
                e,
            )
            .await;
        }
        result
    }

    async fn put_root_signed_inner(
        &self,
        id: &str,
        compact: &str,
    ) -> Result<RootOfTrust, RegistryError> {
        let signed = self
            .verify_signed::<RootClaims>(compact, &[Role::Admin], Purpose::Root)
            .await?;
        let der = STANDARD
            .decode(&signed.claims.certificate)
            .map_err(|_| RegistryError::Malformed("certificate must be base64 DER".into()))?;
        if rot::root_id_for(&der) != id {
            return Err(RegistryError::Malformed(
                "the path's id is not the certificate's".into(),
            ));
        }
        let RootClaims {
            name,
            rot_types,
            identifier_scopes,
            revoked_intermediates,
            ..
        } = signed.claims;
        let admin = signed.actor.audit_name();
        let root = NewRoot {
            der: &der,
            name: &name,
            rot_types,
            identifier_scopes,
            revoked_intermediates,
        };
        self.accept_root_inner(root, &admin).await
    }

    /// `DELETE /v1/admin/roots/{id}`: a JWS signed by an administrator over a `root` nonce.
    /// The root is no longer accepted and every device that chains to it is re-evaluated
    /// (`root_revoked`, so unreliable). Answers how many devices were re-evaluated.
    pub async fn remove_root_signed(&self, id: &str, compact: &str) -> Result<u64, RegistryError> {
        let result = self.remove_root_signed_inner(id, compact).await;
        if let Err(e) = &result {
            self.audit_rejection(
                &unverified_actor(compact),
                "remove-root",
                root_target(id),
                e,
            )
            .await;
        }
        result
    }

    async fn remove_root_signed_inner(
        &self,
        id: &str,
        compact: &str,
    ) -> Result<u64, RegistryError> {
        let signed = self
            .verify_signed::<RootRemovalClaims>(compact, &[Role::Admin], Purpose::Root)
            .await?;
        let admin = signed.actor.audit_name();
        let known = self
            .store
            .roots_of_trust()
            .await?
            .iter()
            .any(|r| r.id == id);
        if !known {
            return Err(RegistryError::RootNotFound(id.to_owned()));
        }
        let audit = self.audit(&admin, "remove-root", root_target(id), Ok(()));
        self.store.remove_root_of_trust(id, &audit).await?;
        self.change_devices_of_root(id, &admin, "root-removed", |facts| {
            facts.root_revoked = true;
            true
        })
        .await
    }
}

/// How audit records name a root; a path id too long to be a root's is not stored.
fn root_target(id: &str) -> Option<String> {
    (id.len() <= 64).then(|| format!("root:{id}"))
}

#[cfg(test)]
mod tests;
