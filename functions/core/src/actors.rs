//! Who signed a request. Every state-changing request other than registration is a compact JWS
//! signed by its actor, named by the header's `kid`: a device by its RegDevID (the key it
//! registered), an administrator by `admin:<name>` (keys from the stack's configuration), an
//! owner by `owner:<owner_id>` (the key it registered), an enquirer by `enquirer:<id>` (the key
//! it signed up with, once approved).
//! Signed requests give non-repudiation (Y.3059 10) and carry a single-use nonce against replay.

use p256::ecdsa::VerifyingKey;
use serde::de::DeserializeOwned;

use crate::error::RegistryError;
use crate::identifier::RegDevId;
use crate::jose;
use crate::messages::Purpose;
use crate::records::{DeviceRecord, EnquirerState, OwnerRecord};
use crate::service::Registry;
pub use trustreg_model::roles::{AdminKey, MAX_KID, Role, unverified_actor, unverified_kid};

/// An authenticated signer.
#[derive(Debug, Clone)]
pub enum Actor {
    Device(Box<DeviceRecord>),
    Admin(String),
    Owner(Box<OwnerRecord>),
    /// The id of the accepted root whose key signed.
    Manufacturer(String),
    /// An approved enquirer; its role is the record's.
    Enquirer(Box<crate::records::EnquirerRecord>),
}

impl Actor {
    pub fn role(&self) -> Role {
        match self {
            Self::Device(_) => Role::Device,
            Self::Admin(_) => Role::Admin,
            Self::Owner(_) => Role::Owner,
            Self::Manufacturer(_) => Role::Manufacturer,
            Self::Enquirer(e) => e.role,
        }
    }

    /// How audit records name the actor.
    pub fn audit_name(&self) -> String {
        match self {
            Self::Device(d) => format!("device:{}", d.regdevid),
            Self::Admin(name) => format!("admin:{name}"),
            Self::Owner(o) => format!("owner:{}", o.owner_id),
            Self::Manufacturer(root) => format!("manufacturer:{root}"),
            Self::Enquirer(e) => format!("enquirer:{}", e.enquirer_id),
        }
    }
}

/// A verified request: who signed it, and its claims.
#[derive(Debug)]
pub struct Signed<T> {
    pub actor: Actor,
    pub claims: T,
}

/// Claims every signed request carries besides its own.
#[derive(Debug, serde::Deserialize)]
struct NonceClaim {
    nonce: String,
}

impl Registry {
    /// Verifies a signed request: the signature with the key of the signer its `kid` names,
    /// then (and only then) the signer's standing and that its role is in `allowed`, and spends
    /// the request's nonce for `purpose`. Until the signature verifies nothing about the signer
    /// is revealed: an unknown signer, an oversized `kid` and a wrong signature are the same
    /// `bad-signature` refusal, and a pending enquirer learns its state only with its own key.
    /// Any failure is a refusal the caller audits.
    pub async fn verify_signed<T: DeserializeOwned>(
        &self,
        compact: &str,
        allowed: &[Role],
        purpose: Purpose,
    ) -> Result<Signed<T>, RegistryError> {
        let jws = jose::parse(compact).map_err(RegistryError::MalformedJws)?;
        let kid = jws.header().kid.clone().ok_or_else(|| {
            RegistryError::Malformed("a signed request names its signer in kid".into())
        })?;
        if kid.len() > MAX_KID {
            return Err(RegistryError::BadSignature);
        }
        let (actor, key) = self
            .signer(&kid)
            .await?
            .ok_or(RegistryError::BadSignature)?;
        jws.verify(&key).map_err(|_| RegistryError::BadSignature)?;
        standing(&actor)?;
        if !allowed.contains(&actor.role()) {
            return Err(RegistryError::Forbidden(format!(
                "{} may not do this",
                actor.audit_name()
            )));
        }
        let nonce: NonceClaim = jws
            .claims()
            .map_err(|e| RegistryError::Malformed(e.to_string()))?;
        let claims: T = jws
            .claims()
            .map_err(|e| RegistryError::Malformed(e.to_string()))?;
        self.spend_nonce(&nonce.nonce, purpose).await?;
        Ok(Signed { actor, claims })
    }

    /// The actor a `kid` names and its key, whatever its standing; `None` when there is none.
    async fn signer(&self, kid: &str) -> Result<Option<(Actor, VerifyingKey)>, RegistryError> {
        if let Some(name) = kid.strip_prefix("admin:") {
            return Ok(self
                .config
                .admin_keys
                .iter()
                .find(|a| a.name == name)
                .map(|admin| (Actor::Admin(admin.name.clone()), admin.key)));
        }
        if let Some(owner_id) = kid.strip_prefix("owner:") {
            return self.owner_signer(owner_id).await;
        }
        if let Some(enquirer_id) = kid.strip_prefix("enquirer:") {
            let Some(enquirer) = self.store.get_enquirer(enquirer_id).await? else {
                return Ok(None);
            };
            let key = jose::key_from_jwk(&enquirer.public_key)
                .map_err(|e| RegistryError::UnsupportedKey(e.to_string()))?;
            return Ok(Some((Actor::Enquirer(Box::new(enquirer)), key)));
        }
        if let Some(root_id) = kid.strip_prefix("manufacturer:") {
            let Some(root) = self
                .store
                .roots_of_trust()
                .await?
                .into_iter()
                .find(|r| r.id == root_id)
            else {
                return Ok(None);
            };
            let Ok(der) = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &root.certificate,
            ) else {
                return Ok(None);
            };
            let key = crate::rot::public_key_of(&der)?;
            return Ok(Some((Actor::Manufacturer(root.id), key)));
        }
        let Ok(regdevid) = kid.parse::<RegDevId>() else {
            return Ok(None);
        };
        let Some(device) = self.store.get_device(&regdevid).await? else {
            return Ok(None);
        };
        let key = jose::key_from_jwk(&device.public_key)
            .map_err(|e| RegistryError::UnsupportedKey(e.to_string()))?;
        Ok(Some((Actor::Device(Box::new(device)), key)))
    }
}

/// Whether a verified signer may sign anything: only an approved enquirer does.
fn standing(actor: &Actor) -> Result<(), RegistryError> {
    match actor {
        Actor::Enquirer(enquirer) if enquirer.state != EnquirerState::Approved => {
            Err(RegistryError::Forbidden(format!(
                "enquirer {} is {}",
                enquirer.enquirer_id,
                enquirer.state.as_str()
            )))
        }
        _ => Ok(()),
    }
}
