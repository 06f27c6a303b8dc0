//! Owners and custodians (Y.3059 9.2 i d, 9.1 iii): registration with sealed identity
//! attributes, verification by an administrator, transfer of devices, and reading the PII back
//! only as that owner or an administrator.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::VerifyingKey;

use crate::actors::unverified_actor;
use crate::actors::{Actor, Role};
use crate::error::{RegistryError, StoreError};
use crate::identifier::RegDevId;
use crate::jose;
use crate::messages::{
    OwnerAttributes, OwnerClaim, OwnerDetails, OwnerRegistrationClaims, OwnerResponse, Purpose,
    VerificationClaims,
};
use crate::ports::Updated;
use crate::records::{OwnerKind, OwnerRecord, Verification, VerificationState};
use crate::service::{Registry, UPDATE_ATTEMPTS};

mod revocation;
mod transfer;

pub use transfer::TRANSFER_OFFER_TTL_MS;

const MAX_ATTRIBUTE: usize = 256;

impl Registry {
    /// `POST /v1/owners`: signed by an administrator (`kid` = `admin:<name>`), or self-service:
    /// no `kid`, signed by the key in the claims' `public_key`, which proves its possession.
    pub async fn register_owner(&self, compact: &str) -> Result<OwnerResponse, RegistryError> {
        let result = self.register_owner_inner(compact).await;
        if let Err(e) = &result {
            self.audit_rejection(&unverified_actor(compact), "register-owner", None, e)
                .await;
        }
        result
    }

    async fn register_owner_inner(&self, compact: &str) -> Result<OwnerResponse, RegistryError> {
        let jws = jose::parse(compact).map_err(RegistryError::MalformedJws)?;
        let (actor, claims) = if jws.header().kid.is_some() {
            let signed = self
                .verify_signed::<OwnerRegistrationClaims>(compact, &[Role::Admin], Purpose::Owner)
                .await?;
            (signed.actor.audit_name(), signed.claims)
        } else {
            let claims: OwnerRegistrationClaims = jws
                .claims()
                .map_err(|e| RegistryError::Malformed(e.to_string()))?;
            let jwk = claims.public_key.as_ref().ok_or_else(|| {
                RegistryError::Malformed("a self-registered owner signs with public_key".into())
            })?;
            let key = jose::key_from_jwk(jwk)
                .map_err(|e| RegistryError::UnsupportedKey(e.to_string()))?;
            jws.verify(&key).map_err(|_| RegistryError::BadSignature)?;
            self.spend_nonce(&claims.nonce, Purpose::Owner).await?;
            ("owner:self".to_owned(), claims)
        };
        let owner = self
            .create_owner(
                claims.kind,
                &claims.attributes,
                claims.public_key,
                None,
                &actor,
            )
            .await?;
        Ok(OwnerResponse {
            owner_id: owner.owner_id,
            kind: owner.kind,
            verification: owner.verification.state,
        })
    }

    /// The owner a registering device names in its `owner` claim: always a new, unverified
    /// one, linked to the device (a device cannot claim an existing owner).
    pub(crate) async fn owner_at_registration(
        &self,
        regdevid: &RegDevId,
        claim: &serde_json::Value,
        actor: &str,
    ) -> Result<OwnerRecord, RegistryError> {
        let claim: OwnerClaim = serde_json::from_value(claim.clone())
            .map_err(|e| RegistryError::Malformed(format!("owner: {e}")))?;
        self.create_owner(
            claim.kind.unwrap_or(OwnerKind::Owner),
            &claim.attributes,
            claim.public_key,
            Some(regdevid),
            actor,
        )
        .await
    }

    async fn create_owner(
        &self,
        kind: OwnerKind,
        attributes: &OwnerAttributes,
        public_key: Option<serde_json::Value>,
        device: Option<&RegDevId>,
        actor: &str,
    ) -> Result<OwnerRecord, RegistryError> {
        validate_attributes(attributes)?;
        if let Some(jwk) = &public_key {
            jose::key_from_jwk(jwk).map_err(|e| RegistryError::UnsupportedKey(e.to_string()))?;
        }
        let owner_id = self.random_token();
        let clear = serde_json::to_vec(attributes)
            .map_err(|e| RegistryError::Malformed(format!("owner attributes: {e}")))?;
        let sealed = self.keys.seal(&owner_id, &clear).await?;
        let owner = OwnerRecord {
            owner_id: owner_id.clone(),
            kind,
            attributes_sealed: URL_SAFE_NO_PAD.encode(sealed),
            public_key,
            verification: Verification {
                state: VerificationState::Unverified,
                by: None,
                at_ms: None,
            },
            created_at_ms: self.clock.now_ms(),
            version: 1,
        };
        let audit = self.audit(
            actor,
            "register-owner",
            Some(format!("owner:{owner_id}")),
            Ok(()),
        );
        self.store.create_owner(&owner, device, &audit).await?;
        Ok(owner)
    }

    /// The signing key of an owner that registered one; `None` for any other.
    pub(crate) async fn owner_signer(
        &self,
        owner_id: &str,
    ) -> Result<Option<(Actor, VerifyingKey)>, RegistryError> {
        let Some(owner) = self.store.get_owner(owner_id).await? else {
            return Ok(None);
        };
        let Some(jwk) = owner.public_key.as_ref() else {
            return Ok(None);
        };
        let key =
            jose::key_from_jwk(jwk).map_err(|e| RegistryError::UnsupportedKey(e.to_string()))?;
        Ok(Some((Actor::Owner(Box::new(owner)), key)))
    }

    /// `POST /v1/owners/{owner_id}/verification`, admin-signed: records the verification and
    /// re-derives the status of the owner's devices (a domain may require a verified owner).
    pub async fn verify_owner(
        &self,
        owner_id: &str,
        compact: &str,
    ) -> Result<OwnerResponse, RegistryError> {
        let result = self.verify_owner_inner(owner_id, compact).await;
        if let Err(e) = &result {
            let target = Some(format!("owner:{owner_id}"));
            self.audit_rejection(&unverified_actor(compact), "verify-owner", target, e)
                .await;
        }
        result
    }

    async fn verify_owner_inner(
        &self,
        owner_id: &str,
        compact: &str,
    ) -> Result<OwnerResponse, RegistryError> {
        let signed = self
            .verify_signed::<VerificationClaims>(
                compact,
                &[Role::Admin],
                Purpose::OwnerVerification,
            )
            .await?;
        let actor = signed.actor.audit_name();
        let state = signed.claims.state;
        let owner = self.set_verification(owner_id, state, &actor).await?;
        let verified = state == VerificationState::Verified;
        for regdevid in self.store.devices_of_owner(owner_id).await? {
            // A link may outlive a registration that failed after its owner was written.
            let owns = self
                .store
                .get_device(&regdevid)
                .await?
                .is_some_and(|d| d.owner_id.as_deref() == Some(owner_id));
            if owns {
                // A deregistered device keeps the facts it ended with (6.3 e); the owner's
                // verification is still recorded for its other devices.
                match self
                    .change_registered_device(&regdevid, &actor, "verify-owner", Ok(()), |facts| {
                        facts.owner_verified = verified;
                    })
                    .await
                {
                    Ok(_) | Err(RegistryError::Deregistered(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(OwnerResponse {
            owner_id: owner.owner_id,
            kind: owner.kind,
            verification: owner.verification.state,
        })
    }

    async fn set_verification(
        &self,
        owner_id: &str,
        state: VerificationState,
        actor: &str,
    ) -> Result<OwnerRecord, RegistryError> {
        for _ in 0..UPDATE_ATTEMPTS {
            let mut owner = self
                .store
                .get_owner(owner_id)
                .await?
                .ok_or_else(|| RegistryError::OwnerNotFound(owner_id.to_owned()))?;
            owner.verification = Verification {
                state,
                by: Some(actor.to_owned()),
                at_ms: Some(self.clock.now_ms()),
            };
            owner.version += 1;
            let target = Some(format!("owner:{owner_id}"));
            let audit = self.audit(actor, "verify-owner", target, Ok(()));
            if self.store.update_owner(&owner, &audit).await? == Updated::Updated {
                return Ok(owner);
            }
        }
        Err(RegistryError::Store(StoreError::Failed(format!(
            "owner {owner_id} kept changing"
        ))))
    }

    /// The owner with clear attributes, for that owner or an administrator only (9.1 iii).
    pub async fn owner_details(
        &self,
        owner_id: &str,
        actor: &Actor,
    ) -> Result<OwnerDetails, RegistryError> {
        let allowed = match actor {
            Actor::Admin(_) => true,
            Actor::Owner(o) => o.owner_id == owner_id,
            _ => false,
        };
        if !allowed {
            let refused = RegistryError::Forbidden("only the owner or an admin reads PII".into());
            let target = Some(format!("owner:{owner_id}"));
            self.audit_rejection(&actor.audit_name(), "read-owner", target, &refused)
                .await;
            return Err(refused);
        }
        self.open_owner(owner_id).await
    }

    /// The owner with its attributes opened: callers decide who may see them and audit it.
    pub(crate) async fn open_owner(&self, owner_id: &str) -> Result<OwnerDetails, RegistryError> {
        let owner = self
            .store
            .get_owner(owner_id)
            .await?
            .ok_or_else(|| RegistryError::OwnerNotFound(owner_id.to_owned()))?;
        let sealed = URL_SAFE_NO_PAD
            .decode(&owner.attributes_sealed)
            .map_err(|e| {
                RegistryError::Store(StoreError::Failed(format!("sealed attributes: {e}")))
            })?;
        let clear = self.keys.open(&owner.owner_id, &sealed).await?;
        let attributes: OwnerAttributes = serde_json::from_slice(&clear).map_err(|e| {
            RegistryError::Store(StoreError::Failed(format!("opened attributes: {e}")))
        })?;
        Ok(OwnerDetails {
            owner_id: owner.owner_id,
            kind: owner.kind,
            attributes,
            verification: owner.verification,
        })
    }
}

fn validate_attributes(a: &OwnerAttributes) -> Result<(), RegistryError> {
    let fields = [&a.name, &a.email, &a.phone, &a.address, &a.organisation];
    if fields.iter().any(|f| {
        f.as_ref()
            .is_some_and(|v| v.trim().is_empty() || v.len() > MAX_ATTRIBUTE)
    }) {
        return Err(RegistryError::Malformed(format!(
            "owner attributes must be 1 to {MAX_ATTRIBUTE} characters"
        )));
    }
    if a.name.is_none() && a.organisation.is_none() {
        return Err(RegistryError::Malformed(
            "an owner has a name or an organisation".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
