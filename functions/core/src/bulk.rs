//! Bulk registration (Y.3059 9.2 i g): up to 1000 devices in one request, signed by their
//! manufacturer (or an administrator) over the body's digest. Each device is checked as a
//! single registration would check it, except that its manufacturer's certificate vouches for
//! its key (the device proves possession when it acknowledges). A bad item never fails the
//! others. One KMS signature covers every credential of the request: a Merkle tree head
//! (RFC 6962) with one inclusion proof per device.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::actors::{Actor, Role};
use crate::config::RegistryKind;
use crate::error::RegistryError;
use crate::identifier::{Identifier, RegDevId};
use crate::jose;
use crate::merkle;
use crate::messages::{
    BatchCredential, BodySignatureClaims, BulkDevice, Purpose, RegistrationResponse,
};
use crate::policies::{check_rot_type, evaluate_all, next_evaluation_all, policies_for};
use crate::ports::{Created, NewDevice};
use crate::records::DomainPolicy;
use crate::records::{DeviceRecord, Transition};
use crate::register::{
    Cnf, Credential, Registered, certified, published_for, registration_facts, validate_device_info,
};
use crate::rot::{self, AcceptedRoot, VerifiedDevice};
use crate::service::Registry;

pub use trustreg_model::messages::MAX_BULK_ITEMS;

/// One line of a bulk request as the HTTP layer read it: a device, or why it could not be read.
pub type BulkLine = Result<BulkDevice, String>;

/// A device that passed every check, waiting for its credential and its write.
struct Candidate {
    index: usize,
    device: DeviceRecord,
    verified: VerifiedDevice,
    owner: Option<serde_json::Value>,
}

/// The claims the registry signs once for a whole request.
#[derive(Serialize)]
struct BatchHead {
    iss: String,
    iat: u64,
    size: usize,
    root: String,
}

impl Registry {
    /// `POST /v1/bulk/registrations`: one outcome per line, in order. Fails as a whole only
    /// when the request itself is not acceptable (signature, size).
    pub async fn register_bulk(
        &self,
        signature: &str,
        body: &[u8],
        lines: Vec<BulkLine>,
    ) -> Result<Vec<Result<Registered, RegistryError>>, RegistryError> {
        let signer = crate::actors::unverified_actor(signature);
        match self.register_bulk_inner(signature, body, lines).await {
            Ok((actor, outcomes)) => {
                let record = self.audit(&actor.audit_name(), "bulk-register", None, Ok(()));
                self.store.record_audit(&record).await?;
                Ok(outcomes)
            }
            Err(e) => {
                self.audit_rejection(&signer, "bulk-register", None, &e)
                    .await;
                Err(e)
            }
        }
    }

    async fn register_bulk_inner(
        &self,
        signature: &str,
        body: &[u8],
        lines: Vec<BulkLine>,
    ) -> Result<(Actor, Vec<Result<Registered, RegistryError>>), RegistryError> {
        if self.config.kind != RegistryKind::Primary {
            return Err(RegistryError::NotPrimary(self.config.kind.as_str().into()));
        }
        let signed = self
            .verify_signed::<BodySignatureClaims>(
                signature,
                &[Role::Manufacturer, Role::Admin],
                Purpose::Bulk,
            )
            .await?;
        if signed.claims.body_sha256 != URL_SAFE_NO_PAD.encode(Sha256::digest(body)) {
            return Err(RegistryError::BadSignature);
        }
        if lines.len() > MAX_BULK_ITEMS {
            return Err(RegistryError::Malformed(format!(
                "a bulk request holds at most {MAX_BULK_ITEMS} devices"
            )));
        }
        let actor = signed.actor;
        let roots: Vec<AcceptedRoot> = self
            .store
            .roots_of_trust()
            .await?
            .into_iter()
            .filter_map(|r| r.accepted())
            .collect();
        let now = self.clock.now_ms();
        let policies = self.store.domain_policies().await?;
        let mut outcomes: Vec<Option<Result<Registered, RegistryError>>> =
            (0..lines.len()).map(|_| None).collect();
        let mut candidates = Vec::new();
        let mut seen = HashSet::new();
        for (index, line) in lines.into_iter().enumerate() {
            let checked = line
                .map_err(RegistryError::Malformed)
                .and_then(|device| self.check_bulk_device(device, &actor, &roots, &policies, now))
                .and_then(|c| {
                    if seen.insert(c.device.regdevid.to_string()) {
                        Ok(c)
                    } else {
                        Err(RegistryError::Malformed(
                            "this identifier appears earlier in the request".into(),
                        ))
                    }
                });
            match checked {
                Ok(mut candidate) => {
                    candidate.index = index;
                    candidates.push(candidate);
                }
                Err(e) => outcomes[index] = Some(Err(e)),
            }
        }

        // Devices already registered are answered as single registrations are: the same key
        // gets its RegDevID again, another key is a possible clone. They get no new leaf.
        let identifiers: Vec<Identifier> = candidates
            .iter()
            .map(|c| c.device.regdevid.identifier.clone())
            .collect();
        let holders = self.store.devices_holding(&identifiers).await?;
        let mut fresh = Vec::new();
        for (candidate, holder) in candidates.into_iter().zip(holders) {
            match holder {
                Some(existing) => {
                    let outcome = self
                        .registered_again(
                            existing,
                            &candidate.device.key_thumbprint,
                            candidate.device.facts.certificate_not_after_ms,
                            &actor.audit_name(),
                        )
                        .await;
                    outcomes[candidate.index] = Some(outcome);
                }
                None => fresh.push(candidate),
            }
        }

        let actor_name = actor.audit_name();
        // Owners first, so that each device is created already linked to its owner.
        let mut with_owners = Vec::with_capacity(fresh.len());
        for mut candidate in fresh {
            if let Some(claim) = candidate.owner.take() {
                match self
                    .owner_at_registration(&candidate.device.regdevid, &claim, &actor_name)
                    .await
                {
                    Ok(owner) => candidate.device.owner_id = Some(owner.owner_id),
                    Err(e) => {
                        outcomes[candidate.index] = Some(Err(e));
                        continue;
                    }
                }
            }
            with_owners.push(candidate);
        }
        let mut fresh = with_owners;
        self.issue_batch_credentials(&mut fresh, now).await?;
        let new_devices: Vec<NewDevice> = fresh
            .iter()
            .map(|c| NewDevice {
                transition: Transition {
                    regdevid: c.device.regdevid.clone(),
                    at_ms: now,
                    from: None,
                    to: c.device.status,
                    reasons: c.device.reasons.clone(),
                    actor: actor_name.clone(),
                    cause: "bulk-register".into(),
                },
                audit: self.audit(
                    &actor_name,
                    "register",
                    Some(c.device.regdevid.to_string()),
                    Ok(()),
                ),
                device: c.device.clone(),
            })
            .collect();
        let created = self.store.create_devices(&new_devices).await?;
        for (candidate, outcome) in fresh.into_iter().zip(created) {
            outcomes[candidate.index] = Some(match outcome {
                Created::Created => Ok(Registered {
                    response: RegistrationResponse {
                        regdevid: candidate.device.regdevid.to_string(),
                        status: candidate.device.status,
                        credential: candidate.device.credential,
                    },
                    created: true,
                }),
                // Registered concurrently since the read above.
                Created::IdentifierTaken(holder) => match self.store.get_device(&holder).await? {
                    Some(existing) => {
                        self.registered_again(
                            existing,
                            &candidate.device.key_thumbprint,
                            candidate.device.facts.certificate_not_after_ms,
                            &actor_name,
                        )
                        .await
                    }
                    None => Err(RegistryError::DeviceNotFound(holder.to_string())),
                },
            });
        }
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(RegistryError::Malformed("not processed".into()))))
            .collect();
        Ok((actor, outcomes))
    }

    /// Every check of a single registration but the device's own signature.
    fn check_bulk_device(
        &self,
        item: BulkDevice,
        actor: &Actor,
        roots: &[AcceptedRoot],
        stored_policies: &[DomainPolicy],
        now: u64,
    ) -> Result<Candidate, RegistryError> {
        let chain = item
            .certificate_chain
            .iter()
            .map(|c| STANDARD.decode(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RegistryError::MalformedChain(format!("certificate_chain: {e}")))?;
        let verified = rot::verify_device_chain(&chain, roots, now / 1000)?;
        if let Actor::Manufacturer(root_id) = actor
            && *root_id != verified.root_id
        {
            return Err(RegistryError::Forbidden(
                "a manufacturer registers only devices its own CA certified".into(),
            ));
        }
        let identifier = Identifier::parse(item.identifier.scheme, &item.identifier.value)
            .map_err(|source| RegistryError::InvalidIdentifier {
                field: "identifier.value",
                source,
            })?;
        certified(&verified, &identifier)?;
        validate_device_info(&item.device)?;
        published_for(&verified, &item.device.rot.kind)?;
        // A TPM's evidence answers a challenge the device's own TPM must take part in
        // (credential activation, certification over the nonce): a manufacturer cannot vouch
        // for it in bulk, so such devices register one by one.
        if item.device.rot.kind == rot::tpm::TPM_ROT_TYPE {
            return Err(RegistryError::TpmEvidenceInvalid(
                "devices with a tpm root of trust register one by one, with their evidence".into(),
            ));
        }
        let trust_domains = self.trust_domains_of(&item.trust_domains, stored_policies)?;
        let policies = policies_for(stored_policies, &self.config.policy, &trust_domains);
        check_rot_type(&trust_domains, &policies, &item.device.rot.kind)?;
        let facts = registration_facts(&verified, &item.device.rot.kind, now);
        let evaluation = evaluate_all(&policies, &facts, now);
        let public_key = jose::jwk_from_key(&verified.public_key);
        let device = DeviceRecord {
            regdevid: RegDevId::new(self.config.path.clone(), identifier),
            key_thumbprint: jose::jwk_thumbprint(&public_key),
            public_key,
            root_id: verified.root_id.clone(),
            leaf_fingerprint: verified.leaf_fingerprint.clone(),
            info: item.device,
            trust_domains,
            owner_id: None,
            next_evaluation_at_ms: next_evaluation_all(&policies, &facts, now),
            facts,
            status: evaluation.status,
            reasons: evaluation.reasons,
            status_since_ms: now,
            registered_at_ms: now,
            acknowledged_at_ms: None,
            credential: String::new(),
            transfer_offer: None,
            version: 1,
        };
        Ok(Candidate {
            index: 0,
            device,
            verified,
            owner: item.owner,
        })
    }

    /// One KMS signature over the Merkle head of all the candidates' credential claims; each
    /// candidate gets its leaf and inclusion proof.
    async fn issue_batch_credentials(
        &self,
        candidates: &mut [Candidate],
        now: u64,
    ) -> Result<(), RegistryError> {
        if candidates.is_empty() {
            return Ok(());
        }
        let mut leaves_json = Vec::with_capacity(candidates.len());
        for c in candidates.iter() {
            let claims = Credential {
                iss: self.config.path.to_string(),
                sub: c.device.regdevid.to_string(),
                iat: now / 1000,
                cnf: Cnf {
                    jwk: &c.device.public_key,
                },
                rot: &c.verified.root_id,
                trust_domains: &c.device.trust_domains,
            };
            leaves_json.push(
                serde_json::to_vec(&claims)
                    .map_err(|e| RegistryError::Malformed(format!("credential: {e}")))?,
            );
        }
        let leaves: Vec<merkle::Hash> = leaves_json.iter().map(|l| merkle::leaf_hash(l)).collect();
        let head = merkle::root(&leaves);
        let batch = self
            .sign_statement(
                "trustreg-batch+jwt",
                &BatchHead {
                    iss: self.config.path.to_string(),
                    iat: now / 1000,
                    size: leaves.len(),
                    root: URL_SAFE_NO_PAD.encode(head),
                },
            )
            .await?;
        for (index, (c, leaf)) in candidates.iter_mut().zip(&leaves_json).enumerate() {
            let credential = BatchCredential {
                batch: batch.clone(),
                index,
                size: leaves.len(),
                proof: merkle::proof(&leaves, index)
                    .iter()
                    .map(|h| URL_SAFE_NO_PAD.encode(h))
                    .collect(),
                claims: URL_SAFE_NO_PAD.encode(leaf),
            };
            c.device.credential = serde_json::to_string(&credential)
                .map_err(|e| RegistryError::Malformed(format!("credential: {e}")))?;
        }
        Ok(())
    }
}

/// Why a batch credential does not hold.
#[derive(Debug, thiserror::Error)]
pub enum BatchCredentialError {
    #[error("not a batch credential: {0}")]
    Format(String),
    #[error("the batch signature does not verify")]
    Signature,
    #[error("the inclusion proof does not lead to the signed tree head")]
    Proof,
}

/// Checks a bulk registration's credential with the registry's public key alone (offline) and
/// returns its claims.
pub fn verify_batch_credential(
    credential: &str,
    registry_key: &p256::ecdsa::VerifyingKey,
) -> Result<serde_json::Value, BatchCredentialError> {
    let format = |e: &dyn std::fmt::Display| BatchCredentialError::Format(e.to_string());
    let c: BatchCredential = serde_json::from_str(credential).map_err(|e| format(&e))?;
    let batch = jose::parse(&c.batch).map_err(|e| format(&e))?;
    batch
        .verify(registry_key)
        .map_err(|_| BatchCredentialError::Signature)?;
    let head: serde_json::Value = batch.claims().map_err(|e| format(&e))?;
    let root = head["root"]
        .as_str()
        .and_then(|r| URL_SAFE_NO_PAD.decode(r).ok())
        .and_then(|r| <merkle::Hash>::try_from(r).ok())
        .ok_or_else(|| format(&"the batch names no tree head"))?;
    if head["size"].as_u64() != Some(c.size as u64) {
        return Err(BatchCredentialError::Proof);
    }
    let leaf = URL_SAFE_NO_PAD.decode(&c.claims).map_err(|e| format(&e))?;
    let path = c
        .proof
        .iter()
        .map(|h| {
            URL_SAFE_NO_PAD
                .decode(h)
                .ok()
                .and_then(|h| <merkle::Hash>::try_from(h).ok())
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format(&"a proof hash is malformed"))?;
    if !merkle::verify(&merkle::leaf_hash(&leaf), c.index, c.size, &path, &root) {
        return Err(BatchCredentialError::Proof);
    }
    serde_json::from_slice(&leaf).map_err(|e| format(&e))
}
